"""XGBoost side of `npm run bench:gbdt`: reads the exported matrices, fits
XGBClassifier(tree_method='hist') with the given trees, depth, learning rate, bins and
threads (timed: DMatrix construction + boosting, as XGBClassifier.fit does both), predicts
test and prints ONE JSON line: train_seconds (wall), train_cpu_seconds (process CPU), test_auc, test_logloss, trees, leaves,
peak_rss_bytes, xgboost version.

base_score is set to the training positive rate (XGBoost 1.7 defaults to 0.5; finerank,
like XGBoost >= 2.0, starts from the training mean), so both start from the same margin.
"""
import argparse, json, os, resource, time

import numpy as np
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score


def read_split(d, split, meta):
    rows = meta["rows"][split]
    X = np.fromfile(os.path.join(d, f"{split}.X.f32"), dtype=np.float32).reshape(len(meta["names"]), rows).T
    y = np.fromfile(os.path.join(d, f"{split}.y.f32"), dtype=np.float32)
    return np.ascontiguousarray(X), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--n-estimators", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--learning-rate", type=float, default=0.3)
    ap.add_argument("--max-bin", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=0, help="fit on the first N training rows only (profiling)")
    a = ap.parse_args()
    with open(os.path.join(a.dir, "matrix.json")) as f:
        meta = json.load(f)
    Xtr, ytr = read_split(a.dir, "train", meta)
    Xte, yte = read_split(a.dir, "test", meta)
    if a.max_rows > 0:
        Xtr, ytr = Xtr[: a.max_rows], ytr[: a.max_rows]
    clf = xgb.XGBClassifier(
        tree_method="hist", n_estimators=a.n_estimators, max_depth=a.max_depth, learning_rate=a.learning_rate,
        max_bin=a.max_bin, n_jobs=a.threads, min_child_weight=1, reg_lambda=1, gamma=0, subsample=1,
        colsample_bytree=1, base_score=float(ytr.mean()), objective="binary:logistic",
    )
    t0, c0 = time.perf_counter(), time.process_time()
    clf.fit(Xtr, ytr)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    p = clf.predict_proba(Xte)[:, 1]
    dump = clf.get_booster().get_dump()
    leaves = sum(t.count("leaf=") for t in dump)
    print(json.dumps({
        "train_seconds": secs, "train_cpu_seconds": cpu, "test_auc": float(roc_auc_score(yte, p)), "test_logloss": float(log_loss(yte, p.astype(np.float64))),
        "trees": len(dump), "leaves": leaves, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "xgboost": xgb.__version__,
    }))


if __name__ == "__main__":
    main()
