import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { BatchNorm } from '../../src/nn/batchnorm.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule, snapshot } from './helpers.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('BatchNorm: γ=1, β=0, buffers in the state dict, running statistics after 2 updates', () => {
  const bn = new BatchNorm(2);
  assert.deepEqual([...bn.stateDict().keys()], ['gamma', 'beta', 'runningMean', 'runningVar']);
  assert.deepEqual(
    bn.namedParameters().map(([k]) => k),
    ['gamma', 'beta'],
  );
  assert.deepEqual([...bn.gamma!.data], [1, 1]);
  assert.deepEqual([...bn.runningVar.data], [1, 1]);
  const y = bn.forward(Tensor.from([1, 2, 3, 4, 5, 9], [3, 2]));
  // batch means [3, 5], biased variances [8/3, 26/3]
  close(
    y.data,
    [-2, -3, 0, -1, 2, 4].map((v, i) => v / Math.sqrt((i % 2 === 0 ? 8 / 3 : 26 / 3) + 1e-5)),
    1e-5,
    'y',
  );
  bn.forward(Tensor.from([0, 0, 2, -2], [2, 2]));
  // r ← 0.9·r + 0.1·batch, unbiased batch variances [4, 13] then [2, 2]
  close(bn.runningMean.data, [0.37, 0.35], 1e-6, 'runningMean');
  close(bn.runningVar.data, [1.37, 2.18], 1e-6, 'runningVar');
});

test('BatchNorm: eval uses running statistics, does not update them, and matches after a state-dict round trip', () => {
  const rng = new Rng(1);
  const bn = new BatchNorm(3);
  for (let s = 0; s < 3; s++) bn.forward(randTensor(rng, [8, 3], 2, false));
  bn.gamma!.data.set([0.5, 2, -1]);
  bn.beta!.data.set([0.1, 0, 0.3]);
  bn.eval();
  const x = randTensor(rng, [4, 3], 1, false);
  const before = bn.runningMean.data.slice();
  const y = bn.forward(x);
  assert.deepEqual(bn.runningMean.data, before);
  const expected = Array.from(x.data, (v, i) => {
    const j = i % 3;
    return (bn.gamma!.data[j]! * (v - bn.runningMean.data[j]!)) / Math.sqrt(bn.runningVar.data[j]! + 1e-5) + bn.beta!.data[j]!;
  });
  close(y.data, expected, 1e-5, 'eval');
  const copy = new BatchNorm(3).eval();
  copy.loadStateDict(snapshot(bn));
  assert.deepEqual(copy.forward(x).data, y.data);
});

test('BatchNorm gradients in training and eval mode, rank 2 and 3', () => {
  const rng = new Rng(2);
  const bn = new BatchNorm(3);
  bn.gamma!.data.set([0.7, -1.2, 1.5]);
  bn.beta!.data.set([0.2, 0.1, -0.4]);
  gradcheckModule(bn, randTensor(rng, [6, 3], 2));
  gradcheckModule(bn, randTensor(rng, [2, 4, 3], 2));
  bn.runningMean.data.set([0.3, -0.1, 0.2]);
  bn.runningVar.data.set([0.6, 1.3, 2.1]);
  bn.eval();
  gradcheckModule(bn, randTensor(rng, [5, 3], 2));
  const plain = new BatchNorm(3, { affine: false });
  assert.equal(plain.parameters().length, 0);
  gradcheckModule(plain, randTensor(rng, [5, 3], 2));
  assert.throws(() => bn.forward(Tensor.zeros([4, 2])), /BatchNorm: input must be \[N, \.\.\., 3\]/);
});

test('LayerNorm: normalizes each row, gradients, state dict round trip', () => {
  const rng = new Rng(3);
  const ln = new LayerNorm(4);
  const y = ln.forward(Tensor.from([1, 2, 3, 4, -2, 0, 0, 2], [2, 4]));
  const s1 = Math.sqrt(1.25 + 1e-5),
    s2 = Math.sqrt(2 + 1e-5);
  close(y.data, [-1.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / s1, -2 / s2, 0, 0, 2 / s2], 1e-6, 'y');
  ln.gamma!.data.set([1.5, -0.5, 0.8, 1.1]);
  ln.beta!.data.set([0.1, 0.2, -0.3, 0]);
  gradcheckModule(ln, randTensor(rng, [3, 4], 2));
  gradcheckModule(ln, randTensor(rng, [2, 3, 4], 2));
  const copy = new LayerNorm(4);
  copy.loadStateDict(snapshot(ln));
  const x = randTensor(rng, [3, 4], 1, false);
  assert.deepEqual(copy.forward(x).data, ln.forward(x).data);
});
