import type { DenseKernels, Kernels } from './types.js';

/*
 * Portable GEMM in TypeScript, in the Goto/BLIS layout (one core, scalar code, since V8
 * does not vectorize):
 *
 *   for each NC-wide column block of op(B)
 *     for each KC-deep slice of the inner dimension
 *       pack op(B)[slice, block] into NR-wide column panels   (bPack, [panel][p][NR])
 *       for each MC-tall row block of op(A)
 *         pack op(A)[block, slice] into MR-tall row panels    (aPack, [panel][p][MR])
 *         for every (row panel, column panel): MR×NR register-tiled micro-kernel
 *
 * Packing makes both operands unit-stride inside the micro-kernel whatever the transpose
 * flags, strides and offsets, and converts them once to float64 (loads of packed
 * Float64Arrays need no float32→float64 conversion; accumulation is in float64, so the
 * result is at least as accurate as a float32 BLAS). Edge panels are zero-padded to full
 * MR/NR and only the valid part of a tile is stored.
 *
 * MR×NR = 3×4 (12 accumulators + 7 operands fit x86-64's 16 vector registers with little
 * spilling) measured best among 2×4…6×4, 2×8, 3×8 and 4×8 on the MLP shapes; KC and MC
 * hardly matter at this speed (the kernel is bound by scalar multiply-adds, not memory).
 * Tiny products (≤ SMALL multiply-adds) and skinny ones (fewer than MR rows or NR columns)
 * skip packing and use a direct loop.
 */

const MR = 3;
const NR = 4;
const KC = 256;
const MC = 96; // a multiple of MR, so only the last row block has an edge panel
const NC = 2048;
const SMALL = 128;

let aPack = new Float64Array(MC * KC);
let bPack = new Float64Array(NR * KC);
const edgeTile = new Float64Array(MR * NR);

/** Throws a RangeError unless x is an integer in [0, 2^31) (the native addon's rule). */
function checkIndex(x: number, name: string): void {
  if (!(x >= 0 && x <= 2147483647) || Math.floor(x) !== x) {
    throw new RangeError(`sgemm: ${name} must be an integer in [0, 2^31), got ${x}`);
  }
}

/** Checks that a stored rows×cols matrix with row stride ld at offset fits in an array. */
function checkMatrix(name: string, ldName: string, offName: string, rows: number, cols: number, ld: number, offset: number, length: number): void {
  const minLd = Math.max(1, cols);
  if (ld < minLd) {
    throw new RangeError(`sgemm: ${ldName} must be >= ${minLd} (the stored ${name} has ${cols} columns), got ${ld}`);
  }
  const extent = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  if (offset + extent > length) {
    throw new RangeError(
      `sgemm: ${offName} + extent out of bounds: ${name} is stored as ${rows}x${cols} with stride ${ld} from offset ` +
        `${offset}, needing ${offset + extent} elements, but ${name}.length is ${length}`,
    );
  }
}

/**
 * Validates sgemm arguments with the same rules and messages as the native addon: integer
 * sizes, Float32Array operands, ld ≥ stored columns, offset + extent within each array.
 */
