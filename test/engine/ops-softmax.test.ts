import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { softmax, logSoftmax, sum } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('softmax and logSoftmax values (hand-computed)', () => {
  const x = Tensor.from([1, 2, 3, 0, 0, 0], [2, 3]);
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const z = e[0]! + e[1]! + e[2]!;
  close(softmax(x).data, [e[0]! / z, e[1]! / z, e[2]! / z, 1 / 3, 1 / 3, 1 / 3]);
  close(logSoftmax(x).data, [1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z), -Math.log(3), -Math.log(3), -Math.log(3)]);
  // Axis 0: columns normalize.
  const c = softmax(x, 0);
  const s = (a: number, b: number) => Math.exp(a) / (Math.exp(a) + Math.exp(b));
  close(c.data, [s(1, 0), s(2, 0), s(3, 0), s(0, 1), s(0, 2), s(0, 3)]);
  // Large logits do not overflow.
  close(softmax(Tensor.from([1000, 1000])).data, [0.5, 0.5]);
  close(logSoftmax(Tensor.from([1000, 0])).data, [0, -1000]);
});

test('masked softmax: masked positions are 0, fully masked rows are all 0', () => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], true);
  const mask = Uint8Array.of(0, 1, 0, 1, 1, 1);
  const y = softmax(x, -1, mask);
  const z = Math.exp(1) + Math.exp(3);
  close(y.data, [Math.exp(1) / z, 0, Math.exp(3) / z, 0, 0, 0]);
  for (const v of y.data) assert.ok(!Number.isNaN(v));
  y.backward(Float32Array.of(1, 2, 3, 4, 5, 6));
  assert.equal(x.grad![1], 0);
  close(x.grad!.subarray(3), [0, 0, 0]);
  for (const v of x.grad!) assert.ok(Number.isFinite(v));
});

test('softmax and logSoftmax gradients over every axis', () => {
  const rng = new Rng(51);
  const x = randTensor(rng, [2, 3, 4], 2);
  for (const axis of [0, 1, 2, -1, -2]) {
    gradcheck(([t]) => softmax(t!, axis), [x]);
    gradcheck(([t]) => logSoftmax(t!, axis), [x]);
  }
  const mask = new Uint8Array(24).map(() => (rng.next() < 0.4 ? 1 : 0));
  mask.fill(1, 4, 8); // one fully masked line along the last axis
  for (const axis of [-1, 1]) gradcheck(([t]) => softmax(t!, axis, mask), [x]);
  gradcheck(([t]) => softmax(t!), [randTensor(rng, [7], 3)]);
});

test('softmax rows sum to 1', () => {
  const rng = new Rng(52);
  const y = softmax(randTensor(rng, [50, 17], 5));
  const s = sum(y, 1);
  for (const v of s.data) assert.ok(Math.abs(v - 1) < 1e-5);
});

test('softmax errors', () => {
  assert.throws(() => softmax(Tensor.zeros([2, 3]), 2), /softmax: axis 2 is out of range for rank 2/);
  assert.throws(() => softmax(Tensor.zeros([2, 3]), -1, new Uint8Array(5)), /softmax: mask has 5 entries, x has shape \[2, 3\]/);
  assert.throws(() => logSoftmax(Tensor.scalar(1)), /logSoftmax: needs a tensor of rank ≥ 1/);
});
