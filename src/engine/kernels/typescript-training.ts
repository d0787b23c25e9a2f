/**
 * The TypeScript twins of the dense kernels only training calls (batch statistics, dropout,
 * backward passes, the Adam step): a module of their own so that a scoring-only build leaves
 * them out (the web scorer's bundle substitutes src/export/web/training-absent.ts for it,
 * see src/export/web/bundle.ts). Same contracts as DenseKernels in ./types.ts; every value is
 * computed in float64 and rounded to float32 when stored, in the order of native/dense.cc.
 */
import type { DenseKernels } from './types.js';
import { checkArray, checkBool, checkDrop, checkRowStride, checkSize, mix32, overlapsTS, rowsExtent } from './dense-checks.js';

/** The names of the training-only dense kernels (the keys of `denseTrainingKernelsTS`). */
export type DenseTrainingKernelName =
  | 'bnStats'
  | 'bnGradSums'
  | 'bnInputGrad'
  | 'dropoutForward'
  | 'dropoutBackward'
  | 'addColumnSums'
  | 'reluBackwardColumnSums'
  | 'adamUpdate'
  | 'reluBackward'
  | 'fmSecondOrderBackward';

function bnStatsTS(x: Float32Array, rows: number, c: number, out: Float64Array): void {
  const fn = 'bnStats';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'c', c);
  if (rows < 1) throw new RangeError(`${fn}: rows must be at least 1`);
  checkArray(fn, 'x', x, rows * c);
  checkArray(fn, 'out', out, 2 * c, true);
  const shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    shift[j] = x[j]!;
    out[j] = 0;
    out[c + j] = 0;
  }
  for (let i = 0, o = 0; i < rows; i++, o += c) {
    for (let j = 0; j < c; j++) {
      const d = x[o + j]! - shift[j]!;
      out[j]! += d;
      out[c + j]! += d * d;
    }
  }
  for (let j = 0; j < c; j++) {
    const md = out[j]! / rows;
    const m = shift[j]! + md;
    let v = out[c + j]! / rows - md * md;
    if (v < 0 || v === 0) v = 0; // clamps negatives and −0, keeps NaN (as the C++ kernel)
    out[j] = m;
    out[c + j] = v;
  }
}

/** The relu mask as int32 bits (or null): ((−bits) >>> 31) is 1 exactly where the bits are a positive int32. */
function maskBits(mask: Float32Array | null): Int32Array | null {
  return mask === null ? null : new Int32Array(mask.buffer, mask.byteOffset, mask.length);
}

/** Validates the arguments shared by bnGradSums and bnInputGrad. */
function checkBnGrad(fn: string, g: Float32Array, mask: Float32Array | null, x: Float32Array, rows: number, c: number): void {
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'c', c);
  const n = rows * c;
  checkArray(fn, 'g', g, n);
  if (mask !== null && mask !== undefined) checkArray(fn, 'mask', mask, n);
  checkArray(fn, 'x', x, n);
}

function bnGradSumsTS(
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
): void {
  const fn = 'bnGradSums';
  checkBnGrad(fn, g, mask, x, rows, c);
  checkArray(fn, 'mean', mean, c);
  checkArray(fn, 'invStd', invStd, c);
  const d = checkDrop(fn, seed, threshold, dropScale);
  checkArray(fn, 'out', out, 2 * c, true);
  const bits = maskBits(mask ?? null);
  for (let j = 0; j < 2 * c; j++) out[j] = 0;
  // The mask is applied branch-free: a data-dependent branch mispredicts half the time.
  if (!d.active) {
    if (bits === null) {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) {
          const gv = g[o + j]!;
          out[j]! += gv;
          out[c + j]! += gv * (x[o + j]! - mean[j]!);
        }
      }
    } else {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) {
          const gv = g[o + j]! * (-bits[o + j]! >>> 31);
          out[j]! += gv;
          out[c + j]! += gv * (x[o + j]! - mean[j]!);
        }
      }
    }
  } else {
    const { k1, k2, t, s } = d;
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) {
        const h = mix32((mix32((o + j) ^ k1) + k2) | 0) >>> 0;
        let gv = Math.fround(g[o + j]! * (h >= t ? s : 0));
        if (bits !== null) gv *= -bits[o + j]! >>> 31;
        out[j]! += gv;
        out[c + j]! += gv * (x[o + j]! - mean[j]!);
      }
    }
  }
  for (let j = 0; j < c; j++) out[c + j]! *= invStd[j]!;
}

