import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad, tidy, resetBufferPool, bufferPoolStats } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { matmul, linearRelu } from '../../src/engine/ops/matmul.js';
import { concat, reshape } from '../../src/engine/ops/shape.js';
import { sum } from '../../src/engine/ops/reduce.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { embeddingLookup, embedFields, embedFieldsConcat, embedFieldsSum, embedPooled, embedSequence } from '../../src/embedding/lookup.js';
import { fmSecondOrder, fmSecondOrderLeading } from '../../src/blocks/interactions/fm.js';
import { add } from '../../src/engine/ops/elementwise.js';
import type { PaddedIds } from '../../src/features/batch.js';
import { randTensor } from '../support/gradcheck.js';

/**
 * Finite-difference check through embedding table values. The probed scalar is
 * L = Σ wᵢ·outᵢ (fixed random w, float64 sum); the analytic gradient is the tables' sparse
 * gradient scattered into a dense float64 array (test only). Every coordinate of every
 * table is probed. Also asserts the sparse gradient has unique ids and never the padding
 * row. Tolerance as in test/support/gradcheck.ts (values of order 1, eps 1e-3).
 */
function tableGradcheck(fn: () => Tensor, tables: EmbeddingTable[], extra: Tensor[] = [], eps = 1e-3, tol = 2e-3): void {
  const uniq = [...new Set(tables)];
  for (const t of uniq) t.zeroGrad();
  for (const x of extra) x.grad = null;
  const out = fn();
  assert.ok(out.requiresGrad, 'lookup result must require a gradient');
  const rng = new Rng(99);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-1, 1);
  out.backward(w);
  const probe = (): number => {
    const o = noGrad(() => fn());
    let s = 0;
    for (let i = 0; i < o.size; i++) s += w[i]! * o.data[i]!;
    return s;
  };
  for (const t of uniq) {
    const { ids, values } = t.sparseGrad();
    assert.equal(new Set(ids).size, ids.length, `table '${t.name}': sparse gradient ids must be unique`);
    const dense = new Float64Array(t.rows * t.dim);
    ids.forEach((id, i) => {
      assert.notEqual(id, t.paddingIdx, 'padding row must not receive a gradient');
      for (let d = 0; d < t.dim; d++) dense[id * t.dim + d] = values[i * t.dim + d]!;
    });
    for (let i = 0; i < t.weight.length; i++) {
      const orig = t.weight[i]!;
      t.weight[i] = orig + eps;
      const plus = probe();
      t.weight[i] = orig - eps;
      const minus = probe();
      t.weight[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const row = Math.floor(i / t.dim);
      if (row === t.paddingIdx) continue; // the padding row is a constant zero, not a variable
      const a = dense[i]!;
      const err = Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric));
      assert.ok(err <= tol, `table '${t.name}' row ${row} coord ${i % t.dim}: analytic ${a} vs numeric ${numeric}`);
    }
  }
  for (const x of extra) {
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i]!;
      x.data[i] = orig + eps;
      const plus = probe();
      x.data[i] = orig - eps;
      const minus = probe();
      x.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = x.grad?.[i] ?? 0;
      assert.ok(Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric)) <= tol, `dense input coord ${i}: ${a} vs ${numeric}`);
    }
  }
}

function table(name: string, rows: number, dim: number, seed: number, paddingIdx: number | null = 0): EmbeddingTable {
  return new EmbeddingTable(name, rows, dim, { std: 0.5, rng: new Rng(seed), paddingIdx });
}

function padded(rows: number[][], maxLen: number): PaddedIds {
  const ids = new Int32Array(rows.length * maxLen);
  const lengths = new Int32Array(rows.length);
  rows.forEach((r, b) => {
    lengths[b] = r.length;
    r.forEach((id, j) => {
      ids[b * maxLen + j] = id;
    });
  });
  return { ids, lengths, maxLen };
}

