/** Row-major global-slot matrix from BinMapper.transform: [rows × features]. */
export type BinnedMatrix = Uint16Array | Uint32Array;

/**
 * Gradient histogram of the rows rows[start, end): hist[2s] = Σ g, hist[2s+1] = Σ h over the
 * rows whose value of some feature falls in global slot s. With `features` null every
 * feature is accumulated; otherwise only the listed ones (column subsampling). The hot loop
 * of the learner: one pass over the rows, reading each row's F slots contiguously.
 */
export function buildHistogram(
  hist: Float64Array, binned: BinnedMatrix, F: number, rows: Int32Array, start: number, end: number,
  g: Float32Array, h: Float32Array, features: Int32Array | null,
): void {
  hist.fill(0);
  if (features === null) {
    for (let k = start; k < end; k++) {
      const r = rows[k]!;
      const gi = g[r]!, hi = h[r]!;
      const base = r * F;
      for (let j = 0; j < F; j++) {
        const s = binned[base + j]! << 1;
        hist[s] += gi;
        hist[s + 1] += hi;
      }
    }
    return;
  }
  const nf = features.length;
  for (let k = start; k < end; k++) {
    const r = rows[k]!;
    const gi = g[r]!, hi = h[r]!;
    const base = r * F;
    for (let j = 0; j < nf; j++) {
      const s = binned[base + features[j]!]! << 1;
      hist[s] += gi;
      hist[s + 1] += hi;
    }
  }
}

/** Histogram subtraction: into = parent − child (the sibling's histogram), in place. */
export function subtractHistogram(into: Float64Array, child: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i] -= child[i]!;
}
