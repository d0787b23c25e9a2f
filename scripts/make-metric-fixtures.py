#!/usr/bin/python3
"""Writes test/fixtures/metrics/*.json: small random cases (scores with ties, 0/1 labels,
optional weights and groups) with the reference values computed by scikit-learn.

Run with Debian's python3 (apt-get install -y python3-sklearn):
    /usr/bin/python3 scripts/make-metric-fixtures.py
The output is deterministic (fixed NumPy seeds) and committed; the tests in
test/metrics/sklearn-fixtures.test.ts compare finerank's metrics to these values to 1e-9.

Reference definitions:
  auc         sklearn.metrics.roc_auc_score(labels, scores, sample_weight=weights)
  logloss     sklearn.metrics.log_loss(labels, scores, eps=eps, sample_weight=weights)
  calibration numpy: average(scores, weights) / average(labels, weights)
  gauc        sum_g n_g * roc_auc_score(group g) / sum_g n_g over groups with both classes
              (n_g = row count, or the group's total weight when weights are given)
  avg_auc     unweighted mean of the same per-group AUCs
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import log_loss, roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'metrics')
EPS = 1e-7


def group_auc(y, s, g, w):
    weighted, total, aucs = 0.0, 0.0, []
    for gid in np.unique(g):
        m = g == gid
        if len(np.unique(y[m])) < 2:
            continue
        ww = None if w is None else w[m]
        if ww is not None and (ww[y[m] == 1].sum() == 0 or ww[y[m] == 0].sum() == 0):
            continue
        a = roc_auc_score(y[m], s[m], sample_weight=ww)
        n_g = m.sum() if w is None else ww.sum()
        weighted += n_g * a
        total += n_g
        aucs.append(a)
    return weighted / total, float(np.mean(aucs)), len(aucs), len(np.unique(g)) - len(aucs)


def case(name, description, s, y, w=None, g=None):
    s = np.asarray(s, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    exp = {
        'auc': float(roc_auc_score(y, s, sample_weight=w)),
        'logloss': float(log_loss(y, s, eps=EPS, sample_weight=w, labels=[0, 1])),
        'calibration': float(np.average(s, weights=w) / np.average(y, weights=w)),
    }
    if g is not None:
        ga, aa, valid, skipped = group_auc(y, s, g, w)
        exp.update(gauc=float(ga), avg_auc=float(aa), valid_groups=valid, skipped_groups=skipped)
    doc = {
        'name': name,
        'description': description,
        'generator': 'scripts/make-metric-fixtures.py, scikit-learn ' + sklearn.__version__,
        'eps': EPS,
        'scores': [float(v) for v in s],
        'labels': [int(v) for v in y],
        'expected': exp,
    }
    if w is not None:
        doc['weights'] = [float(v) for v in w]
    if g is not None:
        doc['groups'] = [int(v) for v in g]
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(name, len(s), exp)


def main():
    os.makedirs(OUT, exist_ok=True)
    r = np.random.default_rng(20240601)

    # 1. Heavy ties: scores on a 0.1 grid, label correlated with score.
    n = 300
    s = np.round(r.uniform(0, 1, n), 1)
    y = (r.uniform(0, 1, n) < 0.2 + 0.6 * s).astype(int)
    case('ties', 'scores on a 0.1 grid (11 distinct values), labels correlated with score', s, y)

    # 2. Weighted, ties on a 0.01 grid.
    n = 400
    s = np.round(r.beta(2, 5, n), 2)
    y = (r.uniform(0, 1, n) < s).astype(int)
    w = np.round(r.uniform(0.1, 3.0, n), 3)
    case('weighted', 'beta(2,5) scores on a 0.01 grid with sample weights in [0.1, 3]', s, y, w=w)

    # 3. Continuous float32 scores (no ties), low CTR.
    n = 500
    z = r.normal(-2.0, 1.0, n)
    s = (1 / (1 + np.exp(-z))).astype(np.float32).astype(np.float64)
    y = (r.uniform(0, 1, n) < 1 / (1 + np.exp(-(z + r.normal(0, 1, n))))).astype(int)
    case('continuous', 'float32-exact sigmoid scores, CTR about 0.15, no ties', s, y)

    # 4. Groups (gAUC): 40 groups of varied size, some single-class, scores with ties.
    n = 600
    g = r.integers(0, 40, n) * 7 - 100  # sparse, some negative ids
    bias = r.normal(0, 1, 40)
    gi = (g + 100) // 7
    z = r.normal(0, 1, n)
    s = np.round(1 / (1 + np.exp(-(z + bias[gi]))), 2)
    y = (r.uniform(0, 1, n) < 1 / (1 + np.exp(-(0.8 * z + bias[gi] - 1)))).astype(int)
    # Force some single-class groups.
    y[gi == 3] = 0
    y[gi == 5] = 1
    case('groups', 'group ids in {-100, -93, ...}, group-level biases, two single-class groups', s, y, g=g)

    # 5. Groups with weights.
    n = 500
    g = r.integers(0, 25, n)
    s = np.round(r.uniform(0, 1, n), 1)
    y = (r.uniform(0, 1, n) < 0.3 + 0.4 * s).astype(int)
    w = np.round(r.uniform(0.5, 2.0, n), 2)
    case('groups-weighted', 'scores on a 0.1 grid, 25 groups, sample weights in [0.5, 2]', s, y, w=w, g=g)

    # 6. Extreme probabilities (clipping): exact 0 and 1 among the scores.
    n = 200
    s = r.choice([0.0, 1e-12, 1e-3, 0.5, 0.999, 1 - 1e-12, 1.0], n)
    y = r.integers(0, 2, n)
    case('extremes', 'probabilities including exact 0 and 1 (logloss clipping at eps=1e-7)', s, y)


if __name__ == '__main__':
    sys.exit(main())
