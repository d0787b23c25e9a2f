import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { auc } from '../../src/metrics/auc.js';
import { BinMapper, quantileUppers } from '../../src/gbdt/binning.js';
import { buildHistogram, subtractHistogram } from '../../src/gbdt/histogram.js';
import { findBestSplit, leafWeight, splitGain, MIN_GAIN } from '../../src/gbdt/split.js';
import { Booster } from '../../src/gbdt/booster.js';
import { resolveBoosterOptions } from '../../src/gbdt/options.js';
import type { FeatureMatrix } from '../../src/gbdt/matrix.js';
import { F_DEFAULT_LEFT, F_FEATURE, F_THRESHOLD, NODE_FIELDS } from '../../src/gbdt/tree.js';
import { TreeGrower } from '../../src/gbdt/grow.js';

const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** A small matrix with few distinct values and some missing cells. */
function smallData(seed: number, n: number, F: number, missing: number) {
  const rng = new Rng(seed);
  const columns = Array.from({ length: F }, () => new Float32Array(n));
  for (const c of columns) for (let r = 0; r < n; r++) c[r] = rng.next() < missing ? NaN : Math.round(rng.normal() * 3) / 2;
  const g = new Float32Array(n),
    h = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    g[r] = rng.normal();
    h[r] = 0.1 + rng.next();
  }
  const m: FeatureMatrix = { rows: n, names: columns.map((_, i) => `x${i}`), columns };
  return { m, g, h };
}

/** Brute force: every feature, every distinct value as "v ≤ t", missing both ways, from the rows. */
function bruteForceBest(m: FeatureMatrix, g: Float32Array, h: Float32Array, lambda: number, gamma: number, mcw: number) {
  let best = { gain: MIN_GAIN, feature: -1, threshold: NaN, defaultLeft: false };
  let G = 0,
    H = 0;
  for (let r = 0; r < m.rows; r++) {
    G += g[r]!;
    H += h[r]!;
  }
  m.columns.forEach((col, f) => {
    const values = [...new Set(Array.from(col).filter((v) => v === v))].sort((a, b) => a - b);
    const thresholds = [...values.slice(0, -1), Infinity];
    for (const t of thresholds) {
      for (const defaultLeft of [false, true]) {
        let GL = 0,
          HL = 0;
        for (let r = 0; r < m.rows; r++) {
          const v = col[r]!;
          if (v !== v ? defaultLeft : v <= t) {
            GL += g[r]!;
            HL += h[r]!;
          }
        }
        const GR = G - GL,
          HR = H - HL;
        if (HL < mcw || HR < mcw) continue;
        const gain = splitGain(GL, HL, GR, HR, { lambda, gamma, minChildWeight: mcw });
        if (gain > best.gain + 1e-9) best = { gain, feature: f, threshold: t, defaultLeft };
      }
    }
  });
  return { best, G, H };
}

test('split finding equals a brute-force search over all thresholds and missing directions', () => {
  for (const [seed, lambda, gamma, mcw] of [
    [1, 1, 0, 1],
    [2, 0, 0, 0],
    [3, 5, 0.3, 3],
    [4, 1, 0, 8],
    [5, 0.5, 0, 0.5],
  ] as const) {
    const { m, g, h } = smallData(seed, 80, 3, 0.2);
    const bins = BinMapper.fit(m, 256);
    const { rowMajor: binned, offsets } = bins.transform(m);
    const rows = Int32Array.from({ length: m.rows }, (_, i) => i);
    const hist = new Float64Array(bins.totalSlots * 2);
    buildHistogram(hist, binned, offsets, 3, rows, 0, m.rows, g, h, null);
    const { best, G, H } = bruteForceBest(m, g, h, lambda, gamma, mcw);
    const s = findBestSplit(hist, bins, [0, 1, 2], G, H, { lambda, gamma, minChildWeight: mcw });
    if (best.feature < 0) {
      assert.equal(s, null, `seed ${seed}: brute force finds no split`);
      continue;
    }
    assert.ok(s !== null, `seed ${seed}: no split found, brute force has gain ${best.gain}`);
    close(s.gain, best.gain, 1e-6, `seed ${seed} gain`);
    assert.equal(s.feature, best.feature, `seed ${seed} feature`);
    assert.equal(s.threshold, best.threshold, `seed ${seed} threshold`);
    // The chosen split's statistics reproduce its gain through the closed form.
    close(splitGain(s.GL, s.HL, s.GR, s.HR, { lambda, gamma, minChildWeight: mcw }), s.gain, 1e-9, 'gain from stats');
  }
});

