import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { rankOrder, comparatorRankOrder } from '../../src/serve/rank-order.js';

/** The obvious order: indices sorted by (score descending, NaN last, index ascending), −0 == +0. */
function naive(scores: Float32Array): number[] {
  const idx = Array.from(scores, (_, i) => i);
  const key = (i: number) => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
  return idx.sort((a, b) => {
    const na = Number.isNaN(scores[a]!),
      nb = Number.isNaN(scores[b]!);
    if (na !== nb) return na ? 1 : -1;
    return key(b) - key(a) || a - b;
  });
}

test('rankOrder: the naive order on random scores with many ties, NaN, ±0, ±Inf, subnormals and negatives', () => {
  const rng = new Rng(3);
  const specials = [NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 1, -1, 3.4e38, -3.4e38, 0.5];
  for (const n of [0, 1, 2, 3, 17, 100, 1000, 5000]) {
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      // a third from a small set (ties), a tenth special values, the rest random probabilities
      s[i] = u < 0.33 ? Math.floor(rng.next() * 5) / 4 : u < 0.43 ? specials[Math.floor(rng.next() * specials.length)]! : rng.next();
    }
    const want = naive(s);
    assert.deepEqual(Array.from(rankOrder(s)), want, `n=${n}`);
    assert.deepEqual(Array.from(comparatorRankOrder(s)), want, `n=${n} (comparator)`);
  }
});

test('rankOrder: scores one float32 step apart keep their order; equal scores keep request order', () => {
  const a = Math.fround(0.7);
  const up = new Float32Array([a]);
  new Uint32Array(up.buffer)[0]! += 1; // the next float32 above 0.7
  const s = new Float32Array([a, up[0]!, a, 0.1, up[0]!]);
  assert.deepEqual(Array.from(rankOrder(s)), [1, 4, 0, 2, 3]);
});
