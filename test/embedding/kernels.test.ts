/**
 * The native embedding kernels (native/embedding.cc) against their TypeScript twins
 * (src/embedding/kernels-ts.ts): both compute in float64 with float32 stores in the same
 * order, so every comparison here is exact (bit-for-bit, NaN-safe via Object.is). Inputs mix
 * magnitudes (1e-6 … 10), exact zeros and negative zeros, repeated ids, padding, dims that
 * take both the paired (SSE2) and the scalar tail paths (1, 3, 16, 17), and enough unique ids
 * to grow the gradient accumulator several times. Without the addon the comparisons are
 * skipped (the TypeScript kernels are still checked by the other test files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { embedFields, embedPooled, embedSequence, embeddingLookup } from '../../src/embedding/lookup.js';
import { FTRL, LazyAdam, SparseAdagrad, SparseSGD, TableAdam, type SparseOptimizer } from '../../src/embedding/sparse-optim.js';
import {
  embeddingKernels,
  loadNativeEmbeddingKernels,
  setEmbeddingKernels,
  typescriptEmbeddingKernels,
  type EmbeddingKernels,
} from '../../src/embedding/kernels.js';
import type { PaddedIds } from '../../src/features/batch.js';

const loaded = loadNativeEmbeddingKernels();
const native: EmbeddingKernels | null = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native embedding kernels unavailable: ${(loaded as { error: string }).error}` : false;
const ts = typescriptEmbeddingKernels;

/** Runs fn with the given kernels active, restoring the automatic choice afterwards. */
function withKernels<T>(k: EmbeddingKernels, fn: () => T): T {
  setEmbeddingKernels(k);
  try {
    return fn();
  } finally {
    setEmbeddingKernels(null);
  }
}

/** Asserts two float arrays are bit-identical (Object.is per element: −0 ≠ 0, NaN = NaN). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: native ${a[i]} vs TypeScript ${b[i]}`);
  }
}

/** A value of a random magnitude in ±[1e-6, 10], sometimes exactly 0 or −0. */
function value(rng: Rng): number {
  const u = rng.next();
  if (u < 0.03) return 0;
  if (u < 0.05) return -0;
  return (rng.next() < 0.5 ? -1 : 1) * Math.pow(10, rng.uniform(-6, 1));
}

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = value(rng);
  return a;
}

/** Ids in [0, rows): a hot set (many repeats), the padding id 0, and uniform cold ids. */
function randomIds(rng: Rng, n: number, rows: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    ids[i] = u < 0.05 ? 0 : u < 0.5 ? 1 + rng.int(Math.min(20, rows - 1)) : rng.int(rows);
  }
  return ids;
}

function randomPadded(rng: Rng, B: number, L: number, rows: number): PaddedIds {
  const ids = randomIds(rng, B * L, rows),
    lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) lengths[b] = rng.int(L + 1);
  return { ids, lengths, maxLen: L };
}

const DIMS = [1, 3, 16, 17];

