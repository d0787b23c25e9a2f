import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { SGD, Adam, AdamW, Adagrad, type Optimizer } from '../../src/train/optim.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { denseL2, embeddingL2 } from '../../src/train/regularization.js';
import { EmbeddingTable } from '../../src/embedding/table.js';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = ''): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function param(values: number[]): Tensor {
  return new Tensor(Float32Array.from(values), [values.length], true);
}

test('SGD: plain, momentum, Nesterov and weight decay by hand', () => {
  const p = param([1, -2]);
  const opt = new SGD([p], { lr: 0.1 });
  p.grad = Float32Array.of(0.5, -1);
  opt.step();
  close(p.data, [0.95, -1.9]);

  // Momentum 0.9 with constant gradient 1: b = 1, 1.9, 2.71; w = 1 − 0.1·(1 + 1.9 + 2.71).
  const q = param([1]);
  const m = new SGD([q], { lr: 0.1, momentum: 0.9 });
  const seen: number[] = [];
  for (let k = 0; k < 3; k++) {
    q.grad = Float32Array.of(1);
    m.step();
    seen.push(q.data[0]!);
  }
  close(seen, [0.9, 0.71, 0.439]);

  // Nesterov: d = g + μ·b → 1.9, 2.71, 3.439.
  const r = param([1]);
  const n = new SGD([r], { lr: 0.1, momentum: 0.9, nesterov: true });
  const seenN: number[] = [];
  for (let k = 0; k < 3; k++) {
    r.grad = Float32Array.of(1);
    n.step();
    seenN.push(r.data[0]!);
  }
  close(seenN, [0.81, 0.539, 0.1951]);

  // Weight decay: d = g + wd·w = 0 + 0.5·2 → w = 2 − 0.1·1.
  const s = param([2]);
  const wd = new SGD([s], { lr: 0.1, weightDecay: 0.5 });
  s.grad = Float32Array.of(0);
  wd.step();
  close(s.data, [1.9]);
  assert.throws(() => new SGD([s], { lr: 0.1, nesterov: true }), /Nesterov momentum needs momentum > 0/);
});

test('Adam: first step moves ≈ lr·sign(g); second step by hand; null grads skipped', () => {
  const p = param([1, 1, 1]);
  const idle = param([5]);
  const opt = new Adam([p, idle], { lr: 0.01 });
  p.grad = Float32Array.of(0.3, -4, 1e-3);
  opt.step();
  close(p.data, [0.99, 1.01, 0.99], 1e-5, 'step 1');
  assert.equal(idle.data[0], 5);
  assert.equal(opt.stateDict().params[1], null, 'no state for a parameter that never had a gradient');

  // Step 2 with g2: m = 0.9·m1 + 0.1·g2, v = 0.999·v1 + 0.001·g2², w −= lr/(1−0.9²)·m/(√v/√(1−0.999²) + eps).
  const g1 = [0.3, -4, 1e-3],
    g2 = [-0.1, -2, 0.5];
  const w1 = [...p.data];
  p.grad = Float32Array.from(g2);
  idle.grad = Float32Array.of(2);
  opt.step();
  const expected = g1.map((a, i) => {
    const b = g2[i]!;
    const m = 0.9 * (0.1 * a) + 0.1 * b;
    const v = 0.999 * (0.001 * a * a) + 0.001 * b * b;
    return w1[i]! - ((0.01 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
  });
  close(p.data, expected, 1e-6, 'step 2');
  // The idle parameter's first step uses its own step count 1: ≈ lr·sign(g).
  close(idle.data, [4.99], 1e-6, 'idle');
  assert.equal(opt.stateDict().params[1]!.step, 1);
  opt.zeroGrad();
  assert.equal(p.grad, null);
});

test('AdamW decouples weight decay; Adam with weightDecay adds it to the gradient', () => {
  const a = param([2]);
  const w = new AdamW([a], { lr: 0.1, weightDecay: 0.5 });
  a.grad = Float32Array.of(1);
  w.step();
  // w·(1 − lr·wd) = 2·0.95 = 1.9, then the Adam step −0.1·sign(1).
  close(a.data, [1.8], 1e-6);
  const b = param([2]);
  const l2 = new Adam([b], { lr: 0.1, weightDecay: 0.5 });
  b.grad = Float32Array.of(-0.5); // g + wd·w = −0.5 + 1 = 0.5 > 0
  l2.step();
  close(b.data, [1.9], 1e-6);
});

test('Adagrad by hand: accumulator, initial value, lr decay', () => {
  const p = param([1]);
  const opt = new Adagrad([p], { lr: 0.5, initialAccumulatorValue: 1, lrDecay: 0.5 });
  p.grad = Float32Array.of(2);
  opt.step(); // s = 1 + 4 = 5, w = 1 − 0.5·2/√5
  const w1 = 1 - (0.5 * 2) / Math.sqrt(5);
  close(p.data, [w1]);
  p.grad = Float32Array.of(-1);
  opt.step(); // s = 6, clr = 0.5/(1 + 0.5), w = w1 + clr/√6
  close(p.data, [w1 + 0.5 / 1.5 / Math.sqrt(6)]);
});

test('dense optimizer state dicts: identical continuation after save and load', () => {
  const rng = new Rng(3);
  const grads = Array.from({ length: 8 }, () => Float32Array.from({ length: 6 }, () => rng.uniform(-1, 1)));
  const makers: Array<(ps: Tensor[]) => Optimizer> = [
    (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.01 }),
    (ps) => new AdamW(ps, { lr: 0.01 }),
    (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.01 }),
  ];
  for (const make of makers) {
    const fresh = () => [new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2], true), new Tensor(Float32Array.of(-1, 0.5), [2], true)];
    const run = (ps: Tensor[], opt: Optimizer, from: number, to: number) => {
      for (let k = from; k < to; k++) {
        ps[0]!.grad = grads[k]!.slice(0, 4);
        ps[1]!.grad = k % 3 === 0 ? null : grads[k]!.slice(4, 6); // sometimes no gradient
        opt.step();
        opt.zeroGrad();
      }
    };
    const a = fresh(),
      optA = make(a);
    run(a, optA, 0, 4);
    const saved = optA.stateDict();
    const snap = a.map((p) => p.data.slice());
    run(a, optA, 4, 8);
    const b = fresh(),
      optB = make(b);
    b.forEach((p, i) => p.data.set(snap[i]!));
    optB.loadStateDict(saved);
    run(b, optB, 4, 8);
    assert.deepEqual(
      b.map((p) => [...p.data]),
      a.map((p) => [...p.data]),
      `${saved.kind}: resumed run equals the uninterrupted one`,
    );
    assert.throws(() => make([b[0]!]).loadStateDict(saved), /state has 2 parameter entries, optimizer has 1 parameters/);
  }
  const p = param([1]);
  assert.throws(() => new Adam([p, p]), /parameter 0 is listed twice|parameter 1 is listed twice/);
});

