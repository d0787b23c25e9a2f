#!/usr/bin/env python3
"""PyTorch reference for the DeepFM-mini engine benchmark (issue 2).

Model (identical on the finerank side, bench/engine/finerank_deepfm_mini.ts):
  * 26 sparse fields, vocabularies 10 x 1,000, 10 x 100,000 and 6 x 1,000,000;
    13 dense inputs; embedding dim 16.
  * FM first order: a 1-dim embedding per field (summed over fields) + a linear term on
    the 13 dense inputs (with the only first-order bias).
  * FM second order: 1/2 * sum_k [ (sum_f v_fk)^2 - sum_f v_fk^2 ] over the 26 field
    embeddings.
  * MLP on [flattened embeddings (26*16 = 416) ++ 13 dense = 429] -> 400 -> 400 -> 400
    (ReLU) -> 1.
  * logit = first order + second order + MLP; loss = BCEWithLogits (mean over the batch).
  * Tables: nn.Embedding(sparse=True) updated by torch.optim.SparseAdam; all dense
    weights by torch.optim.Adam; lr 1e-3 for both.

Data: ids follow a bounded Zipf law, P(id = k) proportional to k^-s for k in 1..V
(s = --zipf, default 1.1), sampled by inverse CDF from a seeded numpy generator. Id 0 is
finerank's padding row, so each table has V + 1 rows and row 0 is never looked up; dense
inputs are N(0, 1); labels Bernoulli(0.25). A pool of --pool batches is generated before
any timing and cycled, so data generation is never timed.

Measured: training samples/s (forward + backward + both optimizer steps), inference
samples/s at the training batch size (eval mode, torch.inference_mode, sigmoid output),
batch-1 latency (median over single-row calls, ms) and peak RSS (getrusage maxrss).
Throughput per second of process CPU time (all threads) is reported too: on a machine
shared with other work it is the steadier figure for one-thread runs.
The last line of stdout is one JSON object; see bench/common/result.ts for its fields.
"""
import argparse
import json
import os
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (torch + BLAS)")
    p.add_argument("--steps", type=int, default=30, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed training steps first")
    p.add_argument("--batch", type=int, default=4096, help="batch size (train and inference)")
    p.add_argument("--infer-steps", type=int, default=20, help="timed inference batches")
    p.add_argument("--latency-calls", type=int, default=300, help="timed batch-1 calls")
    p.add_argument("--pool", type=int, default=8, help="pre-generated batches cycled")
    p.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent of the ids")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--intra-threads", type=int, default=None,
                   help="torch intra-op (OpenMP) threads; default --threads. BLAS keeps --threads")
    p.add_argument("--data-file", default=None,
                   help="train and infer on the pool written by finerank_deepfm_mini.js "
                        "--data-file (the very same batches) instead of generating one")
    p.add_argument("--dense-init-file", default=None,
                   help="start from the dense weights written by finerank_deepfm_mini.js "
                        "--dense-init-file (stored [in, out]; transposed here)")
    p.add_argument("--phases", action="store_true",
                   help="add phases_cpu_ms: process CPU ms per timed training step and per "
                        "inference batch, by phase (gather = the embedding lookups)")
    p.add_argument("--fused-tables", action="store_true",
                   help="one concatenated table per embedding kind with per-field offsets "
                        "(one lookup) instead of one nn.Embedding per field")
    a = p.parse_args(argv)
    for name in ("threads", "steps", "batch", "infer_steps", "latency_calls", "pool"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if a.warmup < 0:
        p.error(f"--warmup must be >= 0, got {a.warmup}")
    if a.zipf <= 0:
        p.error(f"--zipf must be > 0, got {a.zipf}")
    return a


ARGS = parse_args(sys.argv[1:])
INTRA = ARGS.intra_threads if ARGS.intra_threads is not None else ARGS.threads
# Debian's torch runs GEMMs on OpenBLAS, whose own thread pool ignores
# torch.set_num_threads: both pools get the thread count, set before torch loads. With
# more than one thread, OpenMP workers that spin-wait (the default) while OpenBLAS's
# workers run a GEMM compete with them for the same cores (measured 2.6x slower training
# on 2 cores); passive waiting avoids that.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(INTRA)
if INTRA > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import resource  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

VOCABS = [1_000] * 10 + [100_000] * 10 + [1_000_000] * 6
NUM_DENSE = 13
EMB_DIM = 16
HIDDEN = [400, 400, 400]


class DeepFMMini(nn.Module):
    """DeepFM-mini: FM (first + second order) and an MLP sharing one set of embeddings."""

    def __init__(self, vocabs, num_dense, dim, hidden, fused):
        super().__init__()
        self.fused = fused
        self.num_fields = len(vocabs)
        self.dim = dim
        rows = [v + 1 for v in vocabs]  # row 0: padding, never looked up
        if fused:
            offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
            self.register_buffer("offsets", torch.from_numpy(offsets))
            self.emb = nn.Embedding(int(sum(rows)), dim, sparse=True)
            self.first = nn.Embedding(int(sum(rows)), 1, sparse=True)
            tables = [self.emb, self.first]
        else:
            self.embs = nn.ModuleList(nn.Embedding(r, dim, sparse=True) for r in rows)
            self.firsts = nn.ModuleList(nn.Embedding(r, 1, sparse=True) for r in rows)
            tables = list(self.embs) + list(self.firsts)
        for t in tables:
            nn.init.normal_(t.weight, std=1e-4)
        self.dense_linear = nn.Linear(num_dense, 1)
        layers = []
        d = len(vocabs) * dim + num_dense
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        layers.append(nn.Linear(d, 1))
        self.mlp = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def sparse_parameters(self):
        if self.fused:
            return [self.emb.weight, self.first.weight]
        return [t.weight for t in self.embs] + [t.weight for t in self.firsts]

    def dense_parameters(self):
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]

    def forward(self, ids, dense, phases=None):
        """ids: int64 [B, 26]; dense: float32 [B, 13] -> logits [B]."""
        if phases is not None:
            phases.mark("other")
        if self.fused:
            gids = ids + self.offsets
            v = self.emb(gids)                        # [B, F, D]
            first = self.first(gids).sum(dim=(1, 2))  # [B]
        else:
            v = torch.stack([e(ids[:, f]) for f, e in enumerate(self.embs)], dim=1)
            first = torch.cat([e(ids[:, f]) for f, e in enumerate(self.firsts)], dim=1).sum(1)
        if phases is not None:
            phases.mark("gather")
        first = first + self.dense_linear(dense).squeeze(1)
        if phases is not None:
            phases.mark("fm_first")
        s = v.sum(dim=1)
        second = 0.5 * (s * s - (v * v).sum(dim=1)).sum(dim=1)
        if phases is not None:
            phases.mark("fm_second")
        x = torch.cat([v.flatten(1), dense], dim=1)
        if phases is not None:
            phases.mark("concat")
        deep = self.mlp(x).squeeze(1)
        if phases is not None:
            phases.mark("mlp")
        logit = first + second + deep
        if phases is not None:
            phases.mark("combine")
        return logit


