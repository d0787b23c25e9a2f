import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import { denseField, sparseField, type FeatureSpec } from '../../src/features/fields.js';
import type { RankingModel } from '../../src/models/base.js';

/**
 * Dense parameter counts (everything but the embedding tables) against FuxiCTR's for the
 * BARS Frappe_x1 options of /work/shared/bars-frappe-configs.md. The published totals are
 * dense + (1 + D)·V or D·V embedding rows with V = 5,389 (FuxiCTR v1's Frappe vocabulary):
 * LR 5,390 = V + 1 and FM 59,280 = 11·V + 1 pin V; each expected value below is the
 * published total minus its embedding rows, so a mismatch is a real layout difference.
 */
const V = 5389;
/** A frappe-like spec: 10 sparse fields (vocabulary sizes do not enter the dense count). */
const FRAPPE: FeatureSpec = {
  fields: Array.from({ length: 10 }, (_, i) => sparseField(`f${i}`, 5 + 3 * i)),
  labels: ['click'],
};

function denseCount(model: RankingModel): number {
  return model.namedParameters().reduce((s, [, p]) => s + p.size, 0);
}

function build(name: string, opts: Record<string, unknown>): RankingModel {
  return createModel(name, { spec: FRAPPE, rng: new Rng(1) }, { embedding_dim: 10, ...opts });
}

test("NFM: dense parameters equal FuxiCTR's on the BARS Frappe options (384,880 − 11·V)", () => {
  const m = build('nfm', { hidden_units: [400, 400, 400], hidden_activations: 'relu', net_dropout: 0.4, batch_norm: false });
  assert.equal(denseCount(m), 384_880 - 11 * V);
  // The paper's BN on the pooled vector adds γ and β (2·D).
  assert.equal(denseCount(build('nfm', { hidden_units: [400, 400, 400], bi_batch_norm: true })), 384_880 - 11 * V + 20);
});

