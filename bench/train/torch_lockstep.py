#!/usr/bin/env python3
"""PyTorch side of bench/train/lockstep.ts: the DCNv2 or xDeepFM twin (torch_zoo.py) trained on the batches
lockstep.ts wrote, from finerank's initial weights (or, with --torch-init S, from the twin's
own initialization under torch seed S), with torch_ctr.py's step: mean BCE + lambda/2 * ||tables||^2,
global grad-norm clipping at 10, Adam 1e-3 on every parameter (constant: no schedule).

finerank stores a Linear weight as [in, out], torch as [out, in]: weights are transposed on load.
Prints the mean BCE per epoch, the BCE of the first --steps-shown steps and the validation AUC /
logloss, then one JSON line.
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
from torch import nn
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_zoo import DCNv2, XDeepFM  # noqa: E402


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


def xdeepfm_dense_pairs(m):
    """xDeepFM's dense parameters as (finerank name, torch parameter, finerank flat -> torch shape):
    CIN 1x1 convolutions ([F*H, H'] -> [H', F*H, 1]; channel i*H + j on both sides), the CIN's fc,
    the DNN (finerank weights [in, out], torch [out, in]) with its BN and output Linear."""
    lin = lambda p: (lambda v: v.view(p.shape[1], p.shape[0]).t())  # noqa: E731
    same = lambda p: (lambda v: v.view(p.shape))  # noqa: E731
    pairs = []
    for i, conv in enumerate(m.cin.convs):
        pairs.append((f"cin.layer{i}.weight", conv.weight,
                      lambda v, c=conv: v.view(c.in_channels, c.out_channels).t().unsqueeze(-1)))
        pairs.append((f"cin.layer{i}.bias", conv.bias, same(conv.bias)))
    pairs += [("cin.fc.weight", m.cin.fc.weight, lin(m.cin.fc.weight)), ("cin.fc.bias", m.cin.fc.bias, same(m.cin.fc.bias))]
    seq = list(m.dnn[0]) + [m.dnn[1]]
    lins = [x for x in seq if isinstance(x, nn.Linear)]
    bns = [x for x in seq if isinstance(x, nn.BatchNorm1d)]
    for i, layer in enumerate(lins):
        name = f"dnn.layers.{i}.linear" if i < len(lins) - 1 else "dnn.out"
        pairs += [(f"{name}.weight", layer.weight, lin(layer.weight)), (f"{name}.bias", layer.bias, same(layer.bias))]
    for i, bn in enumerate(bns):
        pairs += [(f"dnn.layers.{i}.bn.gamma", bn.weight, same(bn.weight)), (f"dnn.layers.{i}.bn.beta", bn.bias, same(bn.bias))]
    return pairs


def pre_batchnorm_biases(m):
    """Names of the DNN's Linear biases that a BatchNorm follows: their exact gradient is 0 (the
    normalisation removes any constant), so both sides hold rounding noise there."""
    seq = list(m.dnn[0])
    lins = [x for x in seq if isinstance(x, nn.Linear)]
    return {f"dnn.layers.{i}.linear.bias" for i in range(len(lins))} if any(isinstance(x, nn.BatchNorm1d) for x in seq) else set()


def load_finerank_xdeepfm(m, init, dim):
    """xDeepFM: tables, first-order tables and the dense parameters of xdeepfm_dense_pairs."""
    w = {k: torch.tensor(v, dtype=torch.float32) for k, v in init.items()}
    with torch.no_grad():
        for f, t in enumerate(m.embedding.tables):
            t.weight.copy_(w[f"embedding.{FIELDS[f]}"].view(-1, dim))
        for f, t in enumerate(m.first_order.tables):
            t.weight.copy_(w[f"linear.embedding.{FIELDS[f]}"].view(-1, 1))
        for name, p, to_torch in xdeepfm_dense_pairs(m):
            p.copy_(to_torch(w[name]))


def compare_grad_probe(m, probe, batch):
    """The first batch's mean BCE gradients of the dense parameters (train mode, no penalty)
    against finerank's (setup.json grad_probe): the largest |difference| over a parameter's
    entries relative to its largest |torch gradient| (floored, below), worst parameter named."""
    m = copy.deepcopy(m)  # the probe's forward must not move the model's BatchNorm statistics
    loss = nn.BCEWithLogitsLoss()(m(batch[0]), batch[1])
    loss.backward()
    pairs = xdeepfm_dense_pairs(m)
    zero = pre_batchnorm_biases(m)
    worst, name_worst, noise = 0.0, "", 0.0
    for name, p, to_torch in pairs:
        mine = to_torch(torch.tensor(probe["grads"][name], dtype=torch.float32))
        if name in zero:
            noise = max(noise, float(mine.abs().max()), float(p.grad.abs().max()))
            continue
        rel = float((mine - p.grad).abs().max()) / max(float(p.grad.abs().max()), 1e-30)
        if rel >= worst:
            worst, name_worst = rel, name
    return {"params": len(pairs) - len(zero), "max_rel_diff": worst, "worst": name_worst,
            "loss_diff": abs(float(loss) - probe["loss"]), "pre_bn_bias_max_abs": noise}


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
    p = argparse.ArgumentParser(description="DCNv2 / xDeepFM twin in lockstep with finerank")
    p.add_argument("--dir", required=True)
    p.add_argument("--torch-init", type=int, default=None)
    p.add_argument("--steps-shown", type=int, default=10)
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
    model = s.get("model", "dcnv2")
    if model == "dcnv2" and (opt.get("model_structure", "parallel") != "parallel" or opt.get("use_low_rank_mixture", False)):
        raise SystemExit("torch_lockstep: the twin is the parallel full-rank DCNv2")
    twin, load = {"dcnv2": (DCNv2, load_finerank_weights), "xdeepfm": (XDeepFM, load_finerank_xdeepfm)}[model]
    if a.torch_init is not None:
        sys.argv = [sys.argv[0], "--model", model, "--train", "-", "--valid", "-", "--test", "-"]
        from torch_ctr import init_weights  # noqa: E402 (parses its own argv at import)
        torch.manual_seed(a.torch_init)
        m = twin(s["sizes"], opt, FeatureEmbedding)
        init_weights(m, 1e-4)
    else:
        torch.manual_seed(0)  # dropout masks
        m = twin(s["sizes"], opt, FeatureEmbedding)
        load(m, s["init"], dim)
    grad_probe = None
    if model == "xdeepfm" and a.torch_init is None and "grad_probe" in s and opt.get("net_dropout", 0) == 0:
        grad_probe = compare_grad_probe(m, s["grad_probe"], batches[0])
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
    res = {"train_loss": per_epoch, "step_loss": losses[:a.steps_shown], "grad_probe": grad_probe, "valid_auc": float(roc_auc_score(y, prob)),
           "valid_logloss": float(-np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))),
           "init": "finerank weights" if a.torch_init is None else f"torch seed {a.torch_init}"}
    print(f"pytorch: train loss per epoch {' '.join(str(v) for v in per_epoch)}; valid AUC {res['valid_auc']:.6f}, "
          f"logloss {res['valid_logloss']:.6f}", flush=True)
    print(f"pytorch: loss of steps 1…{a.steps_shown} {' '.join(f'{v:.6f}' for v in res['step_loss'])}", flush=True)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
