import { Rng } from '../../src/engine/random.js';
import { denseField, sequenceField, sparseField, varlenField, type FeatureSpec } from '../../src/features/fields.js';
import type { Batch } from '../../src/features/batch.js';

/** A small mixed batch: 3 sparse fields (one pair sharing a table), a varlen field, 2 dense. */
export function tinySpecAndBatch(seed: number, n = 6): { spec: FeatureSpec; batch: Batch } {
  const rng = new Rng(seed);
  const spec: FeatureSpec = {
    fields: [
      sparseField('a', 7),
      sparseField('b', 5),
      sparseField('c', 7, { table: 'a' }),
      varlenField('tags', 6, 3),
      sequenceField('hist', 'a', 7, 4),
      denseField('x1'),
      denseField('x2'),
    ],
    labels: ['click', 'buy'],
  };
  const ids = (v: number) => Int32Array.from({ length: n }, () => 2 + rng.int(v - 2));
  const tagIds = new Int32Array(n * 3);
  const lengths = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    lengths[r] = 1 + rng.int(3);
    for (let k = 0; k < lengths[r]!; k++) tagIds[r * 3 + k] = 2 + rng.int(4);
  }
  // Histories of lengths 0, 1, …, 4 (cycling): empty, partial and full rows.
  const histIds = { ids: new Int32Array(n * 4), lengths: Int32Array.from({ length: n }, (_, r) => r % 5), maxLen: 4 };
  for (let r = 0; r < n; r++) for (let k = 0; k < histIds.lengths[r]!; k++) histIds.ids[r * 4 + k] = 2 + rng.int(5);
  const batch: Batch = {
    size: n,
    sparse: { a: ids(7), b: ids(5), c: ids(7) },
    dense: { x1: Float32Array.from({ length: n }, () => rng.normal()), x2: Float32Array.from({ length: n }, () => rng.normal()) },
    varlen: { tags: { ids: tagIds, lengths, maxLen: 3 }, hist: histIds },
    labels: { click: Float32Array.from({ length: n }, () => rng.int(2)), buy: Float32Array.from({ length: n }, () => rng.int(2)) },
  };
  return { spec, batch };
}