test('gathers: fields, rows, padded sequences and pooling agree exactly; bad ids are located alike', { skip }, () => {
  const rng = new Rng(1);
  for (const dim of DIMS) {
    const rows = 5000;
    const weights = [randomArray(rng, rows * dim), randomArray(rng, 300 * dim), randomArray(rng, rows * dim)];
    const ids = [randomIds(rng, 777, rows), randomIds(rng, 777, 300), randomIds(rng, 777, rows)];
    const outs = [native!, ts].map((k) => {
      const out = new Float32Array(777 * 3 * dim);
      assert.equal(k.gatherFields(weights, ids, dim, out), -1);
      return out;
    });
    assertSameBits(outs[0]!, outs[1]!, `gatherFields dim ${dim}`);
    // With an output stride: the same rows at the start of each wider row, the rest untouched.
    const W = 3 * dim + 5;
    const wide = [native!, ts].map((k) => {
      const out = new Float32Array(776 * W + 3 * dim).fill(-7);
      assert.equal(k.gatherFields(weights, ids, dim, out, W), -1);
      return out;
    });
    assertSameBits(wide[0]!, wide[1]!, `gatherFields dim ${dim} stride ${W}`);
    for (const b of [0, 1, 776]) {
      assertSameBits(wide[1]!.subarray(b * W, b * W + 3 * dim), outs[1]!.subarray(b * 3 * dim, (b + 1) * 3 * dim), `stride row ${b}`);
      if (b < 776)
        assert.ok(
          wide[1]!.subarray(b * W + 3 * dim, (b + 1) * W).every((v) => v === -7),
          `row ${b} tail untouched`,
        );
    }
    for (const k of [native!, ts]) {
      assert.throws(() => k.gatherFields(weights, ids, dim, new Float32Array(776 * W + 3 * dim - 1), W), /embGatherFields: out needs/);
      assert.throws(
        () => k.gatherFields(weights, ids, dim, new Float32Array(777 * W), 3 * dim - 1),
        /embGatherFields: outStride must be an integer in/,
      );
    }
    // A bad id in field 2 at position 400 is reported as 2·B + 400 by both.
    const bad = ids.map((a) => a.slice());
    bad[2]![400] = rows;
    bad[2]![500] = -3;
    for (const k of [native!, ts]) assert.equal(k.gatherFields(weights, bad, dim, new Float32Array(777 * 3 * dim)), 2 * 777 + 400);
    // The native kernel gathers sample by sample, yet still reports the first bad id in field
    // order: field 0 at 600 (reached after field 2 at 400 sample-wise) is 0·B + 600.
    bad[0]![600] = rows + 1;
    for (const k of [native!, ts]) assert.equal(k.gatherFields(weights, bad, dim, new Float32Array(777 * 3 * dim)), 600);

    const w = weights[0]!,
      flat = ids[0]!;
    const rowsOut = [native!, ts].map((k) => {
      const out = new Float32Array(900 * dim + 5);
      assert.equal(k.gatherRows(w, dim, flat, 100, 300, out, 5, 3 * dim), -1);
      return out;
    });
    assertSameBits(rowsOut[0]!, rowsOut[1]!, `gatherRows dim ${dim}`);
    const badFlat = flat.slice();
    badFlat[250] = rows + 7;
    for (const k of [native!, ts]) assert.equal(k.gatherRows(w, dim, badFlat, 100, 300, new Float32Array(900 * dim + 5), 5, 3 * dim), 250);

    const p = randomPadded(rng, 64, 9, rows);
    const seq = [native!, ts].map((k) => {
      const out = new Float32Array(64 * 9 * dim);
      assert.equal(k.gatherPadded(w, dim, p.ids, p.lengths, 9, out), -1);
      return out;
    });
    assertSameBits(seq[0]!, seq[1]!, `gatherPadded dim ${dim}`);
    for (const mode of [0, 1, 2] as const) {
      const res = [native!, ts].map((k) => {
        const out = new Float32Array(64 * dim),
          arg = mode === 2 ? new Int32Array(64 * dim) : null;
        assert.equal(k.pool(w, dim, p.ids, p.lengths, 9, mode, out, arg), -1);
        return { out, arg };
      });
      assertSameBits(res[0]!.out, res[1]!.out, `pool mode ${mode} dim ${dim}`);
      if (mode === 2) assert.deepEqual(res[0]!.arg, res[1]!.arg, `max-pool arg dim ${dim}`);
    }
    // Padded and pooled gathers report the flat position of the first bad id inside a length.
    const q = { ...p, ids: p.ids.slice() };
    const b = q.lengths.findIndex((len) => len >= 3);
    q.ids[b * 9 + 2] = rows;
    for (const k of [native!, ts]) {
      assert.equal(k.gatherPadded(w, dim, q.ids, q.lengths, 9, new Float32Array(64 * 9 * dim)), b * 9 + 2);
      assert.equal(k.pool(w, dim, q.ids, q.lengths, 9, 0, new Float32Array(64 * dim), null), b * 9 + 2);
    }
  }
});