test('quantile binning: distinct values when few, at most max_bin bins when many; bins agree with thresholds', () => {
  assert.deepEqual(Array.from(quantileUppers(Float32Array.from([1, 1, 2, 3, 3, 3]), 256)), [1, 2]);
  const rng = new Rng(9);
  const col = new Float32Array(10_000).map(() => rng.normal());
  const m: FeatureMatrix = { rows: col.length, names: ['x'], columns: [col] };
  const bins = BinMapper.fit(m, 16);
  assert.equal(bins.bins(0), 16);
  const counts = new Array(17).fill(0);
  for (const v of col) counts[bins.binOf(0, v)]++;
  for (let b = 0; b < 16; b++) assert.ok(Math.abs(counts[b] - 625) <= 2, `bin ${b} holds ${counts[b]} rows, expected ≈ 625`);
  assert.equal(bins.binOf(0, NaN), 16);
  for (const v of col.subarray(0, 500)) {
    const b = bins.binOf(0, v);
    if (b < 15) assert.ok(v <= bins.uppers[0]![b]!);
    if (b > 0) assert.ok(v > bins.uppers[0]![b - 1]!);
  }
});

test('histogram subtraction gives the sibling histogram built directly', () => {
  const { m, g, h } = smallData(11, 200, 4, 0.1);
  const bins = BinMapper.fit(m, 256);
  const { rowMajor: binned, offsets } = bins.transform(m);
  const rows = Int32Array.from({ length: m.rows }, (_, i) => i);
  const parent = new Float64Array(bins.totalSlots * 2),
    left = parent.slice(),
    right = parent.slice();
  buildHistogram(parent, binned, offsets, 4, rows, 0, 200, g, h, null);
  buildHistogram(left, binned, offsets, 4, rows, 0, 70, g, h, null);
  buildHistogram(right, binned, offsets, 4, rows, 70, 200, g, h, null);
  subtractHistogram(parent, left);
  for (let i = 0; i < parent.length; i++) close(parent[i]!, right[i]!, 1e-9, `slot ${i}`);
});

