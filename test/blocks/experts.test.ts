import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, type Tensor } from '../../src/engine/tensor.js';
import { concat } from '../../src/engine/ops/index.js';
import { Rng } from '../../src/engine/random.js';
import type { Module } from '../../src/nn/module.js';
import { ExpertBank, SoftmaxGate, mixExperts } from '../../src/blocks/experts/mixture.js';
import { MMoELayer } from '../../src/blocks/experts/mmoe-layer.js';
import { CGCLayer } from '../../src/blocks/experts/cgc-layer.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const LAYER = { hiddenActivations: 'tanh', netDropout: 0, batchNorm: false };
type State = Map<string, Float32Array>;

/** Every parameter set to random values (biases included), so that no term hides behind a zero init. */
function randomize(m: Module, seed: number): State {
  const rng = new Rng(seed);
  const st = m.stateDict();
  for (const v of st.values()) for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-0.8, 0.8);
  return st;
}

/** One row through an MLP stored under `prefix`: `hidden` tanh layers, then the output Linear when `out`. Float64. */
function naiveMlp(st: State, prefix: string, x: number[], hidden: number, out: boolean): number[] {
  const affine = (h: number[], w: Float32Array, b: Float32Array): number[] => {
    const width = b.length;
    return Array.from({ length: width }, (_, j) => h.reduce((s, v, i) => s + v * w[i * width + j]!, b[j]!));
  };
  let h = x;
  for (let l = 0; l < hidden; l++)
    h = affine(h, st.get(`${prefix}layers.${l}.linear.weight`)!, st.get(`${prefix}layers.${l}.linear.bias`)!).map(Math.tanh);
  return out ? affine(h, st.get(`${prefix}out.weight`)!, st.get(`${prefix}out.bias`)!) : h;
}

function naiveSoftmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Σ_k g_k · e_k over explicit expert vectors. */
function naiveMix(g: number[], experts: number[][]): number[] {
  return experts[0]!.map((_, j) => experts.reduce((s, e, k) => s + g[k]! * e[j]!, 0));
}

function row(t: Tensor, r: number): number[] {
  const w = t.shape[t.rank - 1]!;
  return [...t.data.subarray(r * w, r * w + w)];
}