test('clipGradNorm: torch semantics over dense and merged sparse gradients', () => {
  const w = param([0, 0]);
  w.grad = Float32Array.of(3, 4);
  const none = param([1]); // grad null: ignored
  const t = new EmbeddingTable('e', 5, 2, { init: 'zeros' });
  // Row 2 twice: merged to (12, 0) before the norm (12², not 4² + 8²).
  t.accumulateGrad(Int32Array.from([2, 2]), Float32Array.from([4, 0, 8, 0]), 2);
  const total = clipGradNorm([w, none], [t, t], 6.5);
  assert.ok(Math.abs(total - 13) < 1e-9, `total norm √(9 + 16 + 144) = 13, got ${total}`);
  const c = 6.5 / (13 + 1e-6);
  close(w.grad, [3 * c, 4 * c], 1e-6);
  close(t.sparseGrad().values, [12 * c, 0], 1e-6);
  assert.equal(none.grad, null);
  // Below the threshold nothing changes.
  const g = Float32Array.of(0.3, 0.4);
  w.grad = g.slice();
  t.zeroGrad();
  assert.ok(Math.abs(clipGradNorm([w], [t], 1) - 0.5) < 1e-7);
  assert.deepEqual(w.grad, g);
  assert.throws(() => clipGradNorm([w], [], 0), /maxNorm must be a positive number/);
});

test('clipGradNorm counts and scales the whole-table L2 term', () => {
  const t = new EmbeddingTable('e', 3, 1, { init: 'zeros', paddingIdx: null });
  t.weight.set([1, 2, 2]);
  t.accumulateGrad(Int32Array.from([0]), Float32Array.of(1), 1);
  embeddingL2([t], 0.5, 'table');
  // Gradient rows: 1 + 0.5·1 = 1.5, 0.5·2 = 1, 0.5·2 = 1 → norm √(2.25 + 1 + 1).
  const total = clipGradNorm([], [t], 1);
  assert.ok(Math.abs(total - Math.sqrt(4.25)) < 1e-7, `${total}`);
  const c = 1 / (Math.sqrt(4.25) + 1e-6);
  assert.ok(Math.abs(t.denseDecay - 0.5 * c) < 1e-9);
  assert.ok(Math.abs(t.sparseGrad().values[0]! - c) < 1e-7);
});

test('L2 penalties: values and gradients; biases optional; table mode is recorded, not materialized', () => {
  const W = new Tensor(Float32Array.of(1, -2, 3, 0.5), [2, 2], true);
  const b = param([4, 1]);
  W.grad = Float32Array.of(1, 1, 1, 1);
  const p = denseL2([W, b], 0.1);
  assert.ok(Math.abs(p - 0.05 * (1 + 4 + 9 + 0.25)) < 1e-9);
  close(W.grad, [1.1, 0.8, 1.3, 1.05]);
  assert.equal(b.grad, null, 'biases skipped by default');
  const p2 = denseL2([b], 0.1, { includeBiases: true });
  assert.ok(Math.abs(p2 - 0.05 * 17) < 1e-9);
  close(b.grad!, [0.4, 0.1]);

  const t = new EmbeddingTable('e', 4, 2, { init: 'zeros' });
  t.weight.set([0, 0, 1, 2, 3, 4, 5, 6]);
  const pen = embeddingL2([t], 0.2, 'table');
  assert.ok(Math.abs(pen - 0.1 * (1 + 4 + 9 + 16 + 25 + 36)) < 1e-9);
  assert.equal(t.denseDecay, 0.2);
  assert.equal(t.sparseGrad().ids.length, 0, 'no dense gradient rows are created');
  assert.equal(t.hasGrad(), true);
  assert.ok(Number.isNaN(embeddingL2([t], 0.2, 'table', { penalty: false })));
  assert.ok(Math.abs(t.denseDecay - 0.4) < 1e-12, 'calling twice adds twice (call once per step)');
  assert.throws(() => embeddingL2([t], -1, 'batch'), /lambda must be a finite number >= 0/);
  assert.throws(() => embeddingL2([t], 1, 'rows' as never), /mode must be 'batch' or 'table'/);
});
