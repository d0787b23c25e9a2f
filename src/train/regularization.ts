/**
 * L2 regularization added to gradients directly (no autograd graph), returning the penalty
 * value for logging. Call after `backward()` and before clipping and the optimizer steps.
 */
import type { Tensor } from '../engine/tensor.js';
import type { EmbeddingTable } from '../embedding/table.js';
import { sumSquares } from './clip.js';

/**
 * Where the embedding L2 penalty applies. 'batch': λ/2·Σ‖w_r‖² over the unique rows the
 * batch touched (gradient λ·w_r added once to each such row's sparse gradient). 'table':
 * λ/2·‖W‖² over the whole table, the published-benchmark protocol (DESIGN.md §5); its
 * gradient λ·W is dense, so it is recorded as `table.denseDecay += λ` and applied by
 * `TableAdam` (and counted by `clipGradNorm`); row-wise optimizers refuse it.
 */
export type EmbeddingL2Mode = 'batch' | 'table';

/** Options of `embeddingL2`. */
export interface EmbeddingL2Options {
  /**
   * Compute the penalty value (default true). In 'table' mode that is an O(rows·dim) sweep;
   * pass false to skip it (the function then returns NaN).
   */
  penalty?: boolean;
}

/**
 * Adds the L2 penalty λ/2·‖·‖² on embedding tables to their gradients (see
 * `EmbeddingL2Mode`) and returns the penalty (float64 sum). Tables listed twice count once.
 */
export function embeddingL2(tables: readonly EmbeddingTable[], lambda: number, mode: EmbeddingL2Mode, opts: EmbeddingL2Options = {}): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0)
    throw new Error(`embeddingL2: lambda must be a finite number >= 0, got ${lambda}`);
  if (mode !== 'batch' && mode !== 'table') throw new Error(`embeddingL2: mode must be 'batch' or 'table', got '${String(mode)}'`);
  const computePenalty = opts.penalty ?? true;
  if (lambda === 0) return 0;
  let sum = 0;
  for (const t of new Set(tables)) {
    if (mode === 'table') {
      t.denseDecay += lambda;
      if (computePenalty) sum += sumSquares(t.weight);
      continue;
    }
    const { ids, values } = t.sparseGrad();
    const w = t.weight,
      dim = t.dim;
    for (let i = 0; i < ids.length; i++) {
      const o = ids[i]! * dim,
        go = i * dim;
      for (let d = 0; d < dim; d++) {
        const wi = w[o + d]!;
        sum += wi * wi;
        values[go + d]! += lambda * wi;
      }
    }
  }
  return mode === 'table' && !computePenalty ? NaN : 0.5 * lambda * sum;
}

/** Options of `denseL2`. */
export interface DenseL2Options {
  /** Also penalize rank-≤1 parameters (biases, normalization scales/shifts); default false. */
  includeBiases?: boolean;
}

/**
 * Adds the L2 penalty λ/2·‖W‖² on dense parameters: λ·W is added to each one's gradient
 * (allocating it when null). Rank-≤1 parameters count as biases and are skipped unless
 * `includeBiases`. Returns the penalty (float64 sum). Parameters listed twice count once.
 */
export function denseL2(params: readonly Tensor[], lambda: number, opts: DenseL2Options = {}): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0)
    throw new Error(`denseL2: lambda must be a finite number >= 0, got ${lambda}`);
  const includeBiases = opts.includeBiases ?? false;
  if (lambda === 0) return 0;
  let sum = 0;
  for (const p of new Set(params)) {
    if (!includeBiases && p.rank <= 1) continue;
    const w = p.data;
    const g = p.gradBuffer();
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      sum += wi * wi;
      g[i]! += lambda * wi;
    }
  }
  return 0.5 * lambda * sum;
}
