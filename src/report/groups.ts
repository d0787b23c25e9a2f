/**
 * Built-in user / item groups of the bias report, computed from the artifact's feature map
 * (whose vocabularies keep each value's training-file count):
 *
 * - `builtin:activity`: the user's training rows: `cold` (fewer than `cold`, unseen users
 *   included), `warm` (fewer than `heavy`), `heavy`.
 * - `builtin:popularity`: the item's popularity decile among the known items ranked by
 *   training count (`d01` = the most popular tenth of the items … `d10`), `unseen` for OOV.
 * - `builtin:unseen-user`, `builtin:unseen-item`: `seen` / `unseen` (OOV at encode time: not
 *   in the vocabulary, or below its minCount).
 */
import type { FeatureMap } from '../features/featuremap.js';
import { VocabEncoder } from '../features/encoders.js';

/** Names of the built-in groupings. */
export const BUILTIN_GROUPS = ['builtin:activity', 'builtin:popularity', 'builtin:unseen-user', 'builtin:unseen-item'] as const;
/** One built-in grouping. */
export type BuiltinGroup = (typeof BUILTIN_GROUPS)[number];

/** Thresholds of the activity grouping (training rows per user). */
export interface ActivityThresholds {
  /** Users with fewer rows are cold (default 5). */
  cold: number;
  /** Users with at least this many rows are heavy (default 50). */
  heavy: number;
}

/** The vocabulary encoder of a sparse column, or a clear error naming what is needed. */
export function vocabOf(fm: FeatureMap, column: string, role: 'user' | 'item'): VocabEncoder {
  const f = fm.fields().find((x) => x.name === column);
  if (f === undefined || f.kind !== 'sparse') {
    const sparse = fm
      .fields()
      .filter((x) => x.kind === 'sparse')
      .map((x) => x.name);
    throw new Error(`the ${role} column '${column}' must be a sparse feature of the model's schema (sparse features: ${sparse.join(', ')})`);
  }
  const enc = fm.encoder(column);
  if (!(enc instanceof VocabEncoder))
    throw new Error(
      `the ${role} column '${column}' is hash-encoded: built-in groups need a vocabulary with training counts (encoder: {type: vocab})`,
    );
  return enc;
}

/** The group label of each row for a built-in grouping, from the rows' encoded ids of the user or item column. */
export function builtinGroupOf(kind: BuiltinGroup, ids: ArrayLike<number>, enc: VocabEncoder, activity: ActivityThresholds): string[] {
  const n = ids.length;
  const out = new Array<string>(n);
  const known = enc.size - 2; // ids 2 … size−1 are known values, by descending count
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    const seen = id >= 2;
    switch (kind) {
      case 'builtin:activity': {
        const c = seen ? enc.count(id) : 0;
        out[i] = c < activity.cold ? 'cold' : c < activity.heavy ? 'warm' : 'heavy';
        break;
      }
      case 'builtin:popularity':
        out[i] = seen ? `d${String(Math.min(10, Math.floor(((id - 2) * 10) / known) + 1)).padStart(2, '0')}` : 'unseen';
        break;
      case 'builtin:unseen-user':
      case 'builtin:unseen-item':
        out[i] = seen ? 'seen' : 'unseen';
        break;
    }
  }
  return out;
}
