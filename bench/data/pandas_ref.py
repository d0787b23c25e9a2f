"""pandas reference for the data benchmark: read a Criteo-shaped CSV with pandas.read_csv (C
engine, default type inference) and encode the categorical columns (argv[2], comma-separated;
default C1..C26) to integer codes with pandas.factorize. Prints one JSON line: rows, seconds (wall and CPU) per phase, rows/s,
MB/s and peak RSS (KiB, from getrusage)."""
import json
import os
import resource
import sys
import time

import pandas as pd


def main() -> None:
    path = sys.argv[1]
    size = os.path.getsize(path)
    w0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(path)
    w1, c1 = time.perf_counter(), time.process_time()
    cats = sys.argv[2].split(",") if len(sys.argv) > 2 else [f"C{i}" for i in range(1, 27)]
    for c in cats:
        df[c] = pd.factorize(df[c])[0].astype("int32")
    w2, c2 = time.perf_counter(), time.process_time()
    rows = len(df)
    wall = w2 - w0
    print(json.dumps({
        "tool": "pandas",
        "version": pd.__version__,
        "rows": rows,
        "categorical_columns": len(cats),
        "read_s": round(w1 - w0, 3),
        "encode_s": round(w2 - w1, 3),
        "wall_s": round(wall, 3),
        "cpu_s": round(c2 - c0, 3),
        "rows_per_s": round(rows / wall),
        "mb_per_s": round(size / 1e6 / wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
