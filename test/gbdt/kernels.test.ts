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
import { BinMapper } from '../../src/gbdt/binning.js';
import { deterministicExp } from '../../src/gbdt/exp.js';
import type { FeatureMatrix } from '../../src/gbdt/matrix.js';
import { HISTOGRAM_BLOCK_ROWS } from '../../src/gbdt/kernels-ts.js';

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
  for (const width of [8, 16, 32]) {
    const n = 5000,
      F = 7,
      slotsPerF = 40;
    const total = F * slotsPerF;
    // 8-bit: local bins with feature offsets; 16/32-bit: global slots.
    const local = width === 8;
    const offsets = local ? Int32Array.from({ length: F }, (_, f) => f * slotsPerF) : null;
    const binned = width === 8 ? new Uint8Array(n * F) : width === 16 ? new Uint16Array(n * F) : new Uint32Array(n * F);
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) binned[r * F + f] = (local ? 0 : f * slotsPerF) + rng.int(slotsPerF);
    const g = new Float32Array(n).map(() => rng.normal() * 10 ** rng.int(4));
    const h = new Float32Array(n).map(() => rng.next());
    const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    // 8-bit: also with 256 spare slots (as the booster allocates), where every slot an entry
    // can name is inside the histogram and the native loop runs unchecked and unrolled.
    for (const spare of local ? [0, 256] : [0]) {
      for (const features of [null, Int32Array.from([0, 3, 6])]) {
        const b = new Float64Array((total + spare) * 2);
        ts.histogram(b, binned, offsets, F, rows, 100, 4000, g, h, features, 1);
        // 3900 rows × 7 features is below the kernel's parallel threshold: 20 000 rows are not.
        for (const threads of [1, 2, 3]) {
          const a = new Float64Array((total + spare) * 2).fill(7);
          native!.histogram(a, binned, offsets, F, rows, 100, 4000, g, h, features, threads);
          sameBits(a, b, `histogram ${width}-bit spare=${spare} features=${features} threads=${threads}`);
        }
      }
    }
    for (const [feature, bin, defaultLeft] of [
      [2, 10, true],
      [5, 39, false],
      [0, 0, false],
    ] as const) {
      const ra = rows.slice(),
        rb = rows.slice();
      const off = local ? 0 : feature * slotsPerF;
      const na = native!.partition(ra, 50, 4500, binned, F, feature, off, slotsPerF - 1, bin, defaultLeft, new Int32Array(n), 1);
      const nb = ts.partition(rb, 50, 4500, binned, F, feature, off, slotsPerF - 1, bin, defaultLeft, new Int32Array(n), 1);
      assert.equal(na, nb);
      sameBits(ra, rb, `partition ${feature}/${bin}`);
    }
  }
  assert.throws(
    () =>
      native!.histogram(
        new Float64Array(4),
        new Uint16Array([0, 5]),
        null,
        1,
        Int32Array.from([0, 1]),
        0,
        2,
        new Float32Array(2),
        new Float32Array(2),
        null,
        1,
      ),
    /gbdtHistogram: a row index or slot is out of range/,
  );
  assert.throws(
    () => native!.partition(Int32Array.from([0, 9]), 0, 2, new Uint16Array(2), 1, 0, 0, 1, 0, true, new Int32Array(2), 1),
    /gbdtPartition: a row index is out of range/,
  );
  assert.throws(
    () =>
      native!.histogram(
        new Float64Array(4),
        new Float32Array(2) as never,
        null,
        1,
        Int32Array.from([0]),
        0,
        1,
        new Float32Array(2),
        new Float32Array(2),
        null,
        1,
      ),
    /binned must be a Uint8Array, Uint16Array or Uint32Array/,
  );
});

