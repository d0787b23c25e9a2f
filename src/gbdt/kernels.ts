/**
 * The hot loops of the booster — histogram building, row partitioning, logistic gradients and
 * the margin update — behind one
 * interface with two backends: the native addon (native/gbdt.cc) and TypeScript twins
 * (./kernels-ts.ts) that give bit-identical results (float64 sums of float32 gradients in
 * the same order). The backend follows the engine's, as the embedding kernels do:
 * FINERANK_BACKEND=typescript selects the twins; otherwise the addon's functions are used
 * when the addon loaded and has them.
 */
import { typescriptGbdtKernels } from './kernels-ts.js';
import type { FeatureColumn } from './matrix.js';
import { nativeKernelFamily } from '../engine/kernels/native-family.js';

/**
 * A bin matrix from BinMapper.transform (row-major [rows × features] or column-major
 * [features × rows]): 8-bit matrices hold each feature's local bin (slot − offsets[f]),
 * 16- and 32-bit ones the global slot.
 */
export type BinnedMatrix = Uint8Array | Uint16Array | Uint32Array;

/** The gradient-boosting kernel set. */
export interface GbdtKernels {
  readonly name: 'native' | 'typescript';
  /**
   * Zeroes `hist`, then for k in [start, end), r = rows[k], and every feature j (or j in
   * `features`): s = binned[r·F + j] (+ offsets[j] when `offsets` is given: a local-bin
   * matrix); hist[2s] += g[r]; hist[2s+1] += h[r]. More than
   * HISTOGRAM_BLOCK_ROWS (16 384) rows are summed in fixed row blocks into partial histograms
   * added in block order (native: blocks on the threads); fewer in row order (native: the
   * features split between the threads from 65 536 slot updates). Every slot is summed in one
   * fixed order, so the result does not depend on the thread count.
   */
  histogram(
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
    threads: number,
  ): void;
  /**
   * `histogram` of several nodes: node i's rows rows[starts[i], ends[i]) into hists[i] (all of
   * one length), each sum exactly as one `histogram` call computes it. Native: in two pool jobs
   * (small nodes and the row blocks of large ones are units the threads take in turn, then the
   * blocks' partial histograms are added in block order), so the nodes of a depth level share
   * the threads without each walking every row.
   */
  histograms(
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
    threads: number,
  ): void;
  /**
   * Bins of every value in both layouts: for feature f and row r, b is the first bin with
   * v ≤ uppers[f][b] (uppers[f].length when above all, that + 1 for NaN);
   * columnMajor[f·n + r] = rowMajor[r·F + f] = b for 8-bit matrices, offsets[f] + b (the
   * global slot) for wider ones. Native: row blocks on `threads` threads.
   */
  bin(
    columns: FeatureColumn[],
    uppers: Float32Array[],
    offsets: Int32Array,
    columnMajor: BinnedMatrix,
    rowMajor: BinnedMatrix,
    threads: number,
  ): void;
  /** Sorts values (no NaN) ascending in place. Native: a radix sort; TypeScript: the typed array's sort. */
  sortFloats(values: Float32Array): void;
  /**
   * Stable partition of rows[start, end): local bin b = binned[r·F + feature] − offset goes
   * left when (b = missingBin ? defaultLeft : b ≤ bin). `tmp` holds at least end − start
   * values. Returns the first position of the right rows. Native: row blocks on `threads`
   * threads from 32 768 rows (each block partitioned on its own, then the blocks' lefts and
   * rights copied into place), the same order as on one thread.
   */
  partition(
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
    threads: number,
  ): number;
  /**
   * `partition` of several nodes with disjoint row ranges on a column-major [F × n] bin matrix:
   * node i splits rows[starts[i], ends[i]) on column features[i] (columns[features[i]·n + r])
   * with (offsets[i], missingBins[i], bins[i], defaultLeft[i] ≠ 0) and
   * tmp[starts[i] …) as scratch (tmp at least rows.length); mids[i] receives the first right
   * position. Native: one pool job, one node per unit (largest first; one node alone uses
   * partition's row blocks), the single-thread order every time.
   */
  partitions(
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
    threads: number,
  ): void;
  /**
   * Logloss gradients of every row: p = 1/(1 + e^(−margin)) with e^x from exp.ts
   * (deterministicExp, identical in both backends), g = w·(p − y), h = w·max(p(1 − p), 1e−16)
   * (w = 1 without weights), stored as float32. Native: row blocks on `threads` threads.
   */
  logisticGradients(margin: Float64Array, y: Float32Array, weight: Float64Array | null, g: Float32Array, h: Float32Array, threads: number): void;
  /**
   * Margin update from a grown tree's leaf row ranges: margin[rows[k]] += values[i] for k in
   * [leafStart[i], leafEnd[i]) (the ranges hold distinct rows). Native: blocks of leaves on
   * `threads` threads from 32 768 rows.
   */
  addLeafValues(margin: Float64Array, rows: Int32Array, leafStart: Int32Array, leafEnd: Int32Array, values: Float64Array, threads: number): void;
  /**
   * The worker pool's counters since the process started, into out[0…3): jobs handed to the
   * pool (round trips), seconds the calling thread waited for the workers after finishing its
   * own task, seconds the workers spent in tasks. The TypeScript twins have no pool: zeros.
   */
  poolStats(out: Float64Array): void;
}

const family = nativeKernelFamily<GbdtKernels>(
  {
    histogram: 'gbdtHistogram',
    partition: 'gbdtPartition',
    histograms: 'gbdtHistograms',
    partitions: 'gbdtPartitions',
    bin: 'gbdtBin',
    sortFloats: 'gbdtSortFloats',
    logisticGradients: 'gbdtLogisticGradients',
    addLeafValues: 'gbdtAddLeafValues',
    poolStats: 'gbdtPoolStats',
  },
  typescriptGbdtKernels,
);

/** The native gradient-boosting kernels, or why they are unavailable. Loaded once. */
export const loadNativeGbdtKernels = family.load;

/** The active kernels: forced by `setGbdtKernels`, else native with the native engine backend (when the addon has them), else TypeScript. */
export const gbdtKernels = family.active;

/** Forces a kernel set (tests compare backends; benchmarks switch them); null restores the automatic choice. */
export const setGbdtKernels = family.force;

export { typescriptGbdtKernels } from './kernels-ts.js';