function bnInputGradTS(
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
): void {
  const fn = 'bnInputGrad';
  checkBnGrad(fn, g, mask, x, rows, c);
  checkArray(fn, 'mean', mean, c);
  checkArray(fn, 'scale', scale, c);
  checkArray(fn, 'k', k, c);
  checkArray(fn, 'b', b, c);
  const d = checkDrop(fn, seed, threshold, dropScale);
  checkBool(fn, 'accumulate', accumulate);
  checkArray(fn, 'gx', gx, rows * c);
  if (rows * c > 0 && (gx === g || gx === x || gx === mask)) throw new Error(`${fn}: gx must not alias an input`);
  const bits = maskBits(mask ?? null);
  if (!d.active && accumulate) {
    if (bits === null) {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) gx[o + j]! += g[o + j]! * scale[j]! - k[j]! * (x[o + j]! - mean[j]!) - b[j]!;
      }
    } else {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) {
          const gv = g[o + j]! * (-bits[o + j]! >>> 31);
          gx[o + j]! += gv * scale[j]! - k[j]! * (x[o + j]! - mean[j]!) - b[j]!;
        }
      }
    }
    return;
  }
  const { k1, k2, t, s, active } = d;
  for (let i = 0, o = 0; i < rows; i++, o += c) {
    for (let j = 0; j < c; j++) {
      let gv = g[o + j]!;
      if (active) {
        const h = mix32((mix32((o + j) ^ k1) + k2) | 0) >>> 0;
        gv = Math.fround(gv * (h >= t ? s : 0));
      }
      if (bits !== null) gv *= -bits[o + j]! >>> 31;
      const v = gv * scale[j]! - k[j]! * (x[o + j]! - mean[j]!) - b[j]!;
      gx[o + j] = accumulate ? gx[o + j]! + v : v;
    }
  }
}

function dropoutForwardTS(x: Float32Array, n: number, seed: number, threshold: number, scale: number, out: Float32Array): void {
  const fn = 'dropoutForward';
  checkSize(fn, 'n', n);
  const d = checkDrop(fn, seed, threshold, scale);
  checkArray(fn, 'x', x, n);
  checkArray(fn, 'out', out, n);
  const { k1, k2, t, s } = d;
  for (let i = 0; i < n; i++) {
    const h = mix32((mix32(i ^ k1) + k2) | 0) >>> 0;
    out[i] = x[i]! * (h >= t ? s : 0);
  }
}

function dropoutBackwardTS(g: Float32Array, n: number, seed: number, threshold: number, scale: number, accumulate: boolean, gx: Float32Array): void {
  const fn = 'dropoutBackward';
  checkSize(fn, 'n', n);
  const d = checkDrop(fn, seed, threshold, scale);
  checkBool(fn, 'accumulate', accumulate);
  checkArray(fn, 'g', g, n);
  checkArray(fn, 'gx', gx, n);
  if (n > 0 && gx === g) throw new Error(`${fn}: gx must not alias g`);
  const { k1, k2, t, s } = d;
  if (accumulate) {
    for (let i = 0; i < n; i++) {
      const h = mix32((mix32(i ^ k1) + k2) | 0) >>> 0;
      gx[i]! += g[i]! * (h >= t ? s : 0);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const h = mix32((mix32(i ^ k1) + k2) | 0) >>> 0;
      gx[i] = g[i]! * (h >= t ? s : 0);
    }
  }
}

function addColumnSumsTS(g: Float32Array, rows: number, c: number, out: Float32Array): void {
  const fn = 'addColumnSums';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'c', c);
  checkArray(fn, 'g', g, rows * c);
  checkArray(fn, 'out', out, c);
  const acc = new Float64Array(c);
  for (let i = 0, o = 0; i < rows; i++, o += c) {
    for (let j = 0; j < c; j++) acc[j]! += g[o + j]!;
  }
  for (let j = 0; j < c; j++) out[j]! += acc[j]!;
}

