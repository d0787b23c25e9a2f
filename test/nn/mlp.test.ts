import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { MLP } from '../../src/nn/mlp.js';
import { BatchNorm } from '../../src/nn/batchnorm.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Dice, ReLU, Tanh } from '../../src/nn/activations.js';
import { linear } from '../../src/engine/ops/matmul.js';
import { relu } from '../../src/engine/ops/activation.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule, snapshot } from './helpers.js';

test('MLP: output shape, layer order and stable state-dict names', () => {
  const mlp = new MLP({ inputDim: 7, hiddenUnits: [5, 4], batchNorm: true, dropout: 0.2, outputDim: 1, rng: new Rng(1) });
  assert.equal(mlp.outputDim, 1);
  assert.deepEqual(mlp.forward(randTensor(new Rng(2), [9, 7], 1, false)).shape, [9, 1]);
  assert.deepEqual(
    [...mlp.stateDict().keys()],
    [
      'layers.0.linear.weight',
      'layers.0.linear.bias',
      'layers.0.bn.gamma',
      'layers.0.bn.beta',
      'layers.1.linear.weight',
      'layers.1.linear.bias',
      'layers.1.bn.gamma',
      'layers.1.bn.beta',
      'out.weight',
      'out.bias',
      'layers.0.bn.runningMean',
      'layers.0.bn.runningVar',
      'layers.1.bn.runningMean',
      'layers.1.bn.runningVar',
    ],
  );
  const l0 = mlp.layers[0]!;
  assert.deepEqual(
    l0.namedChildren().map(([n, m]) => [n, m.constructor.name]),
    [
      ['linear', 'Linear'],
      ['bn', 'BatchNorm'],
      ['act', 'ReLU'],
      ['dropout', 'Dropout'],
    ],
  );
  assert.ok(l0.bn instanceof BatchNorm && l0.dropout instanceof Dropout && l0.act instanceof ReLU);
  const plain = new MLP({ inputDim: 3, hiddenUnits: [4], activation: 'tanh', rng: new Rng(1) });
  assert.equal(plain.outputDim, 4);
  assert.deepEqual(
    plain.layers[0]!.namedChildren().map(([n]) => n),
    ['linear', 'act'],
  );
  assert.ok(plain.layers[0]!.act instanceof Tanh);
  const dice = new MLP({ inputDim: 3, hiddenUnits: [6], activation: 'dice', rng: new Rng(1) });
  assert.equal((dice.layers[0]!.act as Dice).alpha.size, 6);
  assert.deepEqual(new MLP({ inputDim: 3, hiddenUnits: [], outputDim: 2, rng: new Rng(1) }).forward(Tensor.zeros([4, 3])).shape, [4, 2]);
});

test('MLP forward equals the layers applied by hand: Linear → BN → ReLU', () => {
  const mlp = new MLP({ inputDim: 4, hiddenUnits: [3], batchNorm: true, outputDim: 2, rng: new Rng(3) });
  const x = randTensor(new Rng(4), [5, 4], 1, false);
  const y = mlp.forward(x);
  const lin = mlp.layers[0]!.linear;
  const h = linear(x, lin.weight, lin.bias).data;
  const bn = new Float32Array(15);
  for (let j = 0; j < 3; j++) {
    let m = 0,
      v = 0;
    for (let i = 0; i < 5; i++) m += h[i * 3 + j]! / 5;
    for (let i = 0; i < 5; i++) v += (h[i * 3 + j]! - m) ** 2 / 5;
    for (let i = 0; i < 5; i++) bn[i * 3 + j] = Math.max(0, (h[i * 3 + j]! - m) / Math.sqrt(v + 1e-5));
  }
  const out = mlp.out!;
  const expected = linear(new Tensor(bn, [5, 3]), out.weight, out.bias).data;
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(y.data[i]! - expected[i]!) < 1e-5, `${i}: ${y.data[i]} vs ${expected[i]}`);
});