test('one tree: root gain and leaf weights match the closed forms (hand-computed)', () => {
  // Squared error, base margin = mean(y) = 0.5, so g = 0.5 − y = [0.5, 0.5, −0.5, −0.5], h = 1.
  const m: FeatureMatrix = { rows: 4, names: ['x'], columns: [Float32Array.from([1, 2, 3, 4])] };
  const y = [0, 0, 1, 1];
  const opts = { objective: 'reg:squarederror' as const, n_estimators: 1, max_depth: 1, learning_rate: 1, reg_lambda: 1, min_child_weight: 0 };
  const { booster } = Booster.fit(m, { y }, opts);
  // Split x ≤ 2: G_L = 1, H_L = 2, G_R = −1, H_R = 2, G = 0: gain = ½(1/3 + 1/3 − 0) = 1/3.
  close(booster.nodes[6]!, 1 / 3, 1e-6, 'root gain');
  close(splitGain(1, 2, -1, 2, { lambda: 1, gamma: 0, minChildWeight: 0 }), 1 / 3, 1e-12, 'formula');
  assert.equal(booster.nodes[F_THRESHOLD], 2);
  // w = −G/(H + λ): left −1/3, right +1/3; predictions 0.5 ∓ 1/3.
  close(leafWeight(1, 2, 1), -1 / 3, 1e-12, 'formula');
  const p = booster.predict(m);
  for (const [i, want] of [0.5 - 1 / 3, 0.5 - 1 / 3, 0.5 + 1 / 3, 0.5 + 1 / 3].entries()) close(p[i]!, want, 1e-6, `row ${i}`);
  // Shrinkage: learning_rate 0.1 scales the leaf values.
  const shrunk = Booster.fit(m, { y }, { ...opts, learning_rate: 0.1 }).booster.predict(m);
  close(shrunk[0]!, 0.5 - 0.1 / 3, 1e-6, 'shrunk');
  // γ = 0.2 still splits (gain 1/3 − 0.2 reported); γ = 0.4 leaves a single leaf of weight 0.
  const g02 = Booster.fit(m, { y }, { ...opts, gamma: 0.2 }).booster;
  close(g02.nodes[6]!, 1 / 3 - 0.2, 1e-6, 'gain − γ');
  const g04 = Booster.fit(m, { y }, { ...opts, gamma: 0.4 }).booster;
  assert.deepEqual(g04.leafCounts, [1]);
  close(g04.predict(m)[0]!, 0.5, 1e-9, 'no split');
  // min_child_weight 3: no child can hold 3 rows of h = 1 each with 4 rows → no split.
  assert.deepEqual(Booster.fit(m, { y }, { ...opts, min_child_weight: 2.5 }).booster.leafCounts, [1]);
});

test('logloss: first-round leaf weights equal −G/(H+λ) of the rows reaching them', () => {
  const rng = new Rng(5);
  const n = 300;
  const x = new Float32Array(n).map(() => rng.next());
  const y: number[] = Array.from(x, (v) => (rng.next() < (v > 0.6 ? 0.8 : 0.2) ? 1 : 0));
  const m: FeatureMatrix = { rows: n, names: ['x'], columns: [x] };
  const { booster } = Booster.fit(m, { y }, { n_estimators: 1, max_depth: 2, learning_rate: 0.7, reg_lambda: 2 });
  const mean = y.reduce((s, v) => s + v, 0) / n;
  const p0 = mean;
  close(booster.baseMargin, Math.log(mean / (1 - mean)), 1e-12, 'base margin = logit(mean)');
  const leaves = booster.predictLeaves(m);
  const G = new Map<number, number>(),
    H = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    const l = leaves[r]!;
    G.set(l, (G.get(l) ?? 0) + (p0 - y[r]!));
    H.set(l, (H.get(l) ?? 0) + p0 * (1 - p0));
  }
  const margin = booster.predictMargin(m);
  for (let r = 0; r < n; r++) {
    const l = leaves[r]!;
    close(margin[r]! - booster.baseMargin, 0.7 * leafWeight(G.get(l)!, H.get(l)!, 2), 1e-5, `row ${r}`);
  }
});

/** x uniform; y = 1 where x > 0.5; missing x rows all carry label `missingLabel`. */
function missingCase(missingLabel: number) {
  const rng = new Rng(3 + missingLabel);
  const n = 2000;
  const x = new Float32Array(n),
    y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const v = rng.next();
    if (rng.next() < 0.3) {
      x[r] = NaN;
      y[r] = missingLabel;
    } else {
      x[r] = v;
      y[r] = v > 0.5 ? 1 : 0;
    }
  }
  return { m: { rows: n, names: ['x'], columns: [x] } as FeatureMatrix, y };
}