/** Runs a sequence of accumulations on a fresh table under kernels k; returns the gradients after each round. */
function accumulateRounds(k: EmbeddingKernels, dim: number, seed: number): Array<{ ids: Int32Array; values: Float32Array }> {
  return withKernels(k, () => {
    const rng = new Rng(seed);
    const rows = 200_003;
    const t = new EmbeddingTable('acc', rows, dim, { init: 'zeros' });
    const out: Array<{ ids: Int32Array; values: Float32Array }> = [];
    for (let round = 0; round < 3; round++) {
      t.zeroGrad();
      // Strided (one field of an interleaved [n, 3, dim] gradient), scaled.
      const n = 6000 * (round + 1);
      const ids = randomIds(rng, n, rows),
        g = randomArray(rng, n * 3 * dim);
      t.accumulateGradStrided(ids, 0, n, g, dim, 3 * dim, round === 1 ? 0.37 : 1);
      // Stride 0 (one row for many ids) and a plain accumulate with an offset.
      t.accumulateGradStrided(ids, 10, 50, g, 0, 0, 1 / 3);
      t.accumulateGrad(ids.subarray(5), g, 400);
      // Padded: positions, sum and mean pooling.
      const p = randomPadded(rng, 300, 7, rows);
      const gp = randomArray(rng, 300 * 7 * dim);
      t.accumulateGradPadded(p, gp, 0, dim, 'position');
      t.accumulateGradPadded(p, gp, dim, dim, 'sum');
      t.accumulateGradPadded(p, gp, 0, 2 * dim, 'mean');
      const s = t.sparseGrad();
      out.push({ ids: s.ids.slice(), values: s.values.slice() });
    }
    return out;
  });
}

test('accumulate: same unique-id order and bit-identical sums, through hash growth and all row modes', { skip }, () => {
  for (const dim of DIMS) {
    const a = accumulateRounds(native!, dim, 40 + dim),
      b = accumulateRounds(ts, dim, 40 + dim);
    for (let r = 0; r < a.length; r++) {
      assert.ok(a[r]!.ids.length > 2048, 'enough unique ids to grow the accumulator (initially 256 entries, 1024 hash slots) several times');
      assert.deepEqual(a[r]!.ids, b[r]!.ids, `dim ${dim} round ${r}: unique ids in first-arrival order`);
      assertSameBits(a[r]!.values, b[r]!.values, `dim ${dim} round ${r}: summed rows`);
    }
  }
});

test('accumulate: out-of-range ids throw the table error on both backends', { skip }, () => {
  for (const k of [native!, ts]) {
    withKernels(k, () => {
      const t = new EmbeddingTable('item', 10, 2, { init: 'zeros' });
      assert.throws(() => t.accumulateGrad(Int32Array.from([3, 10]), new Float32Array(4), 2), /table 'item': id 10 is out of range/);
      const p: PaddedIds = { ids: Int32Array.from([1, 2, 99, 11]), lengths: Int32Array.from([2, 2]), maxLen: 2 };
      assert.throws(() => t.accumulateGradPadded(p, new Float32Array(8), 0, 2, 'position'), /table 'item': id 99 is out of range/);
      assert.throws(
        () => t.accumulateGradPadded({ ...p, lengths: Int32Array.from([2, 3]) }, new Float32Array(8), 0, 2, 'sum'),
        /lengths\[1\] = 3 is outside \[0, 2\]/,
      );
    });
  }
});

/** Trains one table for a few steps with the optimizer under kernels k; returns weights and state. */
function optimizeRun(k: EmbeddingKernels, make: () => SparseOptimizer, dim: number, decay: number): { w: Float32Array; slots: Float32Array[] } {
  return withKernels(k, () => {
    const rng = new Rng(7 + dim);
    const rows = 3000;
    const t = new EmbeddingTable('opt', rows, dim, { std: 0.3, rng });
    const opt = make();
    for (let s = 0; s < 5; s++) {
      t.zeroGrad();
      const ids = randomIds(rng, 2000, rows - 500); // the last 500 rows are never touched
      t.accumulateGrad(ids, randomArray(rng, 2000 * dim), 2000);
      if (decay !== 0) t.denseDecay = decay;
      opt.step([t]);
    }
    const st = opt.stateDict().tables.opt!;
    return {
      w: t.weight.slice(),
      slots: Object.keys(st.slots)
        .sort()
        .map((key) => st.slots[key]!),
    };
  });
}

