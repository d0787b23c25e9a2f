#!/usr/bin/env python3
"""PyTorch twins of finerank's DIN and DIEN for `npm run bench:train:seq` (bench/train/sequence.ts).

Same data (the `sequence` generator's CSV: label,user_id,item_id,cate_id,hist_item_id,hist_cate_id
with |-joined histories, oldest -> newest), same model shapes and the same protocol as
bench/train/seq_finerank.ts:

  embeddings   dim 16, N(0, 1e-4), id 0 = padding (zero row), histories share the candidate's table
  DIN          query = [item, cate], keys = [hist_item, hist_cate] (d = 32); attention unit
               MLP([q, k, q - k, q * k]: 128 -> 64 Dice -> 1), no softmax, masked sum of a_l * k_l;
               DNN [user, item, cate, interest] -> 512 -> 128 -> 64 (ReLU) -> 1
  DIEN         interest extractor GRU(32, 32) over the keys; auxiliary loss (alpha = 1): mean over
               steps t + 1 < len of BCE(<h_t, e_{t+1}>, 1) + BCE(<h_t, e_neg>, 0), negatives drawn
               uniformly from each table; attention softmax over valid steps of (h_t W) . q;
               AUGRU evolution (u <- a_t * u; padded steps carry the state), input projection of all
               steps in one GEMM, one cell per step; DNN [user, item, cate, h_final] -> 200 -> 80 -> 1
  training     Adam lr 1e-3, batch 4096, grad-norm clip 10, a fixed number of epochs, shuffled
               per epoch; Xavier-normal dense weights with zero biases, GRUs U(-1/sqrt(H), 1/sqrt(H)).

samples/s counts training steps only (forward, backward, optimizer), not data loading or
evaluation, as finerank's trainer does. Peak RSS is the process's ru_maxrss. Ends with one
JSON line: {"samples_per_sec", "test_auc", "test_logloss", "peak_rss_bytes", "epochs", "train_s"}.
"""
import argparse
import json
import resource
import time

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import log_loss, roc_auc_score


def load(path, max_len):
    df = pd.read_csv(path, dtype={"hist_item_id": str, "hist_cate_id": str}, keep_default_na=False)

    def seq(col):
        out = np.zeros((len(df), max_len), dtype=np.int64)
        lens = np.zeros(len(df), dtype=np.int64)
        for i, s in enumerate(df[col].values):
            if s == "":
                continue
            v = np.array(s.split("|"), dtype=np.int64)[-max_len:]  # the most recent max_len
            out[i, : len(v)] = v
            lens[i] = len(v)
        return out, lens

    hi, lens = seq("hist_item_id")
    hc, _ = seq("hist_cate_id")
    return {
        "label": torch.tensor(df["label"].values, dtype=torch.float32),
        "user": torch.tensor(df["user_id"].values, dtype=torch.int64),
        "item": torch.tensor(df["item_id"].values, dtype=torch.int64),
        "cate": torch.tensor(df["cate_id"].values, dtype=torch.int64),
        "hist_item": torch.from_numpy(hi),
        "hist_cate": torch.from_numpy(hc),
        "len": torch.from_numpy(lens),
    }


