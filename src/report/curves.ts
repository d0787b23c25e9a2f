/**
 * Curves and calibration numbers for the group-bias report: the reliability diagram and the
 * expected calibration error (ECE) over equal-width probability bins, and the ROC curve.
 */
import { rankScores } from '../metrics/sort.js';

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Lower and upper edge of the bin's probability range. */
  lo: number;
  hi: number;
  rows: number;
  /** Mean prediction of the rows in the bin (NaN when empty). */
  meanPrediction: number;
  /** Observed positive rate of the rows in the bin (NaN when empty). */
  positiveRate: number;
}

/** A reliability diagram and its ECE. */
export interface Reliability {
  bins: ReliabilityBin[];
  /** Σ_b (n_b / n)·|meanPrediction_b − positiveRate_b| over non-empty bins (NaN without rows). */
  ece: number;
}

/**
 * Reliability diagram over `binCount` equal-width bins of [0, 1] (a probability of exactly 1
 * goes to the last bin) and the expected calibration error, for the rows listed in `rows`
 * (all rows when omitted).
 */
export function reliability(probs: ArrayLike<number>, labels: ArrayLike<number>, binCount = 10, rows?: ArrayLike<number>): Reliability {
  const n = rows === undefined ? probs.length : rows.length;
  const cnt = new Float64Array(binCount),
    sp = new Float64Array(binCount),
    sy = new Float64Array(binCount);
  for (let k = 0; k < n; k++) {
    const i = rows === undefined ? k : rows[k]!;
    const p = probs[i]!;
    const b = Math.min(binCount - 1, Math.floor(p * binCount));
    cnt[b]! += 1;
    sp[b]! += p;
    sy[b]! += labels[i]! > 0 ? 1 : 0;
  }
  let ece = 0;
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < binCount; b++) {
    const c = cnt[b]!;
    const mp = c === 0 ? NaN : sp[b]! / c,
      pr = c === 0 ? NaN : sy[b]! / c;
    if (c > 0) ece += (c / n) * Math.abs(mp - pr);
    bins.push({ lo: b / binCount, hi: (b + 1) / binCount, rows: c, meanPrediction: mp, positiveRate: pr });
  }
  return { bins, ece: n === 0 ? NaN : ece };
}

/**
 * The ROC curve as (false positive rate, true positive rate) points, one per distinct score
 * threshold from the highest down (ties move both rates at once), thinned to at most
 * `maxPoints` points (first and last kept). Empty when one class is absent.
 */
export function rocCurve(probs: ArrayLike<number>, labels: ArrayLike<number>, maxPoints = 200): { fpr: number[]; tpr: number[] } {
  const { order, sorted } = rankScores(probs, 'probs');
  const n = sorted.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i]! > 0 ? 1 : 0;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return { fpr: [], tpr: [] };
  const fpr = [0],
    tpr = [0];
  let tp = 0,
    fp = 0;
  for (let k = n - 1; k >= 0;) {
    const s = sorted[k]!;
    while (k >= 0 && sorted[k] === s) {
      if (labels[order[k]!]! > 0) tp++;
      else fp++;
      k--;
    }
    fpr.push(fp / neg);
    tpr.push(tp / pos);
  }
  if (fpr.length <= maxPoints) return { fpr, tpr };
  const keepF: number[] = [],
    keepT: number[] = [];
  const step = (fpr.length - 1) / (maxPoints - 1);
  for (let j = 0; j < maxPoints; j++) {
    const i = Math.round(j * step);
    keepF.push(fpr[i]!);
    keepT.push(tpr[i]!);
  }
  return { fpr: keepF, tpr: keepT };
}