function checkArgs(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  if (typeof transA !== 'boolean') throw new TypeError('sgemm: transA must be a boolean');
  if (typeof transB !== 'boolean') throw new TypeError('sgemm: transB must be a boolean');
  checkIndex(m, 'm');
  checkIndex(n, 'n');
  checkIndex(k, 'k');
  if (!(a instanceof Float32Array)) throw new TypeError('sgemm: a must be a Float32Array');
  if (!(b instanceof Float32Array)) throw new TypeError('sgemm: b must be a Float32Array');
  if (!(c instanceof Float32Array)) throw new TypeError('sgemm: c must be a Float32Array');
  checkIndex(aOff, 'aOffset');
  checkIndex(lda, 'lda');
  checkIndex(bOff, 'bOffset');
  checkIndex(ldb, 'ldb');
  checkIndex(cOff, 'cOffset');
  checkIndex(ldc, 'ldc');
  checkMatrix('a', 'lda', 'aOffset', transA ? k : m, transA ? m : k, lda, aOff, a.length);
  checkMatrix('b', 'ldb', 'bOffset', transB ? n : k, transB ? k : n, ldb, bOff, b.length);
  checkMatrix('c', 'ldc', 'cOffset', m, n, ldc, cOff, c.length);
  if (c.buffer === a.buffer || c.buffer === b.buffer) {
    // Same buffer: compare byte ranges (output must not alias an input, as in the addon).
    const cStart = c.byteOffset + 4 * cOff,
      cEnd = cStart + 4 * (m === 0 || n === 0 ? 0 : (m - 1) * ldc + n);
    const overlaps = (x: Float32Array, off: number, rows: number, cols: number, ld: number): boolean => {
      if (x.buffer !== c.buffer || rows === 0 || cols === 0 || cEnd === cStart) return false;
      const s = x.byteOffset + 4 * off,
        e = s + 4 * ((rows - 1) * ld + cols);
      return s < cEnd && cStart < e;
    };
    if (overlaps(a, aOff, transA ? k : m, transA ? m : k, lda)) throw new Error('sgemm: c overlaps a in memory (output must not alias an input)');
    if (overlaps(b, bOff, transB ? n : k, transB ? k : n, ldb)) throw new Error('sgemm: c overlaps b in memory (output must not alias an input)');
  }
}

/** C ← beta·C on the m×n block (beta = 0 writes zeros without reading C, as BLAS does). */
function scaleC(m: number, n: number, beta: number, c: Float32Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else for (let j = row, end = row + n; j < end; j++) c[j]! *= beta;
  }
}

/**
 * Unpacked GEMM for tiny or skinny products (where packing would cost as much as the
 * arithmetic): dot products in float64, C[i,j] += alpha·Σ_p op(A)[i,p]·op(B)[p,j].
 * (Measured faster here than a row-update form with a float64 row accumulator.)
 */
function directGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  const aRow = transA ? 1 : lda,
    aCol = transA ? lda : 1; // op(A)[i,p] = a[aOff + i·aRow + p·aCol]
  const bRow = transB ? 1 : ldb,
    bCol = transB ? ldb : 1; // op(B)[p,j] = b[bOff + p·bRow + j·bCol]
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * aRow,
      ci = cOff + i * ldc;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0, x = ai, y = bOff + j * bCol; p < k; p++, x += aCol, y += bRow) s += a[x]! * b[y]!;
      c[ci + j]! += alpha * s;
    }
  }
}

/** Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-wide panels: bPack[(jp·kc + p)·NR + q], zero-padded. */
function packB(transB: boolean, b: Float32Array, bOff: number, ldb: number, p0: number, kc: number, j0: number, nc: number): void {
  const panels = Math.ceil(nc / NR);
  for (let jp = 0; jp < panels; jp++) {
    const base = jp * kc * NR,
      col0 = j0 + jp * NR,
      w = Math.min(NR, j0 + nc - col0);
    if (!transB) {
      // op(B)[p, j] = b[bOff + p·ldb + j]: row p of the panel is NR consecutive floats.
      let s = bOff + p0 * ldb + col0;
      if (w === NR) {
        for (let p = 0, d = base; p < kc; p++, d += NR, s += ldb) {
          bPack[d] = b[s]!;
          bPack[d + 1] = b[s + 1]!;
          bPack[d + 2] = b[s + 2]!;
          bPack[d + 3] = b[s + 3]!;
        }
      } else {
        for (let p = 0, d = base; p < kc; p++, d += NR, s += ldb) {
          for (let q = 0; q < NR; q++) bPack[d + q] = q < w ? b[s + q]! : 0;
        }
      }
    } else {
      // op(B)[p, j] = b[bOff + j·ldb + p]: column q of the panel is a contiguous run of b.
      for (let q = 0; q < NR; q++) {
        if (q >= w) {
          for (let p = 0, d = base + q; p < kc; p++, d += NR) bPack[d] = 0;
        } else {
          for (let p = 0, d = base + q, s = bOff + (col0 + q) * ldb + p0; p < kc; p++, d += NR, s++) bPack[d] = b[s]!;
        }
      }
    }
  }
}

/** Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-tall panels: aPack[(ip·kc + p)·MR + r], zero-padded. */
function packA(transA: boolean, a: Float32Array, aOff: number, lda: number, i0: number, mc: number, p0: number, kc: number): void {
  const panels = Math.ceil(mc / MR);
  for (let ip = 0; ip < panels; ip++) {
    const base = ip * kc * MR,
      row0 = i0 + ip * MR,
      h = Math.min(MR, i0 + mc - row0);
    if (transA) {
      // op(A)[i, p] = a[aOff + p·lda + i]: row p of the panel is MR consecutive floats.
      let s = aOff + p0 * lda + row0;
      if (h === MR) {
        for (let p = 0, d = base; p < kc; p++, d += MR, s += lda) {
          aPack[d] = a[s]!;
          aPack[d + 1] = a[s + 1]!;
          aPack[d + 2] = a[s + 2]!;
        }
      } else {
        for (let p = 0, d = base; p < kc; p++, d += MR, s += lda) {
          for (let r = 0; r < MR; r++) aPack[d + r] = r < h ? a[s + r]! : 0;
        }
      }
    } else {
      // op(A)[i, p] = a[aOff + i·lda + p]: row r of the panel is a contiguous run of a.
      for (let r = 0; r < MR; r++) {
        if (r >= h) {
          for (let p = 0, d = base + r; p < kc; p++, d += MR) aPack[d] = 0;
        } else {
          for (let p = 0, d = base + r, s = aOff + (row0 + r) * lda + p0; p < kc; p++, d += MR, s++) aPack[d] = a[s]!;
        }
      }
    }
  }
}

/**
 * The 3×4 micro-kernel: C[ci..] += alpha · (A panel at ai)·(B panel at bi) over kc steps,
 * storing only the h×w valid part of the tile.
 */
function microKernel(ai: number, bi: number, kc: number, alpha: number, c: Float32Array, ci: number, ldc: number, h: number, w: number): void {
  const A = aPack,
    B = bPack;
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0;
  for (const end = ai + kc * MR; ai < end; ai += MR, bi += NR) {
    const a0 = A[ai],
      a1 = A[ai + 1],
      a2 = A[ai + 2];
    const b0 = B[bi],
      b1 = B[bi + 1],
      b2 = B[bi + 2],
      b3 = B[bi + 3];
    c00 += a0! * b0!;
    c01 += a0! * b1!;
    c02 += a0! * b2!;
    c03 += a0! * b3!;
    c10 += a1! * b0!;
    c11 += a1! * b1!;
    c12 += a1! * b2!;
    c13 += a1! * b3!;
    c20 += a2! * b0!;
    c21 += a2! * b1!;
    c22 += a2! * b2!;
    c23 += a2! * b3!;
  }
  if (h === MR && w === NR) {
    c[ci]! += alpha * c00;
    c[ci + 1]! += alpha * c01;
    c[ci + 2]! += alpha * c02;
    c[ci + 3]! += alpha * c03;
    ci += ldc;
    c[ci]! += alpha * c10;
    c[ci + 1]! += alpha * c11;
    c[ci + 2]! += alpha * c12;
    c[ci + 3]! += alpha * c13;
    ci += ldc;
    c[ci]! += alpha * c20;
    c[ci + 1]! += alpha * c21;
    c[ci + 2]! += alpha * c22;
    c[ci + 3]! += alpha * c23;
    return;
  }
  const t = edgeTile;
  t[0] = c00;
  t[1] = c01;
  t[2] = c02;
  t[3] = c03;
  t[4] = c10;
  t[5] = c11;
  t[6] = c12;
  t[7] = c13;
  t[8] = c20;
  t[9] = c21;
  t[10] = c22;
  t[11] = c23;
  for (let r = 0; r < h; r++) {
    for (let q = 0; q < w; q++) c[ci + r * ldc + q]! += alpha * t[r * NR + q]!;
  }
}

