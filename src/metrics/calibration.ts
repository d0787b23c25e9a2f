import { binaryLabels, checkWeights } from './validate.js';

/** Mean prediction, observed positive rate and their ratio over a set of rows. */
export interface CalibrationStats {
  /** (Weighted) mean predicted probability. */
  meanPrediction: number;
  /** (Weighted) fraction of positive labels. */
  positiveRate: number;
  /** meanPrediction / positiveRate: 1 is calibrated, > 1 over-predicts. */
  calibration: number;
}

/**
 * Calibration ratio = mean prediction / observed positive rate (weighted means when weights
 * are given). 1 means calibrated on average; 1.1 means predictions are 10 % too high.
 * With no positives the ratio is +∞ (or NaN when the mean prediction is also 0); with no
 * rows it is NaN.
 */
export function calibration(probs: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  return calibrationStats(probs, labels, weights).calibration;
}

/** Mean prediction, positive rate and calibration ratio, as `calibration` defines them. */
export function calibrationStats(probs: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): CalibrationStats {
  const n = probs.length;
  const y = binaryLabels(labels, n, 'calibration');
  checkWeights(weights, n, 'calibration');
  return calibrationOfRows(probs, y, weights, null, 0, n);
}

/** Calibration statistics over rows `rows[start, end)` (or start…end−1 when `rows` is null). */
export function calibrationOfRows(
  probs: ArrayLike<number>,
  labels: Uint8Array,
  weights: ArrayLike<number> | undefined,
  rows: Uint32Array | null,
  start: number,
  end: number,
): CalibrationStats {
  let sp = 0;
  let sy = 0;
  let sw = 0;
  for (let k = start; k < end; k++) {
    const r = rows === null ? k : rows[k]!;
    const w = weights === undefined ? 1 : weights[r]!;
    sp += w * probs[r]!;
    sy += w * labels[r]!;
    sw += w;
  }
  const meanPrediction = sw === 0 ? NaN : sp / sw;
  const positiveRate = sw === 0 ? NaN : sy / sw;
  return { meanPrediction, positiveRate, calibration: meanPrediction / positiveRate };
}

/**
 * Turns logits into probabilities with the negative-downsampling correction of
 * DESIGN.md §5: p = p′ / (p′ + (1 − p′)/w) for sampling rate w (w = 1: plain sigmoid), which is
 * σ(z + ln w); `logitOffset` δ (the intercept shift of `recalibrate: intercept`,
 * src/train/recalibrate.ts) is added to the logit as well: p = σ(z + ln w + δ).
 */
export function calibratedProbabilities(logits: Float32Array, negativeSampleRate = 1, logitOffset = 0): Float32Array {
  const out = new Float32Array(logits.length);
  // p′ / (p′ + (1 − p′)/c) with c = w·e^δ, the form the closed-form correction always had.
  const c = negativeSampleRate * Math.exp(logitOffset);
  for (let i = 0; i < logits.length; i++) {
    const p = 1 / (1 + Math.exp(-logits[i]!));
    out[i] = c === 1 ? p : p / (p + (1 - p) / c);
  }
  return out;
}
