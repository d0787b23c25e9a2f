import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { dropout, mean } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

test('same seed gives the same mask; different seeds differ', () => {
  const x = Tensor.full([1000], 1);
  const a = dropout(x, 0.3, new Rng(5), true).data;
  const b = dropout(x, 0.3, new Rng(5), true).data;
  const c = dropout(x, 0.3, new Rng(6), true).data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const v of a) assert.ok(v === 0 || Math.abs(v - 1 / 0.7) < 1e-6, `value ${v}`);
});

test('the mask uses one rng.nextUint32() per element and leaves the generator where those draws would', () => {
  const n = 5000, p = 0.3;
  const rng = new Rng(77);
  rng.normal(); // a cached spare normal must survive
  const ref = new Rng(77);
  ref.normal();
  const y = dropout(Tensor.full([n], 1), p, rng, true);
  for (let i = 0; i < n; i++) {
    const kept = ref.nextUint32() >= p * 4294967296;
    assert.equal(y.data[i] !== 0, kept, `element ${i}`);
  }
  assert.deepEqual(rng.getState(), ref.getState());
  assert.equal(rng.nextUint32(), ref.nextUint32());
});

test('eval mode and p = 0 are the identity; p = 1 gives zeros', () => {
  const rng = new Rng(7);
  const x = randTensor(rng, [4, 5]);
  assert.equal(dropout(x, 0.5, rng, false), x);
  assert.equal(dropout(x, 0, rng, true), x);
  const z = dropout(x, 1, rng, true);
  assert.ok(z.data.every((v) => v === 0));
});

test('dropout keeps the mean and drops about p of the elements', () => {
  const n = 200_000;
  const x = Tensor.full([n], 2);
  const y = noGrad(() => dropout(x, 0.25, new Rng(9), true));
  let zeros = 0;
  for (const v of y.data) if (v === 0) zeros++;
  // Binomial(n, 0.25): sd of the fraction ≈ 0.001; allow 5 sd.
  assert.ok(Math.abs(zeros / n - 0.25) < 0.005, `dropped fraction ${zeros / n}`);
  assert.ok(Math.abs(mean(y).item() - 2) < 0.02, `mean ${mean(y).item()}`);
});

test('dropout gradient: g·mask/(1 − p), checked by finite differences with a fixed rng state', () => {
  const rng = new Rng(10);
  const x = randTensor(rng, [6, 7]);
  gradcheck(([t]) => dropout(t!, 0.4, new Rng(123), true), [x]);
  const y = Tensor.from([1, 2, 3, 4, 5, 6, 7, 8], [8], true);
  const out = dropout(y, 0.5, new Rng(3), true);
  out.backward(new Float32Array(8).fill(1));
  for (let i = 0; i < 8; i++) assert.equal(y.grad![i], out.data[i] === 0 ? 0 : 2);
});

test('dropout rejects a probability outside [0, 1]', () => {
  assert.throws(() => dropout(Tensor.zeros([2]), 1.5, new Rng(1), true), /dropout: probability must be in \[0, 1\], got 1.5/);
  assert.throws(() => dropout(Tensor.zeros([2]), NaN, new Rng(1), true), /got NaN/);
});
