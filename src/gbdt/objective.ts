import type { BoosterOptions } from './options.js';

/** A boosting objective: first and second derivatives of the loss in the margin. */
export interface Objective {
  readonly name: BoosterOptions['objective'];
  /**
   * Writes g[i] = ∂ℓ/∂margin and h[i] = ∂²ℓ/∂margin² for every row (times the sample weight
   * when `weight` is given).
   */
  gradients(margin: Float64Array, y: ArrayLike<number>, weight: ArrayLike<number> | undefined, g: Float32Array, h: Float32Array): void;
  /** Margin that best fits the labels with no trees (logit of the mean, or the mean). */
  baseMargin(y: ArrayLike<number>, weight: ArrayLike<number> | undefined): number;
  /** Prediction from a margin (probability for logistic). */
  transform(margin: number): number;
}

/** Smallest Hessian used for logloss (XGBoost's kRtEps-style floor keeps H + λ > 0). */
const MIN_HESS = 1e-16;

function weightedMean(y: ArrayLike<number>, w: ArrayLike<number> | undefined): number {
  let s = 0,
    sw = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w === undefined ? 1 : w[i]!;
    s += wi * y[i]!;
    sw += wi;
  }
  return sw > 0 ? s / sw : 0;
}

/** Logloss of σ(margin): g = p − y, h = p(1 − p). */
export const LOGISTIC: Objective = {
  name: 'binary:logistic',
  gradients(margin, y, weight, g, h) {
    if (weight === undefined) {
      // The unweighted loop on its own (the hot case): the same values as w = 1 below.
      for (let i = 0; i < margin.length; i++) {
        const p = 1 / (1 + Math.exp(-margin[i]!));
        g[i] = p - y[i]!;
        h[i] = Math.max(p * (1 - p), MIN_HESS);
      }
      return;
    }
    for (let i = 0; i < margin.length; i++) {
      const p = 1 / (1 + Math.exp(-margin[i]!));
      const w = weight[i]!;
      g[i] = w * (p - y[i]!);
      h[i] = w * Math.max(p * (1 - p), MIN_HESS);
    }
  },
  baseMargin(y, weight) {
    const m = Math.min(Math.max(weightedMean(y, weight), 1e-6), 1 - 1e-6);
    return Math.log(m / (1 - m));
  },
  transform: (m) => 1 / (1 + Math.exp(-m)),
};

/** Squared error ½(margin − y)²: g = margin − y, h = 1. */
export const SQUARED_ERROR: Objective = {
  name: 'reg:squarederror',
  gradients(margin, y, weight, g, h) {
    for (let i = 0; i < margin.length; i++) {
      const w = weight === undefined ? 1 : weight[i]!;
      g[i] = w * (margin[i]! - y[i]!);
      h[i] = w;
    }
  },
  baseMargin: (y, weight) => weightedMean(y, weight),
  transform: (m) => m,
};

/** The objective of an option value. */
export function objectiveOf(name: BoosterOptions['objective']): Objective {
  if (name === 'binary:logistic') return LOGISTIC;
  if (name === 'reg:squarederror') return SQUARED_ERROR;
  throw new Error(`unknown objective '${String(name)}'; supported: binary:logistic, reg:squarederror`);
}
