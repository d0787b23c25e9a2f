#!/usr/bin/env python3
"""PyTorch twin of bench:train:mtl: MMoE and PLE on `finerank gen multitask` data.

The same model as finerank's (src/models/mmoe.ts, src/models/ple.ts, src/blocks/experts/):

  * Inputs: the categorical columns user_id, item_id, cate_id, user_age, hour, device, each
    with its own vocabulary built from the training file (every value seen, id 0 padding,
    id 1 OOV, known values 2..n+1) and embedding_dim-wide table initialised N(0, std^2);
    price as log1p then standardised with the training mean and std, appended raw.
    x = [e_user ++ e_item ++ ... ++ price]  (6 * d + 1 wide).
  * Expert: MLP [Linear -> ReLU] per expert_hidden_units (no output layer).
    Gate: Linear(x -> K) (gate_hidden_units []: one linear map) then softmax.
    Tower: MLP [Linear -> ReLU] per tower_hidden_units, then Linear -> 1 logit.
    nn.Linear weights Xavier-normal, zero bias.
  * MMoE: K shared experts, one gate and one tower per task.
  * PLE: num_layers CGC levels; level l has num_shared_experts shared experts and
    num_specific_experts per task; task t's gate (on input t) weighs its own and the shared
    experts; a shared gate (on the shared input) weighs every expert of the level, on every
    level but the last; level l+1 reads the task and shared outputs of level l.
  * Tasks: ctr on click over all rows, cvr on conversion over clicked rows. Loss: mean BCE of
    ctr over the batch + mean BCE of cvr over the batch's clicked rows.
  * Adam (lr, all parameters, dense), global grad-norm clipping at 10, batch_size, shuffled
    each epoch with the last partial batch kept; a fixed number of epochs; after each epoch the
    mean valid AUC of the two tasks; the best epoch's weights are restored for the test.

Prints one line per epoch (stderr), then one JSON line on stdout: samples/s (training examples
per second of training time, evaluation excluded), cpu_samples_per_sec (the same per second of
process CPU time, time.process_time: batching included, what a loaded machine distorts least),
per-task test AUC, peak RSS.
"""
import argparse
import json
import os
import sys
import time

p = argparse.ArgumentParser(description="PyTorch MMoE / PLE twin of finerank's")
p.add_argument("--model", required=True, choices=["mmoe", "ple"])
p.add_argument("--dir", required=True, help="folder with train.csv, valid.csv, test.csv from finerank gen multitask")
p.add_argument("--options", required=True, help="model options as JSON (snake_case, as in the finerank config)")
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--batch-size", type=int, default=1024)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=2018)
ARGS = p.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import copy  # noqa: E402
import resource  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.manual_seed(ARGS.seed)
np.random.seed(ARGS.seed)
OPTS = json.loads(ARGS.options)
CATEGORICAL = ["user_id", "item_id", "cate_id", "user_age", "hour", "device"]


def load():
    frames = {s: pd.read_csv(os.path.join(ARGS.dir, f"{s}.csv")) for s in ("train", "valid", "test")}
    tr = frames["train"]
    vocabs = {c: {v: i + 2 for i, v in enumerate(tr[c].value_counts().index)} for c in CATEGORICAL}
    lp = np.log1p(tr["price"].to_numpy(np.float64))
    mu, sd = lp.mean(), lp.std() or 1.0
    out = {}
    for s, df in frames.items():
        ids = np.stack([df[c].map(vocabs[c]).fillna(1).to_numpy(np.int64) for c in CATEGORICAL], 1)
        price = ((np.log1p(df["price"].to_numpy(np.float64)) - mu) / sd).astype(np.float32)[:, None]
        out[s] = (torch.from_numpy(ids), torch.from_numpy(price),
                  torch.from_numpy(df["click"].to_numpy(np.float32)), torch.from_numpy(df["conversion"].to_numpy(np.float32)))
    return out, [len(vocabs[c]) + 2 for c in CATEGORICAL]


def mlp(inp, hidden, out=None):
    layers = []
    for h in hidden:
        layers += [nn.Linear(inp, h), nn.ReLU()]
        inp = h
    if out is not None:
        layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)


class Gate(nn.Module):
    def __init__(self, inp, k):
        super().__init__()
        self.net = mlp(inp, OPTS["gate_hidden_units"], k)

    def forward(self, x):
        return torch.softmax(self.net(x), -1)


def mix(gate, experts):  # gate [B, K], experts [B, K, H] -> [B, H]
    return (gate.unsqueeze(-1) * experts).sum(1)


class MMoE(nn.Module):
    def __init__(self, inp, tasks):
        super().__init__()
        k = OPTS["num_experts"]
        self.experts = nn.ModuleList(mlp(inp, OPTS["expert_hidden_units"]) for _ in range(k))
        self.gates = nn.ModuleList(Gate(inp, k) for _ in range(tasks))
        self.towers = nn.ModuleList(mlp(OPTS["expert_hidden_units"][-1], OPTS["tower_hidden_units"], 1) for _ in range(tasks))

    def forward(self, x):
        e = torch.stack([ex(x) for ex in self.experts], 1)
        return [tw(mix(g(x), e)).squeeze(-1) for g, tw in zip(self.gates, self.towers)]


