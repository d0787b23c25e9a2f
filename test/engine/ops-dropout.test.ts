import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { add, dropout, mean } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';
import { denseKernels, kernels, setKernels, typescriptKernels } from '../../src/engine/kernels/index.js';
import type { Kernels } from '../../src/engine/kernels/index.js';

/** Runs fn with k as the active backend, restoring the previous one. */
function withKernels<T>(k: Kernels, fn: () => T): T {
  const prev = kernels();
  setKernels(k);
  try {
    return fn();
  } finally {
    setKernels(prev);
  }
}

test('same seed gives the same mask; different seeds differ', () => {
  const x = Tensor.full([1000], 1);
  const a = dropout(x, 0.3, new Rng(5), true).data;
  const b = dropout(x, 0.3, new Rng(5), true).data;
  const c = dropout(x, 0.3, new Rng(6), true).data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const v of a) assert.ok(v === 0 || Math.abs(v - 1 / 0.7) < 1e-6, `value ${v}`);
});

test('the mask costs one rng.nextUint32() per call, whatever the size, and is a function of that draw', () => {
  const p = 0.3;
  for (const n of [1, 5000]) {
    const rng = new Rng(77);
    rng.normal(); // a cached spare normal must survive
    const ref = new Rng(77);
    ref.normal();
    const seed = ref.nextUint32();
    const y = dropout(Tensor.full([n], 1), p, rng, true);
    assert.deepEqual(rng.getState(), ref.getState(), `generator advanced by one draw (n = ${n})`);
    assert.equal(rng.nextUint32(), ref.nextUint32());
    // The same draw gives the same mask through the kernel directly.
    const direct = new Float32Array(n);
    denseKernels().dropoutForward(new Float32Array(n).fill(1), n, seed, Math.ceil(p * 2 ** 32), Math.fround(1 / (1 - p)), direct);
    assert.deepEqual(y.data, direct);
  }
});

test('dropout masks are identical on the native and TypeScript backends for the same seed', () => {
  const x = Tensor.from(
    Array.from({ length: 3000 }, (_, i) => (i % 17) - 8),
    [30, 100],
  );
  const ts = withKernels(typescriptKernels(), () => dropout(x, 0.2, new Rng(42), true).data);
  const active = dropout(x, 0.2, new Rng(42), true).data;
  assert.deepEqual(active, ts);
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
  // Accumulating into an existing gradient (x used twice) adds the two contributions.
  const z = Tensor.from([1, 2, 3, 4, 5, 6, 7, 8], [8], true);
  const d = dropout(z, 0.5, new Rng(3), true);
  const both = add(d, z);
  both.backward(new Float32Array(8).fill(1));
  for (let i = 0; i < 8; i++) assert.equal(z.grad![i], d.data[i] === 0 ? 1 : 3);
});

test('dropout rejects a probability outside [0, 1]', () => {
  assert.throws(() => dropout(Tensor.zeros([2]), 1.5, new Rng(1), true), /dropout: probability must be in \[0, 1\], got 1.5/);
  assert.throws(() => dropout(Tensor.zeros([2]), NaN, new Rng(1), true), /got NaN/);
});
