import type { Tensor } from '../../engine/tensor.js';
import { bceWithLogits, concat, matmul, mul, reshape, scale, sum } from '../../engine/ops/index.js';

/**
 * The positive pairs of a skip-gram window over padded sequences: weight 1 at [b, t, c] when
 * positions t ≠ c are both inside row b's length and |t − c| ≤ `window`; also how many context
 * positions each target t has (the weight of its negatives).
 */
export function skipGramPairs(
  lengths: ArrayLike<number>,
  maxLen: number,
  window: number,
): { pairs: Float32Array; contexts: Float32Array; count: number } {
  if (!Number.isInteger(window) || window < 1) throw new Error(`skip-gram: the window must be a positive integer, got ${window}`);
  const B = lengths.length;
  const pairs = new Float32Array(B * maxLen * maxLen);
  const contexts = new Float32Array(B * maxLen);
  let count = 0;
  for (let b = 0; b < B; b++) {
    const n = lengths[b]!;
    for (let t = 0; t < n; t++)
      for (let c = Math.max(0, t - window); c <= Math.min(n - 1, t + window); c++) {
        if (c === t) continue;
        pairs[(b * maxLen + t) * maxLen + c] = 1;
        contexts[b * maxLen + t]!++;
        count++;
      }
  }
  return { pairs, contexts, count };
}

/**
 * Skip-gram loss with negative sampling (Mikolov et al. 2013) over item sequences, as in
 * DeepMCP's correlation subnet (Ouyang et al. 2019, eq. 6): for every pair (t, c) of a row's
 * valid positions within `window` of each other,
 *
 *   ℓ_tc = −log σ(⟨h_t, h_c⟩) − Σ_q log σ(−⟨h_t, n_tq⟩)
 *
 * averaged over all pairs of the batch. `h` [B, L, D] are the item representations, `negatives`
 * [B, L, Q, D] the representations of Q negatives drawn for each target position t (shared by
 * t's context pairs: a per-pair draw would multiply the lookups by the window), `lengths` the
 * valid length of each row. 0 (no gradient) when the batch has no pair.
 */
export function skipGramLoss(h: Tensor, negatives: Tensor, lengths: ArrayLike<number>, window: number): Tensor {
  if (h.rank !== 3) throw new Error(`skip-gram: item representations must be [B, L, D], got [${h.shape}]`);
  const [B, L, D] = h.shape as [number, number, number];
  const Q = negatives.shape[2]!;
  if (negatives.rank !== 4 || negatives.shape[0] !== B || negatives.shape[1] !== L || negatives.shape[3] !== D)
    throw new Error(`skip-gram: negatives must be [${B}, ${L}, Q, ${D}], got [${negatives.shape}]`);
  if (lengths.length !== B) throw new Error(`skip-gram: ${lengths.length} lengths for ${B} rows`);
  const { pairs, contexts } = skipGramPairs(lengths, L, window);
  const positive = matmul(h, h, { transB: true }); // [B, L, L]: ⟨h_t, h_c⟩
  const negative = sum(mul(reshape(h, [B, L, 1, D]), negatives), 3); // [B, L, Q]: ⟨h_t, n_tq⟩
  const weights = new Float32Array(B * L * L + B * L * Q);
  weights.set(pairs);
  for (let i = 0; i < B * L; i++) weights.fill(contexts[i]!, B * L * L + i * Q, B * L * L + (i + 1) * Q);
  const labels = new Float32Array(weights.length);
  labels.fill(1, 0, B * L * L);
  const scores = concat([reshape(positive, [B * L * L]), reshape(negative, [B * L * Q])], 0);
  // bceWithLogits divides by Σ w = (1 + Q)·pairs; ×(1 + Q) makes it the mean over pairs of ℓ_tc.
  return scale(bceWithLogits(scores, labels, weights), 1 + Q);
}