test('embeddingLookup: values, gradient check with duplicates and padding', () => {
  const t = table('item', 7, 3, 1);
  const ids = Int32Array.from([3, 5, 3, 0, 6, 3, 1]);
  const out = embeddingLookup(t, ids);
  assert.deepEqual(out.shape, [7, 3]);
  for (let i = 0; i < ids.length; i++) {
    for (let d = 0; d < 3; d++) assert.equal(out.data[i * 3 + d], t.weight[ids[i]! * 3 + d]);
  }
  assert.deepEqual([...out.data.subarray(9, 12)], [0, 0, 0], 'padding id gives a zero vector');
  tableGradcheck(() => embeddingLookup(t, ids), [t]);
  // Row 3 appears three times: its gradient is the sum of three output-gradient rows.
  t.zeroGrad();
  const g = new Float32Array(21);
  for (let i = 0; i < 21; i++) g[i] = i + 1;
  embeddingLookup(t, ids).backward(g);
  const { ids: u, values } = t.sparseGrad();
  assert.deepEqual([...u], [3, 5, 6, 1]);
  assert.deepEqual([...values.subarray(0, 3)], [1 + 7 + 16, 2 + 8 + 17, 3 + 9 + 18]);
  assert.deepEqual([...t.weight.subarray(0, 3)], [0, 0, 0], 'padding row stays zero');
});

test('embedFields: layout [B, F, D], shared tables, gradient through a following matmul', () => {
  const user = table('user', 6, 4, 2);
  const item = table('item', 9, 4, 3);
  const tables = [user, item, item]; // fields 1 and 2 share the item table
  const ids = [Int32Array.from([1, 2, 2, 5, 0]), Int32Array.from([8, 3, 3, 0, 2]), Int32Array.from([3, 3, 7, 1, 0])];
  const out = embedFields(tables, ids);
  assert.deepEqual(out.shape, [5, 3, 4]);
  for (let b = 0; b < 5; b++) {
    for (let f = 0; f < 3; f++) {
      for (let d = 0; d < 4; d++) assert.equal(out.data[(b * 3 + f) * 4 + d], tables[f]!.weight[ids[f]![b]! * 4 + d]);
    }
  }
  tableGradcheck(() => embedFields(tables, ids), tables);
  const proj = randTensor(new Rng(4), [4, 2]);
  tableGradcheck(() => matmul(embedFields(tables, ids), proj), tables, [proj]);
});