class PhaseTimer:
    """Process CPU time per phase: mark(name) charges the CPU time since the last mark to name."""

    def __init__(self):
        self.ms = {}
        self.last = time.process_time()

    def start(self):
        self.ms = {}
        self.last = time.process_time()

    def mark(self, name):
        now = time.process_time()
        self.ms[name] = self.ms.get(name, 0.0) + (now - self.last) * 1e3
        self.last = now

    def per_step(self, steps):
        out = {k: round(v / steps, 1) for k, v in self.ms.items()}
        out["total"] = round(sum(self.ms.values()) / steps, 1)
        return out


def zipf_sampler(vocab, s):
    """Inverse-CDF sampler of the bounded Zipf law P(k) ~ k^-s, ids k = 1..vocab."""
    w = np.arange(1, vocab + 1, dtype=np.float64) ** (-s)
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    return lambda rng, n: 1 + np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), vocab - 1)


def make_pool(rng, n_batches, batch, s):
    samplers = {v: zipf_sampler(v, s) for v in sorted(set(VOCABS))}
    pool = []
    for _ in range(n_batches):
        ids = np.stack([samplers[v](rng, batch) for v in VOCABS], axis=1).astype(np.int64)
        dense = rng.standard_normal((batch, NUM_DENSE)).astype(np.float32)
        label = (rng.random(batch) < 0.25).astype(np.float32)
        pool.append((torch.from_numpy(ids), torch.from_numpy(dense), torch.from_numpy(label)))
    return pool


