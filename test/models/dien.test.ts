import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { bceWithLogits } from '../../src/engine/ops/index.js';
import type { Batch, PaddedIds } from '../../src/features/batch.js';
import { sequenceField, sparseField, type FeatureSpec } from '../../src/features/fields.js';
import { GRU } from '../../src/blocks/sequence/gru.js';
import { createModel } from '../../src/models/registry.js';
import { Trainer } from '../../src/train/trainer.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { gradcheck } from '../support/gradcheck.js';
import { modelGradcheck } from '../support/model-gradcheck.js';

const B = 5,
  L = 4,
  V = 9,
  D = 3;

function data(): { spec: FeatureSpec; batch: Batch } {
  const rng = new Rng(8);
  const padded = (lengths: number[]): PaddedIds => {
    const ids = new Int32Array(B * L);
    lengths.forEach((n, b) => {
      for (let t = 0; t < n; t++) ids[b * L + t] = 2 + rng.int(V - 2);
    });
    return { ids, lengths: Int32Array.from(lengths), maxLen: L };
  };
  const lengths = [0, 1, 4, 2, 3];
  const spec: FeatureSpec = {
    fields: [
      sparseField('user', 6),
      sparseField('item', V),
      sequenceField('hist', 'item', V, L, { pooling: 'attention' }),
      sequenceField('neg', 'item', V, L),
    ],
    labels: ['click'],
  };
  const batch: Batch = {
    size: B,
    sparse: { user: Int32Array.from({ length: B }, () => 2 + rng.int(4)), item: Int32Array.from({ length: B }, () => 2 + rng.int(V - 2)) },
    dense: {},
    varlen: { hist: padded(lengths), neg: padded(lengths) },
    labels: { click: Float32Array.from({ length: B }, (_, i) => i % 2) },
  };
  return { spec, batch };
}

const OPTS = { embeddingDim: D, embeddingInitStd: 0.5, dienNegSeqField: ['neg'], dnnHiddenUnits: [4], auxLossAlpha: 0.7 };

/** A score of (h_t, e_{t+1}) from the model's state dict: the inner product unless given. */
type AuxScore = (h: number[], x: number[]) => number;
const innerProduct: AuxScore = (h, x) => h.reduce((acc, v, d) => acc + v * x[d]!, 0);

/** FuxiCTR's auxiliary MLP in float64 from the state dict: ReLU(…ReLU([h ‖ x]·W₀ + b₀)…)·w_out + b_out (weights [in, out]). */
function naiveAuxMlp(st: Map<string, Float32Array>, hidden: number[]): AuxScore {
  const dense = (x: number[], w: Float32Array, b: Float32Array, out: number, relu: boolean) =>
    Array.from({ length: out }, (_, j) => {
      let z = b[j]!;
      x.forEach((v, i) => (z += v * w[i * out + j]!));
      return relu ? Math.max(0, z) : z;
    });
  return (h, x) => {
    let a = [...h, ...x];
    hidden.forEach((n, l) => (a = dense(a, st.get(`aux.layers.${l}.linear.weight`)!, st.get(`aux.layers.${l}.linear.bias`)!, n, true)));
    return dense(a, st.get('aux.out.weight')!, st.get('aux.out.bias')!, 1, false)[0]!;
  };
}

/** −log σ(s(h_t, e_{t+1})) − log(1 − σ(s(h_t, ê_{t+1}))), averaged over t + 1 < length, in float64 from the model's own tables and a GRU with the extractor's weights; s the inner product (the paper) unless given. */
function naiveAux(model: ReturnType<typeof createModel>, batch: Batch, score: AuxScore = innerProduct): number {
  const st = model.stateDict();
  const table = st.get('embedding.item')!;
  const gru = new GRU(D, D, new Rng(0));
  gru.loadStateDict(new Map([...st].filter(([k]) => k.startsWith('extractor.')).map(([k, v]) => [k.slice('extractor.'.length), v])));
  const hist = batch.varlen.hist!,
    neg = batch.varlen.neg!;
  const emb = (p: PaddedIds) =>
    new Tensor(
      Float32Array.from({ length: B * L * D }, (_, i) => {
        const r = Math.floor(i / D),
          d = i % D;
        return r % L < p.lengths[Math.floor(r / L)]! ? table[p.ids[r]! * D + d]! : 0;
      }),
      [B, L, D],
    );
  const states = noGrad(() => gru.forward(emb(hist), hist.lengths).states).data;
  const e = emb(hist).data,
    n = emb(neg).data;
  let total = 0,
    count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < hist.lengths[b]!; t++) {
      const row = (x: Float32Array, s: number) => Array.from(x.subarray(s * D, s * D + D));
      const h = row(states, b * L + t);
      const p = score(h, row(e, b * L + t + 1)),
        q = score(h, row(n, b * L + t + 1));
      total += Math.log1p(Math.exp(-p)) + Math.log1p(Math.exp(q));
      count++;
    }
  }
  return (0.7 * total) / count;
}

