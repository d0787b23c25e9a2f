/**
 * The keep probabilities of the sampling rules, as pure functions (the sampler applies them;
 * tests check them by hand). Every kept row carries the importance weight 1 / (keep
 * probability), so weighted sums over the sampled file estimate sums over the unsampled one.
 */

/**
 * Hot-item downsampling, the word2vec rule: keep an impression of an item whose share of the
 * training rows is f with probability min(1, √(t/f) + t/f). Items rarer than about t are
 * always kept; an item with f = 100·t keeps about 11 %.
 */
export function word2vecKeep(share: number, t: number): number {
  if (!(share > 0)) return 1;
  const r = t / share;
  return Math.min(1, Math.sqrt(r) + r);
}

/** Hot-item downsampling by a cap: keep each of an item's `count` rows with probability min(1, cap / count), so about `cap` remain. */
export function capKeep(count: number, cap: number): number {
  return count <= cap ? 1 : cap / count;
}

/**
 * The importance weight of a negative drawn by popularity-aware negative sampling, so that
 * the weighted negatives of a user estimate all of that user's non-positive items (each once):
 * the user's n_u positives each draw k negatives from q restricted to the user's
 * non-positives, q′_i = q_i / (1 − Q_u) with Q_u = Σ_{i ∈ P_u} q_i, so item i is drawn
 * n_u·k·q′_i times in expectation and its weight is (1 − Q_u) / (n_u·k·q_i).
 */
export function popularityNegativeWeight(qi: number, positiveMass: number, userPositives: number, perPositive: number): number {
  return (1 - positiveMass) / (userPositives * perPositive * qi);
}

/**
 * The closed-form recalibration of negative downsampling at rate w (negatives kept with
 * probability w): p = p′ / (p′ + (1 − p′) / w). The trainer applies it when
 * `negativeSampleRate` is set (src/train/trainer.ts, `calibratedProbabilities`).
 */
export function recalibrateNegativeDownsampling(p: number, w: number): number {
  return p / (p + (1 - p) / w);
}