test('missing values: the default direction is learned where it matters', () => {
  for (const missingLabel of [1, 0]) {
    const { m, y } = missingCase(missingLabel);
    const { booster } = Booster.fit(m, { y }, { n_estimators: 5, max_depth: 1, learning_rate: 1 });
    // The root splits at x ≤ ~0.5 and sends missing rows to the side with their label.
    assert.ok(Math.abs(booster.nodes[F_THRESHOLD]! - 0.5) < 0.01, `threshold ${booster.nodes[F_THRESHOLD]}`);
    assert.equal(booster.nodes[F_DEFAULT_LEFT], missingLabel === 1 ? 0 : 1, 'default direction of the root');
    const probe: FeatureMatrix = { rows: 3, names: ['x'], columns: [Float32Array.from([NaN, 0.1, 0.9])] };
    const p = booster.predict(probe);
    if (missingLabel === 1) assert.ok(p[0]! > 0.9, `missing → ${p[0]}`);
    else assert.ok(p[0]! < 0.1, `missing → ${p[0]}`);
    assert.ok(p[1]! < 0.1 && p[2]! > 0.9);
  }
});

test('depthwise and lossguide growth respect max_depth and max_leaves', () => {
  const { m, g } = smallData(21, 3000, 5, 0.05);
  const y = Array.from(g, (v) => (v > 0 ? 1 : 0));
  const dw = Booster.fit(m, { y }, { n_estimators: 3, max_depth: 3 }).booster;
  for (const d of dw.depths()) assert.ok(d <= 3);
  for (const l of dw.leafCounts) assert.ok(l <= 8);
  const lg = Booster.fit(m, { y }, { n_estimators: 3, max_depth: 0, max_leaves: 5, grow_policy: 'lossguide' }).booster;
  assert.deepEqual(lg.leafCounts, [5, 5, 5]);
  const dl = Booster.fit(m, { y }, { n_estimators: 2, max_depth: 6, max_leaves: 7 }).booster;
  for (const l of dl.leafCounts) assert.ok(l <= 7);
  // Leaf-wise growth with a leaf budget reaches deeper than depth-wise with the same budget on this data.
  assert.ok(Math.max(...lg.depths()) >= 3);
});

test('subsample and colsample_bytree: deterministic per random_state, and trees use only sampled features', () => {
  const { m, g } = smallData(31, 2000, 6, 0);
  const y = Array.from(g, (v) => (v > 0 ? 1 : 0));
  const opts = { n_estimators: 4, max_depth: 3, subsample: 0.5, colsample_bytree: 0.34, random_state: 7 };
  const a = Booster.fit(m, { y }, opts).booster,
    b = Booster.fit(m, { y }, opts).booster;
  assert.deepEqual(Array.from(a.nodes), Array.from(b.nodes));
  const c = Booster.fit(m, { y }, { ...opts, random_state: 8 }).booster;
  assert.notDeepEqual(Array.from(a.nodes), Array.from(c.nodes));
  for (let t = 0; t < a.numTrees; t++) {
    const used = new Set<number>();
    for (let n = a.starts[t]!; n < a.starts[t + 1]!; n++)
      if (a.nodes[n * NODE_FIELDS + F_FEATURE]! >= 0) used.add(a.nodes[n * NODE_FIELDS + F_FEATURE]!);
    assert.ok(used.size <= 2, `tree ${t} uses ${used.size} features with colsample 2/6`);
  }
});

test('early stopping keeps the trees up to the best validation round', () => {
  const rng = new Rng(41);
  const make = (n: number) => {
    const x = new Float32Array(n).map(() => rng.next());
    const y = Array.from(x, (v) => (rng.next() < 0.3 + 0.4 * Number(v > 0.5) ? 1 : 0));
    return { m: { rows: n, names: ['x', 'noise'], columns: [x, new Float32Array(n).map(() => rng.next())] } as FeatureMatrix, y };
  };
  const tr = make(3000),
    va = make(3000);
  const { booster, report } = Booster.fit(
    tr.m,
    { y: tr.y },
    { n_estimators: 200, max_depth: 6, learning_rate: 0.5, early_stopping_rounds: 5 },
    { valid: { matrix: va.m, targets: { y: va.y } } },
  );
  assert.ok(report.stoppedEarly, 'noise fitting must stop early');
  const scores = report.rounds.map((r) => r.valid!);
  const best = scores.indexOf(Math.min(...scores));
  assert.equal(booster.numTrees, best + 1);
  assert.equal(report.rounds.length, best + 1 + 5);
  assert.throws(() => Booster.fit(tr.m, { y: tr.y }, { early_stopping_rounds: 5 }), /needs a validation set/);
});

