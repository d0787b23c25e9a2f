import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { reshape, unsqueeze, squeeze, transpose, broadcastTo, concat, stack, split, slice, gather, mul, sum } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

const iota = (n: number, shape: number[]) => Tensor.from([...Array(n).keys()], shape);

test('reshape, unsqueeze and squeeze', () => {
  const x = iota(6, [2, 3]);
  const r = reshape(x, [3, -1]);
  assert.deepEqual(r.shape, [3, 2]);
  close(r.data, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(unsqueeze(x, 1).shape, [2, 1, 3]);
  assert.deepEqual(unsqueeze(x, -1).shape, [2, 3, 1]);
  assert.deepEqual(squeeze(Tensor.zeros([1, 2, 1, 3])).shape, [2, 3]);
  assert.deepEqual(squeeze(Tensor.zeros([1, 2, 1, 3]), 2).shape, [1, 2, 3]);
  const rng = new Rng(41);
  const t = randTensor(rng, [2, 3, 4]);
  gradcheck(([a]) => reshape(a!, [4, -1]), [t]);
  gradcheck(([a]) => squeeze(unsqueeze(a!, 0)), [t]);
  assert.throws(() => reshape(x, [4, -1]), /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, -1\]/);
  assert.throws(() => reshape(x, [-1, -1]), /only one -1/);
  assert.throws(() => reshape(x, [5]), /cannot reshape \[2, 3\]/);
  assert.throws(() => squeeze(x, 0), /squeeze: axis 0 of shape \[2, 3\] has size 2, not 1/);
});

