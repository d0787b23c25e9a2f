import { Rng } from '../engine/random.js';
import { aucOfRun } from './auc.js';
import { gatherF64, gatherU8, rankScores } from './sort.js';
import { binaryLabels } from './validate.js';

/** A paired bootstrap of the difference of two scorers' AUCs on the same rows. */
export interface AucDiffBootstrap {
  /** AUC(a) − AUC(b) on the rows as given. */
  diff: number;
  /** Standard deviation of the difference over the resamples: its standard error. */
  se: number;
  /** Resamples drawn. */
  resamples: number;
}

/**
 * Standard error of AUC(a) − AUC(b) on one labelled set by the paired bootstrap: each
 * resample draws the rows with replacement (the same rows for both scorers: the
 * difference's error, not each AUC's), as Poisson(1) counts per row (the "Poisson
 * bootstrap": multinomial counts' large-n limit, one pass per resample), and takes the
 * weighted AUC of each scorer. What it answers: whether a gap between two models measured
 * on one test set is larger than the test set's own noise (a single AUC on ~800 positives
 * has s.e. ≈ 0.008; the paired difference is usually much tighter, as both scorers see the
 * same lucky or unlucky rows). Each scorer is sorted once; a resample costs O(n).
 */
export function bootstrapAucDiff(a: ArrayLike<number>, b: ArrayLike<number>, labels: ArrayLike<number>, resamples = 200, seed = 1): AucDiffBootstrap {
  const n = labels.length;
  if (a.length !== n || b.length !== n) throw new Error(`bootstrapAucDiff: scores have ${a.length} and ${b.length} rows, the labels ${n}`);
  if (!Number.isInteger(resamples) || resamples < 2) throw new Error(`bootstrapAucDiff: resamples must be an integer ≥ 2, got ${resamples}`);
  const y = binaryLabels(labels, n, 'bootstrapAucDiff');
  const ra = rankScores(a, 'a'),
    rb = rankScores(b, 'b');
  const ya = gatherU8(y, ra.order),
    yb = gatherU8(y, rb.order);
  const ones = new Float64Array(n).fill(1);
  const diff = aucOfRun(ra.sorted, ya, ones, null, 0, n) - aucOfRun(rb.sorted, yb, ones, null, 0, n);
  const rng = new Rng(seed);
  const w = new Float64Array(n);
  const e1 = Math.exp(-1);
  let sum = 0,
    sumSq = 0,
    used = 0;
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      // Poisson(1) by inversion: count k with probability e⁻¹/k!.
      let k = 0,
        p = e1,
        c = p;
      const u = rng.next();
      while (u > c && k < 20) {
        k++;
        p /= k;
        c += p;
      }
      w[i] = k;
    }
    const d = aucOfRun(ra.sorted, ya, gatherF64(w, ra.order), null, 0, n) - aucOfRun(rb.sorted, yb, gatherF64(w, rb.order), null, 0, n);
    if (Number.isNaN(d)) continue; // a resample without positives or negatives
    sum += d;
    sumSq += d * d;
    used++;
  }
  const mean = sum / used;
  return { diff, se: used > 1 ? Math.sqrt(Math.max(0, (sumSq - used * mean * mean) / (used - 1))) : NaN, resamples: used };
}
