import { binaryLabels, checkProbabilities, checkWeights } from './validate.js';

/** Default probability clipping of `logloss`: p is clipped to [ε, 1 − ε]. */
export const LOGLOSS_EPS = 1e-7;

/**
 * Binary cross-entropy, the (weighted) mean of −[y·ln p + (1 − y)·ln(1 − p)] with p clipped
 * to [eps, 1 − eps] so a confident mistake costs at most −ln(eps) (≈ 16.1 for 1e-7).
 * Matches scikit-learn's `log_loss(y, p, eps=eps, sample_weight=w)`.
 * Probabilities outside [0, 1] or NaN are an error; an empty input (or zero total weight)
 * gives NaN.
 */
export function logloss(probs: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>, eps = LOGLOSS_EPS): number {
  const n = probs.length;
  const y = binaryLabels(labels, n, 'logloss');
  checkWeights(weights, n, 'logloss');
  checkProbabilities(probs, 'logloss');
  if (!(eps > 0 && eps < 0.5)) throw new Error(`logloss: eps = ${eps}: expected 0 < eps < 0.5`);
  return loglossOfRows(probs, y, weights, eps, null, 0, n);
}

/**
 * Log loss over rows `rows[start, end)` (or rows start…end−1 when `rows` is null), inputs
 * already validated.
 */
export function loglossOfRows(
  probs: ArrayLike<number>,
  labels: Uint8Array,
  weights: ArrayLike<number> | undefined,
  eps: number,
  rows: Uint32Array | null,
  start: number,
  end: number,
): number {
  const hi = 1 - eps;
  let sum = 0;
  let wsum = 0;
  for (let k = start; k < end; k++) {
    const r = rows === null ? k : rows[k]!;
    let p = probs[r]!;
    if (p < eps) p = eps;
    else if (p > hi) p = hi;
    const l = labels[r] === 1 ? -Math.log(p) : -Math.log(1 - p);
    if (weights === undefined) {
      sum += l;
      wsum += 1;
    } else {
      const w = weights[r]!;
      sum += w * l;
      wsum += w;
    }
  }
  return wsum === 0 ? NaN : sum / wsum;
}