function assertClose(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${what}[${i}]: ${v} vs naive ${want[i]}`));
}

test('softmax gate rows sum to 1; mixExperts is Σ_k g_k·e_k', () => {
  const gate = new SoftmaxGate(3, 4, [5], LAYER, new Rng(1));
  const st = randomize(gate, 2);
  const x = randTensor(new Rng(3), [4, 4], 1, false);
  const g = noGrad(() => gate.forward(x));
  const e = randTensor(new Rng(4), [4, 3, 2], 1, false);
  const mixed = noGrad(() => mixExperts(g, e));
  for (let r = 0; r < 4; r++) {
    const want = naiveSoftmax(naiveMlp(st, 'net.', row(x, r), 1, true));
    assertClose(row(g, r), want, `gate row ${r}`);
    assert.ok(Math.abs(want.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const experts = [0, 1, 2].map((k) => [...e.data.subarray(r * 6 + k * 2, r * 6 + k * 2 + 2)]);
    assertClose(row(mixed, r), naiveMix(want, experts), `mix row ${r}`);
  }
  assert.throws(() => mixExperts(g, randTensor(new Rng(5), [4, 2, 2], 1, false)), /gate \[B, K\] and experts \[B, K, H\]/);
});

test('MMoE layer equals per-gate softmax mixtures of per-expert MLPs (naive, float64); MoE is one gate', () => {
  for (const numGates of [2, 1]) {
    const layer = new MMoELayer(4, { ...LAYER, numExperts: 3, numGates, expertHiddenUnits: [5, 3], gateHiddenUnits: [4] }, new Rng(6));
    const st = randomize(layer, 7);
    const x = randTensor(new Rng(8), [5, 4], 1, false);
    const outs = noGrad(() => layer.forward(x));
    assert.equal(outs.length, numGates);
    for (let r = 0; r < 5; r++) {
      const experts = [0, 1, 2].map((k) => naiveMlp(st, `experts.${k}.`, row(x, r), 2, false));
      outs.forEach((o, gi) => {
        assert.deepEqual(o.shape, [5, 3]);
        const g = naiveSoftmax(naiveMlp(st, `gate${gi}.net.`, row(x, r), 1, true));
        assertClose(row(o, r), naiveMix(g, experts), `gate ${gi} row ${r}`);
      });
    }
  }
});

test('MMoE layer: gradients of input and every parameter match finite differences', () => {
  const layer = new MMoELayer(3, { ...LAYER, numExperts: 3, numGates: 2, expertHiddenUnits: [4], gateHiddenUnits: [] }, new Rng(9));
  randomize(layer, 10);
  const x = randTensor(new Rng(11), [4, 3]);
  gradcheck(() => concat(layer.forward(x), 1), [x, ...layer.parameters()]);
});

test('CGC layer equals the naive per-task gates over own + shared experts, and the shared gate over all experts', () => {
  const T = 2;
  const layer = new CGCLayer(
    3,
    { ...LAYER, numTasks: T, numSharedExperts: 2, numSpecificExperts: 2, expertHiddenUnits: [4, 3], gateHiddenUnits: [3], sharedOutput: true },
    new Rng(12),
  );
  const st = randomize(layer, 13);
  const inputs = [0, 1, 2].map((i) => randTensor(new Rng(20 + i), [4, 3], 1, false));
  const outs = noGrad(() => layer.forward(inputs));
  assert.equal(outs.length, T + 1);
  for (let r = 0; r < 4; r++) {
    const xs = inputs.map((x) => row(x, r));
    const shared = [0, 1].map((k) => naiveMlp(st, `shared.${k}.`, xs[T]!, 2, false));
    const own = [0, 1].map((t) => [0, 1].map((k) => naiveMlp(st, `task${t}.${k}.`, xs[t]!, 2, false)));
    for (let t = 0; t < T; t++) {
      const g = naiveSoftmax(naiveMlp(st, `gate${t}.net.`, xs[t]!, 1, true));
      assert.equal(g.length, 4);
      assertClose(row(outs[t]!, r), naiveMix(g, [...own[t]!, ...shared]), `task ${t} row ${r}`);
    }
    const gs = naiveSoftmax(naiveMlp(st, 'sharedGate.net.', xs[T]!, 1, true));
    assert.equal(gs.length, 6);
    assertClose(row(outs[T]!, r), naiveMix(gs, [...own.flat(), ...shared]), `shared row ${r}`);
  }
});

test('CGC layer: gradients of every input and parameter match finite differences; errors are clear', () => {
  const layer = new CGCLayer(
    3,
    { ...LAYER, numTasks: 2, numSharedExperts: 1, numSpecificExperts: 2, expertHiddenUnits: [3], gateHiddenUnits: [], sharedOutput: true },
    new Rng(14),
  );
  randomize(layer, 15);
  const inputs = [0, 1, 2].map((i) => randTensor(new Rng(30 + i), [3, 3]));
  gradcheck(() => concat(layer.forward(inputs), 1), [...inputs, ...layer.parameters()]);
  assert.throws(() => layer.forward(inputs.slice(0, 2)), /expects 3 inputs/);
  const last = new CGCLayer(
    3,
    { ...LAYER, numTasks: 2, numSharedExperts: 1, numSpecificExperts: 1, expertHiddenUnits: [3], gateHiddenUnits: [], sharedOutput: false },
    new Rng(16),
  );
  assert.equal(noGrad(() => last.forward(inputs)).length, 2);
  assert.ok(!last.namedParameters().some(([n]) => n.startsWith('sharedGate')));
  assert.throws(() => new ExpertBank(2, 3, [], LAYER, new Rng(1)), /expert_hidden_units must list at least one/);
  assert.throws(() => new ExpertBank(0, 3, [2], LAYER, new Rng(1)), /positive integer/);
});
