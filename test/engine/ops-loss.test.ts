import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { bceWithLogits, bce, mse, sigmoidProb, sigmoid } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const near = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const sig = (z: number) => 1 / (1 + Math.exp(-z));

test('bceWithLogits values: plain, weighted, extreme logits', () => {
  const z = Tensor.from([0.5, -1, 2]);
  const y = Float32Array.of(1, 0, 0);
  const l = [-Math.log(sig(0.5)), -Math.log(1 - sig(-1)), -Math.log(1 - sig(2))];
  const loss = bceWithLogits(z, y);
  assert.deepEqual(loss.shape, []);
  near(loss.item(), (l[0]! + l[1]! + l[2]!) / 3);
  const w = Float32Array.of(2, 0, 1);
  near(bceWithLogits(z, y, w).item(), (2 * l[0]! + l[2]!) / 3);
  // No overflow at extreme logits: ℓ(100, 0) = 100, ℓ(−100, 0) ≈ e^−100.
  near(bceWithLogits(Tensor.from([100, -100]), Float32Array.of(0, 0)).item(), 50, 1e-6);
  near(bceWithLogits(Tensor.from([-100]), Float32Array.of(1)).item(), 100, 1e-6);
  // All-zero weights: zero loss, zero gradient.
  const zz = Tensor.from([1, 2], [2], true);
  const l0 = bceWithLogits(zz, Float32Array.of(1, 0), Float32Array.of(0, 0));
  assert.equal(l0.item(), 0);
  l0.backward();
  assert.deepEqual([...zz.grad!], [0, 0]);
});

test('bceWithLogits gradient is (σ(z) − y)·w / Σw', () => {
  const z = Tensor.from([0.5, -1, 2], [3, 1], true);
  bceWithLogits(z, Float32Array.of(1, 0, 1), Float32Array.of(1, 2, 1)).backward();
  near(z.grad![0]!, (sig(0.5) - 1) / 4);
  near(z.grad![1]!, (2 * sig(-1)) / 4);
  near(z.grad![2]!, (sig(2) - 1) / 4);
  const rng = new Rng(61);
  const logits = randTensor(rng, [8, 1], 4);
  const labels = new Float32Array(8).map(() => (rng.next() < 0.5 ? 1 : 0));
  const weights = new Float32Array(8).map(() => rng.uniform(0.1, 2));
  gradcheck(([t]) => bceWithLogits(t!, labels), [logits]);
  gradcheck(([t]) => bceWithLogits(t!, labels, weights), [logits]);
  gradcheck(([t]) => bceWithLogits(t!, Float32Array.of(0.3, 0.9, 0, 1, 0.5, 0.2, 0.7, 1)), [logits]); // soft labels
});

test('bce on probabilities matches bceWithLogits and clips', () => {
  const rng = new Rng(62);
  const logits = randTensor(rng, [10], 3);
  const labels = new Float32Array(10).map(() => (rng.next() < 0.5 ? 1 : 0));
  near(bce(sigmoid(logits), labels).item(), bceWithLogits(logits, labels).item(), 1e-5);
  const p = Tensor.from([0, 1, 0.25], [3], true);
  const loss = bce(p, Float32Array.of(1, 0, 1));
  near(loss.item(), (-Math.log(1e-7) - Math.log(1e-7) - Math.log(0.25)) / 3, 1e-4);
  loss.backward();
  assert.equal(p.grad![0], 0);
  assert.equal(p.grad![1], 0);
  near(p.grad![2]!, -1 / 0.25 / 3);
  const probs = Tensor.zeros([6], true);
  for (let i = 0; i < 6; i++) probs.data[i] = rng.uniform(0.1, 0.9);
  gradcheck(([t]) => bce(t!, Float32Array.of(1, 0, 1, 1, 0, 0.4)), [probs], { eps: 1e-4 });
  // Composite: loss of a sigmoid, differentiated through both ops.
  gradcheck(([t]) => bce(sigmoid(t!), labels), [logits]);
});

test('mse values and gradients', () => {
  const p = Tensor.from([1, 2, 3], [3], true);
  const loss = mse(p, Float32Array.of(1, 0, 5));
  near(loss.item(), (0 + 4 + 4) / 3);
  loss.backward();
  near(p.grad![1]!, (2 * 2) / 3);
  near(p.grad![2]!, (2 * -2) / 3);
  const rng = new Rng(63);
  const a = randTensor(rng, [4, 2]),
    b = randTensor(rng, [4, 2]);
  gradcheck(([x, y]) => mse(x!, y!), [a, b]);
  gradcheck(([x]) => mse(x!, [1, 2, 3, 4, 5, 6, 7, 8]), [a]);
});

test('sigmoidProb gives probabilities without a graph', () => {
  const p = sigmoidProb(Tensor.from([0, 2, -800]));
  near(p[0]!, 0.5);
  near(p[1]!, sig(2));
  assert.equal(p[2], 0);
  near(sigmoidProb(Float32Array.of(-2))[0]!, sig(-2));
});

test('loss errors name the problem', () => {
  const z = Tensor.zeros([3]);
  assert.throws(() => bceWithLogits(z, Float32Array.of(1, 0)), /bceWithLogits: labels has 2 entries, predictions have shape \[3\]/);
  assert.throws(() => bceWithLogits(z, Float32Array.of(1, 0, 2)), /bceWithLogits: labels\[2\] = 2 is outside \[0, 1\]/);
  assert.throws(() => bceWithLogits(z, Float32Array.of(1, 0, NaN)), /labels\[2\] = NaN/);
  assert.throws(() => bceWithLogits(z, Float32Array.of(1, 0, 1), Float32Array.of(1, -1, 1)), /weights\[1\] = -1 is outside/);
  assert.throws(() => bce(z, Float32Array.of(1, 0)), /bce: labels has 2 entries/);
  assert.throws(() => mse(z, Tensor.zeros([3, 1])), /mse: prediction shape \[3\] and target shape \[3, 1\] differ/);
  assert.throws(() => mse(z, [1]), /mse: target has 1 entries/);
});
