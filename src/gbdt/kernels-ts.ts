import { deterministicExp } from './exp.js';
import type { BinnedMatrix, GbdtKernels } from './kernels.js';
import type { FeatureColumn } from './matrix.js';

/**
 * Gradient histogram of the rows rows[start, end): hist is zeroed, then hist[2s] += g[r] and
 * hist[2s+1] += h[r] for every slot s of row r (all features, or only `features`); s is the
 * matrix entry, plus offsets[j] for a local-bin matrix. One pass over the rows, reading each
 * row's entries contiguously; a node of more than HISTOGRAM_BLOCK_ROWS rows is summed block by
 * block into partial histograms added in block order (the native kernel's order).
 */
function histogram(
  hist: Float64Array,
  binned: BinnedMatrix,
  offsets: Int32Array | null,
  F: number,
  rows: Int32Array,
  start: number,
  end: number,
  g: Float32Array,
  h: Float32Array,
  features: Int32Array | null,
  _threads: number,
): void {
  hist.fill(0);
  const feats = features ?? Int32Array.from({ length: F }, (_, j) => j);
  const off = offsets ?? new Int32Array(F);
  const nf = feats.length;
  const accumulate = (into: Float64Array, k0: number, k1: number) => {
    for (let k = k0; k < k1; k++) {
      const r = rows[k]!;
      const gi = g[r]!,
        hi = h[r]!;
      const base = r * F;
      for (let j = 0; j < nf; j++) {
        const f = feats[j]!;
        const s = (off[f]! + binned[base + f]!) << 1;
        into[s] = into[s]! + gi;
        into[s + 1] = into[s + 1]! + hi;
      }
    }
  };
  if (end - start <= HISTOGRAM_BLOCK_ROWS) {
    accumulate(hist, start, end);
    return;
  }
  // Blocks of HISTOGRAM_BLOCK_ROWS rows into partial histograms, added in block order (as the native kernel).
  const part = new Float64Array(hist.length);
  for (let k0 = start; k0 < end; k0 += HISTOGRAM_BLOCK_ROWS) {
    part.fill(0);
    accumulate(part, k0, Math.min(end, k0 + HISTOGRAM_BLOCK_ROWS));
    for (let s = 0; s < hist.length; s++) hist[s] = hist[s]! + part[s]!;
  }
}

/**
 * Rows per histogram block (native/gbdt.cc's kHistogramBlockRows): a node of more rows is summed
 * block by block into partial histograms added in block order, so that the native kernel can
 * spread the blocks over threads and every sum is the same for any thread count.
 */
export const HISTOGRAM_BLOCK_ROWS = 1 << 14;

/** Stable partition of rows[start, end) by one split (see GbdtKernels.partition); returns the first right position. */
function partition(
  rows: Int32Array,
  start: number,
  end: number,
  binned: BinnedMatrix,
  F: number,
  feature: number,
  offset: number,
  missingBin: number,
  bin: number,
  defaultLeft: boolean,
  tmp: Int32Array,
  _threads: number,
): number {
  let nl = start,
    nr = 0;
  for (let k = start; k < end; k++) {
    const r = rows[k]!;
    const b = binned[r * F + feature]! - offset;
    if (b === missingBin ? defaultLeft : b <= bin) rows[nl++] = r;
    else tmp[nr++] = r;
  }
  rows.set(tmp.subarray(0, nr), nl);
  return nl;
}

/** Bins of every value in both layouts (see GbdtKernels.bin); one thread. */
function bin(columns: FeatureColumn[], uppers: Float32Array[], offsets: Int32Array, columnMajor: BinnedMatrix, rowMajor: BinnedMatrix): void {
  const F = columns.length,
    n = columnMajor.length / F;
  const local = columnMajor instanceof Uint8Array;
  for (let f = 0; f < F; f++) {
    const col = columns[f]!;
    const off = local ? 0 : offsets[f]!;
    const up = uppers[f]!;
    const nb = up.length;
    const base = f * n;
    for (let r = 0; r < n; r++) {
      const v = col[r]!;
      let lo = 0;
      if (v !== v) lo = nb + 1;
      else {
        let hi = nb;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (v <= up[mid]!) hi = mid;
          else lo = mid + 1;
        }
      }
      columnMajor[base + r] = off + lo;
      rowMajor[r * F + f] = off + lo;
    }
  }
}

