#!/usr/bin/env python3
"""PyTorch side of bench/train/lockstep.ts: the DCNv2 twin (torch_zoo.py) trained on the batches
lockstep.ts wrote, from finerank's initial weights (or, with --torch-init S, from the twin's
own initialization under torch seed S), with torch_ctr.py's step: mean BCE + lambda/2 * ||tables||^2,
global grad-norm clipping at 10, Adam 1e-3 on every parameter (constant: no schedule).

finerank stores a Linear weight as [in, out], torch as [out, in]: weights are transposed on load.
Prints the mean BCE per epoch and the validation AUC / logloss, then one JSON line.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_zoo import DCNv2  # noqa: E402


class FeatureEmbedding(nn.Module):
    def __init__(self, sizes, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)

    def forward(self, x):
        return torch.stack([t(x[:, f]) for f, t in enumerate(self.tables)], dim=1)


def read_batches(path, n_fields):
    raw = np.fromfile(path, dtype=np.uint8)
    out, o = [], 0
    while o < raw.size:
        n = int(raw[o:o + 4].view(np.int32)[0])
        o += 4
        ids = raw[o:o + 4 * n * n_fields].view(np.int32).reshape(n_fields, n).T.astype(np.int64)
        o += 4 * n * n_fields
        y = raw[o:o + 4 * n].view(np.float32)
        o += 4 * n
        out.append((torch.from_numpy(np.ascontiguousarray(ids)), torch.from_numpy(y.copy())))
    return out


def load_finerank_weights(m, init, dim):
    w = {k: torch.tensor(v, dtype=torch.float32) for k, v in init.items()}
    with torch.no_grad():
        for f, t in enumerate(m.embedding.tables):
            t.weight.copy_(w[f"embedding.{FIELDS[f]}"].view(-1, dim))
        for i, lin in enumerate(m.cross):
            lin.weight.copy_(w[f"cross.layer{i}.weight"].view(lin.in_features, lin.out_features).t())
            lin.bias.copy_(w[f"cross.layer{i}.bias"])
        lins = [x for x in m.dnn if isinstance(x, nn.Linear)]
        bns = [x for x in m.dnn if isinstance(x, nn.BatchNorm1d)]
        for i, lin in enumerate(lins):
            lin.weight.copy_(w[f"parallel_dnn.layers.{i}.linear.weight"].view(lin.in_features, lin.out_features).t())
            lin.bias.copy_(w[f"parallel_dnn.layers.{i}.linear.bias"])
        for i, bn in enumerate(bns):
            bn.weight.copy_(w[f"parallel_dnn.layers.{i}.bn.gamma"])
            bn.bias.copy_(w[f"parallel_dnn.layers.{i}.bn.beta"])
        m.out.weight.copy_(w["fc.weight"].view(1, -1))
        m.out.bias.copy_(w["fc.bias"])


def main():
    p = argparse.ArgumentParser(description="DCNv2 twin in lockstep with finerank")
    p.add_argument("--dir", required=True)
    p.add_argument("--torch-init", type=int, default=None)
    a = p.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(a.dir, "setup.json")) as f:
        s = json.load(f)
    global FIELDS
    FIELDS = s["fields"]
    opt = dict(s["options"])
    dim = opt["embedding_dim"]
    batches = read_batches(os.path.join(a.dir, "batches.bin"), len(FIELDS))
    held = batches.pop()
    if opt.get("model_structure", "parallel") != "parallel" or opt.get("use_low_rank_mixture", False):
        raise SystemExit("torch_lockstep: the twin is the parallel full-rank DCNv2")
    if a.torch_init is not None:
        sys.argv = [sys.argv[0], "--model", "dcnv2", "--train", "-", "--valid", "-", "--test", "-"]
        from torch_ctr import init_weights  # noqa: E402 (parses its own argv at import)
        torch.manual_seed(a.torch_init)
        m = DCNv2(s["sizes"], opt, FeatureEmbedding)
        init_weights(m, 1e-4)
    else:
        torch.manual_seed(0)  # dropout masks
        m = DCNv2(s["sizes"], opt, FeatureEmbedding)
        load_finerank_weights(m, s["init"], dim)
    optimizer = torch.optim.Adam(m.parameters(), lr=1e-3)
    tables = [t.weight for t in m.embedding_tables()]
    lam = float(s["embedding_regularizer"])
    bce = nn.BCEWithLogitsLoss()
    losses = []
    m.train()
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = bce(m(x), y)
        losses.append(float(loss.detach()))
        (loss + lam / 2 * sum((w * w).sum() for w in tables)).backward()
        nn.utils.clip_grad_norm_(m.parameters(), 10.0)
        optimizer.step()
    m.eval()
    with torch.no_grad():
        logits = m(held[0]).double()
    y = held[1].double().numpy()
    prob = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7).numpy()
    k = s["steps_per_epoch"]
    per_epoch = [round(float(np.mean(losses[e:e + k])), 4) for e in range(0, len(losses), k)]
    res = {"train_loss": per_epoch, "valid_auc": float(roc_auc_score(y, prob)),
           "valid_logloss": float(-np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))),
           "init": "finerank weights" if a.torch_init is None else f"torch seed {a.torch_init}"}
    print(f"pytorch: train loss per epoch {' '.join(str(v) for v in per_epoch)}; valid AUC {res['valid_auc']:.6f}, "
          f"logloss {res['valid_logloss']:.6f}", flush=True)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
