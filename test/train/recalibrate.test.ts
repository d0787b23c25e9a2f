import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interceptShift } from '../../src/train/recalibrate.js';
import { calibratedProbabilities } from '../../src/metrics/calibration.js';
import { Rng } from '../../src/engine/random.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Naive reference: bisection on Σ w·σ(z + δ) − Σ w·y over [−50, 50], 200 halvings. */
function bisectShift(z: number[], y: number[], w: number[]): number {
  const f = (d: number) => z.reduce((s, zi, i) => s + w[i]! * (sigmoid(zi + d) - y[i]!), 0);
  let lo = -50,
    hi = 50;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > 0) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

test('interceptShift equals a bisection reference, with and without weights, far from and near the answer', () => {
  const rng = new Rng(7);
  for (const [n, bias, rate] of [
    [50, 0, 0.3],
    [400, 3, 0.05],
    [400, -4, 0.6],
    [7, 0.5, 0.5],
  ] as const) {
    const z: number[] = [],
      y: number[] = [],
      w: number[] = [];
    for (let i = 0; i < n; i++) {
      z.push(bias + 2 * (rng.next() - 0.5));
      y.push(i === 0 ? 1 : i === 1 ? 0 : rng.next() < rate ? 1 : 0);
      w.push(0.25 + 4 * rng.next());
    }
    const ones = z.map(() => 1);
    assert.ok(Math.abs(interceptShift(z, y) - bisectShift(z, y, ones)) < 1e-9, `n ${n} bias ${bias} unweighted`);
    const d = interceptShift(z, y, w);
    assert.ok(Math.abs(d - bisectShift(z, y, w)) < 1e-9, `n ${n} bias ${bias} weighted`);
    // After the shift the weighted mean prediction is the weighted observed rate.
    const sw = w.reduce((s, x) => s + x, 0);
    const mp = z.reduce((s, zi, i) => s + w[i]! * sigmoid(zi + d), 0) / sw;
    const my = y.reduce((s, yi, i) => s + w[i]! * yi, 0) / sw;
    assert.ok(Math.abs(mp - my) < 1e-10);
  }
});

test('interceptShift: hand-computed case and refusals', () => {
  // Two rows with logit 0, one positive: already calibrated → δ = 0; all logits ln 3 with rate 1/2 → δ = −ln 3.
  assert.ok(Math.abs(interceptShift([0, 0], [1, 0])) < 1e-12);
  assert.ok(Math.abs(interceptShift([Math.log(3), Math.log(3)], [1, 0]) + Math.log(3)) < 1e-12);
  // Weights: rate 1/4 (weight 3 on the negative) from logit 0 → δ = ln(1/3).
  assert.ok(Math.abs(interceptShift([0, 0], [1, 0], [1, 3]) - Math.log(1 / 3)) < 1e-12);
  assert.throws(() => interceptShift([0, 1], [0, 0]), /both classes/);
  assert.throws(() => interceptShift([0, 1], [1, 1]), /both classes/);
  assert.throws(() => interceptShift([0], [1], [0]), /positive weight/);
});

test('calibratedProbabilities adds the logit offset: σ(z + ln w + δ)', () => {
  const z = Float32Array.of(-3, -0.5, 0, 2.5);
  const p = calibratedProbabilities(z, 0.25, 0.7);
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(p[i]! - sigmoid(z[i]! + Math.log(0.25) + 0.7)) < 1e-7);
  const q = calibratedProbabilities(z, 1, -1.2);
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(q[i]! - sigmoid(z[i]! - 1.2)) < 1e-7);
});
