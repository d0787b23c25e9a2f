import type { FeatureMatrix } from './matrix.js';
import { gbdtKernels, type BinnedMatrix } from './kernels.js';

/** Rows whose values fix the bin bounds; larger training sets are sampled (evenly strided). */
export const BIN_SAMPLE_ROWS = 200_000;

/**
 * Quantile binning of every feature, fitted on the training matrix. Feature f gets
 * `bins[f]` value bins plus one missing slot: value v falls in the first bin b whose upper
 * bound satisfies v ≤ upper[b] (the last bin has no upper bound), NaN in the missing slot.
 *
 * Upper bounds are training values (float32, so a split "bin ≤ b" is exactly the test
 * "v ≤ upper[b]" on raw values): all distinct values when there are at most `maxBin` of
 * them, otherwise the values at ranks ⌊i·n/maxBin⌋, i = 1…maxBin−1, of the sorted non-missing
 * values, duplicates removed. Above BIN_SAMPLE_ROWS training rows the bounds come from an
 * evenly strided sample of that many rows (as LightGBM's bin_construct_sample_cnt; XGBoost's
 * hist method uses an approximate quantile sketch for the same reason). Slots of all features are numbered globally:
 * feature f owns slots offset[f] … offset[f] + bins[f] (the last one is its missing slot).
 */
export class BinMapper {
  constructor(
    /** Upper bounds per feature, ascending (length bins[f] − 1). */
    readonly uppers: Float32Array[],
    /** First global slot of each feature. */
    readonly offsets: Int32Array,
    /** Total slots of all features (value bins + one missing slot each). */
    readonly totalSlots: number,
  ) {}

  /** Value bins of feature f (its missing slot is bins(f)). */
  bins(f: number): number {
    return this.uppers[f]!.length + 1;
  }

  /** Fits bin bounds on a matrix's non-missing values (rows sampled above `sampleRows`). */
  static fit(m: FeatureMatrix, maxBin: number, sampleRows = BIN_SAMPLE_ROWS): BinMapper {
    const uppers: Float32Array[] = [];
    const offsets = new Int32Array(m.columns.length);
    let total = 0;
    const S = Math.min(m.rows, sampleRows);
    const sample = new Int32Array(S);
    for (let i = 0; i < S; i++) sample[i] = Math.floor((i * m.rows) / S);
    m.columns.forEach((col, f) => {
      const vals = new Float32Array(S);
      let n = 0;
      for (let i = 0; i < S; i++) {
        const v = col[sample[i]!]!;
        if (v === v) vals[n++] = v;
      }
      // NaN was left out; native: a radix sort of the float32 bit patterns.
      const sorted = vals.subarray(0, n);
      gbdtKernels().sortFloats(sorted);
      const up = quantileUppers(sorted, maxBin);
      uppers.push(up);
      offsets[f] = total;
      total += up.length + 2;
    });
    return new BinMapper(uppers, offsets, total);
  }

  /** Bin of value v of feature f (NaN → the missing slot), local to the feature. */
  binOf(f: number, v: number): number {
    const up = this.uppers[f]!;
    if (v !== v) return up.length + 1;
    let lo = 0,
      hi = up.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= up[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * The matrix of bins in both layouts: `rowMajor` [rows × features] (entry r·F + f) for
   * histogram building, which reads a row's bins together, and `columnMajor` [features × rows]
   * (entry f·rows + r) for partitioning, which reads one feature. When every feature has at
   * most 256 slots (the usual case with max_bin ≤ 255, or fewer distinct values), both are
   * 8-bit and hold local bins, and `offsets` (= this.offsets) maps them to global slots: half
   * the memory traffic of 16-bit slots in the histogram loop. Otherwise the entries are global
   * slots (16-bit when they all fit) and `offsets` is null. Runs on the active kernels
   * (native: row blocks on `threads` threads).
   */
  transform(m: FeatureMatrix, threads = 1): BinnedData {
    const F = m.columns.length,
      n = m.rows;
    const local = this.uppers.every((u) => u.length + 2 <= 0x100);
    const make = () => (local ? new Uint8Array(n * F) : this.totalSlots > 0xffff ? new Uint32Array(n * F) : new Uint16Array(n * F));
    const columnMajor = make(),
      rowMajor = make();
    gbdtKernels().bin(m.columns, this.uppers, this.offsets, columnMajor, rowMajor, threads);
    return { rowMajor, columnMajor, offsets: local ? this.offsets : null };
  }
}

/** A binned matrix in both layouts (BinMapper.transform). */
export interface BinnedData {
  rowMajor: BinnedMatrix;
  columnMajor: BinnedMatrix;
  /** Feature offsets when the entries are local bins (8-bit matrices); null for global slots. */
  offsets: Int32Array | null;
}

/** Upper bin bounds of sorted non-missing values (see BinMapper). */
export function quantileUppers(sorted: Float32Array, maxBin: number): Float32Array {
  const n = sorted.length;
  const distinct: number[] = [];
  for (let i = 0; i < n && distinct.length <= maxBin; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  if (distinct.length <= maxBin) return Float32Array.from(distinct.slice(0, -1));
  const cuts: number[] = [];
  const max = sorted[n - 1]!;
  for (let i = 1; i < maxBin; i++) {
    const v = sorted[Math.floor((i * n) / maxBin)]!;
    if (v >= max) break;
    if (cuts.length === 0 || v > cuts[cuts.length - 1]!) cuts.push(v);
  }
  return Float32Array.from(cuts);
}
