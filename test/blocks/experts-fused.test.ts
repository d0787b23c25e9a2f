/**
 * The fused mixture-of-experts path (src/engine/ops/experts.ts, kernels/gate-mix.ts,
 * `fusedExperts`): the gate–mixture kernels against a float64 naive formula and native
 * against the TypeScript twin bit for bit; `linearConcat`, `blockLinearRelu` and `gateMix`
 * against explicit loops plus gradient checks; and MMoE / CGC layers' fused training path
 * against their module-by-module path (values and every parameter gradient).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/tensor.js';
import { add, blockLinearRelu, gateMix, linearConcat, mul, scale, sum } from '../../src/engine/ops/index.js';
import { loadNativeGateMixKernels, typescriptGateMixKernels, type GateMixKernels } from '../../src/engine/kernels/gate-mix.js';
import { MMoELayer } from '../../src/blocks/experts/mmoe-layer.js';
import { setExpertFusion } from '../../src/blocks/experts/mixture.js';
import { CGCLayer } from '../../src/blocks/experts/cgc-layer.js';
import type { Module } from '../../src/nn/module.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const loaded = loadNativeGateMixKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native gate-mix kernels unavailable: ${(loaded as { error: string }).error}` : false;

/** A gate over experts 2, 0, 3 (out of order, strided) of a [rows, 4·h + 3] array, logits at columns 2…4 of [rows, 6]. */
function setup(seed: number, rows: number, h: number, scale: number) {
  const rng = new Rng(seed);
  const r = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
  const lw = 6,
    loff = 2,
    k = 3,
    ew = 4 * h + 3;
  return {
    rows,
    h,
    lw,
    loff,
    k,
    ew,
    cols: Int32Array.from([2 * h, 0, 3 * h + 3]),
    logits: r(rows * lw, scale),
    experts: r(rows * ew, 1),
    g: r(rows * h, 1),
    ge0: r(rows * ew, 1),
    gl0: r(rows * lw, 1),
  };
}

function run(K: GateMixKernels, s: ReturnType<typeof setup>) {
  const w = new Float32Array(s.rows * s.k),
    out = new Float32Array(s.rows * s.h);
  K.forward(s.logits, s.rows, s.lw, s.loff, s.k, s.experts, s.ew, s.cols, s.h, w, out);
  const ge = s.ge0.slice(),
    gl = s.gl0.slice();
  K.backward(s.g, w, s.rows, s.k, s.h, s.experts, s.ew, s.cols, ge, s.lw, s.loff, gl);
  return { w, out, ge, gl };
}

test('gate-mix kernels (TypeScript): softmax weights, mixture and both gradients equal the float64 formula', () => {
  const s = setup(1, 7, 5, 3);
  const got = run(typescriptGateMixKernels, s);
  for (let r = 0; r < s.rows; r++) {
    const z = Array.from({ length: s.k }, (_, q) => s.logits[r * s.lw + s.loff + q]!);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const tot = e.reduce((a, b) => a + b, 0);
    const w = e.map((v) => v / tot);
    const ex = (q: number, j: number) => s.experts[r * s.ew + s.cols[q]! + j]!;
    const gv = (j: number) => s.g[r * s.h + j]!;
    for (let q = 0; q < s.k; q++) assert.ok(Math.abs(got.w[r * s.k + q]! - w[q]!) < 1e-6);
    for (let j = 0; j < s.h; j++) {
      const want = w.reduce((acc, wq, q) => acc + wq * ex(q, j), 0);
      assert.ok(Math.abs(got.out[r * s.h + j]! - want) < 1e-5, `out[${r}, ${j}]`);
    }
    const d = w.map((_, q) => Array.from({ length: s.h }, (_, j) => gv(j) * ex(q, j)).reduce((a, b) => a + b, 0));
    const wd = w.reduce((acc, wq, q) => acc + wq * d[q]!, 0);
    for (let q = 0; q < s.k; q++) {
      const i = r * s.lw + s.loff + q;
      assert.ok(Math.abs(got.gl[i]! - (s.gl0[i]! + w[q]! * (d[q]! - wd))) < 1e-5, `dlogits[${r}, ${q}]`);
      for (let j = 0; j < s.h; j++) {
        const c = r * s.ew + s.cols[q]! + j;
        assert.ok(Math.abs(got.ge[c]! - (s.ge0[c]! + w[q]! * gv(j))) < 1e-5, `dexperts[${r}, ${c}]`);
      }
    }
    // Columns outside the gate and outside its experts are untouched.
    for (const c of [0, 1, 5]) assert.equal(got.gl[r * s.lw + c], s.gl0[r * s.lw + c]);
    assert.equal(got.ge[r * s.ew + s.h], s.ge0[r * s.ew + s.h]);
  }
});

