import { gbdtKernels, type BinnedMatrix } from './kernels.js';

export type { BinnedMatrix } from './kernels.js';

/**
 * Gradient histogram of the rows rows[start, end): hist[2s] = Σ g, hist[2s+1] = Σ h over the
 * rows whose value of some feature falls in global slot s (the matrix entry, plus offsets[f]
 * for a local-bin matrix: see BinMapper.transform). With `features` null every
 * feature is accumulated; otherwise only the listed ones (column subsampling). Runs on the
 * active kernels (native/gbdt.cc on `threads` threads, or its TypeScript twin); the result
 * does not depend on the thread count.
 */
export function buildHistogram(
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
  threads = 1,
): void {
  gbdtKernels().histogram(hist, binned, offsets, F, rows, start, end, g, h, features, threads);
}

/** Histogram subtraction: into = parent − child (the sibling's histogram), in place. */
export function subtractHistogram(into: Float64Array, child: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! - child[i]!;
}