test('DIEN auxiliary loss equals the next-behaviour formula (given negative histories); none in eval mode', () => {
  const { spec, batch } = data();
  const model = createModel('dien', { spec, rng: new Rng(3) }, OPTS);
  model.train();
  noGrad(() => model.forwardTasks(batch));
  const aux = model.extraLoss();
  assert.ok(aux !== null);
  const expected = naiveAux(model, batch);
  assert.ok(Math.abs(aux.item() - expected) < 1e-5, `aux ${aux.item()} vs naive ${expected}`);
  model.eval();
  noGrad(() => model.forwardTasks(batch));
  assert.equal(model.extraLoss(), null);
});

test("DIEN aux_hidden_units (FuxiCTR's auxiliary MLP): the loss equals the formula over MLP([h_t ‖ e_{t+1}]); gradient check; same other weights", () => {
  const { spec, batch } = data();
  const model = createModel('dien', { spec, rng: new Rng(3) }, { ...OPTS, aux_hidden_units: [4, 2] });
  const inner = createModel('dien', { spec, rng: new Rng(3) }, OPTS);
  // The auxiliary MLP is built last: every other parameter starts as without it.
  const st = model.stateDict();
  for (const [k, v] of inner.stateDict()) assert.deepEqual(st.get(k), v, k);
  assert.ok(st.has('aux.out.weight'));
  model.train();
  noGrad(() => model.forwardTasks(batch));
  const expected = naiveAux(model, batch, naiveAuxMlp(st, [4, 2]));
  assert.ok(Math.abs(model.extraLoss()!.item() - expected) < 1e-5, `aux ${model.extraLoss()!.item()} vs naive ${expected}`);
  assert.ok(Math.abs(expected - naiveAux(model, batch)) > 1e-3, 'differs from the inner-product loss');
  gradcheck(
    () => {
      model.forwardTasks(batch);
      return model.extraLoss()!;
    },
    model
      .namedParameters()
      .filter(([k]) => k.startsWith('aux.'))
      .map(([, p]) => p),
    { maxCoords: 8 },
  );
  // α = 0: no auxiliary network at all (FuxiCTR builds none).
  const off = createModel('dien', { spec, rng: new Rng(3) }, { ...OPTS, aux_hidden_units: [4, 2], auxLossAlpha: 0 });
  assert.ok(![...off.stateDict().keys()].some((k) => k.startsWith('aux.')));
});

test('DIEN auxiliary loss: gradient matches finite differences; the trainer adds it to the task loss', () => {
  const { spec, batch } = data();
  const model = createModel('dien', { spec, rng: new Rng(3) }, OPTS);
  model.train();
  gradcheck(
    () => {
      model.forwardTasks(batch);
      return model.extraLoss()!;
    },
    model
      .parameters()
      .filter((p) => p.name?.startsWith('weight') || p.name?.startsWith('bias'))
      .slice(0, 4),
    { maxCoords: 8 },
  );
  // One step: the reported loss is BCE(logits) + α·aux, both from the same (deterministic) forward.
  const logits = noGrad(() => model.forwardTasks(batch).click!);
  const expected = bceWithLogits(logits, batch.labels.click!).item() + model.extraLoss()!.item();
  const trainer = new Trainer(
    model,
    { ...TRAIN_DEFAULTS, optimizer: { type: 'sgd', lr: 0 }, embeddingOptimizer: { type: 'sgd' }, clipNorm: 0 },
    'click',
  );
  assert.ok(Math.abs(trainer.step(batch) - expected) < 1e-5);
});

