import type { BinnedMatrix, GbdtKernels } from './kernels.js';

/**
 * Gradient histogram of the rows rows[start, end): hist is zeroed, then hist[2s] += g[r] and
 * hist[2s+1] += h[r] for every global slot s of row r (all features, or only `features`).
 * One pass over the rows, reading each row's slots contiguously.
 */
function histogram(
  hist: Float64Array,
  binned: BinnedMatrix,
  F: number,
  rows: Int32Array,
  start: number,
  end: number,
  g: Float32Array,
  h: Float32Array,
  features: Int32Array | null,
): void {
  hist.fill(0);
  if (features === null) {
    for (let k = start; k < end; k++) {
      const r = rows[k]!;
      const gi = g[r]!,
        hi = h[r]!;
      const base = r * F;
      for (let j = 0; j < F; j++) {
        const s = binned[base + j]! << 1;
        hist[s] = hist[s]! + gi;
        hist[s + 1] = hist[s + 1]! + hi;
      }
    }
    return;
  }
  const nf = features.length;
  for (let k = start; k < end; k++) {
    const r = rows[k]!;
    const gi = g[r]!,
      hi = h[r]!;
    const base = r * F;
    for (let j = 0; j < nf; j++) {
      const s = binned[base + features[j]!]! << 1;
      hist[s] = hist[s]! + gi;
      hist[s + 1] = hist[s + 1]! + hi;
    }
  }
}

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

/** The TypeScript twins of native/gbdt.cc (bit-identical results). */
export const typescriptGbdtKernels: GbdtKernels = { name: 'typescript', histogram, partition };
