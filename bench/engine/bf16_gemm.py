"""bf16 against fp32 GEMM at the serving shapes: is reduced precision a way past the fp32 floor here?

The rank-1000 forward of the bench/serve DeepFM is two GEMMs per candidate batch,
1000x100 . 100x400 and 1000x400 . 400x400 (plus a 400x1 output). This script times, per call
and per second of process CPU time at one thread, every bf16 GEMM this machine offers against
the fp32 sgemm finerank uses:

  openblas_sgemm      cblas_sgemm, with the OpenBLAS kernel set finerank forces (build/blas-core.json)
  openblas_sbgemm     cblas_sbgemm (bf16 in, fp32 accumulate/out) -- only if the library exports it
  onednn_sgemm        dnnl_sgemm of libdnnl.so.2 (Debian's libdnnl2, which python3-torch pulls in)
  onednn_bf16         dnnl_gemm_bf16bf16f32 of the same library (row-major, bf16 in, fp32 out)
  torch_fp32/_bf16    x @ w of Debian's torch in float32 and bfloat16 (torch.set_num_threads(1))

and, where gcc and the CPU's avx512_bf16 allow, the instruction peaks: GFLOP/s of a register-only
loop of independent vdpbf16ps (64 flop each: 16 lanes x 2 products x 2) against one of
independent vfmadd231ps (32 flop each), which bounds what any bf16 GEMM can gain on this core.
The inputs of the bf16 GEMMs are converted beforehand (round to nearest even) and the
conversion is not timed: a bf16 forward would add it per layer on top of the GEMM.

    /usr/bin/python3 bench/engine/bf16_gemm.py [--repeat 200]

Prints a table, the tower's GEMM time (the shapes weighted by their use in the model) per
implementation with the best bf16 speed-up and a verdict (clearly faster: >= 1.2x), then one
JSON line last. Numbers are per process CPU second: other processes
on the cores hardly move them; the load average is printed with them.
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def force_blas_core():
    """Sets OPENBLAS_CORETYPE from finerank's install-time choice (as bench/common/python.ts does)."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return os.environ["OPENBLAS_CORETYPE"] + " (environment)"
    try:
        with open(os.path.join(ROOT, "build", "blas-core.json")) as f:
            core = json.load(f)["core"]
    except (OSError, ValueError, KeyError):
        return "OpenBLAS's own choice (no build/blas-core.json)"
    os.environ["OPENBLAS_CORETYPE"] = core
    return core + " (build/blas-core.json)"


CORE = force_blas_core()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the environment above: OpenBLAS reads it at load)

SHAPES = [(1000, 100, 400), (1000, 400, 400), (1000, 400, 1)]