test('row-wise optimizers and TableAdam: bit-identical weights and state on both backends', { skip }, () => {
  const makers: Array<[string, () => SparseOptimizer, number]> = [
    ['SparseSGD', () => new SparseSGD({ lr: 0.1 }), 0],
    ['SparseAdagrad', () => new SparseAdagrad({ lr: 0.1, initialAccumulatorValue: 0.1, lrDecay: 0.01 }), 0],
    ['SparseAdagrad eps 0', () => new SparseAdagrad({ lr: 0.05, eps: 0 }), 0],
    ['LazyAdam', () => new LazyAdam({ lr: 0.01 }), 0],
    ['FTRL', () => new FTRL({ alpha: 0.3, beta: 1, l1: 0.5, l2: 0.01, initialAccumulatorValue: 0.1 }), 0],
    ['TableAdam', () => new TableAdam({ lr: 0.01 }), 0],
    ['TableAdam whole-table L2', () => new TableAdam({ lr: 0.01 }), 0.03],
  ];
  for (const [name, make, decay] of makers) {
    for (const dim of DIMS) {
      const a = optimizeRun(native!, make, dim, decay),
        b = optimizeRun(ts, make, dim, decay);
      assertSameBits(a.w, b.w, `${name} dim ${dim}: weights`);
      a.slots.forEach((s, i) => assertSameBits(s, b.slots[i]!, `${name} dim ${dim}: state slot ${i}`));
    }
  }
});

test('a DeepFM-like embedding loop (lookups, backward, LazyAdam) is bit-identical across backends', { skip }, () => {
  const run = (k: EmbeddingKernels) =>
    withKernels(k, () => {
      const rng = new Rng(5);
      const vocab = [50, 2000, 30000];
      const emb = vocab.map((v, f) => new EmbeddingTable(`e${f}`, v, 8, { std: 0.1, rng }));
      const first = vocab.map((v, f) => new EmbeddingTable(`w${f}`, v, 1, { std: 0.1, rng }));
      const hist = new EmbeddingTable('h', 30000, 8, { std: 0.1, rng });
      const opt = new LazyAdam({ lr: 0.01 });
      const tables = [...emb, ...first, hist];
      const B = 256;
      for (let s = 0; s < 4; s++) {
        for (const t of tables) t.zeroGrad();
        const ids = vocab.map((v) => randomIds(rng, B, v));
        const p = randomPadded(rng, B, 5, 30000);
        embedFields(emb, ids).backward(randomArray(rng, B * 3 * 8));
        embedFields(first, ids).backward(randomArray(rng, B * 3));
        embedSequence(hist, p).backward(randomArray(rng, B * 5 * 8));
        embedPooled(hist, p, 'max').backward(randomArray(rng, B * 8));
        embedPooled(hist, p, 'mean').backward(randomArray(rng, B * 8));
        embeddingLookup(hist, ids[1]!).backward(randomArray(rng, B * 8));
        opt.step(tables);
      }
      return tables.map((t) => t.weight.slice());
    });
  const a = run(native!),
    b = run(ts);
  a.forEach((w, i) => assertSameBits(w, b[i]!, `table ${i}`));
});

