import { aucOfRun } from './auc.js';
import { calibrationOfRows } from './calibration.js';
import { groupAucOfRun } from './gauc.js';
import { LOGLOSS_EPS, loglossOfRows } from './logloss.js';
import { gatherF64, gatherI32, gatherU8, identity, partitionBySlot, rankScores, stableSortByKey } from './sort.js';
import { binaryLabels, checkProbabilities, checkRows, checkWeights } from './validate.js';

/** The metrics of one set of rows (the whole input or one slice value). */
export interface MetricSummary {
  /** Number of rows. */
  rows: number;
  /** Number of positive rows (unweighted count). */
  positives: number;
  /** (Weighted) observed positive rate. */
  positiveRate: number;
  /** (Weighted) mean prediction. */
  meanPrediction: number;
  /** meanPrediction / positiveRate. */
  calibration: number;
  /** Exact AUC with ties (NaN when one class is absent). */
  auc: number;
  /** Log loss with probabilities clipped to [eps, 1 − eps]. */
  logloss: number;
  /** Present when groups were given: sample-weighted per-group AUC. */
  gauc?: number;
  /** Present when groups were given: unweighted mean per-group AUC. */
  avgAuc?: number;
  /** Present when groups were given: groups with both classes. */
  validGroups?: number;
  /** Present when groups were given: single-class groups skipped. */
  skippedGroups?: number;
}

/** `evaluate`'s result: the overall metrics and, per slice column, the metrics per value. */
export interface EvalReport extends MetricSummary {
  /** slices[column][value] = the metrics of the rows whose slice column equals value. */
  slices?: Record<string, Record<string, MetricSummary>>;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Optional non-negative sample weights (AUC, logloss, calibration and gAUC use them). */
  weights?: ArrayLike<number>;
  /** Group id per row (e.g. user) for gAUC / avgAUC. */
  groups?: Int32Array;
  /** Slice columns, one value per row (e.g. user activity bucket): metrics per value. */
  slices?: Record<string, Int32Array | readonly string[] | ArrayLike<number>>;
  /** Logloss clipping (default 1e-7). */
  eps?: number;
}

/**
 * All metrics of predicted probabilities against 0/1 labels: AUC, logloss, calibration
 * (and gAUC / avgAUC when `groups` is given), overall and for each value of each slice
 * column — the per-user-group bias report. Scores are sorted once (radix sort), and the
 * slices reuse that order through stable counting sorts, so the cost is a few linear passes
 * per slice column even for 10M rows.
 */
export function evaluate(probs: ArrayLike<number>, labels: ArrayLike<number>, options: EvaluateOptions = {}): EvalReport {
  const n = probs.length;
  const { weights, groups, slices } = options;
  const eps = options.eps ?? LOGLOSS_EPS;
  if (!(eps > 0 && eps < 0.5)) throw new Error(`evaluate: eps = ${eps}: expected 0 < eps < 0.5`);
  const y = binaryLabels(labels, n, 'evaluate');
  checkWeights(weights, n, 'evaluate');
  checkProbabilities(probs, 'evaluate');
  if (groups !== undefined) checkRows(groups, n, 'evaluate', 'groups');
  const { order, sorted } = rankScores(probs, 'probs');
  // Everything below lives in rank space (index = position in ascending score order).
  const yr = gatherU8(y, order);
  const wr = weights === undefined ? undefined : gatherF64(weights, order);
  const gr = groups === undefined ? null : gatherI32(groups, order);
  const all = identity(n);
  const byGroup = gr === null ? null : stableSortByKey(all, gr);

  const summarize = (byScore: Uint32Array | null, grouped: Uint32Array | null, start: number, end: number): MetricSummary => {
    let positives = 0;
    for (let k = start; k < end; k++) positives += yr[byScore === null ? k : byScore[k]!]!;
    const cal = calibrationOfRows(sorted, yr, wr, byScore, start, end);
    const s: MetricSummary = {
      rows: end - start,
      positives,
      positiveRate: cal.positiveRate,
      meanPrediction: cal.meanPrediction,
      calibration: cal.calibration,
      auc: aucOfRun(sorted, yr, wr, byScore, start, end),
      logloss: loglossOfRows(sorted, yr, wr, eps, byScore, start, end),
    };
    if (grouped !== null) {
      const g = groupAucOfRun(sorted, yr, wr, gr!, grouped, start, end);
      s.gauc = g.gauc;
      s.avgAuc = g.avgAuc;
      s.validGroups = g.validGroups;
      s.skippedGroups = g.skippedGroups;
    }
    return s;
  };

  const report: EvalReport = summarize(null, byGroup, 0, n);
  if (slices !== undefined) {
    report.slices = {};
    for (const [column, raw] of Object.entries(slices)) {
      checkRows(raw, n, 'evaluate', `slices.${column}`);
      const { slot, names } = denseSlots(raw);
      const k = names.length;
      const slotRank = gatherI32(slot, order);
      const byScore = partitionBySlot(all, slotRank, k);
      const byGroupSlice = byGroup === null ? null : partitionBySlot(byGroup, slotRank, k);
      const out: Record<string, MetricSummary> = {};
      for (let s = 0; s < k; s++) {
        const a = byScore.starts[s]!;
        const b = byScore.starts[s + 1]!;
        // Both partitions hold the same items per slot, so the same [a, b) bounds apply.
        out[names[s]!] = summarize(byScore.items, byGroupSlice === null ? null : byGroupSlice.items, a, b);
      }
      report.slices[column] = out;
    }
  }
  return report;
}

/** Maps slice values to dense slots 0…k−1, ordered by value (numeric or lexicographic). */
function denseSlots(raw: Int32Array | readonly string[] | ArrayLike<number>): { slot: Int32Array; names: string[] } {
  const n = raw.length;
  const first = new Map<string | number, number>();
  const keys: (string | number)[] = [];
  const tmp = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = raw[i]!;
    let s = first.get(v);
    if (s === undefined) {
      s = keys.length;
      first.set(v, s);
      keys.push(v);
    }
    tmp[i] = s;
  }
  const sorted = keys
    .map((_, i) => i)
    .sort((a, b) => {
      const ka = keys[a]!;
      const kb = keys[b]!;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  const remap = new Int32Array(keys.length);
  sorted.forEach((old, rank) => (remap[old] = rank));
  const slot = new Int32Array(n);
  for (let i = 0; i < n; i++) slot[i] = remap[tmp[i]!]!;
  return { slot, names: sorted.map((i) => String(keys[i])) };
}
