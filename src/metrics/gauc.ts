import { aucOfRun } from './auc.js';
import { gatherF64, gatherI32, gatherU8, identity, rankScores, stableSortByKey } from './sort.js';
import { binaryLabels, checkRows, checkWeights } from './validate.js';

/** Per-group AUC aggregates. */
export interface GroupAucStats {
  /** Σ_g n_g·AUC_g / Σ_g n_g over groups with both classes (n_g = rows, or total weight). */
  gauc: number;
  /** Unweighted mean of AUC_g over the same groups. */
  avgAuc: number;
  /** Groups with both classes (the ones averaged). */
  validGroups: number;
  /** Groups skipped because all their rows have one label (or a class has zero weight). */
  skippedGroups: number;
}

/**
 * Group AUC (gAUC, e.g. per user): each group's AUC (exact with ties, see `auc`) weighted by
 * the group's sample count — or by its total sample weight when weights are given — over
 * the groups that contain both classes; single-class groups are skipped. NaN when no group
 * has both classes. One global sort by score, then a stable radix sort of the rank
 * positions by group id keeps each group's rows in score order.
 */
export function gauc(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: Int32Array, weights?: ArrayLike<number>): number {
  return groupAuc(scores, labels, groups, weights).gauc;
}

/** Unweighted mean of the per-group AUCs over groups with both classes (see `gauc`). */
export function avgAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: Int32Array, weights?: ArrayLike<number>): number {
  return groupAuc(scores, labels, groups, weights).avgAuc;
}

/** gAUC, avgAUC and group counts in one pass (see `gauc`). */
export function groupAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: Int32Array, weights?: ArrayLike<number>): GroupAucStats {
  const n = scores.length;
  const y = binaryLabels(labels, n, 'gauc');
  checkWeights(weights, n, 'gauc');
  checkRows(groups, n, 'gauc', 'groups');
  const { order, sorted } = rankScores(scores);
  const g = gatherI32(groups, order);
  const positions = stableSortByKey(identity(n), g);
  const w = weights === undefined ? undefined : gatherF64(weights, order);
  return groupAucOfRun(sorted, gatherU8(y, order), w, g, positions, 0, n);
}

/**
 * gAUC statistics in rank space (arrays indexed by rank position, see `aucOfRun`) over
 * `positions[start, end)`, which must be grouped by group id with increasing positions
 * within a group.
 */
export function groupAucOfRun(
  sorted: Float32Array | Float64Array,
  labels: Uint8Array,
  weights: Float64Array | undefined,
  groups: Int32Array,
  positions: Uint32Array,
  start: number,
  end: number,
): GroupAucStats {
  let weighted = 0;
  let totalWeight = 0;
  let sum = 0;
  let valid = 0;
  let skipped = 0;
  let i = start;
  while (i < end) {
    const g = groups[positions[i]!]!;
    let j = i + 1;
    while (j < end && groups[positions[j]!] === g) j++;
    const a = aucOfRun(sorted, labels, weights, positions, i, j);
    if (a === a) {
      let w = j - i;
      if (weights !== undefined) {
        w = 0;
        for (let k = i; k < j; k++) w += weights[positions[k]!]!;
      }
      weighted += w * a;
      totalWeight += w;
      sum += a;
      valid++;
    } else {
      skipped++;
    }
    i = j;
  }
  return {
    gauc: valid === 0 ? NaN : weighted / totalWeight,
    avgAuc: valid === 0 ? NaN : sum / valid,
    validGroups: valid,
    skippedGroups: skipped,
  };
}
