import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { auc, bootstrapAucDiff } from '../../src/metrics/index.js';

/** Weighted Mann–Whitney AUC by the double sum (the naive reference). */
function naiveAuc(s: number[], y: number[], w: number[]): number {
  let num = 0,
    wp = 0,
    wn = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] === 1) wp += w[i]!;
    else wn += w[i]!;
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) if (y[j] === 0) num += w[i]! * w[j]! * (s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0);
  }
  return num / (wp * wn);
}

function data(n: number, seed: number) {
  const rng = new Rng(seed);
  const y: number[] = [],
    a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < n; i++) {
    const yi = rng.next() < 0.3 ? 1 : 0;
    y.push(yi);
    a.push(Math.round((yi + rng.normal(0, 1)) * 4) / 4); // ties on purpose
    b.push(yi * 0.5 + rng.normal(0, 1));
  }
  return { y, a, b };
}

test('bootstrapAucDiff: the difference and its standard error equal a naive Poisson bootstrap with the same draws', () => {
  const { y, a, b } = data(80, 3);
  const R = 30;
  const got = bootstrapAucDiff(a, b, y, R, 9);
  assert.ok(Math.abs(got.diff - (auc(a, y) - auc(b, y))) < 1e-12);
  // The same Poisson(1) draws, row by row, then the double-sum AUCs.
  const rng = new Rng(9);
  const diffs: number[] = [];
  for (let r = 0; r < R; r++) {
    const w = y.map(() => {
      const u = rng.next();
      let k = 0,
        p = Math.exp(-1),
        c = p;
      while (u > c && k < 20) {
        k++;
        p /= k;
        c += p;
      }
      return k;
    });
    diffs.push(naiveAuc(a, y, w) - naiveAuc(b, y, w));
  }
  const mean = diffs.reduce((s, d) => s + d, 0) / R;
  const se = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (R - 1));
  assert.equal(got.resamples, R);
  assert.ok(Math.abs(got.se - se) < 1e-9, `${got.se} vs ${se}`);
});

test('bootstrapAucDiff: zero for one scorer against itself; shrinks like 1/√n; refuses mismatched lengths', () => {
  const small = data(2000, 5),
    big = data(8000, 5);
  assert.equal(bootstrapAucDiff(small.a, small.a, small.y, 20).se, 0);
  const s1 = bootstrapAucDiff(small.a, small.b, small.y, 100).se;
  const s4 = bootstrapAucDiff(big.a, big.b, big.y, 100).se;
  assert.ok(s1 > 0 && s4 > 0);
  assert.ok(s1 / s4 > 1.4 && s1 / s4 < 2.8, `se ratio ${s1 / s4} for 4× the rows (≈ 2 expected)`);
  assert.throws(() => bootstrapAucDiff([0.1, 0.2], [0.3], [0, 1]), /rows/);
  assert.throws(() => bootstrapAucDiff([0.1, 0.2], [0.3, 0.1], [0, 1], 1), /resamples/);
});
