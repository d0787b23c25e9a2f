import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/tensor.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { SparseSGD, SparseAdagrad, LazyAdam, TableAdam, FTRL, type SparseOptimizer } from '../../src/embedding/sparse-optim.js';
import { Adam } from '../../src/train/optim.js';
import { embeddingL2 } from '../../src/train/regularization.js';

const ROWS = 12,
  DIM = 3;

/** One step's gradient: ids with repeats (and padding 0) and their rows. */
interface StepGrad {
  ids: Int32Array;
  grad: Float32Array;
}

function makeSteps(seed: number, steps: number): StepGrad[] {
  const rng = new Rng(seed);
  const out: StepGrad[] = [];
  for (let s = 0; s < steps; s++) {
    // Rows 0..7 only, so rows 8..11 are never touched; within them some rows skip some steps.
    const n = 6;
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = rng.int(8);
    ids[n - 1] = ids[0]!; // always at least one repeated id
    const grad = new Float32Array(n * DIM);
    for (let i = 0; i < grad.length; i++) grad[i] = rng.uniform(-1, 1);
    out.push({ ids, grad });
  }
  return out;
}

/** The step's dense gradient (float64), duplicates summed, padding dropped; and its touched rows. */
function denseGrad(s: StepGrad): { G: number[][]; touched: Set<number> } {
  const G = Array.from({ length: ROWS }, () => new Array(DIM).fill(0));
  const touched = new Set<number>();
  s.ids.forEach((id, i) => {
    if (id === 0) return;
    touched.add(id);
    for (let d = 0; d < DIM; d++) G[id]![d] += s.grad[i * DIM + d]!;
  });
  return { G, touched };
}

function newTable(seed = 5): EmbeddingTable {
  return new EmbeddingTable('emb', ROWS, DIM, { std: 0.3, rng: new Rng(seed) });
}

function toRows(w: Float32Array): number[][] {
  return Array.from({ length: ROWS }, (_, r) => [...w.subarray(r * DIM, r * DIM + DIM)]);
}

/** Runs the optimizer and a plain-array reference side by side; compares after every step. */
function checkAgainstReference(
  opt: SparseOptimizer,
  reference: (W: number[][], G: number[][], touched: Set<number>, step: number) => void,
  tol = 2e-5,
): void {
  const t = newTable();
  const initial = t.weight.slice();
  const W = toRows(t.weight);
  const steps = makeSteps(17, 8);
  steps.forEach((s, k) => {
    t.zeroGrad();
    t.accumulateGrad(s.ids, s.grad, s.ids.length);
    opt.step([t]);
    const { G, touched } = denseGrad(s);
    reference(W, G, touched, k + 1);
    for (let r = 0; r < ROWS; r++) {
      for (let d = 0; d < DIM; d++) {
        const got = t.weight[r * DIM + d]!,
          want = W[r]![d]!;
        assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `step ${k + 1} row ${r} coord ${d}: ${got} vs reference ${want}`);
      }
    }
  });
  for (let i = 0; i < DIM; i++) assert.equal(t.weight[i], 0, 'padding row stays zero');
  for (let i = 8 * DIM; i < ROWS * DIM; i++) assert.ok(Object.is(t.weight[i], initial[i]), 'untouched rows bit-for-bit unchanged');
}

test('SparseSGD matches the reference on touched rows', () => {
  const lr = 0.3;
  checkAgainstReference(new SparseSGD({ lr }), (W, G, touched) => {
    for (const r of touched) for (let d = 0; d < DIM; d++) W[r]![d]! -= lr * G[r]![d]!;
  });
});

test('SparseAdagrad matches the reference (initial accumulator, lr decay)', () => {
  const lr = 0.2,
    eps = 1e-10,
    init = 0.1,
    lrDecay = 0.05;
  const S = Array.from({ length: ROWS }, () => new Array(DIM).fill(init));
  let step = 0;
  checkAgainstReference(new SparseAdagrad({ lr, initialAccumulatorValue: init, lrDecay }), (W, G, touched) => {
    step++;
    const clr = lr / (1 + (step - 1) * lrDecay);
    for (const r of touched) {
      for (let d = 0; d < DIM; d++) {
        S[r]![d] += G[r]![d]! ** 2;
        W[r]![d]! -= (clr * G[r]![d]!) / (Math.sqrt(S[r]![d]!) + eps);
      }
    }
  });
});

