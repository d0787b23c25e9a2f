import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { TargetAttention } from '../../src/blocks/attention/target-attention.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const B = 4,
  L = 3,
  D = 2,
  H = 5;
const LENGTHS = [0, 1, 3, 2];

function padding(): Uint8Array {
  const m = new Uint8Array(B * L);
  for (let b = 0; b < B; b++) for (let l = LENGTHS[b]!; l < L; l++) m[b * L + l] = 1;
  return m;
}

/** a(q, k) = w₂·relu(W₁ [q, k, q−k, q⊙k] + b₁) + b₂, by explicit loops (float64). */
function naiveScore(st: Map<string, Float32Array>, q: number[], k: number[]): number {
  const x = [...q, ...k, ...q.map((v, i) => v - k[i]!), ...q.map((v, i) => v * k[i]!)];
  const W1 = st.get('unit.layers.0.linear.weight')!,
    b1 = st.get('unit.layers.0.linear.bias')!;
  const W2 = st.get('unit.out.weight')!,
    b2 = st.get('unit.out.bias')!;
  let z = b2[0]!;
  for (let j = 0; j < H; j++) {
    let h = b1[j]!;
    for (let i = 0; i < 4 * D; i++) h += x[i]! * W1[i * H + j]!;
    z += Math.max(0, h) * W2[j]!;
  }
  return z;
}

function setup(useSoftmax: boolean, activation = 'relu') {
  const att = new TargetAttention(D, { hiddenUnits: [H], activation, dropout: 0, useSoftmax, rng: new Rng(1) });
  const st = att.stateDict();
  const rng = new Rng(2);
  for (const v of st.values()) for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-1, 1);
  const q = randTensor(new Rng(3), [B, D]);
  const k = randTensor(new Rng(4), [B, L, D]);
  const pad = padding();
  for (let i = 0; i < B * L; i++) if (pad[i]) k.data.fill(0, i * D, (i + 1) * D); // padding rows are zero, as embedSequence gives them
  return { att, st, q, k, pad };
}

for (const useSoftmax of [false, true]) {
  test(`DIN attention (${useSoftmax ? 'softmax' : 'unnormalized, as the paper'}): weights and pooled interest equal the naive per-position formula; lengths 0, 1 and L`, () => {
    const { att, st, q, k, pad } = setup(useSoftmax);
    const w = noGrad(() => att.weights(q, k, pad)).data;
    const out = noGrad(() => att.forward(q, k, pad)).data;
    for (let b = 0; b < B; b++) {
      const qb = [...q.data.subarray(b * D, (b + 1) * D)];
      const raw = Array.from({ length: L }, (_, l) => naiveScore(st, qb, [...k.data.subarray((b * L + l) * D, (b * L + l + 1) * D)]));
      const n = LENGTHS[b]!;
      let expected = raw.map((s, l) => (l < n ? s : 0));
      if (useSoftmax && n > 0) {
        const m = Math.max(...raw.slice(0, n));
        const e = raw.map((s, l) => (l < n ? Math.exp(s - m) : 0));
        const z = e.reduce((a, c) => a + c, 0);
        expected = e.map((v) => v / z);
      }
      for (let l = 0; l < L; l++) assert.ok(Math.abs(w[b * L + l]! - expected[l]!) < 1e-5, `w[${b}, ${l}] ${w[b * L + l]} vs ${expected[l]}`);
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let l = 0; l < L; l++) s += expected[l]! * k.data[(b * L + l) * D + d]!;
        assert.ok(Math.abs(out[b * D + d]! - s) < 1e-5, `out[${b}, ${d}] ${out[b * D + d]} vs ${s}`);
      }
    }
    for (let d = 0; d < D; d++) assert.equal(out[d], 0, 'an empty history pools to zeros');
    assert.ok(out.every((v) => Number.isFinite(v)));
  });

  test(`DIN attention (${useSoftmax ? 'softmax' : 'unnormalized'}): gradients of query, keys and unit weights match finite differences`, () => {
    // tanh: a ReLU kink within ±eps of a pre-activation makes central differences meaningless at these random weights.
    const { att, q, k, pad } = setup(useSoftmax, 'tanh');
    gradcheck(([qq, kk]) => att.forward(qq!, kk!, pad), [q, k, ...att.parameters()] as Tensor[]);
  });
}

test('DIN attention with Dice in the activation unit: gradient check in training mode', () => {
  const att = new TargetAttention(D, { hiddenUnits: [H], activation: 'dice', dropout: 0, useSoftmax: false, rng: new Rng(1) });
  const q = randTensor(new Rng(5), [B, D]);
  const k = randTensor(new Rng(6), [B, L, D]);
  gradcheck(([qq, kk]) => att.forward(qq!, kk!, padding()), [q, k, ...att.parameters()] as Tensor[], { tol: 5e-3 });
});

test('DIN attention: the factored first layer equals the activation unit over the explicit [q, k, q − k, q ⊙ k] features (0, 1 and 2 hidden layers, Dice in eval mode)', () => {
  for (const hiddenUnits of [[], [H], [H, 3]]) {
    const att = new TargetAttention(D, { hiddenUnits, activation: 'dice', dropout: 0, useSoftmax: false, rng: new Rng(7) });
    att.eval();
    for (const v of att.stateDict().values()) if (v.length > 0 && v.every((x) => x === 0)) v.fill(0.3); // non-zero biases and alphas
    const q = randTensor(new Rng(8), [B, D]);
    const k = randTensor(new Rng(9), [B, L, D]);
    const w = noGrad(() => att.weights(q, k, new Uint8Array(B * L))).data;
    const features = new Float32Array(B * L * 4 * D);
    for (let b = 0; b < B; b++)
      for (let l = 0; l < L; l++)
        for (let d = 0; d < D; d++) {
          const qv = q.data[b * D + d]!,
            kv = k.data[(b * L + l) * D + d]!;
          const o = (b * L + l) * 4 * D;
          features[o + d] = qv;
          features[o + D + d] = kv;
          features[o + 2 * D + d] = qv - kv;
          features[o + 3 * D + d] = qv * kv;
        }
    const unit = att['unit'];
    const expected = noGrad(() => unit.forward(new Tensor(features, [B * L, 4 * D]))).data;
    for (let i = 0; i < B * L; i++) assert.ok(Math.abs(w[i]! - expected[i]!) < 1e-5, `[${hiddenUnits}] w[${i}] ${w[i]} vs ${expected[i]}`);
  }
});

test('DIN attention with a linear activation unit (attention_hidden_units: []): gradient check', () => {
  const att = new TargetAttention(D, { hiddenUnits: [], activation: 'relu', dropout: 0, useSoftmax: false, rng: new Rng(1) });
  const q = randTensor(new Rng(5), [B, D]);
  const k = randTensor(new Rng(6), [B, L, D]);
  gradcheck(([qq, kk]) => att.forward(qq!, kk!, padding()), [q, k, ...att.parameters()] as Tensor[]);
});
