#!/usr/bin/env python3
"""PyTorch reference of bench:train: DeepFM, DCN and the zoo models of torch_zoo.py under the BARS / FuxiCTR protocol.

Follows FuxiCTR v1.1.0 (the version BARS' Frappe_x1 results were produced with), as
DESIGN.md §5 states the protocol:

  * Data: libfm lines `label idx:val …`; fields are inclusive global index ranges
    (config.json dataset.fields). Each field's vocabulary is built from the training file
    only (count >= min_count, ordered by count); id 0 padding, id 1 OOV (unseen value or
    field absent on the line), known values 2…n+1.
  * Embeddings N(0, 1e-4) (every table, first-order ones included); nn.Linear weights
    Xavier-normal with zero bias; BatchNorm default (1, 0).
  * MLP block: [Linear -> BatchNorm -> ReLU -> Dropout] per hidden layer.
  * DeepFM: logit = sum_f w_f[x_f] (no bias) + sum_{f<g} <v_f, v_g> + MLP(flatten v) -> 1.
  * DCN: x0 = flatten v; cross layers x_{l+1} = x0 * (x_l . w_l) + b_l + x_l; the DNN
    (no output layer) runs on x0 in parallel; logit = Linear([x_L ++ dnn_out] -> 1).
  * Loss: mean BCE + sum over embedding tables of lambda/2 * ||W||^2 (lambda 0.05);
    no L2 on the network. Adam (lr 1e-3, dense, all parameters); global grad-norm
    clipping at 10; batch 4096, shuffled each epoch, last partial batch kept.
  * After every epoch: valid AUC. If it does not beat the best by 1e-6: lr x 0.1 (floor
    1e-6) and one more bad epoch; else save the weights. Stop after 2 bad epochs in a
    row; restore the best weights; report test AUC and logloss (p clipped to [1e-7, 1-1e-7]).

Prints one line per epoch (train loss = the mean BCE over the epoch's batches, as finerank
reports it, with the L2 penalty beside it), then one JSON line (last line of stdout): model, samples/s
(training examples per second of training time, evaluation excluded), epochs, best valid
AUC, test AUC, test logloss, peak RSS.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch DeepFM / DCN under the BARS protocol")
    p.add_argument("--model", required=True, help="deepfm, dcn, or a model of torch_zoo.ZOO (config.json models.<name>)")
    p.add_argument("--train", required=True)
    p.add_argument("--valid", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--fields", default=None,
                   help="JSON file with [{name, range:[lo,hi]}…] (or {fields: …}, or a finerank "
                        "schema.json with dataset.fields) overriding config dataset.fields")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-epochs", type=int, default=None, help="override protocol.max_epochs")
    p.add_argument("--seed", type=int, default=None, help="override protocol.seed")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error(f"--threads must be >= 1, got {a.threads}")
    if a.max_epochs is not None and a.max_epochs < 1:
        p.error(f"--max-epochs must be >= 1, got {a.max_epochs}")
    return a


ARGS = parse_args(sys.argv[1:])
# Debian's torch runs GEMMs on OpenBLAS, whose pool ignores torch.set_num_threads: give both
# pools the thread count before torch loads, and let idle OpenMP workers sleep rather than
# spin against OpenBLAS's (see bench/engine/README.md).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
if ARGS.threads > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import copy  # noqa: E402
import resource  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

sys.path.insert(0, HERE)
from torch_zoo import GRDA, ZOO  # noqa: E402


class InputError(Exception):
    pass


# ---------------------------------------------------------------- data


def load_fields(cfg, fields_path):
    fields = cfg["dataset"]["fields"]
    if fields_path is not None:
        with open(fields_path) as f:
            fields = json.load(f)
        if isinstance(fields, dict):  # {fields: […]} or a finerank schema {dataset: {fields: […]}}
            fields = fields.get("fields") or (fields.get("dataset") or {}).get("fields")
    if not isinstance(fields, list) or not fields:
        raise InputError("fields: expected a non-empty list of {name, range: [lo, hi]}")
    spans = []
    for k, fd in enumerate(fields):
        r = fd.get("range") if isinstance(fd, dict) else None
        if (not isinstance(r, list) or len(r) != 2 or not all(isinstance(x, int) for x in r)
                or r[0] < 0 or r[1] < r[0]):
            raise InputError(f"fields[{k}] ({fd.get('name') if isinstance(fd, dict) else fd}): "
                             f"range must be [lo, hi] integers with 0 <= lo <= hi, got {r}")
        spans.append((fd.get("name", f"f{k}"), r[0], r[1]))
    ordered = sorted(spans, key=lambda s: s[1])
    for (n1, _, h1), (n2, l2, _) in zip(ordered, ordered[1:]):
        if l2 <= h1:
            raise InputError(f"fields '{n1}' and '{n2}' have overlapping index ranges")
    return spans


def read_libfm(path, spans):
    """Returns (labels float32 [N], raw global indices int64 [N, F] with -1 for absent)."""
    max_idx = max(h for _, _, h in spans)
    field_of = np.full(max_idx + 1, -1, dtype=np.int64)
    for f, (_, lo, hi) in enumerate(spans):
        field_of[lo:hi + 1] = f
    labels, rows = [], []
    n_fields = len(spans)
    with open(path) as fh:
        for ln, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            toks = line.split()
            try:
                labels.append(1.0 if float(toks[0]) > 0 else 0.0)
            except ValueError:
                raise InputError(f"{path}:{ln}: column 1: label must be a number, got '{toks[0]}'")
            row = [-1] * n_fields
            col = len(toks[0]) + 2
            for t in toks[1:]:
                idx_s, sep, val_s = t.partition(":")
                try:
                    idx = int(idx_s)
                    val = float(val_s) if sep else 1.0
                except ValueError:
                    raise InputError(f"{path}:{ln}: column {col}: expected 'index:value', got '{t}'")
                if idx < 0 or idx > max_idx or field_of[idx] < 0:
                    raise InputError(f"{path}:{ln}: column {col}: feature index {idx} is in no field range")
                f = field_of[idx]
                if val != 1.0:
                    raise InputError(f"{path}:{ln}: column {col}: categorical field '{spans[f][0]}' "
                                     f"expects value 1, got {val_s}")
                if row[f] != -1:
                    raise InputError(f"{path}:{ln}: column {col}: field '{spans[f][0]}' appears twice "
                                     f"({row[f]} and {idx})")
                row[f] = idx
                col += len(t) + 1
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data lines")
    return np.asarray(labels, dtype=np.float32), np.asarray(rows, dtype=np.int64)


def build_vocabs(raw, min_count):
    """Per field: {global index -> id}, ids 2.. by descending count (ties: smaller index)."""
    vocabs = []
    for f in range(raw.shape[1]):
        col = raw[:, f]
        col = col[col >= 0]
        vals, counts = np.unique(col, return_counts=True)
        keep = counts >= min_count
        vals, counts = vals[keep], counts[keep]
        order = np.lexsort((vals, -counts))
        vocabs.append({int(v): i + 2 for i, v in enumerate(vals[order])})
    return vocabs


def encode(raw, vocabs):
    out = np.ones_like(raw)  # OOV
    for f, vocab in enumerate(vocabs):
        col = raw[:, f]
        out[:, f] = [vocab.get(int(v), 1) for v in col]
    return out


# ---------------------------------------------------------------- models


def mlp_block(input_dim, hidden, dropout, batch_norm):
    layers = []
    d = input_dim
    for h in hidden:
        layers.append(nn.Linear(d, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    return nn.Sequential(*layers), d


class FeatureEmbedding(nn.Module):
    """One table per field; output [B, F, dim]."""

    def __init__(self, sizes, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)

    def forward(self, x):
        return torch.stack([t(x[:, f]) for f, t in enumerate(self.tables)], dim=1)


class DeepFM(nn.Module):
    def __init__(self, sizes, opt):
        super().__init__()
        dim = opt["embedding_dim"]
        self.embedding = FeatureEmbedding(sizes, dim)
        self.first_order = FeatureEmbedding(sizes, 1)
        self.dnn, d = mlp_block(len(sizes) * dim, opt["hidden_units"], opt["net_dropout"], opt["batch_norm"])
        self.out = nn.Linear(d, 1)

    def embedding_tables(self):
        return list(self.embedding.tables) + list(self.first_order.tables)

    def forward(self, x):
        v = self.embedding(x)                          # [B, F, D]
        lr = self.first_order(x).sum(dim=(1, 2))       # [B]
        s = v.sum(dim=1)
        fm = 0.5 * (s * s - (v * v).sum(dim=1)).sum(dim=1)
        deep = self.out(self.dnn(v.flatten(1))).squeeze(1)
        return lr + fm + deep


class CrossNet(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.w = nn.ModuleList(nn.Linear(dim, 1, bias=False) for _ in range(layers))
        self.b = nn.ParameterList(nn.Parameter(torch.zeros(dim)) for _ in range(layers))

    def forward(self, x0):
        x = x0
        for w, b in zip(self.w, self.b):
            x = x0 * w(x) + b + x
        return x


class DCN(nn.Module):
    def __init__(self, sizes, opt):
        super().__init__()
        dim = opt["embedding_dim"]
        self.embedding = FeatureEmbedding(sizes, dim)
        d_in = len(sizes) * dim
        self.cross = CrossNet(d_in, opt["num_cross_layers"])
        self.dnn, d = mlp_block(d_in, opt["dnn_hidden_units"], opt["net_dropout"], opt["batch_norm"])
        self.out = nn.Linear(d_in + d, 1)

    def embedding_tables(self):
        return list(self.embedding.tables)

    def forward(self, x):
        x0 = self.embedding(x).flatten(1)
        return self.out(torch.cat([self.cross(x0), self.dnn(x0)], dim=1)).squeeze(1)


def init_weights(model, std):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for t in model.embedding_tables():
        nn.init.normal_(t.weight, std=std)


# ---------------------------------------------------------------- metrics / loops


def logloss(y, p, eps):
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@torch.no_grad()
def predict(model, x, batch):
    model.eval()
    out = []
    for i in range(0, x.shape[0], batch):
        out.append(torch.sigmoid(model(x[i:i + batch])).double().numpy())
    return np.concatenate(out)


def fit(model, params, gate_optimizer, max_epochs, lam, gen, x_tr, y_tr_t, x_va, y_va, proto, batch, eps):
    """The BARS protocol on `params` (Adam, clipping, schedule, early stopping, best weights
    restored); `gate_optimizer` (AutoFIS's GRDA) steps its own parameters after Adam."""
    optimizer = torch.optim.Adam(params, lr=proto["learning_rate"])
    tables = [t.weight for t in model.embedding_tables()]
    bce = nn.BCEWithLogitsLoss()
    clip = float(proto["clip_grad_norm"])
    best_auc, best_state, bad, lr = -np.inf, None, 0, proto["learning_rate"]
    train_s, train_cpu_s, trained, epochs = 0.0, 0.0, 0, 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(len(y_tr_t), generator=gen) if proto.get("shuffle", True) else torch.arange(len(y_tr_t))
        loss_sum, penalty_sum, n_batches = 0.0, 0.0, 0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb, yb = x_tr[idx], y_tr_t[idx]
            optimizer.zero_grad(set_to_none=True)
            if gate_optimizer is not None:
                gate_optimizer.zero_grad()
            loss = bce(model(xb), yb)
            loss_sum += float(loss.detach())  # the mean BCE alone, as finerank's 'train loss'
            if lam > 0:
                penalty = (lam / 2) * sum((w * w).sum() for w in tables)
                penalty_sum += float(penalty.detach())
                loss = loss + penalty
            loss.backward()
            nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            if gate_optimizer is not None:
                gate_optimizer.step()
            n_batches += 1
        dt = time.perf_counter() - t0
        train_s += dt
        train_cpu_s += time.process_time() - c0
        trained += len(perm)
        epochs = epoch
        p_va = predict(model, x_va, batch)
        auc = float(roc_auc_score(y_va, p_va))
        ll = logloss(y_va, p_va, eps)
        if auc < best_auc + proto.get("min_delta", 1e-6):
            bad += 1
            lr = max(lr * proto["reduce_lr_factor"], proto["min_lr"])
            for g in optimizer.param_groups:
                g["lr"] = lr
            note = f"no improvement ({bad}), lr -> {lr:g}"
        else:
            bad = 0
            best_auc = auc
            best_state = copy.deepcopy(model.state_dict())
            note = "best"
        print(f"[torch_ctr] epoch {epoch}: train loss {loss_sum / n_batches:.6f} (+ L2 penalty {penalty_sum / n_batches:.6f}), "
              f"valid AUC {auc:.6f}, logloss {ll:.6f}, {len(perm) / dt:,.0f} samples/s ({dt:.1f}s) — {note}", flush=True)
        if bad >= proto["patience"]:
            print(f"[torch_ctr] early stop at epoch {epoch}", flush=True)
            break
    model.load_state_dict(best_state)
    return {"best_auc": best_auc, "epochs": epochs, "samples_per_sec": trained / train_s, "train_seconds": train_s,
            "train_cpu_seconds": train_cpu_s}


def main():
    a = ARGS
    with open(a.config) as f:
        cfg = json.load(f)
    proto = cfg["protocol"]
    if a.model not in cfg["models"]:
        raise InputError(f"{a.config}: no models.{a.model}")
    opt = cfg["models"][a.model]
    seed = a.seed if a.seed is not None else proto["seed"]
    max_epochs = a.max_epochs if a.max_epochs is not None else proto["max_epochs"]
    batch = proto["batch_size"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(seed)
    np.random.seed(seed)

    t_load = time.perf_counter()
    spans = load_fields(cfg, a.fields)
    y_tr, raw_tr = read_libfm(a.train, spans)
    y_va, raw_va = read_libfm(a.valid, spans)
    y_te, raw_te = read_libfm(a.test, spans)
    vocabs = build_vocabs(raw_tr, cfg["dataset"].get("min_count", 1))
    x_tr = torch.from_numpy(encode(raw_tr, vocabs))
    x_va = torch.from_numpy(encode(raw_va, vocabs))
    x_te = torch.from_numpy(encode(raw_te, vocabs))
    y_tr_t = torch.from_numpy(y_tr)
    sizes = [len(v) + 2 for v in vocabs]
    load_s = time.perf_counter() - t_load

    lam_default = proto["embedding_regularizer"]
    lam = float(opt.get("embedding_regularizer", lam_default))
    eps = float(proto.get("logloss_eps", 1e-7))

    def build(**kw):
        if a.model in ("deepfm", "dcn"):
            m = (DeepFM if a.model == "deepfm" else DCN)(sizes, opt)
        elif a.model in ZOO:
            m = ZOO[a.model](sizes, opt, FeatureEmbedding, **kw)
        else:
            raise InputError(f"unknown model '{a.model}' (deepfm, dcn, {', '.join(ZOO)})")
        init_weights(m, proto["embedding_init_std"])
        if hasattr(m, "reset_gates"):
            m.reset_gates()
        return m

    def log_model(m, stage=""):
        n = sum(p.numel() for p in m.parameters())
        print(f"[torch_ctr] {a.model}{stage}: train {len(y_tr)} / valid {len(y_va)} / test {len(y_te)} rows, "
              f"vocab {sum(sizes)} rows, {n} parameters, threads {a.threads}, load {load_s:.1f}s", flush=True)
        return n

    gen = torch.Generator().manual_seed(seed)
    extra = {}
    if a.model == "autofis":
        # Search stage (finerank's src/train/autofis-search.ts): search_epochs epochs of the same
        # protocol with the gates under GRDA, outside Adam, clipping and the schedule; the pairs
        # whose gate ends exactly 0 are dropped, and a fresh model over the kept pairs is retrained.
        search = build()
        log_model(search, " search stage")
        gates = [search.gates] if search.gates is not None else []
        grda = GRDA(gates, opt.get("grda_lr", 1.0), opt.get("grda_c", 0.0005), opt.get("grda_mu", 0.8))
        others = [p for p in search.parameters() if all(p is not g for g in gates)]
        s = fit(search, others, grda, opt.get("search_epochs", 1), lam, gen, x_tr, y_tr_t, x_va, y_va, proto, batch, eps)
        kept = [] if search.gates is None else torch.nonzero(search.gates.detach() != 0).flatten().tolist()
        print(f"[torch_ctr] search kept {len(kept)} of {0 if search.gates is None else search.gates.numel()} pairs "
              f"({s['epochs']} epoch(s), {s['samples_per_sec']:,.0f} samples/s); retrain stage", flush=True)
        extra = {"kept_pairs": len(kept), "search_samples_per_sec": s["samples_per_sec"]}
        model = build(kept=kept)
    else:
        model = build()
    n_params = log_model(model)
    r = fit(model, list(model.parameters()), None, max_epochs, lam, gen, x_tr, y_tr_t, x_va, y_va, proto, batch, eps)
    best_auc, epochs = r["best_auc"], r["epochs"]
    p_te = predict(model, x_te, batch)
    result = {
        "impl": "pytorch",
        "model": a.model,
        "threads": a.threads,
        "samples_per_sec": r["samples_per_sec"],
        "train_seconds": r["train_seconds"],
        "train_cpu_seconds": r["train_cpu_seconds"],
        "epochs": epochs,
        "best_valid_auc": best_auc,
        "test_auc": float(roc_auc_score(y_te, p_te)),
        "test_logloss": logloss(y_te, p_te, eps),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "params": n_params,
        "seed": seed,
        "torch": torch.__version__,
        **extra,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (InputError, FileNotFoundError) as e:
        print(f"torch_ctr: {e}", file=sys.stderr)
        sys.exit(2)