function reluBackwardColumnSumsTS(x: Float32Array, g: Float32Array, rows: number, c: number, gx: Float32Array, out: Float32Array): void {
  const fn = 'reluBackwardColumnSums';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'c', c);
  const n = rows * c;
  checkArray(fn, 'x', x, n);
  checkArray(fn, 'g', g, n);
  checkArray(fn, 'gx', gx, n);
  checkArray(fn, 'out', out, c);
  const inPlace = gx.buffer === g.buffer && gx.byteOffset === g.byteOffset;
  if (
    overlapsTS(gx, n, x, n) ||
    (!inPlace && overlapsTS(gx, n, g, n)) ||
    overlapsTS(out, c, x, n) ||
    overlapsTS(out, c, g, n) ||
    overlapsTS(out, c, gx, n)
  ) {
    throw new Error(`${fn}: gx must be g itself or not overlap it, and must not overlap x; out must not overlap the others`);
  }
  const acc = new Float64Array(c);
  for (let i = 0, o = 0; i < rows; i++, o += c) {
    for (let j = 0; j < c; j++) {
      const v = x[o + j]! > 0 ? g[o + j]! : 0;
      gx[o + j] = v;
      acc[j]! += v;
    }
  }
  for (let j = 0; j < c; j++) out[j]! += acc[j]!;
}

function adamUpdateTS(
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
): void {
  const fn = 'adamUpdate';
  checkSize(fn, 'n', n);
  checkArray(fn, 'w', w, n);
  checkArray(fn, 'g', g, n);
  checkArray(fn, 'm', m, n);
  checkArray(fn, 'v', v, n);
  const hyper = { b1, b2, a, e, l2 };
  for (const [name, x] of Object.entries(hyper)) if (typeof x !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (n > 0 && new Set([w, g, m, v]).size < 4) throw new Error(`${fn}: w, g, m and v must be distinct arrays`);
  const c1 = 1 - b1,
    c2 = 1 - b2;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!,
      gi = g[i]! + l2 * wi;
    const mi = b1 * m[i]! + c1 * gi,
      vi = b2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - (a * mi) / (Math.sqrt(vi) + e);
  }
}

function reluBackwardTS(x: Float32Array, g: Float32Array, n: number, accumulate: boolean, gx: Float32Array): void {
  const fn = 'reluBackward';
  checkSize(fn, 'n', n);
  checkBool(fn, 'accumulate', accumulate);
  checkArray(fn, 'x', x, n);
  checkArray(fn, 'g', g, n);
  checkArray(fn, 'gx', gx, n);
  if (n > 0 && (gx === g || gx === x)) throw new Error(`${fn}: gx must not alias an input`);
  if (accumulate) for (let i = 0; i < n; i++) gx[i]! += x[i]! > 0 ? g[i]! : 0;
  else for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? g[i]! : 0;
}

function fmSecondOrderBackwardTS(
  x: Float32Array,
  s: Float32Array,
  g: Float32Array,
  rows: number,
  fields: number,
  dim: number,
  accumulate: boolean,
  gx: Float32Array,
  xStride?: number,
): void {
  const fn = 'fmSecondOrderBackward';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'fields', fields);
  checkSize(fn, 'dim', dim);
  checkBool(fn, 'accumulate', accumulate);
  const stride = checkRowStride(fn, xStride, fields * dim);
  const n = rowsExtent(rows, stride, fields * dim);
  checkArray(fn, 'x', x, n);
  checkArray(fn, 's', s, rows * dim);
  checkArray(fn, 'g', g, rows);
  checkArray(fn, 'gx', gx, n);
  if (n > 0 && (gx === x || gx === s || gx === g)) throw new Error(`${fn}: gx must not alias an input`);
  const F = fields,
    D = dim,
    row = F * D;
  for (let b = 0; b < rows; b++) {
    const gb = g[b]!;
    const base = b * stride,
      sb = b * D;
    if (gb === 0) {
      if (!accumulate) gx.fill(0, base, base + row);
      continue;
    }
    for (let f = 0; f < F; f++) {
      const o = base + f * D;
      if (accumulate) for (let d = 0; d < D; d++) gx[o + d]! += gb * (s[sb + d]! - x[o + d]!);
      else for (let d = 0; d < D; d++) gx[o + d] = gb * (s[sb + d]! - x[o + d]!);
    }
  }
}

/** The TypeScript twins of the training-only dense kernels. */
export const denseTrainingKernelsTS: Pick<DenseKernels, DenseTrainingKernelName> = {
  bnStats: bnStatsTS,
  bnGradSums: bnGradSumsTS,
  bnInputGrad: bnInputGradTS,
  dropoutForward: dropoutForwardTS,
  dropoutBackward: dropoutBackwardTS,
  addColumnSums: addColumnSumsTS,
  reluBackwardColumnSums: reluBackwardColumnSumsTS,
  adamUpdate: adamUpdateTS,
  reluBackward: reluBackwardTS,
  fmSecondOrderBackward: fmSecondOrderBackwardTS,
};