test('learnability: threshold interactions of numeric features are learned close to the oracle', () => {
  const rng = new Rng(51);
  const make = (n: number) => {
    const cols = Array.from({ length: 4 }, () => new Float32Array(n));
    const y = new Float32Array(n),
      p = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      for (const c of cols) c[r] = rng.normal();
      const z = cols[0]![r]! > 0 !== cols[1]![r]! > 0.5 ? 1.5 : -1.5;
      p[r] = 1 / (1 + Math.exp(-(z + 0.5 * Number(cols[2]![r]! < -1))));
      y[r] = rng.next() < p[r]! ? 1 : 0;
    }
    return { m: { rows: n, names: ['a', 'b', 'c', 'd'], columns: cols } as FeatureMatrix, y, p };
  };
  const tr = make(20_000),
    te = make(10_000);
  const { booster } = Booster.fit(tr.m, { y: tr.y }, { n_estimators: 30, max_depth: 3, learning_rate: 0.3 });
  const got = auc(booster.predict(te.m), te.y),
    oracle = auc(te.p, te.y);
  assert.ok(got > oracle - 0.01, `booster AUC ${got.toFixed(4)} vs oracle ${oracle.toFixed(4)}`);
  assert.deepEqual(
    booster
      .importance()
      .slice(0, 2)
      .map((f) => f.feature)
      .sort(),
    ['a', 'b'],
  );
});

test('options: XGBoost names in snake or camel case; unknown or invalid ones are refused with the supported list', () => {
  assert.equal(resolveBoosterOptions({ nEstimators: 7, max_depth: 2 }).n_estimators, 7);
  assert.throws(() => resolveBoosterOptions({ reg_alpha: 1 }), /unknown option 'reg_alpha'; supported: n_estimators, max_depth/);
  assert.throws(() => resolveBoosterOptions({ grow_policy: 'oblivious' }), /depthwise or lossguide/);
  assert.throws(() => resolveBoosterOptions({ subsample: 0 }), /subsample/);
  assert.throws(() => resolveBoosterOptions({ max_depth: '3' }), /must be a number/);
  assert.throws(() => resolveBoosterOptions({ max_depth: 0 }), /depthwise needs max_depth/);
  assert.equal(resolveBoosterOptions({ nthread: 2 }).n_jobs, 2, "XGBoost's native name nthread is an alias of n_jobs");
  assert.equal(resolveBoosterOptions({ nJobs: 3 }).n_jobs, 3);
  assert.throws(() => resolveBoosterOptions({ nthread: 2, n_jobs: 2 }), /'n_jobs' or its alias 'nthread', not both/);
  assert.throws(() => resolveBoosterOptions({ n_jobs: 0 }), /'n_jobs' \(alias 'nthread'\) must be an integer in \[1, 1024\]/);
  const m: FeatureMatrix = { rows: 2, names: ['x'], columns: [Float32Array.from([1, 2])] };
  assert.throws(() => Booster.fit(m, { y: [0, 2] }), /labels 0 or 1; row 1 has 2/);
  const { booster } = Booster.fit(m, { y: [0, 1] }, { n_estimators: 1 });
  assert.throws(() => booster.predict({ rows: 2, names: ['z'], columns: [Float32Array.from([1, 2])] }), /trained on \[x\]/);
});

