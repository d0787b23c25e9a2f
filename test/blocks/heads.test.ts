import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { bceWithLogits } from '../../src/engine/ops/index.js';
import { Rng } from '../../src/engine/random.js';
import { productLogit } from '../../src/blocks/heads/product-logit.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const sig = (z: number) => 1 / (1 + Math.exp(-z));

test('productLogit: σ(logit) is σ(a)·σ(b), and BCE on it equals the closed-form probability-space BCE of the product', () => {
  const a = [-3, -0.5, 0, 1.2, 4, 8, -12, 20];
  const b = [2, -1, 0.3, 0, -6, 8, 5, 20];
  const y = [1, 0, 1, 0, 1, 0, 0, 1];
  const z = noGrad(() => productLogit(Tensor.from(a), Tensor.from(b)));
  a.forEach((ai, i) => {
    const p = sig(ai) * sig(b[i]!);
    // logit(p) = ln p − ln(1 − p), here evaluated directly in float64 where that is accurate.
    const want = Math.log(p) - Math.log(1 - p);
    assert.ok(Math.abs(z.data[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${i}: ${z.data[i]} vs ${want}`);
  });
  const loss = noGrad(() => bceWithLogits(z, y)).item();
  const closed =
    -a.reduce((s, ai, i) => {
      const p = sig(ai) * sig(b[i]!);
      return s + (y[i] === 1 ? Math.log(p) : Math.log(1 - p));
    }, 0) / a.length;
  assert.ok(Math.abs(loss - closed) < 1e-5, `BCE ${loss} vs closed form ${closed}`);
});

test('productLogit stays finite and accurate where p is within 1e-12 of 0 or 1', () => {
  const z = noGrad(() => productLogit(Tensor.from([30, -30, 40]), Tensor.from([30, -30, 35])));
  // p = σ(30)², 1 − p ≈ 2e^−30: logit ≈ 30 − ln 2.
  assert.ok(Math.abs(z.data[0]! - (30 - Math.LN2)) < 1e-4, `${z.data[0]}`);
  // p ≈ e^−60: logit ≈ −60.
  assert.ok(Math.abs(z.data[1]! + 60) < 1e-4, `${z.data[1]}`);
  // 1 − p ≈ e^−40 + e^−35 (below float64 resolution around 1): logit = −ln(e^−40 + e^−35).
  assert.ok(Math.abs(z.data[2]! + Math.log(Math.exp(-40) + Math.exp(-35))) < 1e-4, `${z.data[2]}`);
  for (const v of z.data) assert.ok(Number.isFinite(v));
});

test('productLogit: gradients match finite differences and the closed form σ(−a)/(1 − p)', () => {
  const a = randTensor(new Rng(1), [7], 3);
  const b = randTensor(new Rng(2), [7], 3);
  gradcheck(([x, y]) => productLogit(x!, y!), [a, b]);
  a.grad = null;
  b.grad = null;
  productLogit(a, b).backward(new Float32Array(7).fill(1));
  for (let i = 0; i < 7; i++) {
    const p = sig(a.data[i]!) * sig(b.data[i]!);
    assert.ok(Math.abs(a.grad![i]! - sig(-a.data[i]!) / (1 - p)) < 1e-5);
    assert.ok(Math.abs(b.grad![i]! - sig(-b.data[i]!) / (1 - p)) < 1e-5);
  }
  assert.throws(() => productLogit(Tensor.from([1, 2]), Tensor.from([1])), /productLogit/);
});
