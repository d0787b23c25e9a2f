import type { DenseKernels, Kernels } from './types.js';
import { checkArray, checkBool, checkDrop, checkRowStride, checkSize, mix32, rowsExtent } from './dense-checks.js';
import { denseTrainingKernelsTS } from './typescript-training.js';

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

function fmSecondOrderTS(x: Float32Array, rows: number, fields: number, dim: number, out: Float32Array, s: Float32Array, xStride?: number): void {
  const fn = 'fmSecondOrder';
  checkSize(fn, 'rows', rows);
  checkSize(fn, 'fields', fields);
  checkSize(fn, 'dim', dim);
  const stride = checkRowStride(fn, xStride, fields * dim);
  checkArray(fn, 'x', x, rowsExtent(rows, stride, fields * dim));
  checkArray(fn, 'out', out, rows);
  checkArray(fn, 's', s, rows * dim);
  const F = fields,
    D = dim;
  // Squares summed per coordinate over the fields, then over the coordinates (the native
  // kernel's order, which vectorises there).
  const q = new Float64Array(D);
  for (let b = 0; b < rows; b++) {
    const base = b * stride,
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

/** The TypeScript twins of the fused dense kernels (also the fallback of a backend lacking some). */
export const denseKernelsTS: DenseKernels = {
  ...denseTrainingKernelsTS,
  bnForward: bnForwardTS,
  copyRows: copyRowsTS,
  fillRows: fillRowsTS,
  relu: reluTS,
  fmSecondOrder: fmSecondOrderTS,
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