class Dice(nn.Module):
    """p = sigmoid(BN(x)) (no affine, eps 1e-9, momentum 0.01), y = p x + (1 - p) alpha x."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm1d(c, affine=False, eps=1e-9, momentum=0.01)
        self.alpha = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        p = torch.sigmoid(self.bn(x))
        return p * x + (1 - p) * self.alpha * x


def mlp(inp, hidden, act, out=1):
    layers = []
    for h in hidden:
        layers += [nn.Linear(inp, h), Dice(h) if act == "dice" else nn.ReLU()]
        inp = h
    layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)


class Embeddings(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.user = nn.Embedding(vocab["user"], dim, padding_idx=0)
        self.item = nn.Embedding(vocab["item"], dim, padding_idx=0)
        self.cate = nn.Embedding(vocab["cate"], dim, padding_idx=0)
        for e in (self.user, self.item, self.cate):
            nn.init.normal_(e.weight, std=1e-4)
            with torch.no_grad():
                e.weight[0].zero_()

    def forward(self, b):
        q = torch.cat([self.item(b["item"]), self.cate(b["cate"])], -1)
        k = torch.cat([self.item(b["hist_item"]), self.cate(b["hist_cate"])], -1)
        return self.user(b["user"]), q, k


class DIN(nn.Module):
    def __init__(self, vocab, dim=16):
        super().__init__()
        self.emb = Embeddings(vocab, dim)
        d = 2 * dim
        self.att = mlp(4 * d, [64], "dice")
        self.dnn = mlp(dim + d + d, [512, 128, 64], "relu")

    def forward(self, b):
        u, q, k = self.emb(b)
        B, L, D = k.shape
        mask = torch.arange(L).unsqueeze(0) < b["len"].unsqueeze(1)
        qe = q.unsqueeze(1).expand(-1, L, -1)
        w = self.att(torch.cat([qe, k, qe - k, qe * k], -1).view(-1, 4 * D)).view(B, L) * mask
        interest = (w.unsqueeze(-1) * k).sum(1)
        return self.dnn(torch.cat([u, q, interest], 1)).squeeze(1), None


class DIEN(nn.Module):
    def __init__(self, vocab, dim=16, alpha=1.0):
        super().__init__()
        self.emb = Embeddings(vocab, dim)
        self.vocab = vocab
        self.alpha = alpha
        d = self.d = 2 * dim
        self.extractor = nn.GRU(d, d, batch_first=True)
        self.bilinear = nn.Linear(d, d, bias=False)
        k = 1 / d**0.5
        self.w_ih = nn.Parameter(torch.empty(d, 3 * d).uniform_(-k, k))
        self.w_hh = nn.Parameter(torch.empty(d, 3 * d).uniform_(-k, k))
        self.b_ih = nn.Parameter(torch.empty(3 * d).uniform_(-k, k))
        self.b_hh = nn.Parameter(torch.empty(3 * d).uniform_(-k, k))
        self.dnn = mlp(dim + d + d, [200, 80], "relu")

    def forward(self, b):
        u, q, k = self.emb(b)
        B, L, D = k.shape
        lens = b["len"]
        mask = torch.arange(L).unsqueeze(0) < lens.unsqueeze(1)
        states, _ = self.extractor(k)  # causal: valid positions equal a packed run
        aux = None
        if self.training and self.alpha > 0 and L > 1:
            neg_i = torch.randint(2, self.vocab["item"], (B, L), dtype=torch.int64)
            neg_c = torch.randint(2, self.vocab["cate"], (B, L), dtype=torch.int64)
            neg = torch.cat([self.emb.item(neg_i), self.emb.cate(neg_c)], -1)
            h = states[:, :-1]
            valid = mask[:, 1:].float()
            pl = (h * k[:, 1:]).sum(-1)
            nl = (h * neg[:, 1:]).sum(-1)
            per = F.binary_cross_entropy_with_logits(pl, torch.ones_like(pl), reduction="none") + F.binary_cross_entropy_with_logits(
                nl, torch.zeros_like(nl), reduction="none"
            )
            aux = self.alpha * (per * valid).sum() / valid.sum().clamp(min=1)
        logits = (self.bilinear(states) * q.unsqueeze(1)).sum(-1).masked_fill(~mask, float("-inf"))
        att = torch.softmax(logits, -1)
        gx = torch.matmul(states, self.w_ih) + self.b_ih  # [B, L, 3d], one GEMM
        h = torch.zeros(B, D)
        for t in range(L):
            gh = torch.addmm(self.b_hh, h, self.w_hh)
            xu, xr, xn = gx[:, t].chunk(3, 1)
            hu, hr, hn = gh.chunk(3, 1)
            z = torch.sigmoid(xu + hu) * att[:, t : t + 1]
            r = torch.sigmoid(xr + hr)
            n = torch.tanh(xn + r * hn)
            h = torch.where(mask[:, t : t + 1], (1 - z) * h + z * n, h)
        return self.dnn(torch.cat([u, q, h], 1)).squeeze(1), aux


def init_dense(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def batches(data, idx, bs):
    for s in range(0, len(idx), bs):
        sel = idx[s : s + bs]
        yield {k: v[sel] for k, v in data.items()}


def evaluate(model, data, bs):
    model.eval()
    out = []
    with torch.no_grad():
        for b in batches(data, torch.arange(len(data["label"])), bs):
            out.append(torch.sigmoid(model(b)[0]))
    p = torch.cat(out).numpy().astype(np.float64)
    y = data["label"].numpy()
    return roc_auc_score(y, p), log_loss(y, np.clip(p, 1e-7, 1 - 1e-7))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["din", "dien"], required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2019)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = load(a.train, a.max_len)
    test = load(a.test, a.max_len)
    vocab = {k: int(max(train[c].max(), test[c].max())) + 1 for k, c in (("user", "user"), ("item", "item"), ("cate", "cate"))}
    vocab["item"] = max(vocab["item"], int(train["hist_item"].max()) + 1, int(test["hist_item"].max()) + 1)
    vocab["cate"] = max(vocab["cate"], int(train["hist_cate"].max()) + 1, int(test["hist_cate"].max()) + 1)
    model = DIN(vocab) if a.model == "din" else DIEN(vocab)
    init_dense(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(train["label"])
    train_s = 0.0
    for epoch in range(a.epochs):
        model.train()
        idx = torch.randperm(n)
        t0 = time.perf_counter()
        for b in batches(train, idx, a.batch_size):
            logit, aux = model(b)
            loss = F.binary_cross_entropy_with_logits(logit, b["label"])
            if aux is not None:
                loss = loss + aux
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
        train_s += time.perf_counter() - t0
    auc, ll = evaluate(model, test, a.batch_size)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "impl": "pytorch",
                "model": a.model,
                "samples_per_sec": n * a.epochs / train_s,
                "test_auc": auc,
                "test_logloss": ll,
                "peak_rss_bytes": rss,
                "epochs": a.epochs,
                "train_s": train_s,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