test('gate-mix kernels: native equals the TypeScript twin bit for bit', { skip }, () => {
  for (const [seed, rows, h, scale] of [
    [2, 1, 1, 1],
    [3, 33, 64, 4],
    [4, 9, 7, 60],
  ] as const) {
    const s = setup(seed, rows, h, scale);
    const a = run(typescriptGateMixKernels, s),
      b = run(native!, s);
    for (const key of ['w', 'out', 'ge', 'gl'] as const) assert.deepEqual(b[key], a[key], `${key} (seed ${seed})`);
    // Null gradients are skipped.
    const w = a.w;
    native!.backward(s.g, w, s.rows, s.k, s.h, s.experts, s.ew, s.cols, null, s.lw, s.loff, null);
  }
  assert.throws(
    () =>
      native!.forward(new Float32Array(4), 1, 4, 3, 2, new Float32Array(4), 4, Int32Array.from([0, 0]), 2, new Float32Array(2), new Float32Array(2)),
    /loff \+ k/,
  );
  assert.throws(
    () =>
      native!.forward(new Float32Array(4), 1, 4, 0, 2, new Float32Array(4), 4, Int32Array.from([0, 3]), 2, new Float32Array(2), new Float32Array(2)),
    /outside the row/,
  );
});

test('gateMix op: explicit loops and a gradient check; bad columns refused', () => {
  const rng = new Rng(5);
  const logits = randTensor(rng, [4, 5], 2),
    experts = randTensor(rng, [4, 11], 1);
  const cols = [6, 0, 3];
  const y = gateMix(logits, 1, 3, experts, cols, 3);
  for (let r = 0; r < 4; r++) {
    const z = [1, 2, 3].map((c) => logits.data[r * 5 + c]!);
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const w = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    for (let j = 0; j < 3; j++) {
      const want = w.reduce((acc, wq, q) => acc + wq * experts.data[r * 11 + cols[q]! + j]!, 0);
      assert.ok(Math.abs(y.data[r * 3 + j]! - want) < 1e-5);
    }
  }
  gradcheck(([l, e]) => gateMix(l!, 1, 3, e!, cols, 3), [logits, experts]);
  assert.throws(() => gateMix(logits, 3, 3, experts, cols, 3), /outside the 5 logit columns/);
  assert.throws(() => gateMix(logits, 0, 3, experts, [0, 3, 9], 3), /outside the 11 expert columns/);
});

test('linearConcat and blockLinearRelu: explicit loops and gradient checks', () => {
  const rng = new Rng(6);
  const x = randTensor(rng, [5, 4], 1);
  const ws = [randTensor(rng, [4, 3], 1), randTensor(rng, [4, 2], 1), randTensor(rng, [4, 2], 1)];
  const bs = [randTensor(rng, [3], 0.5), null, randTensor(rng, [2], 0.5)];
  const y = linearConcat(x, ws, bs, 5);
  const widths = [3, 2, 2];
  for (let r = 0; r < 5; r++) {
    let c = 0;
    ws.forEach((w, j) => {
      for (let o = 0; o < widths[j]!; o++, c++) {
        let v = bs[j] ? bs[j]!.data[o]! : 0;
        for (let i = 0; i < 4; i++) v += x.data[r * 4 + i]! * w.data[i * widths[j]! + o]!;
        if (c < 5) v = Math.max(0, v);
        assert.ok(Math.abs(y.data[r * 7 + c]! - v) < 1e-5, `linearConcat[${r}, ${c}]`);
      }
    });
  }
  gradcheck(([a, w0, w1, w2, b0, b2]) => linearConcat(a!, [w0!, w1!, w2!], [b0!, null, b2!], 5), [x, ...ws, bs[0]!, bs[2]!]);
  // Two blocks of 3 columns of an [5, 7] input (the last column ignored), each to 2 outputs.
  const h = randTensor(rng, [5, 7], 1);
  const w2 = [randTensor(rng, [3, 2], 1), randTensor(rng, [3, 2], 1)];
  const b2 = [randTensor(rng, [2], 0.5), randTensor(rng, [2], 0.5)];
  const z = blockLinearRelu(h, w2, b2);
  for (let r = 0; r < 5; r++) {
    for (let q = 0; q < 2; q++) {
      for (let o = 0; o < 2; o++) {
        let v = b2[q]!.data[o]!;
        for (let i = 0; i < 3; i++) v += h.data[r * 7 + q * 3 + i]! * w2[q]!.data[i * 2 + o]!;
        assert.ok(Math.abs(z.data[r * 4 + q * 2 + o]! - Math.max(0, v)) < 1e-5, `blockLinearRelu[${r}, ${q}, ${o}]`);
      }
    }
  }
  gradcheck(([a, u0, u1, c0, c1]) => blockLinearRelu(a!, [u0!, u1!], [c0!, c1!]), [h, ...w2, ...b2]);
  assert.throws(() => blockLinearRelu(randTensor(rng, [5, 5], 1), w2, b2), /need 6/);
});

