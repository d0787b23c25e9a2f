import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc } from '../../src/metrics/auc.js';
import { rankScores } from '../../src/metrics/sort.js';
import { Rng } from '../../src/engine/random.js';

/** O(n²) Mann–Whitney reference. */
function bruteAuc(s: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0) continue;
      const ww = w ? w[i]! * w[j]! : 1;
      den += ww;
      if (s[i]! > s[j]!) num += ww;
      else if (s[i] === s[j]) num += 0.5 * ww;
    }
  }
  return num / den;
}

test('auc: hand-computed values', () => {
  assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(auc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  assert.equal(auc([4, 3, 2, 1], [0, 0, 1, 1]), 0);
  // Ties: pos {0.5, 0.8}, neg {0.5, 0.2}: pairs 0.5 + 1 + 1 + 1 = 3.5 of 4.
  assert.equal(auc([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1]), 0.875);
  // All scores tied: every pair gets half credit.
  assert.equal(auc([0.3, 0.3, 0.3, 0.3, 0.3], [1, 0, 0, 1, 0]), 0.5);
  // −0 and +0 are one tie group.
  assert.equal(auc([-0, 0], [1, 0]), 0.5);
  // Infinities rank at the ends.
  assert.equal(auc([-Infinity, Infinity, 0], [0, 1, 0]), 1);
  // Typed arrays.
  assert.equal(auc(new Float32Array([0.1, 0.9]), new Uint8Array([0, 1])), 1);
});

test('auc: weights act as repetition counts', () => {
  const s = [0.2, 0.5, 0.5, 0.9, 0.1];
  const y = [0, 1, 0, 1, 0];
  const w = [2, 1, 3, 1, 1];
  const rs: number[] = [];
  const ry: number[] = [];
  s.forEach((v, i) => {
    for (let k = 0; k < w[i]!; k++) {
      rs.push(v);
      ry.push(y[i]!);
    }
  });
  assert.equal(auc(s, y, w), auc(rs, ry));
  assert.equal(auc(s, y, w), bruteAuc(s, y, w));
});

test('auc: single class or empty gives NaN (documented)', () => {
  assert.ok(Number.isNaN(auc([0.1, 0.2], [1, 1])));
  assert.ok(Number.isNaN(auc([0.1, 0.2], [0, 0])));
  assert.ok(Number.isNaN(auc([], [])));
  assert.ok(Number.isNaN(auc([0.1, 0.2], [1, 0], [0, 1])));
});

test('auc: bad input is named', () => {
  assert.throws(() => auc([0.1, 0.2], [1, 2]), /labels\[1\] = 2: expected 0 or 1/);
  assert.throws(() => auc([0.1, NaN], [1, 0]), /scores\[1\] is NaN/);
  assert.throws(() => auc([0.1], [1, 0]), /labels has 2 rows, scores has 1/);
  assert.throws(() => auc([0.1, 0.2], [1, 0], [1, -1]), /weights\[1\] = -1/);
});

test('auc: radix path (large n) equals brute force, float32 and float64 scores with ties', () => {
  const rng = new Rng(11);
  const n = 5000;
  const s64 = new Float64Array(n);
  const s32 = new Float32Array(n);
  const y = new Uint8Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    // Mix of continuous values, negatives, a coarse grid (ties), zeros of both signs.
    const k = i % 4;
    s64[i] = k === 0 ? z : k === 1 ? Math.round(z * 4) / 4 : k === 2 ? -z * 1e-3 : i % 8 === 3 ? -0 : 0;
    s32[i] = s64[i]!;
    y[i] = rng.next() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
    w[i] = 0.5 + rng.next();
  }
  assert.ok(Math.abs(auc(s64, y) - bruteAuc(s64, y)) < 1e-12);
  assert.ok(Math.abs(auc(s32, y) - bruteAuc(s32, y)) < 1e-12);
  assert.ok(Math.abs(auc(s64, y, w) - bruteAuc(s64, y, w)) < 1e-12);
});

test('auc: fast path (non-negative float32 scores, n >= 2048) equals brute force', () => {
  const rng = new Rng(12);
  const n = 4000;
  const s = new Float32Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    // Probabilities with heavy ties (a 0.01 grid), exact zeros of both signs, ones and large values.
    const k = i % 5;
    s[i] =
      k === 0
        ? Math.round(100 / (1 + Math.exp(-z))) / 100
        : k === 1
          ? 1 / (1 + Math.exp(-z))
          : k === 2
            ? i % 10 === 2
              ? -0
              : 0
            : k === 3
              ? 1
              : 1e30 * rng.next();
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  assert.ok(Math.abs(auc(s, y) - bruteAuc(s, y)) < 1e-12);
  assert.ok(Math.abs(auc(Array.from(s), Array.from(y)) - bruteAuc(s, y)) < 1e-12);
  const bad = Array.from(y);
  bad[3000] = 2;
  assert.throws(() => auc(s, bad), /labels\[3000\] = 2/);
  assert.ok(Number.isNaN(auc(s, new Uint8Array(n))));
});

test('rankScores: radix order equals a comparator sort (stable)', () => {
  const rng = new Rng(3);
  for (const n of [10, 3000, 70000]) {
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) s[i] = i % 5 === 0 ? Math.round(rng.normal() * 3) : rng.normal() * 1e6 * (rng.next() - 0.5);
    // Float32 copy (32-bit key path) with −0/+0 and infinities mixed in.
    const s32 = Float32Array.from(s, (v, i) => (i % 97 === 0 ? -0 : i % 89 === 0 ? 0 : i % 101 === 0 ? -Infinity : v));
    for (const x of [s, s32]) {
      const { order, sorted } = rankScores(x);
      const ref = Array.from({ length: n }, (_, i) => i).sort((a, b) => (x[a]! < x[b]! ? -1 : x[a]! > x[b]! ? 1 : a - b));
      assert.deepEqual(Array.from(order), ref);
      assert.deepEqual(
        Array.from(sorted),
        ref.map((i) => x[i]! + 0),
      );
    }
  }
});
