import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { scoredResponseJson } from '../../src/serve/response-json.js';
import { rankOrder } from '../../src/serve/rank-order.js';
import type { ServedModel } from '../../src/serve/model-slot.js';
import type { TaskScores } from '../../src/serve/scorer.js';

/** Just what the writer reads of a served model. */
function fakeModel(tasks: string[]): ServedModel {
  return { version: 3, sha256: 'ab"c\\d', tasks, artifact: { meta: { model: 'deep"fm' } } } as unknown as ServedModel;
}

/** The naive reference: one object per row, then JSON.stringify (what the server answered before). */
function reference(m: ServedModel, s: TaskScores, order: number[] | null): string {
  const rows = order ?? Array.from({ length: s.probs[s.tasks[0]!]!.length }, (_, i) => i);
  const results = rows.map((i) => {
    const probabilities: Record<string, number> = {};
    for (const t of s.tasks) probabilities[t] = s.probs[t]![i]!;
    const r = { score: s.probs[s.tasks[0]!]![i]!, probabilities };
    return order === null ? r : { index: i, ...r };
  });
  return JSON.stringify({ model: { version: m.version, sha256: m.sha256, name: m.artifact.meta.model }, tasks: s.tasks, results });
}

test('scoredResponseJson: byte for byte what JSON.stringify writes (one and three tasks, odd names, NaN/±Inf, tiny and -0 values, rank order and top-k)', () => {
  const rng = new Rng(5);
  for (const tasks of [['click'], ['ctr', 'c"t\\cvr', 'cvr']]) {
    const m = fakeModel(tasks);
    const n = 37;
    const probs: Record<string, Float32Array> = {};
    for (const t of tasks) probs[t] = Float32Array.from({ length: n }, () => rng.next());
    const first = probs[tasks[0]!]!;
    first[3] = NaN;
    first[4] = Infinity;
    first[5] = -0;
    first[6] = 1e-30;
    first[7] = first[8]!; // a tie
    const s: TaskScores = { tasks, probs };
    assert.equal(scoredResponseJson(m, s, null), reference(m, s, null));
    const order = rankOrder(first);
    // Naive: the non-NaN rows by decreasing score (ties by index), then the NaN rows.
    const idx = Array.from(first.keys());
    const naiveOrder = [
      ...idx.filter((i) => !Number.isNaN(first[i])).sort((a, b) => first[b]! - first[a]! || a - b),
      ...idx.filter((i) => Number.isNaN(first[i])),
    ];
    assert.deepEqual(Array.from(order), naiveOrder);
    assert.equal(scoredResponseJson(m, s, order), reference(m, s, naiveOrder));
    assert.equal(scoredResponseJson(m, s, order.subarray(0, 5)), reference(m, s, naiveOrder.slice(0, 5)));
    assert.ok(JSON.parse(scoredResponseJson(m, s, order)));
  }
});

test('scoredResponseJson: non-ASCII task names and a large answer', () => {
  const rng = new Rng(9);
  const m = fakeModel(['点击', 'conv€rsion']);
  const n = 5000;
  const probs = { 点击: Float32Array.from({ length: n }, () => rng.next()), 'conv€rsion': Float32Array.from({ length: n }, () => rng.next()) };
  const s: TaskScores = { tasks: m.tasks, probs };
  const order = rankOrder(probs['点击']);
  assert.equal(scoredResponseJson(m, s, order), reference(m, s, Array.from(order)));
  assert.equal(scoredResponseJson(m, s, null), reference(m, s, null));
});
