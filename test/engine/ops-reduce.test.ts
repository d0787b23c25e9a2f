import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { sum, mean, max, normalizeAxes } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Distinct values (spaced ≥ 0.04 apart, shuffled) so the max has no ties within finite-difference reach. */
function distinct(rng: Rng, shape: number[]): Tensor {
  const t = Tensor.zeros(shape, true);
  const order = rng.shuffle([...Array(t.size).keys()]);
  for (let i = 0; i < t.size; i++) t.data[i] = (order[i]! - t.size / 2) * 0.05 + rng.uniform(-0.005, 0.005);
  return t;
}

const AXES: Array<[number[], number | number[] | undefined]> = [
  [[3, 4], undefined],
  [[3, 4], 0],
  [[3, 4], 1],
  [[3, 4], -1],
  [
    [3, 4],
    [0, 1],
  ],
  [[2, 3, 4], 1],
  [
    [2, 3, 4],
    [0, 2],
  ],
  [
    [2, 3, 4],
    [-1, -2],
  ],
  [[2, 3, 4], []],
  [
    [2, 3, 4, 2],
    [1, 3],
  ],
  [[5], 0],
];

test('reduction forward values and shapes', () => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  close(sum(x).data, [21]);
  assert.deepEqual(sum(x).shape, []);
  assert.deepEqual(sum(x, undefined, true).shape, [1, 1]);
  close(sum(x, 0).data, [5, 7, 9]);
  close(sum(x, 1).data, [6, 15]);
  assert.deepEqual(sum(x, 1, true).shape, [2, 1]);
  close(mean(x, -1).data, [2, 5]);
  close(mean(x).data, [3.5]);
  close(max(x, 0).data, [4, 5, 6]);
  close(max(x, 1).data, [3, 6]);
  close(max(Tensor.from([3, -1, 7, 2, 9, 0], [3, 2])).data, [9]);
  const y = Tensor.from([...Array(24).keys()], [2, 3, 4]);
  close(sum(y, 1).data, [12, 15, 18, 21, 48, 51, 54, 57]);
  close(sum(y, [0, 2]).data, [0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19, 8 + 9 + 10 + 11 + 20 + 21 + 22 + 23]);
  close(max(y, [0, 1]).data, [20, 21, 22, 23]);
  assert.deepEqual(normalizeAxes('t', [2, 3, 4], [-1, 0]), [0, 2]);
});

test('sum, mean and max gradients for every axis form', () => {
  const rng = new Rng(31);
  for (const [shape, axes] of AXES) {
    const x = randTensor(rng, shape);
    for (const keep of [false, true]) {
      assert.doesNotThrow(() => gradcheck(([t]) => sum(t!, axes, keep), [x]), `sum ${shape} ${axes} ${keep}`);
      assert.doesNotThrow(() => gradcheck(([t]) => mean(t!, axes, keep), [x]), `mean ${shape} ${axes} ${keep}`);
      const d = distinct(rng, shape);
      assert.doesNotThrow(() => gradcheck(([t]) => max(t!, axes, keep), [d]), `max ${shape} ${axes} ${keep}`);
    }
  }
});

test('max sends the gradient to the first arg-max on ties', () => {
  const x = Tensor.from([1, 5, 5, 2, 7, 7], [2, 3], true);
  max(x, 1).backward(Float32Array.of(1, 2));
  close(x.grad!, [0, 1, 0, 0, 2, 0]);
  const y = Tensor.from([4, 4, 4, 4], [2, 2], true);
  max(y, 0).backward(Float32Array.of(1, 3));
  close(y.grad!, [1, 3, 0, 0]);
  const z = Tensor.from([-Infinity, -Infinity], [2], true);
  const m = max(z);
  assert.equal(m.data[0], -Infinity);
  m.backward();
  close(z.grad!, [1, 0]);
});

test('sums are accurate over many float32 values (float64 accumulation)', () => {
  const n = 1 << 20;
  const x = Tensor.full([n], 0.1);
  const s = sum(x).item();
  assert.ok(Math.abs(s - n * Math.fround(0.1)) < 1e-2, `sum ${s}`);
});

test('reduction errors name the op, axis and shape', () => {
  const x = Tensor.zeros([2, 3]);
  assert.throws(() => sum(x, 2), /sum: axis 2 is out of range for shape \[2, 3\]/);
  assert.throws(() => mean(x, -3), /mean: axis -3 is out of range/);
  assert.throws(() => max(x, [1, -1]), /max: axis -1 listed twice/);
  assert.throws(() => max(Tensor.zeros([2, 0]), 1), /max: cannot reduce an empty axis of shape \[2, 0\]/);
  assert.throws(() => sum(x, 0.5), /sum: axis 0.5 is out of range/);
});