test('histogram on many threads: every thread count gives the single-thread sums bit for bit (one block and several)', { skip }, () => {
  const rng = new Rng(4);
  const F = 13,
    slotsPerF = 100;
  // 30,000 rows: one block (feature-parallel threads); 150,000: three blocks of HISTOGRAM_BLOCK_ROWS (row-parallel).
  for (const n of [30000, 2 * HISTOGRAM_BLOCK_ROWS + 17000]) {
    const binned = new Uint16Array(n * F);
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) binned[r * F + f] = f * slotsPerF + rng.int(slotsPerF);
    const g = new Float32Array(n).map(() => rng.normal() * 10 ** rng.int(4));
    const h = new Float32Array(n).map(() => rng.next());
    const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    for (const features of [null, Int32Array.from([1, 2, 5, 8, 12])]) {
      const want = new Float64Array(F * slotsPerF * 2);
      ts.histogram(want, binned, null, F, rows, 7, n - 3, g, h, features, 1);
      // The blocked sums against one plain float64 pass (equal up to the order of additions).
      const plain = new Float64Array(want.length);
      for (let k = 7; k < n - 3; k++) {
        const r = rows[k]!;
        for (const f of features ?? Array.from({ length: F }, (_, j) => j)) {
          const s = binned[r * F + f]! * 2;
          plain[s] = plain[s]! + g[r]!;
          plain[s + 1] = plain[s + 1]! + h[r]!;
        }
      }
      for (let s = 0; s < want.length; s++) assert.ok(Math.abs(want[s]! - plain[s]!) <= 1e-9 * (1 + Math.abs(plain[s]!)), `n=${n} slot ${s}`);
      for (const threads of [1, 2, 4, 16]) {
        const got = new Float64Array(F * slotsPerF * 2);
        native!.histogram(got, binned, null, F, rows, 7, n - 3, g, h, features, threads);
        sameBits(got, want, `n=${n} threads=${threads} features=${features}`);
      }
    }
  }
});

test('partition on many threads: every thread count gives the single-thread order (stable, by hand on a small case)', { skip }, () => {
  // By hand: bins [3, 0, 5, 1, 9(missing), 2] split at bin ≤ 2, missing goes right → lefts 1, 3, 5 then rights 0, 2, 4.
  const small = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const at = native!.partition(small, 0, 6, Uint8Array.from([3, 0, 5, 1, 9, 2]), 1, 0, 0, 9, 2, false, new Int32Array(6), 1);
  assert.equal(at, 3);
  assert.deepEqual(Array.from(small), [1, 3, 5, 0, 2, 4]);
  const rng = new Rng(6);
  const n = 100_000,
    F = 3;
  const binned = new Uint8Array(n * F).map(() => rng.int(20));
  const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const want = rows.slice();
  const mid = ts.partition(want, 11, n - 5, binned, F, 1, 0, 19, 8, true, new Int32Array(n), 1);
  for (const threads of [1, 2, 3, 8]) {
    const got = rows.slice();
    assert.equal(native!.partition(got, 11, n - 5, binned, F, 1, 0, 19, 8, true, new Int32Array(n), threads), mid);
    sameBits(got, want, `partition threads=${threads}`);
  }
});

