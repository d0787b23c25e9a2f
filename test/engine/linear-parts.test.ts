import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { concat, linear, linearRelu, linearParts, linearReluParts } from '../../src/engine/ops/index.js';
import { MLP } from '../../src/nn/mlp.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

/** Gradients of `inputs` after backward of fn() with a fixed upstream gradient. */
function grads(fn: () => Tensor, inputs: Tensor[]): number[][] {
  for (const t of inputs) t.grad = null;
  const y = fn();
  y.backward(Float32Array.from({ length: y.size }, (_, i) => ((i * 7) % 5) - 2));
  return inputs.map((t) => Array.from(t.grad ?? []));
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('linearParts: one part is linear bit for bit; several equal linear(concat(parts)) and give each part its slab of the gradient', () => {
  const rng = new Rng(21);
  const a = randTensor(rng, [9, 4]),
    c = randTensor(rng, [9, 1]),
    d = randTensor(rng, [9, 6]),
    w = randTensor(rng, [11, 5]),
    b = randTensor(rng, [5], 0.3);
  for (const [parts, plain] of [
    [linearParts, linear],
    [linearReluParts, linearRelu],
  ] as const) {
    // One part: the very same op.
    assert.deepEqual(
      grads(() => parts([d], randTensor(new Rng(1), [6, 5]), null), [d]),
      grads(() => plain(d, randTensor(new Rng(1), [6, 5]), null), [d]),
    );
    for (const bias of [b, null]) {
      const inputs = bias !== null ? [a, c, d, w, bias] : [a, c, d, w];
      const y1 = noGrad(() => parts([a, c, d], w, bias)).data;
      const y2 = noGrad(() => plain(concat([a, c, d], 1), w, bias)).data;
      assertClose(y1, y2, 1e-6, 'values');
      const g1 = grads(() => parts([a, c, d], w, bias), inputs);
      const g2 = grads(() => plain(concat([a, c, d], 1), w, bias), inputs);
      g1.forEach((g, k) => assertClose(g, g2[k]!, 1e-5, `gradient of input ${k}`));
    }
  }
  // A part of width 0 adds nothing (first, so the next GEMM must overwrite: no bias).
  const empty = Tensor.zeros([9, 0], true);
  const yEmpty = noGrad(() => linearParts([empty, a, c, d], w, null)).data;
  assertClose(yEmpty, noGrad(() => linear(concat([a, c, d], 1), w, null)).data, 1e-6, 'with an empty part');
  // Hand-computed: [1, 2 | 3]·[[1, 0], [0, 1], [2, -1]] + [0.5, 0] = [7.5, -1] → ReLU [7.5, 0].
  const y = noGrad(() =>
    linearReluParts([Tensor.from([1, 2], [1, 2]), Tensor.from([3], [1, 1])], Tensor.from([1, 0, 0, 1, 2, -1], [3, 2]), Tensor.from([0.5, 0])),
  );
  assert.deepEqual(Array.from(y.data), [7.5, 0]);
});

test('linearParts: gradients match finite differences; a part without gradient gets none; bad shapes are refused', () => {
  const rng = new Rng(22);
  const a = randTensor(rng, [5, 3]),
    c = randTensor(rng, [5, 2]),
    w = randTensor(rng, [5, 4]),
    b = randTensor(rng, [4], 0.3);
  // Without the ReLU (finite differences across its kink are meaningless; the ReLU variant is
  // checked against linearRelu(concat(…)) above).
  gradcheck(([p, q, r, s]) => linearParts([p!, q!], r!, s!), [a, c, w, b]);
  gradcheck(([p, q, r]) => linearParts([p!, q!], r!, null), [a, c, w]);
  const frozen = randTensor(rng, [5, 2], 1, false);
  grads(() => linearReluParts([a, frozen], w, b), [a, w, b]);
  assert.equal(frozen.grad, null);
  assert.throws(
    () => linearParts([a, c], randTensor(rng, [6, 4]), null),
    /linear: expected x \[rows, in\] and W \[in, out\], got \[5,3\] \| \[5,2\] and \[6,4\]/,
  );
  assert.throws(() => linearParts([a, randTensor(rng, [4, 2])], w, null), /linear: expected x/);
  assert.throws(() => linearParts([], w, null), /linear: no input parts/);
});

test('MLP.forwardParts: the MLP over the concatenation, without building it; falls back to forward(concat) with batch norm', () => {
  const x1 = randTensor(new Rng(23), [16, 6], 1, false),
    x2 = randTensor(new Rng(24), [16, 3], 1, false);
  for (const batchNorm of [false, true]) {
    const mlp = new MLP({ inputDim: 9, hiddenUnits: [8, 4], outputDim: 1, batchNorm, rng: new Rng(25) });
    const params = mlp.parameters();
    const g1 = grads(() => mlp.forwardParts([x1, x2]), params);
    const g2 = grads(() => mlp.forward(concat([x1, x2], 1)), params);
    g1.forEach((g, k) => assertClose(g, g2[k]!, 1e-5, `batchNorm=${batchNorm} parameter ${k}`));
    mlp.train(false);
    assertClose(noGrad(() => mlp.forwardParts([x1, x2])).data, noGrad(() => mlp.forward(concat([x1, x2], 1))).data, 1e-6, 'eval values');
    mlp.train(true);
  }
  const mlp = new MLP({ inputDim: 9, hiddenUnits: [4], rng: new Rng(26) });
  assert.throws(() => mlp.forwardParts([x1]), /MLP: parts must be \[rows, inₖ\] with Σ inₖ = 9, got \[16,6\]/);
});