POOL_MAGIC = 0x50445246  # 'FRDP' little-endian


def read_pool(path, batch):
    """The pool written by finerank_deepfm_mini.ts (writePool): a header of six u32 (magic,
    version 1, batches, batch, fields, dense), then per batch int32 ids [fields][batch],
    float32 dense [batch][dense], float32 labels [batch]."""
    raw = np.fromfile(path, dtype=np.uint8)
    head = raw[:24].view("<u4")
    if len(head) < 6 or head[0] != POOL_MAGIC or head[1] != 1:
        raise SystemExit(f"{path}: not a DeepFM-mini pool file")
    n, b, f, d = (int(x) for x in head[2:6])
    if b != batch or f != len(VOCABS) or d != NUM_DENSE:
        raise SystemExit(f"{path}: pool of batch {b}, {f} fields, {d} dense; this run needs "
                         f"{batch}, {len(VOCABS)}, {NUM_DENSE}")
    per = f * b + b * d + b
    if raw.size != 24 + 4 * per * n:
        raise SystemExit(f"{path}: {raw.size} bytes, expected {24 + 4 * per * n} (truncated?)")
    body = raw[24:]
    pool = []
    for k in range(n):
        chunk = body[4 * per * k: 4 * per * (k + 1)]
        ids = chunk[: 4 * f * b].view("<i4").reshape(f, b).T.astype(np.int64)
        dense = chunk[4 * f * b: 4 * (f * b + b * d)].view("<f4").reshape(b, d).copy()
        label = chunk[4 * (f * b + b * d):].view("<f4").copy()
        pool.append((torch.from_numpy(np.ascontiguousarray(ids)), torch.from_numpy(dense), torch.from_numpy(label)))
    return pool


def load_dense_init(path, model):
    """Copies the dense initial weights written by finerank_deepfm_mini.ts (syncDenseInit):
    u32 magic 'FRDI', u32 layers, per layer u32 in, u32 out; then per layer float32 weight
    [in, out] and bias [out]. Order: dense_linear, then the MLP's Linear layers."""
    raw = np.fromfile(path, dtype=np.uint8)
    head = raw[:8].view("<u4")
    linears = [model.dense_linear] + [m for m in model.mlp if isinstance(m, nn.Linear)]
    if head[0] != 0x49445246 or head[1] != len(linears):
        raise SystemExit(f"{path}: not a DeepFM-mini dense-init file for {len(linears)} layers")
    dims = raw[8:8 + 8 * len(linears)].view("<u4").reshape(-1, 2)
    off = 8 + 8 * len(linears)
    with torch.no_grad():
        for (fan_in, fan_out), lin in zip(dims.tolist(), linears):
            if lin.weight.shape != (fan_out, fan_in):
                raise SystemExit(f"{path}: layer {fan_in}->{fan_out} does not fit {tuple(lin.weight.shape)}")
            w = raw[off:off + 4 * fan_in * fan_out].view("<f4").reshape(fan_in, fan_out)
            off += 4 * fan_in * fan_out
            b = raw[off:off + 4 * fan_out].view("<f4")
            off += 4 * fan_out
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
    if off != raw.size:
        raise SystemExit(f"{path}: {raw.size} bytes, expected {off}")


