import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { scoredResponseBytes } from '../../src/serve/response-json.js';
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

/** The writer's bytes as text, checked to be exactly the UTF-8 encoding of that text (no bytes past the answer). */
function json(m: ServedModel, s: TaskScores, order: ArrayLike<number> | null): string {
  const bytes = scoredResponseBytes(m, s, order);
  const text = bytes.toString('utf8');
  assert.ok(Buffer.from(text, 'utf8').equals(bytes), 'the answer is valid UTF-8 and nothing else');
  return text;
}

test('scoredResponseBytes: byte for byte the UTF-8 of what JSON.stringify writes (one and three tasks, odd names, NaN/±Inf, tiny and -0 values, rank order and top-k)', () => {
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
    assert.equal(json(m, s, null), reference(m, s, null));
    const order = rankOrder(first);
    // Naive: the non-NaN rows by decreasing score (ties by index), then the NaN rows.
    const idx = Array.from(first.keys());
    const naiveOrder = [
      ...idx.filter((i) => !Number.isNaN(first[i])).sort((a, b) => first[b]! - first[a]! || a - b),
      ...idx.filter((i) => Number.isNaN(first[i])),
    ];
    assert.deepEqual(Array.from(order), naiveOrder);
    assert.equal(json(m, s, order), reference(m, s, naiveOrder));
    assert.equal(json(m, s, order.subarray(0, 5)), reference(m, s, naiveOrder.slice(0, 5)));
    assert.ok(JSON.parse(json(m, s, order)));
  }
});

test('scoredResponseBytes: non-ASCII task names and a large answer', () => {
  const rng = new Rng(9);
  const m = fakeModel(['点击', 'conv€rsion']);
  const n = 5000;
  const probs = { 点击: Float32Array.from({ length: n }, () => rng.next()), 'conv€rsion': Float32Array.from({ length: n }, () => rng.next()) };
  const s: TaskScores = { tasks: m.tasks, probs };
  const order = rankOrder(probs['点击']);
  assert.equal(json(m, s, order), reference(m, s, Array.from(order)));
  assert.equal(json(m, s, null), reference(m, s, null));
});

test('scoredResponseBytes: the longest number texts fit (17 digits in fixed notation with a sign, extreme exponents, multi-digit indexes)', () => {
  const m = fakeModel(['a', 'b']);
  const first = Float64Array.from([-1.2345678901234567e-6, -1.7976931348623157e308, 5e-324, -2.2250738585072014e-308, 0.1 + 0.2]);
  const second = Float64Array.from([-0.0000012345678901234567, 123456789012345680000, -123456789012345680000, 1, -1e-7]);
  // TaskScores holds Float32Arrays; doubles reach the writer the same way (it reads numbers).
  const s = { tasks: m.tasks, probs: { a: first, b: second } } as unknown as TaskScores;
  for (const order of [null, [4, 3, 2, 1, 0]]) assert.equal(json(m, s, order), reference(m, s, order));
  const n = 12345;
  const wide = {
    tasks: m.tasks,
    probs: { a: new Float64Array(n).fill(-1.2345678901234567e-6), b: new Float64Array(n).fill(-1.7976931348623157e308) },
  };
  const order = Array.from({ length: n }, (_, i) => n - 1 - i);
  assert.equal(json(m, wide as unknown as TaskScores, order), reference(m, wide as unknown as TaskScores, order));
});
