/**
 * Fused elementwise kernels of the dense ops (batch norm, dropout, bias gradient). Each
 * has a TypeScript twin (typescript.ts) and a native version (native/dense.cc) doing the
 * same float64 operations in the same order, rounding to float32 on every store, so the
 * two backends give identical bits. Arrays are row-major; sizes are integers in [0, 2³¹);
 * an array shorter than its contract needs is a RangeError naming the kernel and argument.
 *
 * Dropout masks are counter-based: with (seed, threshold, scale) — seed a uint32, threshold
 * an integer in [0, 2³²], scale rounded to float32 — element i (flat row-major index) gets
 * the factor f(i) = scale when mix(mix(i ⊕ seed) + mix(seed ⊕ 0x9e3779b9)) ≥ threshold and
 * 0 otherwise (mix: the lowbias32 integer hash, 32-bit wrap-around arithmetic). Threshold
 * 0 with scale 1 is "no dropout" (f = 1); threshold 2³² keeps nothing. The same (seed, i)
 * always gives the same factor, so backward passes recompute masks instead of storing them.
 *
 * Gradient kernels take `accumulate`: true adds into gx (gx + d, rounded once); false
 * overwrites gx with d (for a fresh gradient buffer, saving its zero-fill and one read).
 */
export interface DenseKernels {
  /**
   * Batch statistics of the [rows, c] x (rows ≥ 1): out[j] = mean and out[c + j] = biased
   * variance of column j, from float64 sums of d = x − x[0, j] and d² (the first row as a
   * shift keeps the variance free of cancellation when |mean| ≫ std); a negative variance
   * from rounding (or −0) becomes 0.
   */
  bnStats(x: Float32Array, rows: number, c: number, out: Float64Array): void;
  /**
   * Batch-norm forward with optional ReLU and dropout: y = (x[i, j] − mean[j])·scale[j] + shift[j];
   * with relu, y ← (y + |y|)/2 (max(0, y) exactly, NaN stays NaN, never −0); then
   * out = float32(y)·f(i) (f the dropout factor; 1 without dropout).
   */
  bnForward(
    x: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    scale: Float32Array,
    shift: Float32Array,
    relu: boolean,
    seed: number,
    threshold: number,
    dropScale: number,
    out: Float32Array,
  ): void;
  /**
   * Batch-norm backward sums: out[j] = Σ_i gv and out[c + j] = invStd[j]·Σ_i gv·(x − mean[j]),
   * with gv = float32(g·f(i))·m, m = 1 where the int32 bits of mask are positive (the forward
   * result was > 0, or NaN) and 0 elsewhere; mask null means m = 1.
   */
  bnGradSums(
    g: Float32Array,
    mask: Float32Array | null,
    x: Float32Array,
    mean: Float32Array,
    invStd: Float32Array,
    rows: number,
    c: number,
    seed: number,
    threshold: number,
    dropScale: number,
    out: Float64Array,
  ): void;
  /** gx[i, j] (+)= gv·scale[j] − k[j]·(x[i, j] − mean[j]) − b[j], gv as in bnGradSums; gx must not alias an input. */
  bnInputGrad(
    g: Float32Array,
    mask: Float32Array | null,
    x: Float32Array,
    mean: Float32Array,
    scale: Float32Array,
    k: Float32Array,
    b: Float32Array,
    rows: number,
    c: number,
    seed: number,
    threshold: number,
    dropScale: number,
    accumulate: boolean,
    gx: Float32Array,
  ): void;
  /** Dropout: out[i] = x[i]·f(i) for i < n. */
  dropoutForward(x: Float32Array, n: number, seed: number, threshold: number, scale: number, out: Float32Array): void;
  /** Dropout backward: gx[i] (+)= g[i]·f(i) with the mask of the same (seed, threshold, scale); gx must not alias g. */
  dropoutBackward(g: Float32Array, n: number, seed: number, threshold: number, scale: number, accumulate: boolean, gx: Float32Array): void;
  /** out[j] += Σ_i g[i, j] over the [rows, c] g, summed in float64 and rounded once (bias gradients). */
  addColumnSums(g: Float32Array, rows: number, c: number, out: Float32Array): void;
  /**
   * Strided row copy: dst[dstOffset + r·dstStride + j] = src[srcOffset + r·srcStride + j]
   * for r < rows, j < n (concat and slice along a last axis: one call instead of one per row).
   * src and dst must not overlap.
   */
  copyRows(
    src: Float32Array,
    srcOffset: number,
    srcStride: number,
    rows: number,
    n: number,
    dst: Float32Array,
    dstOffset: number,
    dstStride: number,
  ): void;
  /**
   * Row broadcast: out[r·n + j] = row[j] for r < rows, j < n (a linear layer's bias rows, filled
   * before its GEMM adds x·W). out must not overlap row.
   */
  fillRows(row: Float32Array, rows: number, n: number, out: Float32Array): void;
  /**
   * The dense Adam step (torch.optim.Adam, bias correction folded into a and e by the caller),
   * in float64 with one rounding per store, for i < n: gi = g[i] + l2·w[i];
   * m[i] = b1·m[i] + (1−b1)·gi; v[i] = b2·v[i] + (1−b2)·gi·gi; w[i] −= a·m[i]/(√v[i] + e), the
   * last with the unrounded m and v. w, g, m and v must be distinct arrays.
   */
  adamUpdate(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    b1: number,
    b2: number,
    a: number,
    e: number,
    l2: number,
  ): void;
  /** out[i] = max(0, x[i]) as (x[i] + |x[i]|)/2 for i < n (NaN stays NaN); out may be x (in place). */
  relu(x: Float32Array, n: number, out: Float32Array): void;
  /**
   * The relu gradient: gx[i] (+)= x[i] > 0 ? g[i] : 0 for i < n (a select: masked positions
   * get exactly +0, or leave gx unchanged with accumulate), x the relu's input or output;
   * gx must not alias x or g.
   */
  reluBackward(x: Float32Array, g: Float32Array, n: number, accumulate: boolean, gx: Float32Array): void;
  /**
   * `reluBackward` (overwriting) then `addColumnSums` of its result, in one pass over the
   * [rows, c] arrays: gx[i, j] = x[i, j] > 0 ? g[i, j] : 0 and out[j] += Σ_i gx[i, j] (float64
   * sums in row order, rounded once; the same bits as the two kernels). gx may be g itself (in
   * place) but must not otherwise overlap g or x; out must not overlap any of them. The backward
   * of a fused linear + ReLU layer: the masked gradient and its bias gradient.
   */
  reluBackwardColumnSums(x: Float32Array, g: Float32Array, rows: number, c: number, gx: Float32Array, out: Float32Array): void;
  /**
   * FM second order (Rendle 2010) over x [rows, fields, dim]: s[b, d] = Σ_f x[b, f, d]
   * (float32 sums in field order) and out[b] = ½(Σ_d s[b, d]² − Σ_d Σ_f x[b, f, d]²) (float64
   * sums: Σ_d s² in d order; the squares over f per d, then over d; rounded once). s [rows, dim]
   * is written (kept for the backward). With `xStride` (≥ fields·dim) row b of x starts at
   * x[b·xStride]: the fields are the first fields·dim values of each row of a wider array.
   */
  fmSecondOrder(x: Float32Array, rows: number, fields: number, dim: number, out: Float32Array, s: Float32Array, xStride?: number): void;
  /**
   * Its gradient: gx[b, f, d] (+)= g[b]·(s[b, d] − x[b, f, d]) in float64, rounded once; rows
   * with g[b] = 0 are skipped (left as they are, or +0 when overwriting); gx must not alias an input.
   * With `xStride`, rows of x and gx start at multiples of it (only the first fields·dim values of
   * each gx row are written).
   */
  fmSecondOrderBackward(
    x: Float32Array,
    s: Float32Array,
    g: Float32Array,
    rows: number,
    fields: number,
    dim: number,
    accumulate: boolean,
    gx: Float32Array,
    xStride?: number,
  ): void;
}

/**
 * The kernel interface: the few dense routines whose speed decides training speed.
 * Two implementations exist: the native addon (OpenBLAS sgemm + fused loops in C++) and
 * portable TypeScript. Both must agree to float32 rounding. The fused dense kernels are
 * optional members (a backend without them runs the TypeScript twins; see `denseKernels`).
 */
export interface Kernels extends Partial<DenseKernels> {
  /** 'native' (OpenBLAS addon) or 'typescript'. */
  readonly name: 'native' | 'typescript';
  /** Human-readable detail: BLAS library and thread count, or why the addon is not in use. */
  readonly detail: string;
  /**
   * Row-major GEMM: C = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ.
   * op(A) is m×k, op(B) is k×n, C is m×n. Offsets index into the arrays; lda, ldb, ldc
   * are the row strides of A, B and C as stored.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    aOffset: number,
    lda: number,
    b: Float32Array,
    bOffset: number,
    ldb: number,
    beta: number,
    c: Float32Array,
    cOffset: number,
    ldc: number,
  ): void;
  /** Sets the number of BLAS threads (no-op for the TypeScript backend). */
  setThreads(n: number): void;
  /** The number of BLAS threads in use (1 for TypeScript). */
  getThreads(): number;
}