def to_bf16(a):
    """float32 array -> uint16 bf16 bits, round to nearest even (NaN-free inputs)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def cpu_ms(fn, repeat):
    for _ in range(max(5, repeat // 10)):
        fn()
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat * 1e3


def load(names):
    for n in names:
        try:
            return ctypes.CDLL(n)
        except OSError:
            continue
    return None


def symbol(lib, name):
    try:
        return getattr(lib, name)
    except AttributeError:
        return None


PTR = ctypes.c_void_p
I64 = ctypes.c_int64


def gemm_cases(repeat):
    blas = load(["libopenblas.so.0", ctypes.util.find_library("openblas") or "libopenblas.so"])
    dnnl = load(["libdnnl.so.2", ctypes.util.find_library("dnnl") or "libdnnl.so"])
    sgemm = symbol(blas, "cblas_sgemm") if blas else None
    sbgemm = symbol(blas, "cblas_sbgemm") if blas else None
    d_sgemm = symbol(dnnl, "dnnl_sgemm") if dnnl else None
    d_bf16 = symbol(dnnl, "dnnl_gemm_bf16bf16f32") if dnnl else None
    cblas_args = [ctypes.c_int] * 6 + [ctypes.c_float, PTR, ctypes.c_int, PTR, ctypes.c_int, ctypes.c_float, PTR, ctypes.c_int]
    dnnl_args = [ctypes.c_char, ctypes.c_char, I64, I64, I64, ctypes.c_float, PTR, I64, PTR, I64, ctypes.c_float, PTR, I64]
    for f, args in [(sgemm, cblas_args), (sbgemm, cblas_args), (d_sgemm, dnnl_args), (d_bf16, dnnl_args)]:
        if f is not None:
            f.argtypes = args
            f.restype = None if args is cblas_args else ctypes.c_int
    available = {
        "openblas_sgemm": sgemm is not None,
        "openblas_sbgemm": sbgemm is not None,
        "onednn_sgemm": d_sgemm is not None,
        "onednn_bf16": d_bf16 is not None,
    }
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    available["torch"] = torch is not None
    rng = np.random.default_rng(7)
    rows = []
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32) * 0.05
        ab, bb = to_bf16(a), to_bf16(b)
        c = np.zeros((m, n), np.float32)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        scale = float((np.abs(a) @ np.abs(b)).max())  # relative to sum |a.b|: the rounding scale
        pa, pb, pab, pbb, pc = (x.ctypes.data_as(PTR) for x in (a, b, ab, bb, c))
        flop = 2.0 * m * n * k
        row = {"shape": f"{m}x{k}.{k}x{n}"}
        calls = {}
        if sgemm is not None:
            calls["openblas_sgemm"] = lambda: sgemm(101, 111, 111, m, n, k, 1.0, pa, k, pb, n, 0.0, pc, n)
        if sbgemm is not None:
            calls["openblas_sbgemm"] = lambda: sbgemm(101, 111, 111, m, n, k, 1.0, pab, k, pbb, n, 0.0, pc, n)
        if d_sgemm is not None:
            calls["onednn_sgemm"] = lambda: d_sgemm(b"N", b"N", m, n, k, 1.0, pa, k, pb, n, 0.0, pc, n)
        if d_bf16 is not None:
            calls["onednn_bf16"] = lambda: d_bf16(b"N", b"N", m, n, k, 1.0, pab, k, pbb, n, 0.0, pc, n)
        for name, call in calls.items():
            ms = cpu_ms(call, repeat)
            err = float(np.abs(c - ref).max()) / scale
            row[name] = {"ms": round(ms, 4), "gflops": round(flop / ms / 1e6, 1), "max_rel_error": err}
        if torch is not None:
            for name, dt in [("torch_fp32", torch.float32), ("torch_bf16", torch.bfloat16)]:
                x, w = torch.from_numpy(a).to(dt), torch.from_numpy(b).to(dt)
                ms = cpu_ms(lambda: x @ w, repeat)
                y = (x @ w).float().numpy()
                row[name] = {"ms": round(ms, 4), "gflops": round(flop / ms / 1e6, 1), "max_rel_error": float(np.abs(y - ref).max()) / scale}
        rows.append(row)
    return rows, available


PEAK_C = r"""
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define N_ACC 24
/* Independent accumulators started at different values, so that no two chains are the same
   expression (a compiler would merge them into one latency-bound chain). */
