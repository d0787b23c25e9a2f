import type { BinMapper } from './binning.js';

/** Regularization and constraints of split finding. */
export interface SplitParams {
  /** L2 penalty λ on leaf weights. */
  lambda: number;
  /** Minimum split gain γ. */
  gamma: number;
  /** Minimum Hessian sum in each child. */
  minChildWeight: number;
}

/** Leaf weight minimizing the second-order loss: w = −G / (H + λ). */
export function leafWeight(G: number, H: number, lambda: number): number {
  return -G / (H + lambda);
}

/** Loss reduction of a split: ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ. */
export function splitGain(GL: number, HL: number, GR: number, HR: number, p: SplitParams): number {
  const G = GL + GR,
    H = HL + HR;
  return 0.5 * ((GL * GL) / (HL + p.lambda) + (GR * GR) / (HR + p.lambda) - (G * G) / (H + p.lambda)) - p.gamma;
}

/** Gains at or below this are no split (floating-point noise of useless splits). */
export const MIN_GAIN = 1e-10;

/** The best split of one node. Rows go left when their bin ≤ `bin`; missing rows go left iff `defaultLeft`. */
export interface SplitCandidate {
  feature: number;
  /** Last value bin of the left child (local to the feature). */
  bin: number;
  /** Raw-value threshold: v ≤ threshold goes left. */
  threshold: number;
  defaultLeft: boolean;
  gain: number;
  GL: number;
  HL: number;
  GR: number;
  HR: number;
}

/**
 * Best split of a node over `features`, from its histogram (`hist[2s]` = Σg, `hist[2s+1]` = Σh of
 * global slot s). For every threshold "bin ≤ b" both directions of the missing values are tried;
 * a node without missing values sends them (at prediction time) to the child with the larger
 * Hessian sum. Returns null when no split has gain > MIN_GAIN under the constraints. Ties keep
 * the first candidate (lowest feature position, then lowest bin, then missing-right).
 */
export function findBestSplit(
  hist: Float64Array,
  bins: BinMapper,
  features: ArrayLike<number>,
  G: number,
  H: number,
  p: SplitParams,
): SplitCandidate | null {
  let best: SplitCandidate | null = null;
  let bestGain = MIN_GAIN;
  const lam = p.lambda,
    mcw = p.minChildWeight;
  const parent = (G * G) / (H + lam);
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const off = bins.offsets[f]!;
    const nb = bins.bins(f);
    const m = off + nb;
    const Gm = hist[2 * m]!,
      Hm = hist[2 * m + 1]!;
    const hasMissing = Hm !== 0 || Gm !== 0;
    let GL = 0,
      HL = 0;
    for (let b = 0; b < nb - 1; b++) {
      GL += hist[2 * (off + b)]!;
      HL += hist[2 * (off + b) + 1]!;
      // Missing values to the right.
      let GR = G - GL,
        HR = H - HL;
      if (HL >= mcw && HR >= mcw) {
        const gain = 0.5 * ((GL * GL) / (HL + lam) + (GR * GR) / (HR + lam) - parent) - p.gamma;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, threshold: bins.uppers[f]![b]!, defaultLeft: false, gain, GL, HL, GR, HR };
        }
      }
      if (!hasMissing) continue;
      // Missing values to the left.
      const GL2 = GL + Gm,
        HL2 = HL + Hm;
      GR = G - GL2;
      HR = H - HL2;
      if (HL2 >= mcw && HR >= mcw) {
        const gain = 0.5 * ((GL2 * GL2) / (HL2 + lam) + (GR * GR) / (HR + lam) - parent) - p.gamma;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, threshold: bins.uppers[f]![b]!, defaultLeft: true, gain, GL: GL2, HL: HL2, GR, HR };
        }
      }
    }
    // All values left, missing right: a split on missingness alone.
    if (hasMissing) {
      const GL3 = G - Gm,
        HL3 = H - Hm;
      if (HL3 >= mcw && Hm >= mcw) {
        const gain = 0.5 * ((GL3 * GL3) / (HL3 + lam) + (Gm * Gm) / (Hm + lam) - parent) - p.gamma;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: nb - 1, threshold: Infinity, defaultLeft: false, gain, GL: GL3, HL: HL3, GR: Gm, HR: Hm };
        }
      }
    }
  }
  if (best !== null && !hasMissingIn(hist, bins, best.feature)) best.defaultLeft = best.HL >= best.HR;
  return best;
}

function hasMissingIn(hist: Float64Array, bins: BinMapper, f: number): boolean {
  const m = bins.offsets[f]! + bins.bins(f);
  return hist[2 * m] !== 0 || hist[2 * m + 1] !== 0;
}