test('LazyAdam matches torch SparseAdam semantics (lazy moments, table-wide step count)', () => {
  const lr = 0.05,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8;
  const M = Array.from({ length: ROWS }, () => new Array(DIM).fill(0));
  const V = Array.from({ length: ROWS }, () => new Array(DIM).fill(0));
  checkAgainstReference(new LazyAdam({ lr }), (W, G, touched, step) => {
    const stepSize = (lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
    for (const r of touched) {
      for (let d = 0; d < DIM; d++) {
        const g = G[r]![d]!;
        M[r]![d] = b1 * M[r]![d]! + (1 - b1) * g;
        V[r]![d] = b2 * V[r]![d]! + (1 - b2) * g * g;
        W[r]![d]! -= (stepSize * M[r]![d]!) / (Math.sqrt(V[r]![d]!) + eps);
      }
    }
  });
});

test('FTRL-Proximal matches McMahan et al. 2013 per coordinate', () => {
  const alpha = 0.5,
    beta = 1,
    l1 = 0.05,
    l2 = 0.1;
  const Z = Array.from({ length: ROWS }, () => new Array(DIM).fill(0));
  const N = Array.from({ length: ROWS }, () => new Array(DIM).fill(0));
  let zeros = 0;
  checkAgainstReference(new FTRL({ alpha, beta, l1, l2 }), (W, G, touched) => {
    for (const r of touched) {
      for (let d = 0; d < DIM; d++) {
        const g = G[r]![d]!;
        const sigma = (Math.sqrt(N[r]![d]! + g * g) - Math.sqrt(N[r]![d]!)) / alpha;
        Z[r]![d] += g - sigma * W[r]![d]!;
        N[r]![d] += g * g;
        const z = Z[r]![d]!;
        W[r]![d] = Math.abs(z) <= l1 ? 0 : -(z - Math.sign(z) * l1) / ((beta + Math.sqrt(N[r]![d]!)) / alpha + l2);
        if (W[r]![d] === 0) zeros++;
      }
    }
  });
  assert.ok(zeros > 0, 'the L1 term produced exact zeros in this test (the sparsity branch is exercised)');
});

test('TableAdam equals dense Adam on the whole table, with and without whole-table L2', () => {
  for (const lambda of [0, 0.05]) {
    const t = newTable(21);
    const dense = new Tensor(t.weight.slice(), [ROWS, DIM], true);
    const opt = new TableAdam({ lr: 0.01 });
    const ref = new Adam([dense], { lr: 0.01, weightDecay: lambda });
    const initial = t.weight.slice();
    for (const s of makeSteps(3, 6)) {
      t.zeroGrad();
      t.accumulateGrad(s.ids, s.grad, s.ids.length);
      const penalty = embeddingL2([t], lambda, 'table');
      let ww = 0;
      for (const x of t.weight) ww += x * x;
      assert.ok(Math.abs(penalty - 0.5 * lambda * ww) <= 1e-12 + 1e-9 * penalty);
      // The dense reference gradient: scatter-add in the same order the table merges.
      const g = new Float32Array(ROWS * DIM);
      s.ids.forEach((id, i) => {
        if (id === 0) return;
        for (let d = 0; d < DIM; d++) g[id * DIM + d]! += s.grad[i * DIM + d]!;
      });
      dense.grad = g;
      opt.step([t]);
      ref.step();
      assert.deepEqual(t.weight, dense.data, 'TableAdam and dense Adam agree exactly');
    }
    // Row 11 is never looked up: only the whole-table L2 term moves it.
    if (lambda > 0) assert.notEqual(t.weight[11 * DIM], initial[11 * DIM]);
    else assert.equal(t.weight[11 * DIM], initial[11 * DIM]);
  }
});

test('row-wise optimizers refuse whole-table L2; batch L2 adds λ·w once per unique row', () => {
  const t = newTable();
  t.accumulateGrad(Int32Array.from([2, 2]), new Float32Array(6), 2);
  embeddingL2([t], 0.1, 'table', { penalty: false });
  assert.throws(() => new LazyAdam().step([t]), /table 'emb' carries whole-table L2 \(mode 'table'\).*use TableAdam/);
  t.zeroGrad();
  assert.equal(t.denseDecay, 0);
  t.accumulateGrad(Int32Array.from([2, 5, 2]), new Float32Array(9).fill(1), 3);
  const p = embeddingL2([t, t], 0.1, 'batch');
  const { ids, values } = t.sparseGrad();
  assert.deepEqual([...ids], [2, 5]);
  let want = 0;
  for (const r of [2, 5]) {
    for (let d = 0; d < DIM; d++) {
      const w = t.weight[r * DIM + d]!;
      want += w * w;
      const expected = (r === 2 ? 2 : 1) + 0.1 * w;
      assert.ok(Math.abs(values[ids.indexOf(r) * DIM + d]! - expected) < 1e-6);
    }
  }
  assert.ok(Math.abs(p - 0.05 * want) < 1e-9, 'penalty λ/2·Σ‖w_r‖² over unique touched rows (shared table counted once)');
});

test('tables without a gradient are skipped, step count included (torch: grad is None)', () => {
  const t = newTable();
  const opt = new LazyAdam({ lr: 0.1 });
  const before = t.weight.slice();
  opt.step([t]);
  assert.deepEqual(t.weight, before);
  assert.deepEqual(opt.stateDict().tables, {});
  t.accumulateGrad(Int32Array.from([4]), Float32Array.from([1, -2, 0.5]), 1);
  opt.step([t, t]); // a table listed twice is stepped once
  assert.equal(opt.stateDict().tables.emb!.step, 1);
  // First LazyAdam step moves each coordinate by ≈ lr·sign(g).
  assert.ok(Math.abs(t.weight[4 * DIM]! - (before[4 * DIM]! - 0.1)) < 1e-6);
  assert.ok(Math.abs(t.weight[4 * DIM + 1]! - (before[4 * DIM + 1]! + 0.1)) < 1e-6);
  const other = new EmbeddingTable('emb', ROWS, DIM, { init: 'zeros' });
  other.accumulateGrad(Int32Array.from([1]), Float32Array.from([1, 1, 1]), 1);
  assert.throws(() => opt.step([other]), /two different tables are named 'emb'/);
});

test('state dict round trip gives an identical continuation, for every table optimizer', () => {
  const makers: Array<() => SparseOptimizer> = [
    () => new SparseSGD({ lr: 0.1 }),
    () => new SparseAdagrad({ lr: 0.1, initialAccumulatorValue: 0.1 }),
    () => new LazyAdam({ lr: 0.02 }),
    () => new TableAdam({ lr: 0.02 }),
    () => new FTRL({ alpha: 0.3, l1: 0.01, l2: 0.01 }),
  ];
  const steps = makeSteps(29, 8);
  const run = (t: EmbeddingTable, opt: SparseOptimizer, from: number, to: number) => {
    for (let k = from; k < to; k++) {
      t.zeroGrad();
      t.accumulateGrad(steps[k]!.ids, steps[k]!.grad, steps[k]!.ids.length);
      opt.step([t]);
    }
  };
  for (const make of makers) {
    const a = newTable(),
      optA = make();
    run(a, optA, 0, 4);
    const saved = optA.stateDict();
    const savedWeights = a.weight.slice();
    optA.lr *= 0.5; // a schedule changed lr before the snapshot is reloaded below
    const lrAfter = optA.lr;
    run(a, optA, 4, 8);

    const b = newTable(),
      optB = make();
    b.weight.set(savedWeights);
    optB.loadStateDict(saved);
    optB.lr = lrAfter;
    run(b, optB, 4, 8);
    assert.deepEqual(b.weight, a.weight, `${saved.kind}: resumed run equals the uninterrupted one`);
    assert.throws(() => optB.loadStateDict({ ...saved, kind: 'Other' }), /expected/);
  }
  const lazy = new LazyAdam();
  const s = new LazyAdam();
  const t = newTable();
  t.accumulateGrad(Int32Array.from([1]), Float32Array.from([1, 1, 1]), 1);
  s.step([t]);
  const bad = s.stateDict();
  bad.tables.emb!.slots.m = new Float32Array(3);
  assert.throws(() => lazy.loadStateDict(bad), /table 'emb' slot 'm' must be a Float32Array of 12×3 values/);
});
