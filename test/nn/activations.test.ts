import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { batchNorm } from '../../src/engine/ops/norm.js';
import { sigmoid } from '../../src/engine/ops/activation.js';
import { add, mul, sub } from '../../src/engine/ops/elementwise.js';
import { ReLU, Sigmoid, Tanh, LeakyReLU, Identity, PReLU, Dice, makeActivation, ACTIVATION_LAYER_NAMES } from '../../src/nn/activations.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule, snapshot } from './helpers.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('parameter-free activations: values and gradients', () => {
  const x = Tensor.from([-2, -0.5, 0.25, 3]);
  close(new ReLU().forward(x).data, [0, 0, 0.25, 3], 0, 'relu');
  close(
    new Sigmoid().forward(x).data,
    [-2, -0.5, 0.25, 3].map((v) => 1 / (1 + Math.exp(-v))),
    1e-6,
    'sigmoid',
  );
  close(new Tanh().forward(x).data, [-2, -0.5, 0.25, 3].map(Math.tanh), 1e-6, 'tanh');
  close(new LeakyReLU().forward(x).data, [-0.02, -0.005, 0.25, 3], 1e-7, 'leaky');
  close(new LeakyReLU(0.2).forward(x).data, [-0.4, -0.1, 0.25, 3], 1e-7, 'leaky 0.2');
  assert.equal(new Identity().forward(x), x);
  const rng = new Rng(1);
  for (const m of [new ReLU(), new Sigmoid(), new Tanh(), new LeakyReLU(0.1)]) gradcheckModule(m, randTensor(rng, [4, 5], 2));
});

test('PReLU: α init 0.25, shared or per channel, gradients', () => {
  const shared = new PReLU();
  assert.deepEqual([...shared.alpha.data], [0.25]);
  close(shared.forward(Tensor.from([-4, 2, -1, 0.5], [2, 2])).data, [-1, 2, -0.25, 0.5], 0, 'shared');
  const per = new PReLU(3);
  per.alpha.data.set([0.1, 0.5, -0.3]);
  close(per.forward(Tensor.from([-1, -1, -1, 2, 2, 2], [2, 3])).data, [-0.1, -0.5, 0.3, 2, 2, 2], 1e-7, 'per channel');
  const rng = new Rng(2);
  gradcheckModule(shared, randTensor(rng, [4, 3], 2));
  gradcheckModule(per, randTensor(rng, [4, 3], 2));
  gradcheckModule(per, randTensor(rng, [2, 2, 3], 2));
  assert.throws(() => per.forward(Tensor.zeros([2, 4])), /PReLU: 3 parameters need an input \[\.\.\., 3\]/);
});

test('Dice: α init 0, running statistics in the state dict, matches the op composition', () => {
  const d = new Dice(3);
  assert.deepEqual([...d.alpha.data], [0, 0, 0]);
  assert.deepEqual([...d.stateDict().keys()], ['alpha', 'runningMean', 'runningVar']);
  d.alpha.data.set([0.2, -0.4, 0.7]);
  const rng = new Rng(3);
  const x = randTensor(rng, [6, 3], 2);
  const y = d.forward(x);
  // p = sigmoid(BN(x)); y = p·x + (1 − p)·α·x, built from separate ops
  const rm = new Float32Array(3),
    rv = new Float32Array(3).fill(1);
  const xc = x.detach();
  const p = sigmoid(batchNorm(xc, null, null, { training: true, runningMean: rm, runningVar: rv, eps: 1e-9 }));
  const one = Tensor.full([3], 1);
  const ref = add(mul(p, xc), mul(mul(sub(one, p), d.alpha.detach()), xc));
  close(y.data, ref.data, 1e-5, 'train');
  // running statistics moved 1% (momentum 0.01) towards the batch statistics
  const mean0 = (x.data[0]! + x.data[3]! + x.data[6]! + x.data[9]! + x.data[12]! + x.data[15]!) / 6;
  close([d.runningMean.data[0]!], [0.01 * mean0], 1e-6, 'running mean');
});

test('Dice eval: running statistics, each row independent of its batch; state dict round trip', () => {
  const rng = new Rng(4);
  const d = new Dice(4);
  d.alpha.data.set([0.1, 0.3, -0.2, 0.5]);
  for (let s = 0; s < 20; s++) d.forward(randTensor(rng, [16, 4], 3, false));
  d.eval();
  const x = randTensor(rng, [5, 4], 2, false);
  const all = d.forward(x);
  const first = d.forward(new Tensor(x.data.slice(0, 4), [1, 4]));
  close(first.data, all.data.subarray(0, 4), 1e-7, 'row 0 alone');
  const copy = new Dice(4).eval();
  copy.loadStateDict(snapshot(d));
  assert.deepEqual(copy.forward(x).data, all.data);
  copy.train();
  assert.notDeepEqual(copy.forward(x).data, all.data);
});

test('Dice gradients (input and α) in training and eval mode', () => {
  const rng = new Rng(5);
  const d = new Dice(3);
  d.alpha.data.set([0.3, -0.6, 0.9]);
  gradcheckModule(d, randTensor(rng, [8, 3], 2));
  gradcheckModule(d, randTensor(rng, [2, 4, 3], 2));
  d.runningMean.data.set([0.2, -0.1, 0.4]);
  d.runningVar.data.set([0.7, 1.4, 2.2]);
  d.eval();
  gradcheckModule(d, randTensor(rng, [5, 3], 2));
  // the fused gradients equal those of the op composition (training)
  const x = randTensor(rng, [6, 3], 2);
  const fused = new Dice(3);
  fused.alpha.data.set([0.3, -0.6, 0.9]);
  const w = randTensor(rng, [6, 3], 1, false).data;
  fused.forward(x).backward(w);
  const gxFused = x.grad!.slice(),
    gaFused = fused.alpha.grad!.slice();
  x.grad = null;
  const al = fused.alpha.clone();
  al.grad = null;
  const rm = new Float32Array(3),
    rv = new Float32Array(3).fill(1);
  const p = sigmoid(batchNorm(x, null, null, { training: true, runningMean: rm, runningVar: rv, eps: 1e-9 }));
  add(mul(p, x), mul(mul(sub(Tensor.full([3], 1), p), al), x)).backward(w);
  close(gxFused, x.grad!, 1e-4, 'dx');
  close(gaFused, al.grad!, 1e-4, 'dα');
});

test('makeActivation builds every named activation and rejects unknown names', () => {
  const expected: Record<string, Function> = {
    relu: ReLU,
    sigmoid: Sigmoid,
    tanh: Tanh,
    leaky_relu: LeakyReLU,
    prelu: PReLU,
    dice: Dice,
    linear: Identity,
    identity: Identity,
  };
  for (const name of ACTIVATION_LAYER_NAMES) assert.ok(makeActivation(name, 5) instanceof expected[name]!, name);
  assert.ok(makeActivation('ReLU', 5) instanceof ReLU);
  const dice = makeActivation('dice', 5) as Dice;
  assert.equal(dice.alpha.size, 5);
  assert.throws(() => makeActivation('gelu', 5), /unknown activation 'gelu' \(expected one of: relu, sigmoid/);
});
