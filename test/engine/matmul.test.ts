import { test } from 'node:test';
import { Rng } from '../../src/engine/random.js';
import { matmul, linear } from '../../src/engine/ops/matmul.js';
import { add } from '../../src/engine/ops/elementwise.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

test('matmul gradients, all transpose combinations, rank 2 and 3', () => {
  const rng = new Rng(7);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = randTensor(rng, transA ? [4, 3] : [3, 4]);
      const b = randTensor(rng, transB ? [5, 4] : [4, 5]);
      gradcheck(([x, y]) => matmul(x!, y!, { transA, transB }), [a, b]);
      const a3 = randTensor(rng, transA ? [2, 4, 3] : [2, 3, 4]);
      const b3 = randTensor(rng, transB ? [2, 5, 4] : [2, 4, 5]);
      gradcheck(([x, y]) => matmul(x!, y!, { transA, transB }), [a3, b3]);
      gradcheck(([x, y]) => matmul(x!, y!, { transA, transB }), [a3, b]);
    }
  }
});

test('linear gradients with and without bias', () => {
  const rng = new Rng(8);
  const x = randTensor(rng, [5, 3]);
  const w = randTensor(rng, [3, 4]);
  const b = randTensor(rng, [4]);
  gradcheck(([x_, w_, b_]) => linear(x_!, w_!, b_!), [x, w, b]);
  gradcheck(([x_, w_]) => linear(x_!, w_!, null), [x, w]);
});

test('linear gradients when the input and weight feed two layers (fresh gradients overwritten, then accumulated)', () => {
  const rng = new Rng(12);
  const x = randTensor(rng, [5, 4]);
  const w = randTensor(rng, [4, 3]);
  const b = randTensor(rng, [3]);
  const v = randTensor(rng, [3, 4]);
  // x → linear(x, w, b) → linear(·, v) added to x itself: x's gradient gets two contributions,
  // w and b one each; the first to arrive is written by a GEMM with beta = 0.
  gradcheck(([xx, ww, bb, vv]) => add(linear(linear(xx!, ww!, bb!), vv!, null), xx!), [x, w, b, v]);
  gradcheck(([xx, ww, bb]) => add(linear(xx!, ww!, bb!), linear(xx!, ww!, null)), [x, w, b]);
});
