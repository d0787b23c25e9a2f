/**
 * Global gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics, over dense
 * parameter gradients and embedding tables' row-sparse gradients together.
 */
import type { Tensor } from '../engine/tensor.js';
import type { EmbeddingTable } from '../embedding/table.js';

/** Σ aᵢ² in float64, with four partial sums (breaks the add dependency chain on long arrays). */
export function sumSquares(a: Float32Array): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  const n4 = a.length & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const x0 = a[i]!,
      x1 = a[i + 1]!,
      x2 = a[i + 2]!,
      x3 = a[i + 3]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; i < a.length; i++) s0 += a[i]! * a[i]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * Squared L2 norm of a table's gradient: Σ over its unique rows of ‖g_r‖², or, when the
 * table carries a whole-table L2 term c·W (`denseDecay` = c ≠ 0), Σ over every row of
 * ‖g_r + c·w_r‖² (an O(rows·dim) sweep, the cost of that dense gradient). Float64 sums.
 */
export function tableGradSquaredNorm(t: EmbeddingTable): number {
  const { ids, values } = t.sparseGrad();
  const c = t.denseDecay,
    dim = t.dim,
    w = t.weight;
  if (c === 0) return sumSquares(values);
  // c²‖W‖² over all rows, then replace the touched rows' terms by ‖g + c·w‖².
  let s = c * c * sumSquares(w);
  for (let i = 0; i < ids.length; i++) {
    const o = ids[i]! * dim,
      go = i * dim;
    for (let d = 0; d < dim; d++) {
      const wi = w[o + d]!,
        gi = values[go + d]! + c * wi;
      s += gi * gi - c * c * wi * wi;
    }
  }
  return s;
}

/**
 * Clips the global gradient norm: total = √(Σ‖dense grad‖² + Σ‖table grad‖²) over the
 * params' gradients (null ones skipped) and the tables' sparse gradients (unique rows,
 * plus the whole-table L2 term when present); when maxNorm/(total + 1e-6) < 1 every
 * gradient (and each table's `denseDecay`) is multiplied by that factor. Returns the total
 * norm before clipping. A non-finite total leaves the gradients unchanged. Shared tables
 * listed twice count once.
 */
export function clipGradNorm(params: readonly Tensor[], tables: readonly EmbeddingTable[], maxNorm: number): number {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const uniqTables = [...new Set(tables)];
  const uniqParams = [...new Set(params)];
  let sq = 0;
  for (const p of uniqParams) if (p.grad !== null) sq += sumSquares(p.grad);
  for (const t of uniqTables) sq += tableGradSquaredNorm(t);
  const total = Math.sqrt(sq);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const p of uniqParams) {
      const g = p.grad;
      if (g === null) continue;
      for (let i = 0; i < g.length; i++) g[i]! *= coef;
    }
    for (const t of uniqTables) {
      const v = t.sparseGrad().values;
      for (let i = 0; i < v.length; i++) v[i]! *= coef;
      t.denseDecay *= coef;
    }
  }
  return total;
}
