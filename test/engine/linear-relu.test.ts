import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { linear, linearRelu, relu } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

test('linearRelu: the same values as relu(linear(x, W, b)), with and without bias', () => {
  const rng = new Rng(3);
  const x = randTensor(rng, [7, 5], 1, false),
    w = randTensor(rng, [5, 4], 1, false),
    b = randTensor(rng, [4], 1, false);
  for (const bias of [b, null]) {
    const fused = noGrad(() => linearRelu(x, w, bias)).data;
    const plain = noGrad(() => relu(linear(x, w, bias))).data;
    assert.deepEqual(fused, plain);
    assert.ok(fused.some((v) => v === 0) && fused.some((v) => v > 0), 'both sides of the ReLU are exercised');
  }
  // Hand-computed: x = [[1, -2]], W = [[1, 2], [3, -1]], b = [0.5, -5] → [1−6+0.5, 2+2−5] → relu → [0, 0]; x = [[2, 1]] → [5.5, -2] → [5.5, 0].
  const y = noGrad(() => linearRelu(Tensor.from([1, -2, 2, 1], [2, 2]), Tensor.from([1, 2, 3, -1], [2, 2]), Tensor.from([0.5, -5]))).data;
  assert.deepEqual(Array.from(y), [0, 0, 5.5, 0]);
});

test('linearRelu: gradients match finite differences and the unfused ops', () => {
  const rng = new Rng(5);
  const x = randTensor(rng, [6, 5]),
    w = randTensor(rng, [5, 3]),
    b = randTensor(rng, [3], 0.3);
  gradcheck(([a, c, d]) => linearRelu(a!, c!, d!), [x, w, b]);
  gradcheck(([a, c]) => linearRelu(a!, c!, null), [x, w]);
  const grads = (fn: () => Tensor) => {
    for (const t of [x, w, b]) t.grad = null;
    const y = fn();
    y.backward(Float32Array.from({ length: y.size }, (_, i) => (i % 3) - 1));
    return [x, w, b].map((t) => Array.from(t.grad!));
  };
  assert.deepEqual(
    grads(() => linearRelu(x, w, b)),
    grads(() => relu(linear(x, w, b))),
  );
});
