import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { auc } from '../../src/metrics/auc.js';
import { clickConversionReport, softLabelAuc } from '../../src/metrics/click-conversion.js';

/** Σ_{i≠j} p_i(1−p_j)([s_i>s_j] + ½[s_i=s_j]) / Σ_{i≠j} p_i(1−p_j), over explicit pairs. */
function bruteSoftAuc(s: number[], p: number[]): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = 0; j < s.length; j++) {
      if (i === j) continue;
      const w = p[i]! * (1 - p[j]!);
      den += w;
      num += w * (s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0);
    }
  }
  return num / den;
}

test('softLabelAuc equals the explicit pair sum (ties included), and the ordinary AUC on 0/1 probabilities', () => {
  const rng = new Rng(3);
  for (const n of [2, 7, 60]) {
    const s = Array.from({ length: n }, () => Math.round(rng.uniform(0, 10)) / 10); // many ties
    const p = Array.from({ length: n }, () => rng.next());
    const got = softLabelAuc(s, p);
    const want = bruteSoftAuc(s, p);
    assert.ok(Math.abs(got - want) < 1e-12, `n=${n}: ${got} vs brute force ${want}`);
  }
  const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.2];
  const y = [0, 0, 1, 1, 1, 0];
  assert.ok(Math.abs(softLabelAuc(s, y) - auc(s, y)) < 1e-12);
  // Scores equal to the probabilities beat a reversed ranking.
  const p = [0.05, 0.2, 0.5, 0.7, 0.9];
  assert.ok(
    softLabelAuc(p, p) > 0.5 &&
      softLabelAuc(
        p.map((v) => -v),
        p,
      ) < 0.5,
  );
  assert.ok(Number.isNaN(softLabelAuc([1, 2], [1, 1])));
  assert.throws(() => softLabelAuc([1, 2], [0.5, 1.5]), /probability in \[0, 1\]/);
});

test('clickConversionReport: CTR AUC on all rows, CVR AUC on clicked rows, CVR over the entire space against the truth, CTCVR AUC of the product', () => {
  const click = [1, 1, 1, 0, 0, 1, 0, 1];
  const conv = [1, 0, 0, 0, 0, 1, 0, 0];
  const pctr = [0.9, 0.6, 0.7, 0.2, 0.3, 0.8, 0.65, 0.4];
  const pcvr = [0.5, 0.1, 0.3, 0.9, 0.05, 0.2, 0.4, 0.25];
  const truth = [0.6, 0.2, 0.1, 0.7, 0.1, 0.3, 0.5, 0.2];
  const r = clickConversionReport({ pctr, pcvr }, click, conv, truth);
  assert.equal(r.rows, 8);
  assert.equal(r.clicks, 5);
  assert.equal(r.ctrAuc, auc(pctr, click));
  // Clicked rows 0,1,2,5,7: pcvr 0.5,0.1,0.3,0.2,0.25 with conversions at rows 0 and 5:
  // positives 0.5 (beats all 3 negatives) and 0.2 (beats 0.1 only) → 4 of 6 pairs.
  assert.ok(Math.abs(r.cvrAucClicked - 4 / 6) < 1e-12);
  assert.ok(Math.abs(r.cvrAucEntireSpace - bruteSoftAuc(pcvr, truth)) < 1e-12);
  assert.equal(
    r.ctcvrAuc,
    auc(
      pctr.map((v, i) => v * pcvr[i]!),
      conv,
    ),
  );
  assert.ok(Number.isNaN(clickConversionReport({ pctr, pcvr }, click, conv).cvrAucEntireSpace));
  assert.throws(() => clickConversionReport({ pctr, pcvr }, click, [0, 0, 0, 1, 0, 0, 0, 0]), /row 3 has a conversion without a click/);
  assert.throws(() => clickConversionReport({ pctr, pcvr: [0.1] }, click, conv), /pcvr has 1 rows, the click labels 8/);
});