test('native kernels reject malformed arguments with errors that name them', { skip }, () => {
  const k = native!;
  const w = new Float32Array(40),
    v = new Float32Array(20);
  assert.throws(
    () => k.lazyAdam(Int32Array.from([10]), v, w, new Float32Array(40), new Float32Array(40), 4, 0.9, 0.999, 1e-8, 1e-3),
    /embLazyAdam: ids\[0\] = 10 is not a row of w \(10 rows\)/,
  );
  assert.throws(
    () => k.lazyAdam(Int32Array.from([1]), v, w, new Float32Array(39), new Float32Array(40), 4, 0.9, 0.999, 1e-8, 1e-3),
    /embLazyAdam: m must have w's length 40, got 39/,
  );
  assert.throws(() => k.sgd(Int32Array.from([1, 2, 3, 4, 5, 6]), v, w, 4, 0.1), /embSgd: values needs 24 elements, has 20/);
  assert.throws(
    () => k.adagrad(Int32Array.from([1]), v, w, new Float32Array(40), 3, 0.1, 1e-10),
    /embAdagrad: w.length 40 is not a multiple of dim 3/,
  );
  assert.throws(
    () => k.gatherRows(w, 4, new Int32Array(5), 3, 5, new Float32Array(100), 0, 4),
    /embGatherRows: ids \(idsOffset \+ count\) needs 8 elements, has 5/,
  );
  assert.throws(() => k.gatherFields([w], [new Int32Array(3)], 4, new Float32Array(11)), /embGatherFields: out needs 12 elements, has 11/);
  assert.throws(() => k.gatherFields([w, w], [new Int32Array(3), new Int32Array(2)], 4, new Float32Array(24)), /ids\[1\] has 2 ids, ids\[0\] has 3/);
  assert.throws(
    () => k.pool(w, 4, new Int32Array(6), Int32Array.from([1, 4]), 3, 0, new Float32Array(8), null),
    /embPool: lengths\[1\] = 4 is outside \[0, maxLen\]/,
  );
  assert.throws(() => k.pool(w, 4, new Int32Array(6), Int32Array.from([1, 1]), 3, 2, new Float32Array(8), null), /max pooling needs arg/);
  assert.throws(() => k.sgd([1] as unknown as Int32Array, v, w, 4, 0.1), /embSgd: ids must be a Int32Array/);
  assert.throws(
    () => k.tableAdam(new Int32Array(0), v, w, w.slice(), w.slice(), new Int32Array(9), 4, 0, 0.9, 0.999, 1e-3, 1e-8, 0),
    /embTableAdam: pos must have one value per row of w/,
  );
  // Accumulator arrays that disagree are refused; a hash slot naming a missing entry stops with reason 3.
  const acc = {
    keys: new Int32Array(16).fill(-1),
    slots: new Int32Array(16),
    entryIds: new Int32Array(4),
    entryHash: new Int32Array(4),
    entryValues: new Float32Array(8),
    state: new Int32Array(2),
  };
  assert.throws(
    () => k.accumulate({ ...acc, slots: new Int32Array(8) }, 10, 0, 2, Int32Array.of(1), 0, 0, 1, new Float32Array(2), 0, 2, 1, null, 0, 0),
    /embAccumulate: keys and slots must have the same power-of-two length/,
  );
  assert.throws(
    () => k.accumulate(acc, 10, 0, 3, Int32Array.of(1), 0, 0, 1, new Float32Array(3), 0, 3, 1, null, 0, 0),
    /entryValues capacities disagree/,
  );
  assert.throws(
    () => k.accumulate(acc, 10, 0, 2, Int32Array.of(1), 0, 0, 1, new Float32Array(1), 0, 2, 1, null, 0, 0),
    /embAccumulate: grad needs 2 elements, has 1/,
  );
  const h = Math.imul(5, 0x9e3779b1) >>> (32 - 4);
  acc.keys[h] = 5;
  acc.slots[h] = 3; // entry 3 does not exist (count is 0)
  assert.equal(k.accumulate(acc, 10, 0, 2, Int32Array.of(5), 0, 0, 1, new Float32Array(2), 0, 2, 1, null, 0, 0), 0);
  assert.equal(acc.state[1], 3);
});

test('the active kernels follow FINERANK_BACKEND', () => {
  const forced = (process.env.FINERANK_BACKEND ?? '').toLowerCase();
  if (forced === 'typescript' || forced === 'ts') assert.equal(embeddingKernels().name, 'typescript');
  else if (native !== null) assert.equal(embeddingKernels().name, 'native');
  setEmbeddingKernels(ts);
  assert.equal(embeddingKernels(), ts);
  setEmbeddingKernels(null);
});