/** Fused against module-by-module (both in training mode): outputs and every gradient. */
function compareFused(m: Module, x: Tensor[], forward: (xs: Tensor[]) => Tensor[]) {
  const rng = new Rng(9);
  for (const v of m.stateDict().values()) for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-0.5, 0.5);
  const pass = (fused: boolean) => {
    setExpertFusion(fused);
    for (const p of m.parameters()) p.grad = null;
    for (const t of x) t.grad = null;
    const outs = forward(x);
    // L = Σ_i (i + 1)·Σ o_i², one backward through every output.
    const loss = outs.map((o, i) => scale(sum(mul(o, o)), i + 1)).reduce((a, b) => add(a, b));
    loss.backward();
    return { outs: outs.map((o) => [...o.data]), grads: [...m.parameters(), ...x].map((p) => [...(p.grad ?? [])]) };
  };
  const fused = pass(true),
    plain = pass(false);
  // The fused path really ran: its banks report fusable only while it is switched on.
  const bank =
    (m as unknown as { experts?: { fusable: boolean }; shared?: { fusable: boolean } }).experts ??
    (m as unknown as { shared: { fusable: boolean } }).shared;
  assert.equal(bank.fusable, false);
  setExpertFusion(true);
  assert.equal(bank.fusable, true);
  setExpertFusion(false);
  assert.equal(fused.outs.length, plain.outs.length);
  fused.outs.forEach((o, i) =>
    o.forEach((v, j) => assert.ok(Math.abs(v - plain.outs[i]![j]!) < 1e-5, `output ${i}[${j}]: ${v} vs ${plain.outs[i]![j]}`)),
  );
  fused.grads.forEach((g, i) => {
    assert.equal(g.length, plain.grads[i]!.length, `gradient ${i} missing on one path`);
    g.forEach((v, j) =>
      assert.ok(Math.abs(v - plain.grads[i]![j]!) < 1e-4 * Math.max(1, Math.abs(v)), `gradient ${i}[${j}]: ${v} vs ${plain.grads[i]![j]}`),
    );
  });
}

const RELU = { hiddenActivations: 'relu', netDropout: 0, batchNorm: false };

test('MMoE layer: the fused training path equals the module-by-module path (linear and hidden gates, one and two expert layers)', () => {
  for (const [gateHidden, expertHidden] of [
    [[], [6, 4]],
    [[3], [5]],
  ] as const) {
    const layer = new MMoELayer(
      7,
      { ...RELU, numExperts: 3, numGates: 2, expertHiddenUnits: [...expertHidden], gateHiddenUnits: [...gateHidden] },
      new Rng(1),
    );
    const x = randTensor(new Rng(2), [6, 7], 1);
    compareFused(layer, [x], ([a]) => layer.forward(a!));
  }
});

test('CGC layer: the fused training path equals the module-by-module path (one shared input, and separate inputs with the shared gate)', () => {
  const opts = { ...RELU, numTasks: 2, numSharedExperts: 2, numSpecificExperts: 1, expertHiddenUnits: [5, 4], gateHiddenUnits: [] };
  const first = new CGCLayer(6, { ...opts, sharedOutput: true }, new Rng(3));
  const x = randTensor(new Rng(4), [5, 6], 1);
  compareFused(first, [x], ([a]) => first.forward([a!, a!, a!]));
  const second = new CGCLayer(6, { ...opts, sharedOutput: false }, new Rng(5));
  const xs = [randTensor(new Rng(6), [5, 6], 1), randTensor(new Rng(7), [5, 6], 1), randTensor(new Rng(8), [5, 6], 1)];
  compareFused(second, xs, (a) => second.forward(a));
});
