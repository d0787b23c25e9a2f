import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { sigmoid, tanh, relu, leakyRelu, prelu, activation, sum } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Random values with |x| ≥ 0.1, away from the kink at 0. */
function awayFromZero(rng: Rng, shape: number[]): Tensor {
  const t = randTensor(rng, shape, 2);
  for (let i = 0; i < t.size; i++) if (Math.abs(t.data[i]!) < 0.1) t.data[i] = t.data[i]! < 0 ? -0.3 : 0.3;
  return t;
}

test('activation forward values', () => {
  const x = Tensor.from([-2, -0.5, 0, 1.5]);
  const s = (v: number) => 1 / (1 + Math.exp(-v));
  close(sigmoid(x).data, [s(-2), s(-0.5), 0.5, s(1.5)]);
  close(tanh(x).data, [Math.tanh(-2), Math.tanh(-0.5), 0, Math.tanh(1.5)]);
  close(relu(x).data, [0, 0, 0, 1.5]);
  close(leakyRelu(x).data, [-0.02, -0.005, 0, 1.5]);
  close(leakyRelu(x, 0.2).data, [-0.4, -0.1, 0, 1.5]);
  close(prelu(x, Tensor.from([0.25])).data, [-0.5, -0.125, 0, 1.5]);
  // Extreme logits stay finite.
  close(sigmoid(Tensor.from([-200, 200])).data, [0, 1]);
  const x2 = Tensor.from([-1, -2, 3, -4], [2, 2]);
  close(prelu(x2, Tensor.from([0.1, 0.5])).data, [-0.1, -1, 3, -2]);
});

test('activation gradients', () => {
  const rng = new Rng(21);
  const x = randTensor(rng, [4, 5], 3);
  const k = awayFromZero(rng, [4, 5]);
  gradcheck(([t]) => sigmoid(t!), [x]);
  gradcheck(([t]) => tanh(t!), [x]);
  gradcheck(([t]) => relu(t!), [k]);
  gradcheck(([t]) => leakyRelu(t!), [k]);
  gradcheck(([t]) => leakyRelu(t!, 0.3), [k]);
  const a1 = Tensor.from([0.25], [1], true);
  const a5 = randTensor(rng, [5]);
  gradcheck(([t, a]) => prelu(t!, a!), [k, a1]);
  gradcheck(([t, a]) => prelu(t!, a!), [k, a5]);
  const k3 = awayFromZero(rng, [2, 3, 5]);
  gradcheck(([t, a]) => prelu(t!, a!), [k3, a5]);
});

test('prelu alpha gradient is Σ g·x over non-positive inputs (hand-computed)', () => {
  const x = Tensor.from([-1, 2, -3, -4], [2, 2], true);
  const a = Tensor.from([0.5, 0.1], [2], true);
  sum(prelu(x, a)).backward();
  close(a.grad!, [-1 + -3, -4]);
  close(x.grad!, [0.5, 1, 0.5, 0.1]);
});

test('activation by name', () => {
  const x = Tensor.from([-1, 2]);
  close(activation(x, 'relu').data, [0, 2]);
  close(activation(x, 'ReLU').data, [0, 2]);
  close(activation(x, 'leaky_relu').data, [-0.01, 2]);
  close(activation(x, 'tanh').data, [Math.tanh(-1), Math.tanh(2)]);
  close(activation(x, 'sigmoid').data, [1 / (1 + Math.E), 1 / (1 + Math.exp(-2))]);
  assert.equal(activation(x, 'linear'), x);
  assert.equal(activation(x, 'identity'), x);
  assert.throws(() => activation(x, 'gelu'), /activation: unknown name 'gelu' \(expected one of relu, sigmoid/);
});

test('prelu rejects an alpha of the wrong shape', () => {
  assert.throws(() => prelu(Tensor.zeros([2, 3]), Tensor.zeros([2])), /prelu: alpha must have shape \[1\] or \[3\].*got \[2\]/);
  assert.throws(() => leakyRelu(Tensor.zeros([2]), NaN), /leakyRelu: slope must be finite/);
});