test('embedFields: input errors name the problem', () => {
  const a = table('a', 4, 3, 5);
  const b = table('b', 4, 2, 6);
  assert.throws(() => embedFields([a, b], [new Int32Array(2), new Int32Array(2)]), /field 1 uses table 'b' of dim 2/);
  assert.throws(() => embedFields([a, a], [new Int32Array(2), new Int32Array(3)]), /field 1 has 3 ids, field 0 has 2/);
  assert.throws(() => embedFields([a], [Int32Array.from([1, 4])]), /table 'a': id 4 is out of range \(the table has 4 rows/);
  assert.throws(() => embeddingLookup(a, Int32Array.from([-1])), /table 'a': id -1 is out of range/);
  assert.throws(() => embedFields([], []), /no fields/);
});

test('embedPooled: sum, mean and max values, empty rows, gradient checks', () => {
  const t = table('tags', 8, 3, 7);
  const p = padded([[2, 5, 2], [], [7], [1, 3, 0, 6]], 4);
  const sum = embedPooled(t, p, 'sum');
  const mean = embedPooled(t, p, 'mean');
  const max = embedPooled(t, p, 'max');
  const W = (id: number, d: number) => t.weight[id * 3 + d]!;
  for (let d = 0; d < 3; d++) {
    assert.equal(sum.data[d], Math.fround(Math.fround(W(2, d) + W(5, d)) + W(2, d)));
    assert.ok(Math.abs(mean.data[d]! - (W(2, d) + W(5, d) + W(2, d)) / 3) < 1e-6);
    assert.equal(max.data[d], Math.max(W(2, d), W(5, d)));
    assert.equal(sum.data[3 + d], 0);
    assert.equal(mean.data[3 + d], 0);
    assert.equal(max.data[3 + d], 0);
    assert.equal(mean.data[6 + d], W(7, d));
    // Row 3 contains the padding id inside its length: it counts as a zero vector and in the mean.
    assert.ok(Math.abs(mean.data[9 + d]! - (W(1, d) + W(3, d) + W(6, d)) / 4) < 1e-6);
    assert.equal(max.data[9 + d], Math.max(W(1, d), W(3, d), 0, W(6, d)));
  }
  for (const mode of ['sum', 'mean', 'max'] as const) tableGradcheck(() => embedPooled(t, p, mode), [t]);
  assert.throws(
    () => embedPooled(t, { ids: new Int32Array(5), lengths: new Int32Array(2), maxLen: 3 }, 'sum'),
    /ids has 5 values, expected lengths.length × maxLen = 2 × 3 = 6/,
  );
  assert.throws(() => embedPooled(t, padded([[1]], 1), 'min' as never), /mode must be/);
});

test('embedSequence: padding positions are zero and get no gradient', () => {
  const t = table('hist', 6, 2, 8);
  // Position 2 of row 0 holds a non-zero id beyond the length: it must be ignored.
  const p = padded(
    [
      [4, 1],
      [5, 5, 3],
    ],
    3,
  );
  p.ids[2] = 2;
  const out = embedSequence(t, p);
  assert.deepEqual(out.shape, [2, 3, 2]);
  assert.deepEqual([...out.data.subarray(4, 6)], [0, 0]);
  assert.deepEqual([...out.data.subarray(0, 2)], [...t.weight.subarray(8, 10)]);
  tableGradcheck(() => embedSequence(t, p), [t]);
  t.zeroGrad();
  embedSequence(t, p).backward(new Float32Array(12).fill(1));
  assert.ok(![...t.sparseGrad().ids].includes(2), 'an id beyond the true length is not touched');
  assert.deepEqual([...t.sparseGrad().ids].sort(), [1, 3, 4, 5]);
});

test('no graph in noGrad or for frozen tables; ids may be reused after forward', () => {
  const t = table('x', 5, 2, 9);
  const ids = Int32Array.from([1, 2]);
  assert.equal(noGrad(() => embeddingLookup(t, ids)).requiresGrad, false);
  t.trainable = false;
  assert.equal(embedFields([t], [ids]).requiresGrad, false);
  t.trainable = true;
  const out = embedFields([t], [ids]);
  ids[0] = 4; // caller reuses its buffer before backward
  out.backward(Float32Array.of(1, 1, 1, 1));
  assert.deepEqual([...t.sparseGrad().ids], [1, 2]);
});

test('lookups outside the graph are recycled by tidy: the next batch reuses the arrays, values stay right', () => {
  resetBufferPool();
  const rng = new Rng(5);
  const B = 2048,
    D = 16;
  const tables = [new EmbeddingTable('a', 50, D, { rng }), new EmbeddingTable('b', 70, D, { rng })];
  const ids = [Int32Array.from({ length: B }, (_, i) => 1 + (i % 49)), Int32Array.from({ length: B }, (_, i) => 1 + ((i * 7) % 69))];
  const seqIds = Int32Array.from({ length: B }, (_, i) => (i * 3) % 50);
  const run = () =>
    noGrad(() =>
      tidy(() => {
        const e = embedFields(tables, ids); // [B, 2, 16]: 65,536 floats, a pooled length
        const l = embeddingLookup(tables[0]!, seqIds); // [B, 16]: 32,768 floats
        const p = embedPooled(tables[1]!, { ids: ids[1]!, lengths: new Int32Array(B).fill(1), maxLen: 1 }, 'sum');
        // the values are still those of the tables (a recycled array is fully overwritten)
        for (const b of [0, 1, B - 1]) {
          for (let d = 0; d < D; d++) {
            assert.equal(e.data[(b * 2 + 1) * D + d], tables[1]!.weight[ids[1]![b]! * D + d]);
            assert.equal(l.data[b * D + d], tables[0]!.weight[seqIds[b]! * D + d]);
            assert.equal(p.data[b * D + d], tables[1]!.weight[ids[1]![b]! * D + d]);
          }
        }
        return [e.data, l.data, p.data];
      }),
    );
  // The arrays a tidy scope returns inside a plain array are not tensors: all three are recycled.
  const first = run();
  const misses = bufferPoolStats().misses;
  const second = run();
  assert.equal(bufferPoolStats().misses, misses, 'the second batch allocates no new pooled arrays');
  assert.ok(
    second.every((a) => first.includes(a)),
    'the same arrays come back',
  );
});

test('a training step through lookups and concat reuses its gradient arrays: the second step allocates no pooled array', () => {
  resetBufferPool();
  const rng = new Rng(6);
  const B = 2048,
    D = 16;
  const tables = [new EmbeddingTable('a', 50, D, { rng }), new EmbeddingTable('b', 70, D, { rng })];
  const ids = [Int32Array.from({ length: B }, (_, i) => 1 + (i % 49)), Int32Array.from({ length: B }, (_, i) => 1 + ((i * 7) % 69))];
  const dense = randTensor(rng, [B, 3], 1, false);
  const w = randTensor(rng, [2 * D + 3, 1]);
  const step = (): number => {
    for (const t of tables) t.zeroGrad();
    w.grad = null;
    return tidy(() => {
      // embedFields' gradient ([B, 2, 16], a pooled length) is written by concat's backward
      // through the reshape, then read by the lookup's backward, which hands it back.
      const e = embedFields(tables, ids);
      const x = concat([reshape(e, [B, 2 * D]), dense], 1);
      const loss = sum(matmul(x, w));
      loss.backward();
      return loss.item();
    });
  };
  const first = step();
  const grads = tables.map((t) => ({ ids: Array.from(t.sparseGrad().ids), values: Array.from(t.sparseGrad().values) }));
  const misses = bufferPoolStats().misses;
  assert.equal(step(), first);
  assert.equal(bufferPoolStats().misses, misses, 'the second step allocates no new pooled arrays');
  // The same gradient (recycled arrays are fully overwritten or added to from zero).
  assert.deepEqual(
    tables.map((t) => ({ ids: Array.from(t.sparseGrad().ids), values: Array.from(t.sparseGrad().values) })),
    grads,
  );
});

test('embedFieldsSum: equals sum(embedFields(…), [1, 2]) bit for bit, with the same sparse gradients; gradient check; errors', () => {
  const rng = new Rng(7);
  const B = 300;
  const tables = [new EmbeddingTable('a', 40, 1, { rng }), new EmbeddingTable('b', 9, 1, { rng }), new EmbeddingTable('c', 25, 1, { rng })];
  // Duplicates within a field and padding ids (0) among them.
  const ids = [0, 1, 2].map((f) => Int32Array.from({ length: B }, (_, i) => (i * (f + 3)) % [40, 9, 25][f]!));
  const sparse = () => tables.map((t) => ({ ids: Array.from(t.sparseGrad().ids), values: Array.from(t.sparseGrad().values) }));
  const run = (fn: () => Tensor) => {
    for (const t of tables) t.zeroGrad();
    const y = fn();
    y.backward(Float32Array.from({ length: B }, (_, i) => ((i * 5) % 7) - 3));
    return { values: Array.from(y.data), grads: sparse() };
  };
  const fused = run(() => embedFieldsSum(tables, ids));
  const plain = run(() => sum(embedFields(tables, ids), [1, 2]));
  assert.deepEqual(fused, plain);
  // Row 5 by hand: the sum of its three table values (ids 15, 2 and 0, the padding row's zero).
  const want = tables.reduce((s, t, f) => s + t.weight[ids[f]![5]!]!, 0);
  assert.equal(fused.values[5], Math.fround(want));
  tableGradcheck(
    () =>
      embedFieldsSum(
        tables,
        ids.map((a) => a.subarray(0, 20)),
      ),
    tables,
  );
  assert.throws(
    () => embedFieldsSum([new EmbeddingTable('d', 5, 2, { rng })], [new Int32Array(3)]),
    /embedFieldsSum: the tables have dim 2; the sum needs dim 1/,
  );
  assert.throws(() => embedFieldsSum(tables.slice(0, 2), [ids[0]!, ids[1]!.subarray(0, 3)]), /embedFieldsSum: field 1 has 3 ids, field 0 has 300/);
  assert.throws(() => embedFieldsSum(tables.slice(0, 1), [Int32Array.of(1, 40)]), /out of range|outside/);
});

test('embedFieldsConcat + fmSecondOrderLeading: the same values and gradients, bit for bit, as embedFields → concat and fmSecondOrder', () => {
  const rng = new Rng(8);
  const B = 64,
    D = 4;
  const tables = [new EmbeddingTable('a', 30, D, { rng }), new EmbeddingTable('b', 7, D, { rng }), new EmbeddingTable('c', 50, D, { rng })];
  const ids = [30, 7, 50].map((v, f) => Int32Array.from({ length: B }, (_, i) => (i * (f + 2) + 1) % v));
  const dense = randTensor(rng, [B, 3]);
  const extra = randTensor(rng, [B, 2], 1, false);
  const w = randTensor(rng, [3 * D + 5, 6]),
    bias = randTensor(rng, [6], 0.3);
  const params = [dense, w, bias];
  const run = (fused: boolean) => {
    for (const t of tables) t.zeroGrad();
    for (const p of params) p.grad = null;
    let x: Tensor, fm: Tensor;
    if (fused) {
      x = embedFieldsConcat(tables, ids, [dense, extra]);
      fm = fmSecondOrderLeading(x, 3, D);
    } else {
      const e = embedFields(tables, ids);
      x = concat([reshape(e, [B, 3 * D]), dense, extra], 1);
      fm = fmSecondOrder(e);
    }
    const y = add(sum(linearRelu(x, w, bias), [1]), fm);
    y.backward(Float32Array.from({ length: B }, (_, i) => ((i * 3) % 5) - 2));
    return {
      x: Array.from(x.data),
      y: Array.from(y.data),
      params: params.map((p) => Array.from(p.grad!)),
      tables: tables.map((t) => ({ ids: Array.from(t.sparseGrad().ids), values: Array.from(t.sparseGrad().values) })),
    };
  };
  assert.deepEqual(run(true), run(false));
  // FM alone writes x's gradient first: the columns beyond the fields get zeros (filled with
  // garbage first, so a pooled array with stale values would show).
  dense.grad = null;
  const x = embedFieldsConcat(tables, ids, [dense]);
  fmSecondOrderLeading(x, 3, D).backward(new Float32Array(B).fill(1));
  assert.ok(dense.grad !== null && (dense.grad as Float32Array).every((v) => v === 0), 'the dense columns get zero gradient');
  tableGradcheck(
    () =>
      embedFieldsConcat(
        tables,
        ids.map((a) => a.subarray(0, 6)),
        [randTensor(new Rng(3), [6, 2], 1, false)],
      ),
    tables,
  );
  assert.throws(() => embedFieldsConcat(tables, ids, [randTensor(rng, [B - 1, 2])]), /embedFieldsConcat: rest\[0\] must be \[64, n\], got \[63,2\]/);
  assert.throws(() => fmSecondOrderLeading(x, 3, 6), /fmSecondOrderLeading: expected x \[B, W\] with W ≥ fields·dim = 18, got \[64,15\]/);
});
