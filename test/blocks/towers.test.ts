import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { dnn } from '../../src/blocks/towers/dnn-tower.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule } from '../nn/helpers.js';

/** y = W·x + b for one row, in float64. */
function affine(x: number[], W: Float32Array, b: Float32Array | undefined, out: number): number[] {
  return Array.from({ length: out }, (_, j) => x.reduce((s, v, i) => s + v * W[i * out + j]!, b?.[j] ?? 0));
}

test('DNN tower in eval mode equals Linear → BatchNorm(running stats) → ReLU per layer, then the output unit', () => {
  const tower = dnn(5, { hiddenUnits: [4, 3], hiddenActivations: 'relu', netDropout: 0.5, batchNorm: true }, new Rng(2));
  const st = tower.stateDict();
  // Non-trivial running statistics and affine parameters.
  const rng = new Rng(3);
  for (const [k, v] of st)
    if (k.includes('bn.')) for (let i = 0; i < v.length; i++) v[i] = k.endsWith('runningVar') ? 0.5 + rng.next() : rng.uniform(-1, 1);
  tower.eval();
  const x = randTensor(new Rng(4), [6, 5], 1, false);
  const y = noGrad(() => tower.forward(x));
  assert.deepEqual(y.shape, [6, 1]);
  for (let r = 0; r < 6; r++) {
    let h = [...x.data.subarray(r * 5, r * 5 + 5)];
    [4, 3].forEach((width, l) => {
      const p = `layers.${l}.`;
      h = affine(h, st.get(`${p}linear.weight`)!, st.get(`${p}linear.bias`), width).map((v, j) => {
        const bn =
          ((v - st.get(`${p}bn.runningMean`)![j]!) / Math.sqrt(st.get(`${p}bn.runningVar`)![j]! + 1e-5)) * st.get(`${p}bn.gamma`)![j]! +
          st.get(`${p}bn.beta`)![j]!;
        return Math.max(0, bn);
      });
    });
    const z = affine(h, st.get('out.weight')!, st.get('out.bias'), 1)[0]!;
    assert.ok(Math.abs(y.data[r]! - z) < 1e-5, `row ${r}: ${y.data[r]} vs naive ${z}`);
  }
});

test('DNN tower without an output layer ends at its last hidden width; gradients match finite differences', () => {
  const tower = dnn(4, { hiddenUnits: [6, 3], hiddenActivations: 'tanh', netDropout: 0, batchNorm: false }, new Rng(5), 0);
  assert.equal(tower.outputDim, 3);
  gradcheckModule(tower, randTensor(new Rng(6), [5, 4]));
});
