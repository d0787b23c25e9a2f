/**
 * Argument checks and the dropout mask's helpers shared by the TypeScript twins of the
 * dense kernels (./typescript.ts, ./typescript-training.ts): the addon's rules and messages.
 */

/** Throws the addon's RangeError unless x is an integer in [0, 2^31). */
export function checkSize(fn: string, name: string, x: number): void {
  if (typeof x !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (!(x >= 0 && x <= 2147483647) || Math.floor(x) !== x) throw new RangeError(`${fn}: ${name} must be an integer in [0, 2^31), got ${x}`);
}

/** Throws unless `a` is a Float32Array (or Float64Array when `f64`) with at least `need` elements. */
export function checkArray(fn: string, name: string, a: unknown, need: number, f64 = false): void {
  if (!(f64 ? a instanceof Float64Array : a instanceof Float32Array)) {
    throw new TypeError(`${fn}: ${name} must be a ${f64 ? 'Float64Array' : 'Float32Array'}`);
  }
  const len = (a as Float32Array).length;
  if (len < need) throw new RangeError(`${fn}: ${name} has ${len} elements, needs at least ${need}`);
}

/** Throws unless x is an integer in [lo, hi]. */
export function checkInteger(fn: string, name: string, x: number, lo: number, hi: number): void {
  if (typeof x !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (!(x >= lo && x <= hi) || Math.floor(x) !== x) throw new RangeError(`${fn}: ${name} must be an integer in [${lo}, ${hi}], got ${x}`);
}

/** lowbias32 (a bijection of uint32), the dropout mask's mixing function; returns an int32. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** A dropout mask's parameters, resolved as native/dense.cc's Drop does. */
export interface Drop {
  /** seed as an int32, and the second key mix(seed ⊕ 0x9e3779b9). */
  k1: number;
  k2: number;
  /** Threshold compared with the uint32 hash (0 when nothing is kept: with s = 0). */
  t: number;
  /** The factor of kept elements (float32). */
  s: number;
  /** False for "no dropout" (threshold 0, scale 1): loops skip the mask. */
  active: boolean;
}

export function checkDrop(fn: string, seed: number, threshold: number, scale: number): Drop {
  checkInteger(fn, 'seed', seed, 0, 4294967295);
  checkInteger(fn, 'threshold', threshold, 0, 4294967296);
  if (typeof scale !== 'number') throw new TypeError(`${fn}: scale must be a number`);
  const none = threshold > 4294967295;
  const s = none ? 0 : Math.fround(scale);
  const k1 = seed | 0;
  return { k1, k2: mix32(k1 ^ 0x9e3779b9), t: none ? 0 : threshold, s, active: none || threshold !== 0 || s !== 1 };
}

export function checkBool(fn: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean`);
}

/** Whether the first n elements of a and the first m of b share memory. */
export function overlapsTS(a: Float32Array, n: number, b: Float32Array, m: number): boolean {
  return n > 0 && m > 0 && a.buffer === b.buffer && a.byteOffset < b.byteOffset + 4 * m && b.byteOffset < a.byteOffset + 4 * n;
}

/**
 * The row stride of a kernel's optional `xStride` argument: `row` (contiguous rows) when
 * undefined, else an integer ≥ row (the addon's RangeError otherwise).
 */
export function checkRowStride(fn: string, xStride: number | undefined, row: number): number {
  if (xStride === undefined) return row;
  checkSize(fn, 'xStride', xStride);
  if (xStride < row) throw new RangeError(`${fn}: xStride must be at least fields·dim = ${row}, got ${xStride}`);
  return xStride;
}

/** Elements spanned by `rows` rows of `row` values at stride `stride` (0 when empty). */
export function rowsExtent(rows: number, stride: number, row: number): number {
  return rows === 0 || row === 0 ? 0 : (rows - 1) * stride + row;
}
