import { auc } from './auc.js';
import { checkProbabilities, checkRows } from './validate.js';

/**
 * AUC against soft labels: row i counts as a positive with weight p_i and as a negative
 * with weight 1 − p_i, pairs of distinct rows only:
 *
 *   AUC = Σ_{i≠j} p_i·(1 − p_j)·([s_i > s_j] + ½·[s_i = s_j]) / Σ_{i≠j} p_i·(1 − p_j)
 *
 * — the ratio of the expectations of the AUC's numerator and denominator when every label
 * is drawn y_i ~ Bernoulli(p_i). With true probabilities as p it is the AUC a model would
 * get on labels never observed (ESMM: conversions of impressions that were not clicked).
 * Computed as the weighted AUC of the rows doubled (weights p and 1 − p), minus the
 * self-pairs (i, i), which tie: ½·Σ p_i(1 − p_i) in the numerator, Σ p_i(1 − p_i) in the
 * denominator. p ∈ {0, 1} gives the ordinary AUC. NaN when the denominator is 0.
 */
export function softLabelAuc(scores: ArrayLike<number>, pPositive: ArrayLike<number>): number {
  const n = scores.length;
  checkRows(pPositive, n, 'softLabelAuc', 'pPositive');
  checkProbabilities(pPositive, 'softLabelAuc');
  const s2 = new Float64Array(2 * n);
  const y2 = new Float32Array(2 * n);
  const w2 = new Float64Array(2 * n);
  let wPos = 0,
    wNeg = 0,
    self = 0;
  for (let i = 0; i < n; i++) {
    const p = pPositive[i]!;
    s2[i] = s2[n + i] = scores[i]!;
    y2[i] = 1;
    w2[i] = p;
    w2[n + i] = 1 - p;
    wPos += p;
    wNeg += 1 - p;
    self += p * (1 - p);
  }
  const den = wPos * wNeg - self;
  if (!(den > 0)) return NaN;
  const doubled = auc(s2, y2, w2);
  return (doubled * wPos * wNeg - 0.5 * self) / den;
}

/** Predictions of a click → conversion model for every impression. */
export interface ClickConversionScores {
  /** P(click); absent for a CVR-only model (its CTR and, without pctcvr, CTCVR AUCs are then NaN). */
  pctr?: ArrayLike<number>;
  /** P(conversion | click), predicted for every impression. */
  pcvr: ArrayLike<number>;
  /** P(click and conversion); default pctr·pcvr when pctr is given. */
  pctcvr?: ArrayLike<number>;
}

/** The metrics that judge a click → conversion model (ESMM's evaluation, Ma et al. 2018 §3). */
export interface ClickConversionReport {
  rows: number;
  clicks: number;
  /** AUC of pCTR against clicks over all impressions (NaN without pCTR). */
  ctrAuc: number;
  /** AUC of pCVR against conversions over clicked impressions (what can be observed). */
  cvrAucClicked: number;
  /** Soft-label AUC of pCVR against the true pCVR over all impressions; NaN without the truth. */
  cvrAucEntireSpace: number;
  /** AUC of pCTCVR against conversions over all impressions (NaN without pCTR or pCTCVR). */
  ctcvrAuc: number;
}

/**
 * CTR AUC, CVR AUC on clicked rows, CVR AUC over the entire impression space against the
 * true pCVR (`truePcvr`, known for generated data: `finerank gen multitask --with-truth`,
 * column p_cvr; see softLabelAuc) and CTCVR AUC. Labels are 0/1 per impression, conversion 0
 * where there was no click.
 */
export function clickConversionReport(
  s: ClickConversionScores,
  click: ArrayLike<number>,
  conversion: ArrayLike<number>,
  truePcvr?: ArrayLike<number>,
): ClickConversionReport {
  const n = click.length;
  const rows = (a: { length: number }, name: string) => {
    if (a.length !== n) throw new Error(`clickConversionReport: ${name} has ${a.length} rows, the click labels ${n}`);
  };
  rows(s.pcvr, 'pcvr');
  if (s.pctr !== undefined) rows(s.pctr, 'pctr');
  rows(conversion, 'conversion');
  if (truePcvr !== undefined) rows(truePcvr, 'truePcvr');
  const pctr = s.pctr;
  const pctcvr = s.pctcvr ?? (pctr === undefined ? undefined : Float64Array.from({ length: n }, (_, i) => pctr[i]! * s.pcvr[i]!));
  if (pctcvr !== undefined) rows(pctcvr, 'pctcvr');
  const clicked: number[] = [];
  for (let i = 0; i < n; i++) {
    if (click[i] === 1) clicked.push(i);
    else if (conversion[i] !== 0) throw new Error(`clickConversionReport: row ${i} has a conversion without a click`);
  }
  return {
    rows: n,
    clicks: clicked.length,
    ctrAuc: pctr === undefined ? NaN : auc(pctr, click),
    cvrAucClicked: auc(
      clicked.map((i) => s.pcvr[i]!),
      clicked.map((i) => conversion[i]!),
    ),
    cvrAucEntireSpace: truePcvr === undefined ? NaN : softLabelAuc(s.pcvr, truePcvr),
    ctcvrAuc: pctcvr === undefined ? NaN : auc(pctcvr, conversion),
  };
}
