import { gbdtKernels } from './kernels.js';
import type { BoosterOptions } from './options.js';

/** A boosting objective: first and second derivatives of the loss in the margin. */
export interface Objective {
  readonly name: BoosterOptions['objective'];
  /**
   * Writes g[i] = ∂ℓ/∂margin and h[i] = ∂²ℓ/∂margin² for every row (times the sample weight
   * when `weight` is given), on up to `threads` threads.
   */
  gradients(
    margin: Float64Array,
    y: Float32Array | Float64Array,
    weight: Float64Array | undefined,
    g: Float32Array,
    h: Float32Array,
    threads: number,
  ): void;
  /** Margin that best fits the labels with no trees (logit of the mean, or the mean). */
  baseMargin(y: ArrayLike<number>, weight: ArrayLike<number> | undefined): number;
  /** Prediction from a margin (probability for logistic). */
  transform(margin: number): number;
}

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

/** Logloss of σ(margin): g = p − y, h = max(p(1 − p), 1e−16) (a floor that keeps H + λ > 0, as XGBoost's kRtEps). */
export const LOGISTIC: Objective = {
  name: 'binary:logistic',
  gradients(margin, y, weight, g, h, threads) {
    // The active kernels (native/gbdt.cc or its twin), e^x from exp.ts on both. Labels are
    // 0/1 (checked by Booster.fit, which passes them as float32 already).
    gbdtKernels().logisticGradients(margin, y instanceof Float32Array ? y : Float32Array.from(y), weight ?? null, g, h, threads);
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