__attribute__((target("avx512f,avx512bf16"))) static double bf16_peak(long n){
  __m512 a[N_ACC]; for(int i=0;i<N_ACC;i++) a[i]=_mm512_set1_ps((float)(i+n));
  __m512bh x=(__m512bh)_mm512_set1_epi16(0x3f80), y=(__m512bh)_mm512_set1_epi16(0x3f00);
  double t=cpu();
  for(long r=0;r<n;r++){
    #pragma GCC unroll 24
    for(int i=0;i<N_ACC;i++) a[i]=_mm512_dpbf16_ps(a[i],x,y);
    __asm__ volatile("" :: "v"(a[0]),"v"(a[1]),"v"(a[2]),"v"(a[3]),"v"(a[4]),"v"(a[5]),"v"(a[6]),"v"(a[7]),"v"(a[8]),"v"(a[9]),"v"(a[10]),"v"(a[11]));
    __asm__ volatile("" :: "v"(a[12]),"v"(a[13]),"v"(a[14]),"v"(a[15]),"v"(a[16]),"v"(a[17]),"v"(a[18]),"v"(a[19]),"v"(a[20]),"v"(a[21]),"v"(a[22]),"v"(a[23]));
  }
  t=cpu()-t; return n*(double)N_ACC*64/t/1e9;
}
__attribute__((target("avx512f"))) static double fp32_peak(long n){
  __m512 a[N_ACC]; for(int i=0;i<N_ACC;i++) a[i]=_mm512_set1_ps((float)(i+n));
  __m512 x=_mm512_set1_ps(1.0f), y=_mm512_set1_ps(0.5f);
  double t=cpu();
  for(long r=0;r<n;r++){
    #pragma GCC unroll 24
    for(int i=0;i<N_ACC;i++) a[i]=_mm512_fmadd_ps(x,y,a[i]);
    __asm__ volatile("" :: "v"(a[0]),"v"(a[1]),"v"(a[2]),"v"(a[3]),"v"(a[4]),"v"(a[5]),"v"(a[6]),"v"(a[7]),"v"(a[8]),"v"(a[9]),"v"(a[10]),"v"(a[11]));
    __asm__ volatile("" :: "v"(a[12]),"v"(a[13]),"v"(a[14]),"v"(a[15]),"v"(a[16]),"v"(a[17]),"v"(a[18]),"v"(a[19]),"v"(a[20]),"v"(a[21]),"v"(a[22]),"v"(a[23]));
  }
  t=cpu()-t; return n*(double)N_ACC*32/t/1e9;
}
int main(void){
  double b=0,f=0;
  for(int r=0;r<3;r++){double x=bf16_peak(20000000), y=fp32_peak(20000000); if(x>b)b=x; if(y>f)f=y;}
  printf("{\"bf16_dot_gflops\":%.1f,\"fp32_fma_gflops\":%.1f}\n",b,f);
  return 0;
}
"""


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def instruction_peaks():
    """GFLOP/s of independent vdpbf16ps against vfmadd231ps (one core), or why not measured."""
    if "avx512_bf16" not in cpu_flags():
        return {"skipped": "this CPU lacks avx512_bf16"}
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return {"skipped": "no C compiler"}
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "peak.c"), os.path.join(d, "peak")
        with open(src, "w") as f:
            f.write(PEAK_C)
        r = subprocess.run([cc, "-O2", "-o", exe, src], capture_output=True, text=True)
        if r.returncode != 0:
            return {"skipped": "compile failed: " + r.stderr.strip().splitlines()[-1]}
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=200, help="timed calls per GEMM (default 200)")
    args = p.parse_args()
    load_before = os.getloadavg()[0]
    rows, available = gemm_cases(args.repeat)
    peaks = instruction_peaks()
    load_after = os.getloadavg()[0]
    impls = ["openblas_sgemm", "openblas_sbgemm", "onednn_sgemm", "onednn_bf16", "torch_fp32", "torch_bf16"]
    print(f"OpenBLAS kernels: {CORE}; one thread; ms per call of process CPU time (GFLOP/s)")
    print("shape".ljust(18) + "".join(i.ljust(20) for i in impls))
    for r in rows:
        cells = [(f"{r[i]['ms']:.3f} ({r[i]['gflops']:.0f})" if i in r else "n/a") for i in impls]
        print(r["shape"].ljust(18) + "".join(c.ljust(20) for c in cells))
    if "skipped" in peaks:
        print("instruction peaks: skipped (" + peaks["skipped"] + ")")
    else:
        print(f"instruction peaks, one core: vdpbf16ps {peaks['bf16_dot_gflops']:.0f} GFLOP/s, vfmadd231ps {peaks['fp32_fma_gflops']:.0f} GFLOP/s")
    best_bf16 = {}
    for r in rows:
        sg = r.get("openblas_sgemm", {}).get("ms")
        cands = [r[i]["ms"] for i in ("openblas_sbgemm", "onednn_bf16", "torch_bf16") if i in r]
        if sg and cands:
            best_bf16[r["shape"]] = round(sg / min(cands), 3)
    # The tower of bench/serve's DeepFM at 1,000 candidates: 100->400 once, 400->400 twice, 400->1 once.
    uses = {"1000x100.100x400": 1, "1000x400.400x400": 2, "1000x400.400x1": 1}
    tower = {}
    for impl in impls:
        if all(impl in r for r in rows):
            tower[impl] = round(sum(uses[r["shape"]] * r[impl]["ms"] for r in rows), 4)
    bf16_tower = [tower[i] for i in ("openblas_sbgemm", "onednn_bf16", "torch_bf16") if i in tower]
    tower_speedup = round(tower["openblas_sgemm"] / min(bf16_tower), 3) if "openblas_sgemm" in tower and bf16_tower else None
    verdict = (
        "bf16 clearly faster"
        if tower_speedup is not None and tower_speedup >= 1.2
        else "bf16 not faster than fp32 sgemm here: reduced-precision serving would not pay"
    )
    print(f"best bf16 speed-up over openblas_sgemm per shape: {best_bf16}")
    print(f"the tower's GEMMs at 1,000 rows (100->400, 2 x 400->400, 400->1), ms: {tower}; best bf16 speed-up {tower_speedup} -> {verdict}")
    print(f"load average (1 min) {load_before:.2f} -> {load_after:.2f}")
    print(
        json.dumps(
            {
                "bench": "bf16_gemm",
                "blas_core": CORE,
                "threads": 1,
                "available": available,
                "shapes": rows,
                "instruction_peaks": peaks,
                "bf16_speedup_over_sgemm": best_bf16,
                "tower_ms": tower,
                "tower_bf16_speedup": tower_speedup,
                "verdict": verdict,
                "load_avg_1m_before": load_before,
                "load_avg_1m_after": load_after,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