test('logistic gradients and leaf-value margin updates: native equals TypeScript on any thread count; e^x within 2 ulp of Math.exp', { skip }, () => {
  const rng = new Rng(7);
  const n = 50_000;
  // Margins over the whole range, the clamps (±700 and beyond) included.
  const margin = new Float64Array(n).map((_, i) => (i < 4 ? [-800, 800, 700.5, -36][i]! : rng.normal() * 10 ** rng.int(3)));
  const y = new Float32Array(n).map(() => (rng.next() < 0.3 ? 1 : 0));
  const weight = new Float64Array(n).map(() => rng.next() * 3);
  for (const w of [null, weight]) {
    const gw = new Float32Array(n),
      hw = new Float32Array(n);
    ts.logisticGradients(margin, y, w, gw, hw, 1);
    for (const threads of [1, 2, 5]) {
      const g = new Float32Array(n),
        h = new Float32Array(n);
      native!.logisticGradients(margin, y, w, g, h, threads);
      sameBits(g, gw, `g weighted=${w !== null} threads=${threads}`);
      sameBits(h, hw, `h weighted=${w !== null} threads=${threads}`);
    }
    // Against the formula with Math.exp: float32 values within one float32 ulp-ish (relative 1e-6).
    for (let i = 4; i < n; i += 97) {
      const p = 1 / (1 + Math.exp(-margin[i]!));
      const wi = w === null ? 1 : w[i]!;
      assert.ok(Math.abs(gw[i]! - wi * (p - y[i]!)) <= 1e-6 * Math.max(1e-30, Math.abs(wi * (p - y[i]!))) + 1e-45, `g at ${i}`);
      assert.ok(Math.abs(hw[i]! - wi * Math.max(p * (1 - p), 1e-16)) <= 1e-6 * wi * Math.max(p * (1 - p), 1e-16), `h at ${i}`);
    }
  }
  for (let i = 0; i < 2000; i++) {
    const x = (rng.next() - 0.5) * 1400;
    const a = deterministicExp(x),
      b = Math.exp(x);
    assert.ok(Math.abs(a - b) <= 4.5e-16 * b, `exp(${x}): ${a} vs ${b}`);
  }
  assert.equal(deterministicExp(0), 1);
  assert.equal(deterministicExp(-1000), deterministicExp(-700));
  // Leaf values: rows split into 40 leaf ranges of a permutation.
  const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const cuts = Array.from({ length: 39 }, () => rng.int(n)).sort((a, b) => a - b);
  const leafStart = Int32Array.from([0, ...cuts]),
    leafEnd = Int32Array.from([...cuts, n]);
  const values = new Float64Array(40).map(() => rng.normal());
  const want = margin.slice();
  ts.addLeafValues(want, rows, leafStart, leafEnd, values, 1);
  for (const threads of [1, 3]) {
    const got = margin.slice();
    native!.addLeafValues(got, rows, leafStart, leafEnd, values, threads);
    sameBits(got, want, `leaf values threads=${threads}`);
  }
  // By hand: row 9 is in exactly one range, so it moves by that leaf's value.
  const k9 = rows.indexOf(9);
  const leaf9 = leafStart.findIndex((s, i) => s <= k9 && k9 < leafEnd[i]!);
  assert.equal(want[9], margin[9]! + values[leaf9]!);
  assert.throws(
    () => native!.addLeafValues(new Float64Array(2), Int32Array.from([0, 5]), Int32Array.from([0]), Int32Array.from([2]), new Float64Array(1), 1),
    /gbdtAddLeafValues: rows\[1\] is outside margin/,
  );
  assert.throws(
    () => native!.logisticGradients(new Float64Array(3), new Float32Array(2), null, new Float32Array(3), new Float32Array(3), 1),
    /gbdtLogisticGradients: margin, y, g, h \(and weight\) need the same length/,
  );
});

test('binning: native slots equal TypeScript ones (float and integer columns, NaN, values above every bound)', { skip }, () => {
  const rng = new Rng(5);
  for (const width of [8, 16, 32]) {
    const n = 5000;
    const columns = [
      new Float32Array(n).map(() => (rng.next() < 0.2 ? NaN : rng.normal() * 3)),
      Int32Array.from({ length: n }, () => rng.int(50) - 10),
      new Float32Array(n).map(() => rng.int(4)),
    ];
    const uppers = [Float32Array.from([-2, -0.5, 0, 0.25, 1.5]), Float32Array.from([0, 5, 10.5, 20]), new Float32Array(0)];
    const offsets = Int32Array.from([0, 7, 13]);
    const make = () => (width === 8 ? new Uint8Array(n * 3) : width === 16 ? new Uint16Array(n * 3) : new Uint32Array(n * 3));
    const [ca, ra, cb, rb] = [make(), make(), make(), make()];
    native!.bin(columns, uppers, offsets, ca, ra, 3);
    ts.bin(columns, uppers, offsets, cb, rb, 1);
    sameBits(ca, cb, `column-major ${width}-bit`);
    sameBits(ra, rb, `row-major ${width}-bit`);
    // Hand-checked: NaN goes to the missing bin (bins + 1); feature 1's value 7 to bin 2 (5 < 7 ≤ 10.5), global slot 7 + 2.
    assert.equal(cb[columns[0]!.findIndex((v) => Number.isNaN(v))], 5 + 1);
    assert.equal(cb[n + columns[1]!.findIndex((v) => v === 7)], (width === 8 ? 0 : 7) + 2);
  }
  assert.throws(
    () => native!.bin([new Float32Array(3)], [new Float32Array(0)], Int32Array.from([0xffff]), new Uint16Array(3), new Uint16Array(3), 1),
    /gbdtBin: feature 0's slots do not fit/,
  );
});