/**
 * Row-major C = alpha·op(A)·op(B) + beta·C (the Kernels.sgemm contract), blocked and
 * packed as described at the top of this file; float64 accumulation.
 */
export function sgemmTS(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  checkArgs(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
  if (m === 0 || n === 0) return;
  scaleC(m, n, beta, c, cOff, ldc);
  if (k === 0 || alpha === 0) return;
  if (m * n * k <= SMALL || m < MR || n < NR) {
    directGemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    return;
  }
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    const bNeed = Math.ceil(nc / NR) * NR * Math.min(KC, k);
    if (bPack.length < bNeed) bPack = new Float64Array(bNeed);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      packB(transB, b, bOff, ldb, p0, kc, j0, nc);
      const colPanels = Math.ceil(nc / NR);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        const rowPanels = Math.ceil(mc / MR);
        if (aPack.length < rowPanels * MR * kc) aPack = new Float64Array(rowPanels * MR * kc);
        packA(transA, a, aOff, lda, i0, mc, p0, kc);
        for (let jp = 0; jp < colPanels; jp++) {
          const col0 = j0 + jp * NR,
            w = Math.min(NR, n - col0),
            bi = jp * kc * NR;
          for (let ip = 0; ip < rowPanels; ip++) {
            const row0 = i0 + ip * MR,
              h = Math.min(MR, m - row0);
            microKernel(ip * kc * MR, bi, kc, alpha, c, cOff + row0 * ldc + col0, ldc, h, w);
          }
        }
      }
    }
  }
}

/*
 * TypeScript twins of the fused dense kernels (DenseKernels in types.ts; native/dense.cc).
 * Every value is computed in float64 and rounded to float32 when stored, in the same order
 * as the C++ loops, so both backends give the same bits. Arguments are validated with the
 * addon's rules and messages.
 */

