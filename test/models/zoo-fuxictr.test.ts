import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import { sparseField, type FeatureSpec } from '../../src/features/fields.js';
import { fromFuxiCtr } from '../../src/cli/fuxictr.js';

/** V = 5,389 rows per table in FuxiCTR v1's Frappe_x1 vocabulary (LR's 5,390 = V + 1). */
const V = 5389;
const FRAPPE: FeatureSpec = { fields: Array.from({ length: 10 }, (_, i) => sparseField(`f${i}`, 5 + 3 * i)), labels: ['click'] };
const COMMON = { batch_size: 4096, embedding_dim: 10, learning_rate: 0.001, min_categr_count: 1, monitor: 'AUC', optimizer: 'adam', seed: 2021 };
const D400 = [400, 400, 400];

/** The published BARS Frappe_x1 entries of the issue-8 models (bars-frappe-configs.md), with their totals and embedding rows. */
const BARS: Array<{ entry: Record<string, unknown>; total: number; rows: number }> = [
  { entry: { ...COMMON, model: 'FFM', embedding_dropout: 0, epochs: 100, patience: 2, regularizer: 1e-6 }, total: 490_400, rows: 91 * V },
  {
    entry: {
      ...COMMON,
      model: 'NFM',
      batch_norm: false,
      embedding_regularizer: 1e-4,
      epochs: 200,
      hidden_activations: 'relu',
      hidden_units: D400,
      net_dropout: 0.4,
      net_regularizer: 0,
      patience: 2,
    },
    total: 384_880,
    rows: 11 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'AFM',
      attention_dim: 128,
      attention_dropout: [0.1, 0.1],
      embedding_regularizer: 1e-5,
      epochs: 100,
      net_regularizer: 0,
      patience: 2,
      use_attention: true,
    },
    total: 60_826,
    rows: 11 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'PNN',
      batch_norm: false,
      embedding_dropout: 0,
      embedding_regularizer: 0.05,
      epochs: 100,
      hidden_activations: 'relu',
      hidden_units: D400,
      net_dropout: 0.3,
      net_regularizer: 0,
      patience: 3,
    },
    total: 433_491,
    rows: 10 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'DCNv2',
      batch_norm: true,
      dnn_activations: 'relu',
      embedding_regularizer: 0.05,
      epochs: 100,
      low_rank: 32,
      model_structure: 'parallel',
      net_dropout: 0.4,
      net_regularizer: 0,
      num_cross_layers: 4,
      num_experts: 4,
      parallel_dnn_hidden_units: D400,
      patience: 2,
      stacked_dnn_hidden_units: [500, 500, 500],
      use_low_rank_mixture: false,
    },
    total: 458_391,
    rows: 10 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'xDeepFM',
      batch_norm: true,
      cin_layer_units: [64],
      dnn_hidden_units: D400,
      embedding_regularizer: 0.1,
      epochs: 100,
      hidden_activations: 'relu',
      net_dropout: 0.2,
      net_regularizer: 0,
      patience: 2,
    },
    total: 429_809,
    rows: 11 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'AutoInt',
      attention_dim: 128,
      attention_layers: 6,
      batch_norm: false,
      dnn_activations: 'relu',
      dnn_hidden_units: [],
      embedding_regularizer: 0.05,
      epochs: 100,
      layer_norm: false,
      net_dropout: 0,
      net_regularizer: 0,
      num_heads: 4,
      patience: 2,
      use_residual: true,
      use_scale: false,
      use_wide: false,
    },
    total: 306_051,
    rows: 10 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'AutoInt',
      attention_dim: 128,
      attention_layers: 5,
      batch_norm: true,
      dnn_activations: 'relu',
      dnn_hidden_units: D400,
      embedding_regularizer: 0.1,
      epochs: 100,
      layer_norm: true,
      net_dropout: 0.1,
      net_regularizer: 0,
      num_heads: 4,
      patience: 2,
      use_residual: true,
      use_scale: true,
      use_wide: false,
    },
    total: 622_180,
    rows: 10 * V,
  },
  {
    entry: {
      ...COMMON,
      model: 'FiBiNET',
      batch_norm: true,
      bilinear_type: 'field_all',
      embedding_regularizer: 0.05,
      epochs: 100,
      hidden_activations: 'relu',
      hidden_units: D400,
      net_dropout: 0.3,
      net_regularizer: 0,
      patience: 2,
      reduction_ratio: 2,
    },
    total: 743_480,
    rows: 11 * V,
  },
];

test("the published BARS Frappe entries of the zoo models translate unchanged and build FuxiCTR's dense parameter count", () => {
  for (const { entry, total, rows } of BARS) {
    const exp = fromFuxiCtr(entry, 'bars.yaml');
    const model = createModel(exp.model, { spec: FRAPPE, rng: new Rng(1) }, exp.modelOptions);
    const dense = model.namedParameters().reduce((s, [, p]) => s + p.size, 0);
    assert.equal(dense, total - rows, `${String(entry.model)}: dense parameters ${dense}, FuxiCTR ${total} − ${rows} embedding rows`);
  }
});
