/**
 * Parameter initializers. Every random draw comes from the `Rng` passed in (never from
 * Math.random), so one seed fixes a model's initial weights. Each initializer exists in two
 * forms: on a Tensor (fills `t.data` in place and returns `t`) and on a raw Float32Array
 * (`fill*`, used by embedding tables, which are not tensors).
 *
 * Xavier/Glorot (Glorot & Bengio 2010): normal with std = √(2 / (fanIn + fanOut)), uniform
 * on [−a, a] with a = √(6 / (fanIn + fanOut)); the same formulas as torch.nn.init with gain 1.
 * finerank stores a dense weight as [in, out] (y = x·W), so for a 2-D shape the fans are
 * fanIn = shape[0], fanOut = shape[1]; other ranks need the fans given explicitly.
 */
import type { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';

function checkFinite(what: string, v: number): void {
  if (!Number.isFinite(v)) throw new Error(`${what} must be a finite number, got ${v}`);
}

/** Sets every value of `a` to 0. */
export function fillZeros(a: Float32Array): Float32Array {
  a.fill(0);
  return a;
}

/**
 * Fills `a` with independent draws from N(mean, std²), by Marsaglia's polar method (pairs
 * of values from uniform points in the unit disc; no sin/cos): about 2× faster than
 * `rng.normal` per value, which matters for tables of millions of rows.
 */
export function fillNormal(a: Float32Array, std: number, rng: Rng, mean = 0): Float32Array {
  checkFinite('normal init std', std);
  checkFinite('normal init mean', mean);
  if (std < 0) throw new Error(`normal init std must be >= 0, got ${std}`);
  const n = a.length;
  let i = 0;
  while (i < n) {
    let u = 0,
      v = 0,
      s = 0;
    do {
      u = 2 * rng.next() - 1;
      v = 2 * rng.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = std * Math.sqrt((-2 * Math.log(s)) / s);
    a[i++] = mean + u * f;
    if (i < n) a[i++] = mean + v * f;
  }
  return a;
}

/** Fills `a` with independent draws from the uniform distribution on [lo, hi). */
export function fillUniform(a: Float32Array, lo: number, hi: number, rng: Rng): Float32Array {
  checkFinite('uniform init lo', lo);
  checkFinite('uniform init hi', hi);
  if (hi < lo) throw new Error(`uniform init needs lo <= hi, got [${lo}, ${hi})`);
  const w = hi - lo;
  for (let i = 0; i < a.length; i++) a[i] = lo + w * rng.next();
  return a;
}

/** Xavier/Glorot normal std for the given fans: √(2 / (fanIn + fanOut)). */
export function xavierNormalStd(fanIn: number, fanOut: number): number {
  checkFans(fanIn, fanOut);
  return Math.sqrt(2 / (fanIn + fanOut));
}

/** Xavier/Glorot uniform bound a for the given fans (values on [−a, a]): √(6 / (fanIn + fanOut)). */
export function xavierUniformBound(fanIn: number, fanOut: number): number {
  checkFans(fanIn, fanOut);
  return Math.sqrt(6 / (fanIn + fanOut));
}

function checkFans(fanIn: number, fanOut: number): void {
  if (!Number.isInteger(fanIn) || !Number.isInteger(fanOut) || fanIn < 0 || fanOut < 0 || fanIn + fanOut === 0) {
    throw new Error(`Xavier init needs non-negative integer fans with a positive sum, got fanIn=${fanIn}, fanOut=${fanOut}`);
  }
}

/** Fills `a` from N(0, 2 / (fanIn + fanOut)) (Xavier/Glorot normal). */
export function fillXavierNormal(a: Float32Array, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  return fillNormal(a, xavierNormalStd(fanIn, fanOut), rng);
}

/** Fills `a` from U[−a, a], a = √(6 / (fanIn + fanOut)) (Xavier/Glorot uniform). */
export function fillXavierUniform(a: Float32Array, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const b = xavierUniformBound(fanIn, fanOut);
  return fillUniform(a, -b, b, rng);
}

/**
 * The fans of a weight: the explicit ones when given, else from a 2-D [in, out] shape
 * (fanIn = in, fanOut = out). Throws for other ranks without explicit fans.
 */
export function fansOf(shape: readonly number[], fanIn?: number, fanOut?: number): [number, number] {
  if (fanIn !== undefined && fanOut !== undefined) return [fanIn, fanOut];
  if (shape.length !== 2) {
    throw new Error(`Xavier init infers fans only from a 2-D [in, out] shape, got [${shape.join(', ')}]; pass fanIn and fanOut`);
  }
  return [fanIn ?? shape[0]!, fanOut ?? shape[1]!];
}

/** Sets every value of `t` to 0. */
export function zeros(t: Tensor): Tensor {
  fillZeros(t.data);
  return t;
}

/** Fills `t` from N(mean, std²). */
export function normal(t: Tensor, std: number, rng: Rng, mean = 0): Tensor {
  fillNormal(t.data, std, rng, mean);
  return t;
}

/** Fills `t` from the uniform distribution on [lo, hi). */
export function uniform(t: Tensor, lo: number, hi: number, rng: Rng): Tensor {
  fillUniform(t.data, lo, hi, rng);
  return t;
}

/**
 * Xavier/Glorot normal: N(0, 2 / (fanIn + fanOut)). Fans default from a 2-D [in, out] shape.
 */
export function xavierNormal(t: Tensor, rng: Rng, fanIn?: number, fanOut?: number): Tensor {
  const [fi, fo] = fansOf(t.shape, fanIn, fanOut);
  fillXavierNormal(t.data, fi, fo, rng);
  return t;
}

/**
 * Xavier/Glorot uniform: U[−a, a] with a = √(6 / (fanIn + fanOut)). Fans default from a
 * 2-D [in, out] shape.
 */
export function xavierUniform(t: Tensor, rng: Rng, fanIn?: number, fanOut?: number): Tensor {
  const [fi, fo] = fansOf(t.shape, fanIn, fanOut);
  fillXavierUniform(t.data, fi, fo, rng);
  return t;
}
