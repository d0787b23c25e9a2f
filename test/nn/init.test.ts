import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import {
  zeros,
  normal,
  uniform,
  xavierNormal,
  xavierUniform,
  fillNormal,
  fillUniform,
  xavierNormalStd,
  xavierUniformBound,
  fansOf,
} from '../../src/nn/init.js';

function stats(a: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0,
    s2 = 0,
    min = Infinity,
    max = -Infinity;
  for (const x of a) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min, max };
}

test('normal and uniform draw the requested distributions, reproducibly by seed', () => {
  const t = normal(Tensor.zeros([200, 100]), 0.5, new Rng(1), 2);
  const st = stats(t.data);
  assert.ok(Math.abs(st.mean - 2) < 0.01 && Math.abs(st.std - 0.5) < 0.01, JSON.stringify(st));
  // Shape of the distribution, not only its moments: P(|z| < 1) ≈ 0.6827, P(|z| < 2) ≈ 0.9545.
  let in1 = 0,
    in2 = 0;
  for (const x of t.data) {
    const z = Math.abs(x - 2) / 0.5;
    if (z < 1) in1++;
    if (z < 2) in2++;
  }
  assert.ok(Math.abs(in1 / t.size - 0.6827) < 0.005 && Math.abs(in2 / t.size - 0.9545) < 0.003, `${in1 / t.size}, ${in2 / t.size}`);
  const odd = fillNormal(new Float32Array(7), 1, new Rng(4));
  assert.ok(
    odd.every((x) => Number.isFinite(x) && x !== 0),
    'odd lengths are filled completely',
  );
  const u = uniform(Tensor.zeros([20000]), -3, 1, new Rng(2));
  const su = stats(u.data);
  assert.ok(su.min >= -3 && su.max < 1 && su.min < -2.99 && su.max > 0.99);
  assert.ok(Math.abs(su.mean + 1) < 0.03 && Math.abs(su.std - 4 / Math.sqrt(12)) < 0.02);
  assert.deepEqual(fillNormal(new Float32Array(50), 1, new Rng(9)), fillNormal(new Float32Array(50), 1, new Rng(9)));
  assert.notDeepEqual(fillUniform(new Float32Array(50), 0, 1, new Rng(9)), fillUniform(new Float32Array(50), 0, 1, new Rng(10)));
  assert.ok(zeros(Tensor.full([3, 3], 7)).data.every((x) => x === 0));
  assert.throws(() => normal(Tensor.zeros([2]), -1, new Rng(1)), /std must be >= 0/);
  assert.throws(() => uniform(Tensor.zeros([2]), 1, 0, new Rng(1)), /lo <= hi/);
});

test('Xavier normal and uniform: Glorot formulas, fans from [in, out] or explicit', () => {
  assert.equal(xavierNormalStd(400, 100), Math.sqrt(2 / 500));
  assert.equal(xavierUniformBound(30, 70), Math.sqrt(6 / 100));
  assert.deepEqual(fansOf([429, 400]), [429, 400]);
  assert.deepEqual(fansOf([2, 3, 4], 12, 8), [12, 8]);
  assert.throws(() => fansOf([2, 3, 4]), /infers fans only from a 2-D \[in, out\] shape, got \[2, 3, 4\]/);
  const w = xavierNormal(Tensor.zeros([300, 200]), new Rng(3));
  const sw = stats(w.data);
  assert.ok(Math.abs(sw.std - Math.sqrt(2 / 500)) < 0.002 && Math.abs(sw.mean) < 0.001, JSON.stringify(sw));
  const v = xavierUniform(Tensor.zeros([300, 200]), new Rng(4));
  const sv = stats(v.data),
    a = Math.sqrt(6 / 500);
  assert.ok(sv.max <= a && sv.min >= -a && sv.max > 0.99 * a, JSON.stringify(sv));
  const e = xavierNormal(Tensor.zeros([1000]), new Rng(5), 10, 40);
  assert.ok(Math.abs(stats(e.data).std - Math.sqrt(2 / 50)) < 0.01);
  assert.throws(() => xavierNormal(Tensor.zeros([0, 0]), new Rng(1)), /positive sum/);
});