test('n_jobs: trees trained on 1, 2 and 3 threads are identical (histograms, partitions, gradients and margin updates all threaded)', () => {
  const rng = new Rng(12);
  // Enough rows that the native partition (from 32 768 rows), gradient (16 384-row blocks) and
  // leaf-value kernels split their work, not only the histograms.
  const n = 70000;
  const cols = Array.from({ length: 6 }, () => new Float32Array(n).map(() => (rng.next() < 0.05 ? NaN : rng.normal())));
  const y = Array.from(cols[0]!, (v, r) => (rng.next() < (v > 0.3 || cols[2]![r]! < -1 ? 0.7 : 0.2) ? 1 : 0));
  const m: FeatureMatrix = { rows: n, names: cols.map((_, i) => `x${i}`), columns: cols };
  const fit = (n_jobs: number) => Booster.fit(m, { y }, { n_estimators: 4, max_depth: 4, n_jobs }).booster.nodes;
  const one = fit(1);
  for (const t of [2, 3]) assert.deepEqual(fit(t), one, `n_jobs ${t}`);
});

test('a corrupt (or never loaded) tree buffer is refused instead of looping', () => {
  const m: FeatureMatrix = { rows: 1, names: ['x'], columns: [Float32Array.from([1])] };
  const zeroed = new Booster(new Float32Array(3 * NODE_FIELDS), [2], 0, ['x'], 'binary:logistic');
  assert.throws(() => zeroed.predict(m), /corrupt tree: node 0 points back to node 0/);
  assert.throws(() => new Booster(new Float32Array(2 * NODE_FIELDS), [2], 0, ['x'], 'binary:logistic'), /leaf counts imply 3/);
});

test('depth-wise trees grown level by level (batched kernels) equal the node-by-node queue: nodes, split bins, row order and leaf ranges', () => {
  const rng = new Rng(14);
  const n = 60000; // the root's children span several histogram blocks
  const cols = Array.from({ length: 7 }, (_, j) => new Float32Array(n).map(() => (rng.next() < 0.04 ? NaN : j === 6 ? rng.int(300) : rng.normal())));
  const m: FeatureMatrix = { rows: n, names: cols.map((_, i) => `x${i}`), columns: cols };
  const g = new Float32Array(n).map((_, r) => (cols[0]![r]! > 0.2 ? 0.6 : -0.3) + (cols[6]![r]! % 7 === 0 ? 0.5 : 0) + rng.normal() * 0.2);
  const h = new Float32Array(n).map(() => 0.2 + rng.next() * 0.05);
  for (const maxBin of [256, 1000]) {
    // 256 bins: 8-bit local bins; 1000: 16-bit global slots.
    const bins = BinMapper.fit(m, maxBin);
    const binned = bins.transform(m, 2);
    for (const [maxDepth, maxLeaves, features, threads] of [
      [5, 0, null, 1],
      [5, 0, null, 2],
      [6, 11, null, 3],
      [4, 0, Int32Array.from([0, 2, 6]), 2],
    ] as const) {
      const grow = (levelBatches: boolean) =>
        new TreeGrower(binned, bins, n, {
          lambda: 1,
          gamma: 0,
          minChildWeight: 1,
          maxDepth,
          maxLeaves,
          policy: 'depthwise',
          learningRate: 0.3,
          threads,
          levelBatches,
        }).grow(
          g,
          h,
          Int32Array.from({ length: n }, (_, i) => i),
          features,
        );
      const a = grow(true),
        b = grow(false);
      const what = `max_bin ${maxBin} depth ${maxDepth} leaves ${maxLeaves} features ${features} threads ${threads}`;
      assert.ok(a.leaves > 4, `${what}: a real tree (${a.leaves} leaves)`);
      assert.deepEqual(Array.from(a.nodes), Array.from(b.nodes), what);
      assert.deepEqual(Array.from(a.splitBins), Array.from(b.splitBins), what);
      assert.deepEqual(Array.from(a.rows), Array.from(b.rows), what);
      assert.deepEqual([Array.from(a.leafStart), Array.from(a.leafEnd)], [Array.from(b.leafStart), Array.from(b.leafEnd)], what);
    }
  }
});