test('MLP gradients (input and all parameters) in training mode, with BN, dropout, Dice; BN/Dice in eval', () => {
  const rng = new Rng(5);
  const dropoutRng = new Rng(6);
  const state = dropoutRng.getState();
  const mlp = new MLP({ inputDim: 4, hiddenUnits: [5, 3], batchNorm: true, dropout: 0.3, outputDim: 2, activation: 'tanh', rng, dropoutRng });
  for (const [, p] of mlp.namedParameters()) for (let i = 0; i < p.size; i++) p.data[i]! += rng.uniform(-0.3, 0.3);
  gradcheckModule(mlp, randTensor(rng, [6, 4]), { before: () => dropoutRng.setState(state) });
  const dice = new MLP({ inputDim: 3, hiddenUnits: [4], activation: 'dice', outputDim: 1, rng });
  (dice.layers[0]!.act as Dice).alpha.data.set([0.2, -0.3, 0.5, 0.1]);
  gradcheckModule(dice, randTensor(rng, [7, 3]));
  for (let s = 0; s < 3; s++) {
    mlp.forward(randTensor(rng, [8, 4], 1, false));
    dice.forward(randTensor(rng, [8, 3], 1, false));
  }
  mlp.eval();
  dice.eval();
  gradcheckModule(mlp, randTensor(rng, [3, 4]));
  gradcheckModule(dice, randTensor(rng, [3, 3]));
});

test('MLP with BN → ReLU (fused op) has the gradients of the unfused layers, training and eval', () => {
  const rng = new Rng(12);
  const mlp = new MLP({ inputDim: 5, hiddenUnits: [6, 4], batchNorm: true, outputDim: 2, rng });
  for (const [, p] of mlp.namedParameters()) for (let i = 0; i < p.size; i++) p.data[i]! += rng.uniform(-0.3, 0.3);
  const x = randTensor(rng, [9, 5]);
  const w = randTensor(rng, [9, 2], 1, false).data;
  for (const training of [true, false]) {
    mlp.train(training);
    const state = snapshot(mlp);
    mlp.zeroGrad();
    x.grad = null;
    mlp.forward(x).backward(w);
    const fused = [x, ...mlp.parameters()].map((t) => t.grad!.slice());
    const afterFused = snapshot(mlp);
    mlp.loadStateDict(state);
    mlp.zeroGrad();
    x.grad = null;
    let h = x;
    for (const layer of mlp.layers) h = relu(layer.bn!.forward(layer.linear.forward(h)));
    mlp.out!.forward(h).backward(w);
    [x, ...mlp.parameters()].forEach((t, i) => {
      for (let k = 0; k < t.size; k++)
        assert.ok(Math.abs(t.grad![k]! - fused[i]![k]!) <= 1e-5, `tensor ${i} [${k}]: ${t.grad![k]} vs ${fused[i]![k]}`);
    });
    assert.deepEqual(snapshot(mlp), afterFused); // same running statistics
  }
});

test('MLP: eval disables dropout and uses running statistics; state dict round trip gives identical outputs', () => {
  const opts = { inputDim: 6, hiddenUnits: [8, 8], batchNorm: true, dropout: 0.5, outputDim: 1 };
  const a = new MLP({ ...opts, rng: new Rng(7) });
  const rng = new Rng(8);
  for (let s = 0; s < 3; s++) a.forward(randTensor(rng, [16, 6], 1, false));
  a.eval();
  const x = randTensor(rng, [4, 6], 1, false);
  const y1 = a.forward(x),
    y2 = a.forward(x);
  assert.deepEqual(y1.data, y2.data); // no dropout, no statistics update in eval
  const b = new MLP({ ...opts, rng: new Rng(99) }).eval();
  assert.notDeepEqual(b.forward(x).data, y1.data);
  b.loadStateDict(snapshot(a));
  assert.deepEqual(b.forward(x).data, y1.data);
  a.train();
  assert.notDeepEqual(a.forward(x).data, y1.data);
});

test('MLP is deterministic by seed and validates its options', () => {
  const x = randTensor(new Rng(1), [4, 3], 1, false);
  const make = () => new MLP({ inputDim: 3, hiddenUnits: [5], dropout: 0.5, rng: new Rng(42) });
  assert.deepEqual(make().forward(x).data, make().forward(x).data);
  assert.throws(() => new MLP({ inputDim: 3, hiddenUnits: [5, 0], rng: new Rng(1) }), /hiddenUnits\[1\] must be a positive integer, got 0/);
  assert.throws(() => new MLP({ inputDim: 3, hiddenUnits: [5], activation: 'swish', rng: new Rng(1) }), /unknown activation 'swish'/);
  assert.throws(() => new MLP({ inputDim: 3, hiddenUnits: [5], dropout: 1, rng: new Rng(1) }), /dropout must be in \[0, 1\)/);
  assert.throws(() => make().forward(Tensor.zeros([2, 4])), /MLP: input must be \[\.\.\., 3\], got \[2,4\]/);
});
