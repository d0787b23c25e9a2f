import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc } from '../../src/metrics/auc.js';
import { logloss } from '../../src/metrics/logloss.js';
import { calibration } from '../../src/metrics/calibration.js';
import { avgAuc, gauc, groupAuc } from '../../src/metrics/gauc.js';
import { evaluate } from '../../src/metrics/evaluate.js';
import { Rng } from '../../src/engine/random.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('gauc: hand-computed, single-class groups skipped', () => {
  // Group 7: 4 rows, AUC 0.75; group 2: 2 rows, AUC 0; group 9: single class (skipped).
  const s = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.5, 0.6];
  const y = [0, 0, 1, 1, 0, 1, 1, 1];
  const g = new Int32Array([7, 7, 7, 7, 2, 2, 9, 9]);
  close(gauc(s, y, g), (4 * 0.75 + 2 * 0) / 6);
  close(avgAuc(s, y, g), 0.375);
  const st = groupAuc(s, y, g);
  assert.equal(st.validGroups, 2);
  assert.equal(st.skippedGroups, 1);
  // Weighted: group weight = total sample weight of the group.
  const w = [1, 1, 1, 1, 5, 5, 1, 1];
  close(gauc(s, y, g, w), (4 * 0.75 + 10 * 0) / 14);
  assert.ok(Number.isNaN(gauc([0.1, 0.2], [1, 1], new Int32Array([1, 2]))));
  assert.throws(() => gauc([0.1, 0.2], [1, 0], new Int32Array([1])), /groups has 1 rows/);
});

test('gauc: large input (radix paths) equals per-group auc', () => {
  const rng = new Rng(5);
  const n = 20000;
  const s = new Float32Array(n);
  const y = new Uint8Array(n);
  const g = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    g[i] = (rng.int(300) - 150) * 1000003;
    const z = rng.normal();
    s[i] = Math.round(z * 20) / 20;
    y[i] = rng.next() < 1 / (1 + Math.exp(-z + (g[i]! % 3))) ? 1 : 0;
  }
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const m = members.get(g[i]!) ?? [];
    m.push(i);
    members.set(g[i]!, m);
  }
  let num = 0;
  let den = 0;
  let sum = 0;
  let valid = 0;
  for (const rows of members.values()) {
    const a = auc(
      rows.map((r) => s[r]!),
      rows.map((r) => y[r]!),
    );
    if (Number.isNaN(a)) continue;
    num += rows.length * a;
    den += rows.length;
    sum += a;
    valid++;
  }
  const st = groupAuc(s, y, g);
  close(st.gauc, num / den, 1e-12);
  close(st.avgAuc, sum / valid, 1e-12);
  assert.equal(st.validGroups, valid);
});

test('evaluate: overall and per-slice values equal the metrics of each subset', () => {
  const rng = new Rng(9);
  const n = 6000;
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  const g = new Int32Array(n);
  const sliceNum = new Int32Array(n);
  const sliceStr: string[] = [];
  for (let i = 0; i < n; i++) {
    const z = rng.normal() - 1;
    p[i] = Math.round(1000 / (1 + Math.exp(-z))) / 1000;
    y[i] = rng.next() < p[i]! ? 1 : 0;
    g[i] = rng.int(100);
    sliceNum[i] = g[i]! % 3;
    sliceStr.push(['low', 'mid', 'high'][rng.int(3)]!);
  }
  const rep = evaluate(p, y, { groups: g, slices: { bucket: sliceNum, activity: sliceStr } });
  close(rep.auc, auc(p, y));
  close(rep.logloss, logloss(p, y));
  close(rep.calibration, calibration(p, y));
  close(rep.gauc!, gauc(p, y, g));
  close(rep.avgAuc!, avgAuc(p, y, g));
  assert.equal(rep.rows, n);
  assert.deepEqual(Object.keys(rep.slices!.activity!), ['high', 'low', 'mid']);
  assert.deepEqual(Object.keys(rep.slices!.bucket!), ['0', '1', '2']);
  for (const [col, values] of [
    ['bucket', sliceNum],
    ['activity', sliceStr],
  ] as const) {
    for (const [name, m] of Object.entries(rep.slices![col]!)) {
      const rows: number[] = [];
      for (let i = 0; i < n; i++) if (String(values[i]) === name) rows.push(i);
      const sp = rows.map((r) => p[r]!);
      const sy = rows.map((r) => y[r]!);
      const sg = new Int32Array(rows.map((r) => g[r]!));
      assert.equal(m.rows, rows.length);
      assert.equal(
        m.positives,
        sy.reduce((a, b) => a + b, 0),
      );
      close(m.auc, auc(sp, sy));
      close(m.logloss, logloss(sp, sy));
      close(m.calibration, calibration(sp, sy));
      close(m.gauc!, gauc(sp, sy, sg));
      close(m.avgAuc!, avgAuc(sp, sy, sg));
    }
  }
});

test('evaluate: bad input', () => {
  assert.throws(() => evaluate([0.5, 2], [1, 0]), /probs\[1\] = 2/);
  assert.throws(() => evaluate([0.5, 0.2], [1, 0], { slices: { a: ['x'] } }), /slices.a has 1 rows/);
});