/** Ascending sort in place: the typed array's numeric sort (the same order as the native radix sort). */
function sortFloats(values: Float32Array): void {
  values.sort();
}

/** Smallest Hessian used for logloss (XGBoost's kRtEps-style floor keeps H + λ > 0). */
const MIN_HESS = 1e-16;

/** Logloss gradients (see GbdtKernels.logisticGradients); one thread. */
function logisticGradients(
  margin: Float64Array,
  y: Float32Array,
  weight: Float64Array | null,
  g: Float32Array,
  h: Float32Array,
  _threads: number,
): void {
  for (let i = 0; i < margin.length; i++) {
    const p = 1 / (1 + deterministicExp(-margin[i]!));
    const hess = Math.max(p * (1 - p), MIN_HESS);
    if (weight === null) {
      g[i] = p - y[i]!;
      h[i] = hess;
    } else {
      g[i] = weight[i]! * (p - y[i]!);
      h[i] = weight[i]! * hess;
    }
  }
}

/** Margin update from leaf row ranges (see GbdtKernels.addLeafValues); one thread. */
function addLeafValues(
  margin: Float64Array,
  rows: Int32Array,
  leafStart: Int32Array,
  leafEnd: Int32Array,
  values: Float64Array,
  _threads: number,
): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    for (let k = leafStart[i]!, e = leafEnd[i]!; k < e; k++) {
      const r = rows[k]!;
      margin[r] = margin[r]! + v;
    }
  }
}

/** Histograms of several nodes (see GbdtKernels.histograms): one `histogram` per node. */
function histograms(
  hists: Float64Array[],
  binned: BinnedMatrix,
  offsets: Int32Array | null,
  F: number,
  rows: Int32Array,
  starts: Int32Array,
  ends: Int32Array,
  g: Float32Array,
  h: Float32Array,
  features: Int32Array | null,
  _threads: number,
): void {
  if (starts.length !== hists.length || ends.length !== hists.length) throw new RangeError('starts and ends need one entry per histogram');
  for (let i = 0; i < hists.length; i++) histogram(hists[i]!, binned, offsets, F, rows, starts[i]!, ends[i]!, g, h, features, 1);
}

/** Partitions of several nodes (see GbdtKernels.partitions): one `partition` per node, tmp[starts[i] …) as its scratch. */
function partitions(
  rows: Int32Array,
  starts: Int32Array,
  ends: Int32Array,
  columns: BinnedMatrix,
  n: number,
  features: Int32Array,
  offsets: Int32Array,
  missingBins: Int32Array,
  bins: Int32Array,
  defaultLeft: Uint8Array,
  tmp: Int32Array,
  mids: Int32Array,
  _threads: number,
): void {
  for (let i = 0; i < starts.length; i++) {
    const f = features[i]!;
    if (!(f >= 0 && (f + 1) * n <= columns.length)) throw new RangeError(`node ${i}'s feature ${f} is outside the column matrix`);
    const column = columns.subarray(f * n, (f + 1) * n);
    mids[i] = partition(
      rows,
      starts[i]!,
      ends[i]!,
      column,
      1,
      0,
      offsets[i]!,
      missingBins[i]!,
      bins[i]!,
      defaultLeft[i] !== 0,
      tmp.subarray(starts[i]!),
      1,
    );
  }
}

/** Pool counters (see GbdtKernels.poolStats): the twins run on the calling thread, so all zero. */
function poolStats(out: Float64Array): void {
  out.fill(0, 0, 3);
}

/** The TypeScript twins of native/gbdt.cc (bit-identical results). */
export const typescriptGbdtKernels: GbdtKernels = {
  name: 'typescript',
  histogram,
  partition,
  histograms,
  partitions,
  bin,
  sortFloats,
  logisticGradients,
  addLeafValues,
  poolStats,
};