/** Throws the addon's RangeError unless x is an integer in [0, 2^31). */
function checkSize(fn: string, name: string, x: number): void {
  if (typeof x !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (!(x >= 0 && x <= 2147483647) || Math.floor(x) !== x) throw new RangeError(`${fn}: ${name} must be an integer in [0, 2^31), got ${x}`);
}

/** Throws unless `a` is a Float32Array (or Float64Array when `f64`) with at least `need` elements. */
function checkArray(fn: string, name: string, a: unknown, need: number, f64 = false): void {
  if (!(f64 ? a instanceof Float64Array : a instanceof Float32Array)) {
    throw new TypeError(`${fn}: ${name} must be a ${f64 ? 'Float64Array' : 'Float32Array'}`);
  }
  const len = (a as Float32Array).length;
  if (len < need) throw new RangeError(`${fn}: ${name} has ${len} elements, needs at least ${need}`);
}

/** Throws unless x is an integer in [lo, hi]. */
function checkInteger(fn: string, name: string, x: number, lo: number, hi: number): void {
  if (typeof x !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (!(x >= lo && x <= hi) || Math.floor(x) !== x) throw new RangeError(`${fn}: ${name} must be an integer in [${lo}, ${hi}], got ${x}`);
}

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

/** lowbias32 (a bijection of uint32), the dropout mask's mixing function; returns an int32. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** A dropout mask's parameters, resolved as native/dense.cc's Drop does. */
interface Drop {
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

function checkDrop(fn: string, seed: number, threshold: number, scale: number): Drop {
  checkInteger(fn, 'seed', seed, 0, 4294967295);
  checkInteger(fn, 'threshold', threshold, 0, 4294967296);
  if (typeof scale !== 'number') throw new TypeError(`${fn}: scale must be a number`);
  const none = threshold > 4294967295;
  const s = none ? 0 : Math.fround(scale);
  const k1 = seed | 0;
  return { k1, k2: mix32(k1 ^ 0x9e3779b9), t: none ? 0 : threshold, s, active: none || threshold !== 0 || s !== 1 };
}

function checkBool(fn: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean`);
}

function bnForwardTS(
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
): void {
  const fn = 'bnForward';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'c', c);
  const n = rows * c;
  checkArray(fn, 'x', x, n);
  checkArray(fn, 'mean', mean, c);
  checkArray(fn, 'scale', scale, c);
  checkArray(fn, 'shift', shift, c);
  checkBool(fn, 'relu', relu);
  const d = checkDrop(fn, seed, threshold, dropScale);
  checkArray(fn, 'out', out, n);
  const { k1, k2, t, s } = d;
  // max(0, y) as (y + |y|)/2 rather than a branch: V8 compiles `y > 0 ? y : 0` and
  // Math.max to a branch that mispredicts half the time (~4× the cost of the pass).
  if (!d.active) {
    if (relu) {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) {
          const y = (x[o + j]! - mean[j]!) * scale[j]! + shift[j]!;
          out[o + j] = 0.5 * (y + Math.abs(y));
        }
      }
    } else {
      for (let i = 0, o = 0; i < rows; i++, o += c) {
        for (let j = 0; j < c; j++) out[o + j] = (x[o + j]! - mean[j]!) * scale[j]! + shift[j]!;
      }
    }
    return;
  }
  if (relu) {
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) {
        const y = (x[o + j]! - mean[j]!) * scale[j]! + shift[j]!;
        const h = mix32((mix32((o + j) ^ k1) + k2) | 0) >>> 0;
        out[o + j] = Math.fround(0.5 * (y + Math.abs(y))) * (h >= t ? s : 0);
      }
    }
  } else {
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) {
        const y = (x[o + j]! - mean[j]!) * scale[j]! + shift[j]!;
        const h = mix32((mix32((o + j) ^ k1) + k2) | 0) >>> 0;
        out[o + j] = Math.fround(y) * (h >= t ? s : 0);
      }
    }
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

/** Whether the first n elements of a and the first m of b share memory. */
function overlapsTS(a: Float32Array, n: number, b: Float32Array, m: number): boolean {
  return n > 0 && m > 0 && a.buffer === b.buffer && a.byteOffset < b.byteOffset + 4 * m && b.byteOffset < a.byteOffset + 4 * n;
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

/** The furthest element (exclusive) a strided [rows, n] block touches: offset + (rows − 1)·stride + n (0 when empty). */
function stridedExtent(offset: number, stride: number, rows: number, n: number): number {
  return rows === 0 || n === 0 ? 0 : offset + (rows - 1) * stride + n;
}

/** fillRows: one copy of the row, then doubling `copyWithin`s (a dozen memmoves for 4096 rows). */
function fillRowsTS(row: Float32Array, rows: number, n: number, out: Float32Array): void {
  const fn = 'fillRows';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'n', n);
  checkArray(fn, 'row', row, n);
  checkArray(fn, 'out', out, rows * n);
  if (rows === 0 || n === 0) return;
  if (out.buffer === row.buffer && out.byteOffset < row.byteOffset + 4 * n && row.byteOffset < out.byteOffset + 4 * rows * n) {
    throw new Error(`${fn}: out must not overlap row`);
  }
  out.set(row.subarray(0, n), 0);
  const total = rows * n;
  for (let filled = n; filled < total;) {
    const len = Math.min(filled, total - filled);
    out.copyWithin(filled, 0, len);
    filled += len;
  }
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

function copyRowsTS(
  src: Float32Array,
  srcOffset: number,
  srcStride: number,
  rows: number,
  n: number,
  dst: Float32Array,
  dstOffset: number,
  dstStride: number,
): void {
  const fn = 'copyRows';
  for (const [name, v] of [
    ['srcOffset', srcOffset],
    ['srcStride', srcStride],
    ['rows', rows],
    ['n', n],
    ['dstOffset', dstOffset],
    ['dstStride', dstStride],
  ] as const)
    checkSize(fn, name, v);
  checkArray(fn, 'src', src, stridedExtent(srcOffset, srcStride, rows, n));
  checkArray(fn, 'dst', dst, stridedExtent(dstOffset, dstStride, rows, n));
  for (let r = 0; r < rows; r++) {
    const s = srcOffset + r * srcStride,
      d = dstOffset + r * dstStride;
    if (n < 64) for (let j = 0; j < n; j++) dst[d + j] = src[s + j]!;
    else dst.set(src.subarray(s, s + n), d);
  }
}

function reluTS(x: Float32Array, n: number, out: Float32Array): void {
  const fn = 'relu';
  checkSize(fn, 'n', n);
  checkArray(fn, 'x', x, n);
  checkArray(fn, 'out', out, n);
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    out[i] = (v + Math.abs(v)) * 0.5;
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

function fmSecondOrderTS(x: Float32Array, rows: number, fields: number, dim: number, out: Float32Array, s: Float32Array): void {
  const fn = 'fmSecondOrder';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'fields', fields);
  checkSize(fn, 'dim', dim);
  checkArray(fn, 'x', x, rows * fields * dim);
  checkArray(fn, 'out', out, rows);
  checkArray(fn, 's', s, rows * dim);
  const F = fields,
    D = dim;
  // Squares summed per coordinate over the fields, then over the coordinates (the native
  // kernel's order, which vectorises there).
  const q = new Float64Array(D);
  for (let b = 0; b < rows; b++) {
    const base = b * F * D,
      sb = b * D;
    s.fill(0, sb, sb + D);
    q.fill(0);
    for (let f = 0; f < F; f++) {
      const o = base + f * D;
      for (let d = 0; d < D; d++) s[sb + d]! += x[o + d]!;
      for (let d = 0; d < D; d++) q[d]! += x[o + d]! * x[o + d]!;
    }
    let sq = 0;
    for (let d = 0; d < D; d++) sq += q[d]!;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += s[sb + d]! * s[sb + d]!;
    out[b] = 0.5 * (ss - sq);
  }
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
): void {
  const fn = 'fmSecondOrderBackward';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'fields', fields);
  checkSize(fn, 'dim', dim);
  checkBool(fn, 'accumulate', accumulate);
  const n = rows * fields * dim;
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
    const base = b * row,
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

/** The TypeScript twins of the fused dense kernels (also the fallback of a backend lacking some). */
export const denseKernelsTS: DenseKernels = {
  bnStats: bnStatsTS,
  bnForward: bnForwardTS,
  bnGradSums: bnGradSumsTS,
  bnInputGrad: bnInputGradTS,
  dropoutForward: dropoutForwardTS,
  dropoutBackward: dropoutBackwardTS,
  addColumnSums: addColumnSumsTS,
  copyRows: copyRowsTS,
  fillRows: fillRowsTS,
  adamUpdate: adamUpdateTS,
  relu: reluTS,
  reluBackward: reluBackwardTS,
  reluBackwardColumnSums: reluBackwardColumnSumsTS,
  fmSecondOrder: fmSecondOrderTS,
  fmSecondOrderBackward: fmSecondOrderBackwardTS,
};

/** The portable TypeScript kernels (used when the native addon is absent or disabled). */
export function typescriptKernels(detail = 'portable TypeScript kernels'): Kernels {
  return {
    name: 'typescript',
    detail,
    sgemm: sgemmTS,
    setThreads: () => {},
    getThreads: () => 1,
    ...denseKernelsTS,
  };
}
