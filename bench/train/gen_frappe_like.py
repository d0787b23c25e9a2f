#!/usr/bin/env python3
"""Stand-in generator of a frappe-like libfm dataset, for testing bench/train only.

The benchmark's dataset comes from `finerank gen frappe-like` (src/data/synth); this
script exists so the PyTorch side can be exercised before that command exists, and as a
fallback selected explicitly with `npm run bench:train -- --gen python`.

Shape (as the real Frappe in libfm form): 10 categorical fields with the global index
ranges of bench/train/config.json (user 957, item 4082, daytime 7, weekday 7, isweekend 2,
homework 3, cost 2, weather 9, country 80, city 233 values), one `idx:1` per field per
line, label 0/1 with about one positive in three, 288,609 rows split 7:2:1 into
train/valid/test.libfm.

Process: users and items are Zipf-popular; the click logit is
  b + item_bias[i] + <U[u] + sum_c C_c[v_c], V[i]> + w(daytime, weekday) + w(country, cost)
with low-rank factors (dim 8), so that factorization (FM/DeepFM) and crossing (DCN) help;
the intercept is set so that the positive rate is ~1/3.
"""
import argparse
import json
import os
import sys

import numpy as np


def main(argv):
    p = argparse.ArgumentParser(description="frappe-like libfm generator (bench/train testing)")
    p.add_argument("--out", required=True, help="output folder (train/valid/test.libfm)")
    p.add_argument("--rows", type=int, default=288_609)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "config.json"))
    a = p.parse_args(argv)
    if a.rows < 10:
        p.error(f"--rows must be >= 10, got {a.rows}")
    with open(a.config) as f:
        fields = json.load(f)["dataset"]["fields"]
    names = [fd["name"] for fd in fields]
    lo = np.array([fd["range"][0] for fd in fields], dtype=np.int64)
    card = np.array([fd["range"][1] - fd["range"][0] + 1 for fd in fields], dtype=np.int64)
    rng = np.random.default_rng(a.seed)
    n = a.rows

    def zipf_draw(size, s, count):
        w = np.arange(1, size + 1, dtype=np.float64) ** (-s)
        perm = rng.permutation(size)  # popularity rank -> value
        return perm[rng.choice(size, count, p=w / w.sum())]

    cols = np.zeros((n, len(fields)), dtype=np.int64)
    skew = {"user": 0.8, "item": 1.05, "country": 1.2, "city": 1.1}
    for f, name in enumerate(names):
        cols[:, f] = zipf_draw(int(card[f]), skew.get(name, 0.3), n)

    k = 8
    fidx = {name: f for f, name in enumerate(names)}
    U = rng.normal(0, 0.6, (card[fidx["user"]], k))
    V = rng.normal(0, 0.6, (card[fidx["item"]], k))
    item_bias = rng.normal(0, 0.8, card[fidx["item"]])
    logit = item_bias[cols[:, fidx["item"]]]
    q = U[cols[:, fidx["user"]]].copy()
    for name in names:
        if name in ("user", "item"):
            continue
        C = rng.normal(0, 0.35, (card[fidx[name]], k))
        q += C[cols[:, fidx[name]]]
    logit += 1.5 * (q * V[cols[:, fidx["item"]]]).sum(1)
    W1 = rng.normal(0, 0.7, (card[fidx["daytime"]], card[fidx["weekday"]]))
    logit += W1[cols[:, fidx["daytime"]], cols[:, fidx["weekday"]]]
    W2 = rng.normal(0, 0.7, (card[fidx["country"]], card[fidx["cost"]]))
    logit += W2[cols[:, fidx["country"]], cols[:, fidx["cost"]]]
    # intercept so that the mean click probability is ~1/3 (bisection)
    lo_b, hi_b = -20.0, 20.0
    for _ in range(60):
        mid = (lo_b + hi_b) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() > 1 / 3:
            hi_b = mid
        else:
            lo_b = mid
    prob = 1 / (1 + np.exp(-(logit + lo_b)))
    label = (rng.random(n) < prob).astype(np.int64)

    os.makedirs(a.out, exist_ok=True)
    order = rng.permutation(n)
    n_train, n_valid = int(n * 0.7), int(n * 0.2)
    parts = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid], "test": order[n_train + n_valid:]}
    gidx = cols + lo
    for part, rows in parts.items():
        path = os.path.join(a.out, f"{part}.libfm")
        with open(path + ".tmp", "w") as f:
            for r in rows:
                f.write(str(label[r]) + " " + " ".join(f"{g}:1" for g in gidx[r]) + "\n")
        os.replace(path + ".tmp", path)
    oracle = {}
    try:
        from sklearn.metrics import roc_auc_score
        te = parts["test"]
        oracle = {"oracle_test_auc": float(roc_auc_score(label[te], prob[te]))}
    except ImportError:
        pass
    print(json.dumps({"out": a.out, "rows": n, "positive_rate": float(label.mean()),
                      **{f"{k}_rows": int(len(v)) for k, v in parts.items()}, **oracle}))


if __name__ == "__main__":
    main(sys.argv[1:])