test("PNN: IPNN dense parameters equal FuxiCTR's on the BARS Frappe options (433,491 − 10·V); outer adds P·D² and P DNN inputs", () => {
  const opts = { hidden_units: [400, 400, 400], hidden_activations: 'relu', net_dropout: 0.3, batch_norm: false };
  const inner = 433_491 - 10 * V;
  assert.equal(denseCount(build('pnn', opts)), inner);
  // P = 45 pairs: the kernel is 45·10·10 and the first layer gets 45 more inputs (×400).
  assert.equal(denseCount(build('pnn', { ...opts, product_type: 'both' })), inner + 45 * 100 + 45 * 400);
  assert.equal(denseCount(build('pnn', { ...opts, product_type: 'outer' })), inner + 45 * 100);
  assert.throws(() => build('pnn', { product_type: 'hadamard' }), /product_type' must be one of inner, outer, both, got 'hadamard'/);
});

test("DCNv2: dense parameters equal FuxiCTR's on the BARS Frappe options (458,391 − 10·V) and follow the layout formulas", () => {
  const bars = {
    model_structure: 'parallel',
    num_cross_layers: 4,
    use_low_rank_mixture: false,
    low_rank: 32,
    num_experts: 4,
    stacked_dnn_hidden_units: [500, 500, 500],
    parallel_dnn_hidden_units: [400, 400, 400],
    dnn_activations: 'relu',
    net_dropout: 0.4,
    batch_norm: true,
  };
  assert.equal(denseCount(build('dcnv2', bars)), 458_391 - 10 * V);
  const n = 100,
    L = 4,
    r = 32,
    K = 4;
  const dnn400 = 100 * 400 + 400 + 2 * (400 * 400 + 400) + 3 * 800; // with BN
  // Mixture (FuxiCTR's CrossNetMix shapes): per layer 2·K·n·r + K·r² + K·n + n.
  assert.equal(denseCount(build('dcnv2', { ...bars, use_low_rank_mixture: true })), L * (2 * K * n * r + K * r * r + K * n + n) + dnn400 + 501);
  assert.equal(denseCount(build('dcnv2', { ...bars, low_rank_cross: true })), L * (2 * n * r + n) + dnn400 + 501);
  assert.equal(denseCount(build('dcnv2', { ...bars, model_structure: 'crossnet_only' })), L * (n * n + n) + 101);
  const dnn500 = 100 * 500 + 500 + 2 * (500 * 500 + 500) + 3 * 1000;
  assert.equal(denseCount(build('dcnv2', { ...bars, model_structure: 'stacked' })), L * (n * n + n) + dnn500 + 501);
  assert.equal(denseCount(build('dcnv2', { ...bars, model_structure: 'stacked_parallel' })), L * (n * n + n) + dnn500 + dnn400 + 901);
  assert.throws(
    () => build('dcnv2', { model_structure: 'serial' }),
    /model_structure' must be one of crossnet_only, stacked, parallel, stacked_parallel/,
  );
  assert.throws(() => build('dcnv2', { model_structure: 'stacked', stacked_dnn_hidden_units: [] }), /needs a non-empty 'stacked_dnn_hidden_units'/);
  assert.throws(() => build('dcnv2', { use_low_rank_mixture: true, low_rank_cross: true }), /set one of them/);
});

test("xDeepFM: dense parameters equal FuxiCTR's on the BARS Frappe options (429,809 − 11·V)", () => {
  const bars = { cin_layer_units: [64], dnn_hidden_units: [400, 400, 400], hidden_activations: 'relu', net_dropout: 0.2, batch_norm: true };
  assert.equal(denseCount(build('xdeepfm', bars)), 429_809 - 11 * V);
  // Two CIN layers [8, 4]: (10·10 + 1)·8 + (10·8 + 1)·4 + (12 + 1); no DNN.
  assert.equal(denseCount(build('xdeepfm', { cin_layer_units: [8, 4], dnn_hidden_units: [] })), 101 * 8 + 81 * 4 + 13);
  // split_half: layer 2 sees 8/2 maps, the output pools 4 + 4: (10·10 + 1)·8 + (10·4 + 1)·4 + (8 + 1).
  assert.equal(denseCount(build('xdeepfm', { cin_layer_units: [8, 4], dnn_hidden_units: [], split_half: true })), 101 * 8 + 41 * 4 + 9);
});

test("AFM: dense parameters equal FuxiCTR's on the BARS Frappe options (60,826 − 11·V); without attention it is an FM", () => {
  const m = build('afm', { attention_dim: 128, attention_dropout: [0.1, 0.1], use_attention: true });
  assert.equal(denseCount(m), 60_826 - 11 * V);
  assert.equal(denseCount(build('afm', { use_attention: false })), denseCount(build('fm', {})));
  assert.throws(() => build('afm', { attention_dropout: [0.1] }), /attention_dropout' must be two probabilities/);
  assert.throws(() => build('afm', { attention_dropout: 0.1 }), /attention_dropout' must be a list of numbers/);
});

test("FFM: FuxiCTR's layout — dense parameters 1 (w₀), embedding values (F − 1)·D·R + R for R table rows (Frappe: 91·V + 1)", () => {
  const m = build('ffm', {});
  assert.equal(denseCount(m), 1);
  const tables = m.namedEmbeddings();
  const rows = tables.filter(([, t]) => t.dim === 1).reduce((s, [, t]) => s + t.rows, 0);
  assert.equal(
    tables.reduce((s, [, t]) => s + t.rows * t.dim, 0),
    9 * 10 * rows + rows,
  );
  assert.equal(9 * 10 * V + V + 1, 490_400); // the published BARS Frappe total
});

test("FiBiNET: dense parameters equal FuxiCTR's on the BARS Frappe options (743,480 − 11·V); other bilinear types add F·D² or P·D²", () => {
  const bars = {
    bilinear_type: 'field_all',
    reduction_ratio: 2,
    hidden_units: [400, 400, 400],
    hidden_activations: 'relu',
    net_dropout: 0.3,
    batch_norm: true,
  };
  const dense = 743_480 - 11 * V;
  assert.equal(denseCount(build('fibinet', bars)), dense);
  assert.equal(denseCount(build('fibinet', { ...bars, bilinear_type: 'field_each' })), dense + 9 * 100);
  assert.equal(denseCount(build('fibinet', { ...bars, bilinear_type: 'field_interaction' })), dense + 44 * 100);
  assert.throws(
    () => build('fibinet', { bilinear_type: 'all' }),
    /bilinear_type' must be one of field_all, field_each, field_interaction, got 'all'/,
  );
});

test("AutoInt / AutoInt+: dense parameters equal FuxiCTR's on the BARS Frappe options (306,051 − 10·V, 622,180 − 10·V)", () => {
  const autoint = {
    attention_dim: 128,
    attention_layers: 6,
    batch_norm: false,
    dnn_activations: 'relu',
    dnn_hidden_units: [],
    layer_norm: false,
    net_dropout: 0,
    num_heads: 4,
    use_residual: true,
    use_scale: false,
    use_wide: false,
  };
  assert.equal(denseCount(build('autoint', autoint)), 306_051 - 10 * V);
  const plus = {
    ...autoint,
    attention_layers: 5,
    batch_norm: true,
    dnn_hidden_units: [400, 400, 400],
    layer_norm: true,
    net_dropout: 0.1,
    use_scale: true,
  };
  assert.equal(denseCount(build('autoint', plus)), 622_180 - 10 * V);
  assert.throws(
    () => build('autoint', { attention_dim: 10, num_heads: 4 }),
    /attention_dim' \(10\) must be a positive multiple of 'num_heads' \(4\)/,
  );
});

test('AutoInt refuses numeric fields that would reach no part of the model, naming them and the ways out', () => {
  const spec: FeatureSpec = { fields: [sparseField('a', 5), sparseField('b', 6), denseField('price')], labels: ['click'] };
  assert.throws(
    () => createModel('autoint', { spec, rng: new Rng(1) }, {}),
    /numeric fields 'price' would reach no part of the model.*embed_dense: true.*use_wide: true.*dnn_hidden_units/,
  );
  for (const fix of [{ embed_dense: true }, { use_wide: true }, { dnn_hidden_units: [4] }]) createModel('autoint', { spec, rng: new Rng(1) }, fix);
});

test("FGCNN: dense parameters follow FuxiCTR's layout (no BARS Frappe entry: FuxiCTR's defaults with DNN [64, 64, 64] on frappe-like, 184,499 as its PyTorch twin counts)", () => {
  const opts = { dnn_hidden_units: [64, 64, 64] };
  // Heights 10 → 5 → 3 → 2 → 1; per layer conv C·C′·7 + C′, BN 2·C′, recombination (H·D·C′ + 1)·H·D·2.
  const gen = [
    [1, 14, 5],
    [14, 16, 3],
    [16, 18, 2],
    [18, 20, 1],
  ].reduce((s, [c, co, h]) => s + c! * co! * 7 + co! + 2 * co! + (h! * 10 * co! + 1) * h! * 10 * 2, 0);
  const T = 10 + 2 * (5 + 3 + 2 + 1);
  const dnn = ((T * (T - 1)) / 2 + T * 10 + 1) * 64 + 2 * 65 * 64 + 65;
  assert.equal(gen + dnn, 184_499);
  const m = build('fgcnn', opts);
  assert.equal(denseCount(m), 184_499);
  // share_embedding: one set of tables instead of two; the dense count is unchanged.
  const shared = build('fgcnn', { ...opts, share_embedding: true });
  assert.equal(denseCount(shared), 184_499);
  assert.equal(shared.namedEmbeddings().length * 2, m.namedEmbeddings().length);
  assert.equal(denseCount(build('fgcnn', { ...opts, conv_batch_norm: false })), 184_499 - 2 * (14 + 16 + 18 + 20));
  assert.throws(() => build('fgcnn', { kernel_heights: 7 }), /kernel_heights' must be a list of positive integers/);
  assert.throws(() => build('fgcnn', { channels: [4, 4] }), /'kernel_heights' has 4 entries, 'channels' has 2/);
});
