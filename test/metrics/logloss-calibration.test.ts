import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logloss } from '../../src/metrics/logloss.js';
import { calibration, calibrationStats } from '../../src/metrics/calibration.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('logloss: hand-computed values', () => {
  close(logloss([0.5, 0.5], [1, 0]), Math.LN2);
  close(logloss([0.8, 0.1], [1, 0]), -(Math.log(0.8) + Math.log(0.9)) / 2);
  // Weighted mean.
  close(logloss([0.8, 0.1], [1, 0], [3, 1]), -(3 * Math.log(0.8) + Math.log(0.9)) / 4);
});

test('logloss: clipping at eps', () => {
  close(logloss([0], [1]), -Math.log(1e-7));
  close(logloss([1], [0]), -Math.log(1 - (1 - 1e-7)));
  close(logloss([0, 1], [0, 1]), -Math.log(1 - 1e-7));
  close(logloss([0], [1], undefined, 1e-3), -Math.log(1e-3));
});

test('logloss: bad input', () => {
  assert.throws(() => logloss([1.2], [1]), /probs\[0\] = 1.2/);
  assert.throws(() => logloss([NaN], [1]), /probs\[0\] = NaN/);
  assert.throws(() => logloss([0.5], [0.5]), /labels\[0\] = 0.5/);
  assert.throws(() => logloss([0.5], [1], undefined, 0), /eps = 0/);
  assert.ok(Number.isNaN(logloss([], [])));
});

test('calibration: mean prediction / positive rate', () => {
  close(calibration([0.2, 0.4, 0.3, 0.1], [0, 1, 0, 0]), 0.25 / 0.25);
  close(calibration([0.5, 0.5], [1, 0]), 1);
  close(calibration([0.6, 0.6], [1, 0]), 1.2);
  const st = calibrationStats([0.6, 0.2], [1, 0], [1, 3]);
  close(st.meanPrediction, (0.6 + 0.6) / 4);
  close(st.positiveRate, 0.25);
  close(st.calibration, 1.2);
  assert.equal(calibration([0.1], [0]), Infinity);
});
