/** The field pairs (f, g), f < g, of F fields in row-major order (0,1), (0,2), …, (F−2,F−1): torch.triu_indices(F, F, 1), FuxiCTR's and DeepCTR's order. */
export interface FieldPairs {
  /** Number of pairs P = F(F−1)/2. */
  readonly count: number;
  /** First field f of each pair. */
  readonly left: Int32Array;
  /** Second field g of each pair. */
  readonly right: Int32Array;
}

/** The F(F−1)/2 pairs f < g of F fields (see `FieldPairs`). */
export function fieldPairs(F: number): FieldPairs {
  if (!Number.isInteger(F) || F < 0) throw new Error(`fieldPairs: field count must be a non-negative integer, got ${F}`);
  const P = (F * (F - 1)) / 2;
  const left = new Int32Array(P),
    right = new Int32Array(P);
  let p = 0;
  for (let f = 0; f < F; f++) {
    for (let g = f + 1; g < F; g++) {
      left[p] = f;
      right[p] = g;
      p++;
    }
  }
  return { count: P, left, right };
}
