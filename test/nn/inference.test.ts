import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { noGrad } from '../../src/engine/tensor.js';
import { MLP } from '../../src/nn/mlp.js';
import { prepareForInference } from '../../src/nn/inference.js';
import { createModel } from '../../src/models/registry.js';
import { pairwiseDataset } from '../support/synthetic-batch.js';
import { randTensor } from '../support/gradcheck.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const sigmoid = (a: Float32Array) => Float32Array.from(a, (v) => 1 / (1 + Math.exp(-v)));

test('MLP with batch norm: folded inference gives the plain eval-mode outputs (|Δ| ≤ 1e-5), weights and state dict unchanged', () => {
  const rng = new Rng(11);
  const mlp = new MLP({ inputDim: 6, hiddenUnits: [8, 5], batchNorm: true, dropout: 0.3, outputDim: 1, rng });
  mlp.train();
  mlp.forward(randTensor(new Rng(2), [64, 6], 2, false)); // running statistics away from (0, 1)
  mlp.eval();
  const x = randTensor(new Rng(3), [40, 6], 2, false);
  const plain = noGrad(() => mlp.forward(x)).data.slice();
  const before = new Map([...mlp.stateDict()].map(([k, v]) => [k, v.slice()]));
  mlp.foldForInference();
  const fast = noGrad(() => mlp.forward(x)).data.slice();
  assert.ok(maxAbsDiff(plain, fast) <= 1e-5, `max |Δ| = ${maxAbsDiff(plain, fast)}`);
  assert.notDeepEqual(fast, plain, 'the folded path really ran (float rounding differs)');
  for (const [k, v] of mlp.stateDict()) assert.deepEqual(v, before.get(k), k);
  // train() drops the folded copy: back in eval mode the plain path gives the plain values bit for bit.
  mlp.train();
  mlp.eval();
  assert.deepEqual(noGrad(() => mlp.forward(x)).data, plain);
  assert.throws(() => {
    mlp.train();
    mlp.foldForInference();
  }, /call it in eval mode/);
});

for (const batchNorm of [true, false]) {
  test(`DeepFM (batchNorm ${batchNorm}): prepareForInference keeps probabilities within 1e-6 of the plain eval-mode forward`, () => {
    const { spec, batch } = pairwiseDataset(300, 4);
    const model = createModel(
      'deepfm',
      { spec, rng: new Rng(7) },
      { embeddingDim: 4, embeddingInitStd: 0.3, dnnHiddenUnits: [16, 16], batchNorm, dnnDropout: 0.2 },
    );
    model.train();
    model.forwardTasks(batch);
    model.eval();
    const plain = sigmoid(noGrad(() => model.forwardTasks(batch)).click!.data);
    assert.equal(prepareForInference(model), batchNorm ? 2 : 0);
    const fast = sigmoid(noGrad(() => model.forwardTasks(batch)).click!.data);
    assert.ok(maxAbsDiff(plain, fast) <= 1e-6, `max |Δp| = ${maxAbsDiff(plain, fast)}`);
    if (!batchNorm) assert.deepEqual(fast, plain, 'without batch norm the fused path is bit-identical');
  });
}

test('prepareForInference refuses a model in training mode', () => {
  const { spec } = pairwiseDataset(10, 2);
  const model = createModel('deepfm', { spec, rng: new Rng(1) }, {});
  assert.throws(() => prepareForInference(model), /must be in eval mode/);
});