test('binning with many bins: the guided search and the integer table give the binary search bins', { skip }, () => {
  // Fitted quantile bounds (up to 255 per feature) on columns that exercise each native path:
  // integer ids with bounds crowded at small ids (integer table), spread floats (guide table),
  // bounds crowded into a few buckets (binary search), negative and non-integer values inside
  // an integer table's range, NaN, ±Infinity and values beyond every bound.
  const rng = new Rng(9);
  const n = 20_000;
  const columns = [
    new Float32Array(n).map(() => Math.floor(Math.exp(rng.next() * 10))),
    new Float32Array(n).map(() => (rng.next() < 0.05 ? NaN : rng.normal() * 100)),
    new Float32Array(n).map(() => (rng.next() < 0.9 ? rng.next() : rng.next() * 1e6)),
    new Float32Array(n).map(() => (rng.next() < 0.5 ? rng.int(300) : rng.int(300) + 0.5)),
    Int32Array.from({ length: n }, () => rng.int(5000) - 100),
  ];
  const m: FeatureMatrix = { rows: n, names: columns.map((_, i) => `c${i}`), columns };
  const bins = BinMapper.fit(m, 255);
  assert.ok(
    bins.uppers.every((u) => u.length > 100),
    'every feature has many bins',
  );
  // Bin other values than the fitted ones: shifted, scaled, extremes.
  const probe = columns.map((c, f) =>
    f === 4
      ? Int32Array.from(c, (v) => v * 2 - 200)
      : Float32Array.from(c, (v, i) => (i % 97 === 0 ? [Infinity, -Infinity, -0, 1e30][i % 4]! : i % 2 ? v * 1.5 - 3 : v)),
  );
  const uppers = bins.uppers;
  const make = () => new Uint8Array(n * columns.length);
  const [ca, ra, cb, rb] = [make(), make(), make(), make()];
  native!.bin(probe, uppers, bins.offsets, ca, ra, 2);
  ts.bin(probe, uppers, bins.offsets, cb, rb, 1);
  sameBits(ca, cb, 'column-major, many bins');
  sameBits(ra, rb, 'row-major, many bins');
  // By hand, against BinMapper.binOf (the plain binary search).
  for (let f = 0; f < probe.length; f++)
    for (let r = 0; r < n; r += 13) assert.equal(cb[f * n + r], bins.binOf(f, probe[f]![r]!), `feature ${f} row ${r}`);
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

test('histograms of a depth level in one call: native on 1/2/4/16 threads equals one TypeScript histogram per node, bit for bit', { skip }, () => {
  const rng = new Rng(8);
  const F = 11,
    slotsPerF = 60;
  const B = HISTOGRAM_BLOCK_ROWS;
  // Empty, tiny, one block exactly, one row over a block, several blocks (partials + reduction).
  const sizes = [0, 7, 900, B, B + 1, 2 * B + 5000, 3];
  const n = sizes.reduce((s, x) => s + x, 0) + 11;
  const offsets = Int32Array.from({ length: F }, (_, f) => f * slotsPerF);
  const binned = new Uint8Array(n * F).map(() => rng.int(slotsPerF));
  const g = new Float32Array(n).map(() => rng.normal() * 10 ** rng.int(4));
  const h = new Float32Array(n).map(() => rng.next());
  const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const starts = new Int32Array(sizes.length),
    ends = new Int32Array(sizes.length);
  let at = 5;
  sizes.forEach((s, i) => {
    starts[i] = at;
    ends[i] = at + s;
    at += s;
  });
  const len = (F * slotsPerF + 256) * 2; // 8-bit local bins with the 256 spare slots: the unchecked loop
  for (const features of [null, Int32Array.from([0, 3, 4, 10])]) {
    const want = sizes.map(() => new Float64Array(len));
    sizes.forEach((_, i) => ts.histogram(want[i]!, binned, offsets, F, rows, starts[i]!, ends[i]!, g, h, features, 1));
    const tsBatch = sizes.map(() => new Float64Array(len).fill(7));
    ts.histograms(tsBatch, binned, offsets, F, rows, starts, ends, g, h, features, 1);
    tsBatch.forEach((x, i) => sameBits(x, want[i]!, `TypeScript batch node ${i}`));
    for (const threads of [1, 2, 4, 16]) {
      const got = sizes.map(() => new Float64Array(len).fill(7)); // stale values must be overwritten
      native!.histograms(got, binned, offsets, F, rows, starts, ends, g, h, features, threads);
      got.forEach((x, i) => sameBits(x, want[i]!, `native batch threads=${threads} node ${i} (${sizes[i]} rows) features=${features}`));
    }
  }
  assert.throws(
    () => native!.histograms([new Float64Array(len)], binned, offsets, F, rows, Int32Array.from([5]), Int32Array.from([n + 1]), g, h, null, 2),
    /row range is outside rows/,
  );
});

test('partitions of a depth level in one call: by hand, and native on 1/2/3/8 threads equals one TypeScript partition per node', { skip }, () => {
  // By hand: column-major 2 features × 6 rows. Node 0 = rows[0, 3) on feature 1 (bin ≤ 0 left),
  // node 1 = rows[3, 6) on feature 0 (bin ≤ 1 left, missing bin 9 left).
  const cols = Uint8Array.from([/* f0 */ 0, 0, 0, 9, 2, 1, /* f1 */ 1, 0, 1, 0, 0, 0]);
  const small = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const mids = new Int32Array(2);
  for (const k of [native!, ts]) {
    const r = small.slice();
    k.partitions(
      r,
      Int32Array.from([0, 3]),
      Int32Array.from([3, 6]),
      cols,
      6,
      Int32Array.from([1, 0]),
      Int32Array.from([0, 0]),
      Int32Array.from([9, 9]),
      Int32Array.from([0, 1]),
      Uint8Array.from([0, 1]),
      new Int32Array(6),
      mids,
      2,
    );
    assert.deepEqual(Array.from(mids), [1, 5], k.name);
    assert.deepEqual(Array.from(r), [1, 0, 2, 3, 5, 4], k.name);
  }
  const rng = new Rng(9);
  const n = 120_000,
    F = 4;
  const columns = new Uint16Array(n * F).map(() => rng.int(20));
  const rows = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  for (const cuts of [
    [0, 70_000],
    [3, 40_000, 40_001, 41_000, 119_990],
  ]) {
    const m = cuts.length - 1;
    const starts = Int32Array.from(cuts.slice(0, m)),
      ends = Int32Array.from(cuts.slice(1));
    const feats = Int32Array.from({ length: m }, () => rng.int(F));
    const offs = new Int32Array(m),
      miss = Int32Array.from({ length: m }, () => 19),
      bins = Int32Array.from({ length: m }, () => rng.int(18)),
      defLeft = Uint8Array.from({ length: m }, () => rng.int(2));
    const want = rows.slice();
    const wantMids = new Int32Array(m);
    for (let i = 0; i < m; i++)
      wantMids[i] = ts.partition(
        want,
        starts[i]!,
        ends[i]!,
        columns.subarray(feats[i]! * n, (feats[i]! + 1) * n),
        1,
        0,
        0,
        19,
        bins[i]!,
        defLeft[i] === 1,
        new Int32Array(n),
        1,
      );
    for (const threads of [1, 2, 3, 8]) {
      for (const k of [native!, ts]) {
        const got = rows.slice();
        const gotMids = new Int32Array(m);
        k.partitions(got, starts, ends, columns, n, feats, offs, miss, bins, defLeft, new Int32Array(n), gotMids, threads);
        sameBits(gotMids, wantMids, `${k.name} mids threads=${threads} nodes=${m}`);
        sameBits(got, want, `${k.name} rows threads=${threads} nodes=${m}`);
      }
    }
  }
  assert.throws(
    () =>
      native!.partitions(
        rows.slice(),
        Int32Array.from([0, 10]),
        Int32Array.from([20, 30]),
        columns,
        n,
        Int32Array.from([0, 1]),
        new Int32Array(2),
        Int32Array.from([19, 19]),
        Int32Array.from([3, 3]),
        new Uint8Array(2),
        new Int32Array(n),
        new Int32Array(2),
        2,
      ),
    /overlap/,
  );
});
