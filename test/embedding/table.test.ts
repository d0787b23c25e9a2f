import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { EmbeddingTable } from '../../src/embedding/table.js';

test('construction: init choices, padding row zero, option errors', () => {
  const rng = new Rng(1);
  const t = new EmbeddingTable('u', 2000, 8, { rng });
  assert.equal(t.weight.length, 16000);
  assert.deepEqual([...t.weight.subarray(0, 8)], new Array(8).fill(0));
  let s = 0,
    s2 = 0;
  for (let i = 8; i < t.weight.length; i++) {
    s += t.weight[i]!;
    s2 += t.weight[i]! ** 2;
  }
  const n = t.weight.length - 8,
    std = Math.sqrt(s2 / n - (s / n) ** 2);
  assert.ok(Math.abs(std - 1e-4) < 5e-6, `default init is N(0, 1e-4²), got std ${std}`);
  const u = new EmbeddingTable('v', 2000, 8, { rng, init: 'uniform', std: 0.1, paddingIdx: null });
  let maxAbs = 0,
    su2 = 0;
  for (const x of u.weight) {
    maxAbs = Math.max(maxAbs, Math.abs(x));
    su2 += x * x;
  }
  assert.ok(maxAbs <= 0.1 * Math.sqrt(3) && maxAbs > 0.16, `uniform bound a = std·√3, max |w| = ${maxAbs}`);
  assert.ok(Math.abs(Math.sqrt(su2 / u.weight.length) - 0.1) < 0.005);
  assert.notEqual(u.weight[0], 0, 'no padding row when paddingIdx is null');
  const z = new EmbeddingTable('z', 10, 3, { init: 'zeros' });
  assert.ok(z.weight.every((x) => x === 0));
  const x = new EmbeddingTable('x', 500, 12, { rng, init: 'xavier', paddingIdx: 3 });
  assert.deepEqual([...x.weight.subarray(36, 48)], new Array(12).fill(0));
  // Same seed, same values.
  const a = new EmbeddingTable('a', 50, 4, { rng: new Rng(7) });
  const b = new EmbeddingTable('b', 50, 4, { rng: new Rng(7) });
  assert.deepEqual(a.weight, b.weight);
  assert.throws(() => new EmbeddingTable('n', 10, 4), /init 'normal' needs an rng/);
  assert.throws(() => new EmbeddingTable('p', 10, 4, { init: 'zeros', paddingIdx: 10 }), /paddingIdx 10 is outside \[0, 10\)/);
  assert.throws(() => new EmbeddingTable('r', 0, 4, { init: 'zeros' }), /'r': rows must be a positive integer/);
});

test('accumulateGrad merges duplicates, skips padding, rejects out-of-range ids', () => {
  const t = new EmbeddingTable('item', 10, 2, { init: 'zeros' });
  assert.equal(t.hasGrad(), false);
  t.accumulateGrad(Int32Array.from([3, 7, 3, 0, 7, 3]), Float32Array.from([1, 2, 10, 20, 100, 200, 5, 5, 1000, 2000, 7, 8]), 6);
  const g = t.sparseGrad();
  assert.deepEqual([...g.ids], [3, 7]);
  assert.deepEqual([...g.values], [1 + 100 + 7, 2 + 200 + 8, 10 + 1000, 20 + 2000]);
  assert.equal(t.sparseGrad(), g, 'cached until the next accumulate or zeroGrad');
  assert.equal(t.hasGrad(), true);
  t.accumulateGrad(Int32Array.from([9]), Float32Array.from([1, 1]), 1);
  assert.deepEqual([...t.sparseGrad().ids], [3, 7, 9]);
  assert.throws(
    () => t.accumulateGrad(Int32Array.from([10]), Float32Array.from([1, 1]), 1),
    /embedding table 'item': id 10 is out of range \(the table has 10 rows/,
  );
  assert.throws(() => t.accumulateGrad(Int32Array.from([1, 2]), Float32Array.from([1, 1]), 2), /needs 2 ids and 4 values/);
  const noPad = new EmbeddingTable('np', 4, 2, { init: 'zeros', paddingIdx: null });
  assert.throws(() => noPad.accumulateGrad(Int32Array.from([-1]), Float32Array.from([1, 1]), 1), /'np': id -1 is out of range/);
  t.zeroGrad();
  assert.equal(t.hasGrad(), false);
  assert.equal(t.sparseGrad().ids.length, 0);
  t.accumulateGrad(Int32Array.from([7]), Float32Array.from([4, 5]), 1);
  assert.deepEqual([...t.sparseGrad().ids], [7]);
  assert.deepEqual([...t.sparseGrad().values], [4, 5], 'fresh entries start from zero after zeroGrad');
  // Only padding ids: the table counts as having a gradient (torch: p.grad is not None), with no rows.
  t.zeroGrad();
  t.accumulateGrad(Int32Array.from([0, 0]), new Float32Array(4).fill(1), 2);
  assert.equal(t.hasGrad(), true);
  assert.equal(t.sparseGrad().ids.length, 0);
});

test('accumulateGrad matches a Map reference over many ids (hash growth, strided and scaled adds)', () => {
  const rows = 1_000_003,
    dim = 3;
  const t = new EmbeddingTable('big', rows, dim, { init: 'zeros' });
  const rng = new Rng(11);
  for (let round = 0; round < 3; round++) {
    t.zeroGrad();
    const ref = new Map<number, number[]>();
    for (let chunk = 0; chunk < 4; chunk++) {
      const n = 3000;
      const ids = new Int32Array(n);
      for (let i = 0; i < n; i++) ids[i] = rng.next() < 0.5 ? 1 + rng.int(50) : rng.int(rows);
      // Interleaved gradient [n, 2 fields, dim]: take field 1 with stride 2·dim, scale 0.5.
      const grad = new Float32Array(n * 2 * dim);
      for (let i = 0; i < grad.length; i++) grad[i] = rng.int(9) - 4;
      t.accumulateGradStrided(ids, 0, n, grad, dim, 2 * dim, 0.5);
      for (let i = 0; i < n; i++) {
        if (ids[i] === 0) continue;
        const r = ref.get(ids[i]!) ?? [0, 0, 0];
        for (let d = 0; d < dim; d++) r[d]! += 0.5 * grad[i * 2 * dim + dim + d]!;
        ref.set(ids[i]!, r);
      }
    }
    const { ids, values } = t.sparseGrad();
    assert.equal(ids.length, ref.size);
    assert.deepEqual([...ids], [...ref.keys()], 'first-arrival order');
    ids.forEach((id, i) => assert.deepEqual([...values.subarray(i * dim, i * dim + dim)], ref.get(id)));
  }
});