def main():
    a = ARGS
    torch.set_num_threads(INTRA)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    pool = read_pool(a.data_file, a.batch) if a.data_file else make_pool(rng, a.pool, a.batch, a.zipf)

    model = DeepFMMini(VOCABS, NUM_DENSE, EMB_DIM, HIDDEN, a.fused_tables)
    if a.dense_init_file:
        load_dense_init(a.dense_init_file, model)
    sparse_opt = torch.optim.SparseAdam(model.sparse_parameters(), lr=1e-3)
    dense_opt = torch.optim.Adam(model.dense_parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    phases = None

    def train_step(i):
        ids, dense, label = pool[i % len(pool)]
        if phases is not None:
            phases.mark("other")
        sparse_opt.zero_grad(set_to_none=True)
        dense_opt.zero_grad(set_to_none=True)
        if phases is not None:
            phases.mark("zero_grad")
        loss = loss_fn(model(ids, dense, phases), label)
        if phases is not None:
            phases.mark("loss")
        loss.backward()  # the embeddings' sparse COO gradients are built here
        if phases is not None:
            phases.mark("backward")
        sparse_opt.step()  # coalesces each sparse gradient, then the row update
        if phases is not None:
            phases.mark("sparse_optimizer")
        dense_opt.step()
        if phases is not None:
            phases.mark("dense_optimizer")
        return loss

    model.train()
    for i in range(a.warmup):
        train_step(i)
    train_phases = PhaseTimer() if a.phases else None
    phases = train_phases
    t0, c0 = time.perf_counter(), time.process_time()
    loss = None
    for i in range(a.steps):
        loss = train_step(a.warmup + i)
    final_loss = float(loss.item())
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    phases = None

    model.eval()
    with torch.inference_mode():
        for i in range(2):  # warm-up
            torch.sigmoid(model(pool[i % len(pool)][0], pool[i % len(pool)][1]))
        infer_phases = PhaseTimer() if a.phases else None
        t0, c0 = time.perf_counter(), time.process_time()
        checksum = 0.0
        for i in range(a.infer_steps):
            ids, dense, _ = pool[i % len(pool)]
            if infer_phases is not None:
                infer_phases.mark("other")
            p = torch.sigmoid(model(ids, dense, infer_phases))
            if infer_phases is not None:
                infer_phases.mark("sigmoid")
            checksum += float(p[0])
            if infer_phases is not None:
                infer_phases.mark("other")
        infer_s, infer_cpu = time.perf_counter() - t0, time.process_time() - c0

        times = []
        ids0, dense0, _ = pool[0]
        n_rows = ids0.shape[0]
        for i in range(20 + a.latency_calls):
            r = i % n_rows
            row_ids, row_dense = ids0[r:r + 1], dense0[r:r + 1]
            t = time.perf_counter()
            torch.sigmoid(model(row_ids, row_dense))
            if i >= 20:
                times.append(time.perf_counter() - t)
    latency_ms = float(np.median(times) * 1e3)

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    result = {
        "impl": "pytorch",
        "model": "deepfm-mini",
        "threads": a.threads,
        "batch": a.batch,
        "steps": a.steps,
        "train_samples_per_sec": a.steps * a.batch / train_s,
        "infer_samples_per_sec": a.infer_steps * a.batch / infer_s,
        "latency_b1_ms": latency_ms,
        "peak_rss_bytes": peak_rss,
        "final_loss": final_loss,
        "train_samples_per_cpu_sec": a.steps * a.batch / train_cpu,
        "infer_samples_per_cpu_sec": a.infer_steps * a.batch / infer_cpu,
        "detail": {
            "torch": torch.__version__,
            "tables": "fused" if a.fused_tables else "per-field",
            "intra_threads": INTRA,
            "blas_threads": a.threads,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "zipf": a.zipf,
            "infer_checksum": checksum,
            "data_file": a.data_file,
            "dense_init_file": a.dense_init_file,
        },
    }
    if a.phases:
        result["phases_cpu_ms"] = {"train_step": train_phases.per_step(a.steps),
                                   "infer_batch": infer_phases.per_step(a.infer_steps)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