test('transpose values and gradients for several permutations', () => {
  const x = iota(6, [2, 3]);
  const t = transpose(x);
  assert.deepEqual(t.shape, [3, 2]);
  close(t.data, [0, 3, 1, 4, 2, 5]);
  const y = iota(24, [2, 3, 4]);
  const p = transpose(y, [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  // p[k, i, j] = y[i, j, k] = 12i + 4j + k
  assert.equal(p.data[1 * 6 + 1 * 3 + 2], 12 + 8 + 1);
  const big = iota(70 * 45, [70, 45]); // exercises the tiled 2-D path
  const bt = transpose(big);
  for (const [i, j] of [
    [0, 0],
    [44, 69],
    [13, 37],
    [40, 2],
  ])
    assert.equal(bt.data[i! * 70 + j!], j! * 45 + i!);
  const rng = new Rng(42);
  const a2 = randTensor(rng, [3, 5]);
  const a3 = randTensor(rng, [2, 3, 4]);
  const a4 = randTensor(rng, [2, 3, 2, 4]);
  gradcheck(([a]) => transpose(a!), [a2]);
  gradcheck(([a]) => transpose(a!), [a3]);
  for (const perm of [
    [2, 0, 1],
    [1, 0, 2],
    [0, 2, 1],
    [2, 1, 0],
    [-1, 0, 1],
  ])
    gradcheck(([a]) => transpose(a!, perm), [a3]);
  gradcheck(([a]) => transpose(a!, [0, 2, 1, 3]), [a4]);
  const big2 = randTensor(rng, [40, 37]);
  gradcheck(([a]) => transpose(a!), [big2], { maxCoords: 60 });
  assert.throws(() => transpose(Tensor.zeros([3])), /transpose: needs rank ≥ 2/);
  assert.throws(() => transpose(a3, [0, 0, 1]), /not a permutation/);
  assert.throws(() => transpose(a3, [0, 1]), /permutation \[0, 1\] has 2 axes, shape \[2, 3, 4\] has 3/);
});

test('broadcastTo repeats values and sums gradients back', () => {
  const x = Tensor.from([1, 2], [2, 1]);
  const b = broadcastTo(x, [3, 2, 3]);
  assert.deepEqual(b.shape, [3, 2, 3]);
  close(b.data.subarray(0, 6), [1, 1, 1, 2, 2, 2]);
  const rng = new Rng(43);
  gradcheck(([a]) => broadcastTo(a!, [3, 2, 4]), [randTensor(rng, [2, 1])]);
  gradcheck(([a]) => broadcastTo(a!, [3, 4]), [randTensor(rng, [4])]);
  assert.throws(() => broadcastTo(x, [3, 3]), /broadcastTo: shapes \[2, 1\] and \[3, 3\] do not broadcast/);
  assert.throws(() => broadcastTo(Tensor.zeros([2, 3]), [3]), /broadcastTo: (cannot broadcast|shapes)/);
});

test('concat and stack along every axis', () => {
  const a = iota(4, [2, 2]);
  const b = Tensor.from([10, 11, 12, 13, 14, 15], [2, 3]);
  const c = concat([a, b], 1);
  assert.deepEqual(c.shape, [2, 5]);
  close(c.data, [0, 1, 10, 11, 12, 2, 3, 13, 14, 15]);
  close(concat([a, a], 0).data, [0, 1, 2, 3, 0, 1, 2, 3]);
  const s = stack([a, a], 1);
  assert.deepEqual(s.shape, [2, 2, 2]);
  close(s.data, [0, 1, 0, 1, 2, 3, 2, 3]);
  assert.deepEqual(stack([a, a, a], -1).shape, [2, 2, 3]);
  const rng = new Rng(44);
  const x = randTensor(rng, [2, 3, 4]),
    y = randTensor(rng, [2, 2, 4]),
    z = randTensor(rng, [2, 1, 4]);
  gradcheck(([p, q, r]) => concat([p!, q!, r!], 1), [x, y, z]);
  gradcheck(([p, q]) => concat([p!, q!], 0), [x, randTensor(rng, [1, 3, 4])]);
  gradcheck(([p, q]) => concat([p!, q!], -1), [x, randTensor(rng, [2, 3, 70])]); // long runs use TypedArray.set
  gradcheck(([p, q]) => stack([p!, q!], 2), [x, randTensor(rng, [2, 3, 4])]);
  // A constant operand gets nothing; the other still gets its slab.
  const w = randTensor(rng, [2, 2]);
  const k = Tensor.from([1, 2, 3, 4], [2, 2]);
  sum(mul(concat([w, k], 1), Tensor.from([1, 2, 3, 4], [4]))).backward();
  close(w.grad!, [1, 2, 1, 2]);
  assert.equal(k.grad, null);
  assert.throws(() => concat([a, b], 0), /concat: shapes \[2, 2\], \[2, 3\] differ outside axis 0/);
  assert.throws(() => concat([], 0), /concat: needs at least one tensor/);
  assert.throws(() => concat([a], 2), /concat: axis 2 is out of range for rank 2/);
  assert.throws(() => stack([a, b]), /stack: shapes \[2, 2\], \[2, 3\] differ/);
});

test('split and slice', () => {
  const x = iota(12, [3, 4]);
  const [p, q] = split(x, [1, 3], 1);
  assert.deepEqual(p!.shape, [3, 1]);
  close(p!.data, [0, 4, 8]);
  close(q!.data, [1, 2, 3, 5, 6, 7, 9, 10, 11]);
  close(slice(x, 0, 1, 3).data, [4, 5, 6, 7, 8, 9, 10, 11]);
  close(slice(x, -1, -2).data, [2, 3, 6, 7, 10, 11]);
  assert.deepEqual(slice(x, 1, 2, 2).shape, [3, 0]);
  const rng = new Rng(45);
  const t = randTensor(rng, [2, 5, 3]);
  gradcheck(([a]) => slice(a!, 1, 1, 4), [t]);
  gradcheck(([a]) => slice(a!, 0, 1), [t]);
  gradcheck(([a]) => slice(a!, -1, 0, 2), [t]);
  // Every piece of a split, combined, receives its own gradient.
  gradcheck(
    ([a]) => {
      const [u, v, w] = split(a!, [2, 1, 2], 1);
      return concat([mul(u!, u!), v!, w!], 1);
    },
    [t],
  );
  assert.throws(() => split(x, [1, 2], 1), /split: sizes \[1, 2\] sum to 3, axis 1 of shape \[3, 4\] has 4/);
  assert.throws(() => slice(x, 1, 3, 5), /slice: range \[3, 5\) is invalid for axis 1 of size 4/);
  assert.throws(() => slice(x, 1, 3, 2), /slice: range/);
});

test('gather along an axis, with repeated indices in backward', () => {
  const x = iota(12, [4, 3]);
  const g0 = gather(x, Int32Array.of(2, 0, 2), 0);
  assert.deepEqual(g0.shape, [3, 3]);
  close(g0.data, [6, 7, 8, 0, 1, 2, 6, 7, 8]);
  const g1 = gather(x, Int32Array.of(1, 1), -1);
  close(g1.data, [1, 1, 4, 4, 7, 7, 10, 10]);
  const w = Tensor.from([...Array(12).keys()], [4, 3], true);
  sum(gather(w, Int32Array.of(3, 1, 3), 0)).backward();
  close(w.grad!, [0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2]);
  const rng = new Rng(46);
  const t = randTensor(rng, [3, 4, 5]);
  gradcheck(([a]) => gather(a!, Int32Array.of(3, 0, 3, 1), 1), [t]);
  gradcheck(([a]) => gather(a!, Int32Array.of(4, 4, 0), 2), [t]);
  gradcheck(([a]) => gather(a!, Int32Array.of(2, 2, 0, 1, 2), 0), [t]);
  const wide = randTensor(rng, [6, 80]);
  gradcheck(([a]) => gather(a!, Int32Array.of(5, 0, 5), 0), [wide], { maxCoords: 80 });
  // The op keeps its own copy of the indices.
  const ids = Int32Array.of(0, 1);
  const v = Tensor.from([1, 2, 3], [3], true);
  const out = gather(v, ids, 0);
  ids[0] = 2;
  out.backward(Float32Array.of(1, 1));
  close(v.grad!, [1, 1, 0]);
  assert.throws(() => gather(x, Int32Array.of(0, 4), 0), /gather: index 4 at position 1 is out of range \[0, 4\) for axis 0 of shape \[4, 3\]/);
  assert.throws(() => gather(x, Int32Array.of(-1), 1), /gather: index -1 at position 0/);
});
