/**
 * exp(x) for x clamped to [−700, 700], operation for operation as ExpD in native/expd.h:
 * k = ⌊x·log₂e + ½⌋, r = (x − k·ln2_hi) − k·ln2_lo, exp(r) by Horner on the Taylor series to
 * r¹² (relative error < 2e-16), times the exact 2^k. Same double operations on both sides,
 * so kernels built on it (GRU steps, Dice) are bit-identical across backends (libm's exp is
 * not the same as V8's).
 */
export function expD(x: number): number {
  x = x < -700 ? -700 : x > 700 ? 700 : x;
  const k = Math.floor(x * 1.4426950408889634 + 0.5);
  const r = x - k * 6.9314718036912381649e-1 - k * 1.9082149292705877e-10;
  let p = 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  return p * POW2[k + POW2_BIAS]!;
}

/** 2^k for k in [−1011, 1011] (every k that expD's clamp allows), built by exact doubling. */
const POW2_BIAS = 1011;
const POW2 = (() => {
  const t = new Float64Array(2 * POW2_BIAS + 1);
  t[POW2_BIAS] = 1;
  for (let i = 1; i <= POW2_BIAS; i++) {
    t[POW2_BIAS + i] = t[POW2_BIAS + i - 1]! * 2;
    t[POW2_BIAS - i] = t[POW2_BIAS - i + 1]! / 2;
  }
  return t;
})();

/** σ(x) = 1 / (1 + exp(−x)) with `expD`. */
export function sigmoidD(x: number): number {
  return 1 / (1 + expD(-x));
}

/** tanh(x) = sign(x)·(1 − e)/(1 + e), e = exp(−2|x|); the series x − x³/3 + 2x⁵/15 below |x| < 2⁻¹⁴. */
export function tanhD(x: number): number {
  const ax = x < 0 ? -x : x;
  const e = expD(-2 * ax);
  const big = (1 - e) / (1 + e);
  const x2 = x * x;
  const small = x - (x * x2) / 3 + (2 * x * x2 * x2) / 15;
  return ax < 6.103515625e-5 ? small : x < 0 ? -big : big;
}
