/**
 * The native gradient-boosting kernels (native/gbdt.cc) against their TypeScript twins
 * (src/gbdt/kernels-ts.ts): identical histograms (bit for bit) and partitions on random data
 * with 16- and 32-bit slot matrices, feature subsets and missing slots, identical boosters
 * end to end, and range errors from the native side. Without the addon the comparisons are
 * skipped (the TypeScript kernels are still checked by booster.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeGbdtKernels, setGbdtKernels, typescriptGbdtKernels, type GbdtKernels } from '../../src/gbdt/kernels.js';
import { Booster } from '../../src/gbdt/booster.js';
import type { FeatureMatrix } from '../../src/gbdt/matrix.js';

const loaded = loadNativeGbdtKernels();
const native: GbdtKernels | null = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native gbdt kernels unavailable: ${(loaded as { error: string }).error}` : false;
const ts = typescriptGbdtKernels;

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i}: native ${a[i]} vs TypeScript ${b[i]}`);
}

test('histogram and partition: native equals TypeScript', { skip }, () => {
  const rng = new Rng(3);
  for (const wide of [false, true]) {
    const n = 5000,
      F = 7,
      slotsPerF = 40;
    const total = F * slotsPerF;
    const binned = wide ? new Uint32Array(n * F) : new Uint16Array(n * F);
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) binned[r * F + f] = f * slotsPerF + rng.int(slotsPerF);
    const g = new Float32Array(n).map(() => rng.normal() * 10 ** rng.int(4));
    const h = new Float32Array(n).map(() => rng.next());
    const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    for (const features of [null, Int32Array.from([0, 3, 6])]) {
      const a = new Float64Array(total * 2).fill(7),
        b = new Float64Array(total * 2);
      native!.histogram(a, binned, F, rows, 100, 4000, g, h, features);
      ts.histogram(b, binned, F, rows, 100, 4000, g, h, features);
      sameBits(a, b, `histogram wide=${wide} features=${features}`);
    }
    for (const [feature, bin, defaultLeft] of [
      [2, 10, true],
      [5, 39, false],
      [0, 0, false],
    ] as const) {
      const ra = rows.slice(),
        rb = rows.slice();
      const na = native!.partition(ra, 50, 4500, binned, F, feature, feature * slotsPerF, slotsPerF - 1, bin, defaultLeft, new Int32Array(n));
      const nb = ts.partition(rb, 50, 4500, binned, F, feature, feature * slotsPerF, slotsPerF - 1, bin, defaultLeft, new Int32Array(n));
      assert.equal(na, nb);
      sameBits(ra, rb, `partition ${feature}/${bin}`);
    }
  }
  assert.throws(
    () =>
      native!.histogram(
        new Float64Array(4),
        new Uint16Array([0, 5]),
        1,
        Int32Array.from([0, 1]),
        0,
        2,
        new Float32Array(2),
        new Float32Array(2),
        null,
      ),
    /gbdtHistogram: a row index or slot is out of range/,
  );
  assert.throws(
    () => native!.partition(Int32Array.from([0, 9]), 0, 2, new Uint16Array(2), 1, 0, 0, 1, 0, true, new Int32Array(2)),
    /gbdtPartition: a row index is out of range/,
  );
  assert.throws(
    () =>
      native!.histogram(
        new Float64Array(4),
        new Float32Array(2) as never,
        1,
        Int32Array.from([0]),
        0,
        1,
        new Float32Array(2),
        new Float32Array(2),
        null,
      ),
    /binned must be a Uint16Array or Uint32Array/,
  );
});

test('a booster trained with native kernels equals one trained with TypeScript kernels', { skip }, () => {
  const rng = new Rng(8);
  const n = 3000;
  const cols = Array.from({ length: 5 }, () => new Float32Array(n).map(() => (rng.next() < 0.1 ? NaN : rng.normal())));
  const y = Array.from(cols[0]!, (v, r) => (rng.next() < (v > 0 || cols[1]![r]! < -0.5 ? 0.7 : 0.2) ? 1 : 0));
  const m: FeatureMatrix = { rows: n, names: cols.map((_, i) => `x${i}`), columns: cols };
  const fit = (k: GbdtKernels) => {
    setGbdtKernels(k);
    try {
      return Booster.fit(m, { y }, { n_estimators: 10, max_depth: 4, subsample: 0.8, colsample_bytree: 0.6, random_state: 2 }).booster;
    } finally {
      setGbdtKernels(null);
    }
  };
  sameBits(fit(native!).nodes, fit(ts).nodes, 'packed trees');
});