class CGC(nn.Module):
    def __init__(self, inp, tasks, shared_output):
        super().__init__()
        ns, nt, hidden = OPTS["num_shared_experts"], OPTS["num_specific_experts"], OPTS["expert_hidden_units"]
        self.tasks = tasks
        self.shared = nn.ModuleList(mlp(inp, hidden) for _ in range(ns))
        self.specific = nn.ModuleList(nn.ModuleList(mlp(inp, hidden) for _ in range(nt)) for _ in range(tasks))
        self.gates = nn.ModuleList(Gate(inp, nt + ns) for _ in range(tasks))
        self.shared_gate = Gate(inp, tasks * nt + ns) if shared_output else None

    def forward(self, xs):  # T task inputs then the shared input
        sx = xs[self.tasks]
        shared = [e(sx) for e in self.shared]
        spec = [[e(xs[t]) for e in bank] for t, bank in enumerate(self.specific)]
        out = [mix(self.gates[t](xs[t]), torch.stack(spec[t] + shared, 1)) for t in range(self.tasks)]
        if self.shared_gate is not None:
            out.append(mix(self.shared_gate(sx), torch.stack([e for s in spec for e in s] + shared, 1)))
        return out


class PLE(nn.Module):
    def __init__(self, inp, tasks):
        super().__init__()
        n, h = OPTS["num_layers"], OPTS["expert_hidden_units"][-1]
        self.tasks = tasks
        self.levels = nn.ModuleList(CGC(inp if l == 0 else h, tasks, l < n - 1) for l in range(n))
        self.towers = nn.ModuleList(mlp(h, OPTS["tower_hidden_units"], 1) for _ in range(tasks))

    def forward(self, x):
        xs = [x] * (self.tasks + 1)
        for level in self.levels:
            xs = level(xs)
        return [tw(xs[t]).squeeze(-1) for t, tw in enumerate(self.towers)]


class Net(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        d = OPTS["embedding_dim"]
        self.tables = nn.ModuleList(nn.Embedding(n, d) for n in sizes)
        for t in self.tables:
            nn.init.normal_(t.weight, 0.0, OPTS["embedding_init_std"])
        inp = d * len(sizes) + 1
        self.body = (MMoE if ARGS.model == "mmoe" else PLE)(inp, 2)
        for m in self.body.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, ids, price):
        x = torch.cat([t(ids[:, f]) for f, t in enumerate(self.tables)] + [price], 1)
        return self.body(x)


def scores(net, split):
    ids, price, click, conv = split
    net.eval()
    with torch.no_grad():
        outs = [net(ids[i:i + 8192], price[i:i + 8192]) for i in range(0, len(ids), 8192)]
    net.train()
    ctr = torch.sigmoid(torch.cat([o[0] for o in outs])).numpy()
    cvr = torch.sigmoid(torch.cat([o[1] for o in outs])).numpy()
    m = click.numpy() == 1
    return roc_auc_score(click.numpy(), ctr), roc_auc_score(conv.numpy()[m], cvr[m])


def main():
    data, sizes = load()
    net = Net(sizes)
    opt = torch.optim.Adam(net.parameters(), lr=ARGS.lr)
    bce = nn.BCEWithLogitsLoss()
    ids, price, click, conv = data["train"]
    n = len(ids)
    train_seconds, train_cpu, best, best_state, epochs = 0.0, 0.0, -1.0, None, 0
    for epoch in range(1, ARGS.epochs + 1):
        perm = torch.randperm(n)
        t0, c0 = time.perf_counter(), time.process_time()
        for s in range(0, n, ARGS.batch_size):
            b = perm[s:s + ARGS.batch_size]
            ctr, cvr = net(ids[b], price[b])
            y, yc = click[b], conv[b]
            loss = bce(ctr, y)
            m = y == 1
            if m.any():
                loss = loss + bce(cvr[m], yc[m])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
        train_seconds += time.perf_counter() - t0
        train_cpu += time.process_time() - c0
        epochs = epoch
        va = scores(net, data["valid"])
        mean = (va[0] + va[1]) / 2
        print(f"[pytorch {ARGS.model}] epoch {epoch}: valid AUC ctr {va[0]:.4f} cvr {va[1]:.4f}", file=sys.stderr, flush=True)
        if mean > best:
            best, best_state = mean, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    te = scores(net, data["test"])
    print(json.dumps({
        "model": ARGS.model, "epochs": epochs, "samples_per_sec": round(n * epochs / train_seconds),
        "train_seconds": round(train_seconds, 2), "train_cpu_seconds": round(train_cpu, 2),
        "cpu_samples_per_sec": round(n * epochs / train_cpu), "test_auc_ctr": te[0], "test_auc_cvr": te[1],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "params": sum(p.numel() for p in net.parameters()), "torch": torch.__version__, "threads": ARGS.threads,
    }))


main()
