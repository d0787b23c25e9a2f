#!/usr/bin/env python3
"""PyTorch twin of the in-process ranking timing of bench:serve (issue 14).

DeepFM with the BARS Frappe_x1 sizes, as finerank builds it (bench/serve/frappe-model.ts):
10 categorical fields with table rows 959, 4084, 9, 9, 4, 5, 4, 11, 82, 235 (vocabulary +
padding + OOV), embedding dim 10; FM first order = a 1-dim embedding per field summed (no
bias); FM second order over the 10 field embeddings; MLP 100 -> 400 -> 400 -> 400 -> 1,
each hidden layer Linear -> BatchNorm -> ReLU -> Dropout(0.2). Eval mode under
torch.inference_mode; random weights (speed does not depend on them) and BatchNorm running
statistics moved off (0, 1) by one training-mode batch.

Timed: sigmoid(model(ids)) on a pre-built [N, 10] id tensor (N candidates), --iters calls
after --warmup; wall-clock p50 / p99 and the p50 of process CPU time per call, in ms. The last stdout line is one JSON object.
--dtype bfloat16 converts the model (weights, embeddings, BatchNorm statistics) with
model.to(torch.bfloat16) after the statistics step: reduced-precision inference as PyTorch
offers it on CPU (its bf16 matmuls go through oneDNN).
"""
import argparse
import json
import os
import sys
import time

ROWS = [959, 4084, 9, 9, 4, 5, 4, 11, 82, 235]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--candidates", type=int, default=1000)
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    a = p.parse_args(argv)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(a.threads)
    import torch
    from torch import nn
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    class DeepFM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.ModuleList([nn.Embedding(r, 10) for r in ROWS])
            self.lin = nn.ModuleList([nn.Embedding(r, 1) for r in ROWS])
            layers, d = [], 100
            for h in (400, 400, 400):
                layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.2)]
                d = h
            layers.append(nn.Linear(d, 1))
            self.dnn = nn.Sequential(*layers)

        def forward(self, ids):
            e = torch.stack([t(ids[:, i]) for i, t in enumerate(self.emb)], 1)  # [B, F, D]
            first = torch.cat([t(ids[:, i]) for i, t in enumerate(self.lin)], 1).sum(1)
            s = e.sum(1)
            second = 0.5 * (s * s - (e * e).sum(1)).sum(1)
            deep = self.dnn(e.flatten(1)).squeeze(1)
            return first + second + deep

    m = DeepFM()
    gen = torch.Generator().manual_seed(1)
    ids = torch.stack([torch.randint(2, r, (a.candidates,), generator=gen) for r in ROWS], 1)
    m.train()
    with torch.no_grad():
        m(torch.stack([torch.randint(2, r, (4096,), generator=gen) for r in ROWS], 1))
    m.eval()
    m.to(getattr(torch, a.dtype))
    times, cpu = [], []
    with torch.inference_mode():
        for i in range(a.warmup + a.iters):
            c0 = time.process_time()
            t0 = time.perf_counter()
            torch.sigmoid(m(ids))
            t1 = time.perf_counter()
            c1 = time.process_time()
            if i >= a.warmup:
                times.append((t1 - t0) * 1000)
                cpu.append((c1 - c0) * 1000)
    times.sort()
    cpu.sort()
    q = lambda xs, f: xs[min(len(xs) - 1, int(f * len(xs)))]
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "dtype": a.dtype, "candidates": a.candidates,
                      "p50_ms": round(q(times, 0.5), 3), "p99_ms": round(q(times, 0.99), 3),
                      "cpu_p50_ms": round(q(cpu, 0.5), 3), "iters": a.iters}))


if __name__ == "__main__":
    main(sys.argv[1:])