test('DIEN: unknown gru_type refused; AGRU, AIGRU and GRU variants run', () => {
  const { spec, batch } = data();
  assert.throws(
    () => createModel('dien', { spec, rng: new Rng(1) }, { ...OPTS, gru_type: 'LSTM' }),
    /gru_type 'LSTM' is not one of AUGRU, AGRU, AIGRU, GRU/,
  );
  for (const gru_type of ['AGRU', 'AIGRU', 'GRU']) {
    const m = createModel('dien', { spec, rng: new Rng(1) }, { ...OPTS, gru_type });
    const out = noGrad(() => m.forwardTasks(batch).click!);
    assert.ok(out.data.every(Number.isFinite), gru_type);
  }
});

test("DIEN: the attention's bilinear form starts at the identity (FuxiCTR's bilinear_attention), then trains", () => {
  const { spec, batch } = data();
  const model = createModel('dien', { spec, rng: new Rng(3) }, OPTS);
  const w = Float32Array.from(model.stateDict().get('attention.weight')!);
  assert.equal(w.length, D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) assert.equal(w[i * D + j], i === j ? 1 : 0, `W[${i}][${j}]`);
  const trainer = new Trainer(model, { ...TRAIN_DEFAULTS, optimizer: { type: 'sgd', lr: 0.5 }, clipNorm: 0 }, 'click');
  model.train();
  trainer.step(batch);
  const after = model.stateDict().get('attention.weight')!;
  assert.ok(
    after.some((v, i) => v !== w[i]),
    'W receives a gradient',
  );
});

test('DIEN enable_sum_pooling: the DNN also reads s = Σ_t e_t and e_a ⊙ s (naive reference); gradient check', () => {
  const { spec, batch } = data();
  // No hidden layer: the logit is linear in the DNN input [flat e ‖ h_L ‖ s ‖ e_a ⊙ s].
  const opts = { ...OPTS, dnnHiddenUnits: [], auxLossAlpha: 0 };
  const plain = createModel('dien', { spec, rng: new Rng(3) }, opts);
  const pooled = createModel('dien', { spec, rng: new Rng(3) }, { ...opts, enable_sum_pooling: true });
  const wPlain = plain.stateDict().get('dnn.out.weight')!;
  const state = pooled.stateDict();
  const w = state.get('dnn.out.weight')!;
  assert.equal(w.length, wPlain.length + 2 * D, 'two more D-wide inputs');
  // Same weights as the plain model, plus chosen ones for s and e_a ⊙ s.
  const ws = [0.7, -1.3, 0.4],
    wp = [-0.9, 0.5, 1.1];
  const next = new Map([...plain.stateDict()].map(([k, v]) => [k, Float32Array.from(v)]));
  next.set('dnn.out.weight', Float32Array.from([...wPlain, ...ws, ...wp]));
  pooled.loadStateDict(next);
  plain.eval();
  pooled.eval();
  const a = noGrad(() => plain.forwardTasks(batch).click!).data;
  const b = noGrad(() => pooled.forwardTasks(batch).click!).data;
  const table = next.get('embedding.item')!;
  const hist = batch.varlen.hist!;
  for (let r = 0; r < B; r++) {
    let extra = 0;
    for (let d = 0; d < D; d++) {
      let sum = 0;
      for (let t = 0; t < hist.lengths[r]!; t++) sum += table[hist.ids[r * L + t]! * D + d]!;
      const q = table[batch.sparse.item![r]! * D + d]!;
      extra += ws[d]! * sum + wp[d]! * q * sum;
    }
    assert.ok(Math.abs(b[r]! - (a[r]! + extra)) < 1e-5, `row ${r} (length ${hist.lengths[r]}): ${b[r]} vs ${a[r]! + extra}`);
  }
  // End to end, with the auxiliary loss and a hidden layer.
  const full = createModel('dien', { spec, rng: new Rng(5) }, { ...OPTS, enable_sum_pooling: true });
  full.train();
  assert.ok(modelGradcheck(full, batch) > 10);
});
