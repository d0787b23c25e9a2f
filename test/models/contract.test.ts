import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { defineSchema, label, sparse, dense, sequence } from '../../src/features/schema.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { chunkFromRows } from '../../src/readers/chunk.js';
import { featureSpecFromStored } from '../../src/features/fields.js';
import { createModel, modelEntry, resolveModelOptions } from '../../src/models/registry.js';
import { modelGradcheck } from '../support/model-gradcheck.js';

/** A feature map fitted on a few rows: user (4-dim), item (16-dim), a history of items, a price. */
async function fitted(pooling: 'mean' | 'attention' = 'mean') {
  const schema = defineSchema({
    columns: [
      label('click'),
      sparse('user', { embeddingDim: 4, tag: 'user' }),
      sparse('item', { embeddingDim: 16, tag: 'item' }),
      sequence('hist', { maxLen: 3, shareWith: 'item', pooling, tag: 'user' }),
      dense('price', { tag: 'item' }),
    ],
  });
  const rows = Array.from({ length: 12 }, (_, i) => ({
    click: i % 2,
    user: `u${i % 4}`,
    item: `i${i % 5}`,
    hist: ['i1', 'i2', 'i3', 'i4'].slice(0, i % 4).join('|'),
    price: i / 3,
  }));
  const fm = await FeatureMap.fit(schema, [chunkFromRows(rows, Object.keys(rows[0]!))]);
  return { fm, batch: fm.transformRows(rows) };
}

test('schema → feature map → model: embeddingDim, tags and the history target survive; a 4-dim and a 16-dim field in one model', async () => {
  const { fm, batch } = await fitted();
  const spec = fm.featureSpec();
  const byName = Object.fromEntries(spec.fields.map((f) => [f.name, f]));
  assert.equal(byName.user!.embeddingDim, 4);
  assert.equal(byName.item!.embeddingDim, 16);
  assert.equal(byName.user!.tag, 'user');
  assert.equal(byName.hist!.historyOf, 'item');
  assert.equal(byName.hist!.table, 'item');
  const model = createModel('widedeep', { spec, rng: new Rng(1) }, { embedding_dim: 8, hidden_units: [6], embedding_init_std: 0.5 });
  const dims = Object.fromEntries(model.namedEmbeddings().map(([n, t]) => [n, t.dim]));
  assert.deepEqual(dims, { 'wide.embedding.user': 1, 'wide.embedding.item': 1, 'embedding.user': 4, 'embedding.item': 16 });
  // DNN input: 4 + 16 + 16 (mean-pooled history in the item table) + 1 raw price.
  assert.equal(model.stateDict().get('dnn.layers.0.linear.weight')!.length, (4 + 16 + 16 + 1) * 6);
  model.train();
  assert.ok(modelGradcheck(model, batch) > 10);
});

test('a model that needs one dimension refuses mixed ones naming the fields, or projects them when asked', async () => {
  const { fm, batch } = await fitted();
  const spec = fm.featureSpec();
  assert.throws(
    () => createModel('deepfm', { spec, rng: new Rng(1) }, { embedding_dim: 8 }),
    /model 'deepfm' needs one embedding dimension .* 'user' has 4, 'item' has 16, 'hist' has 16; .*embedding_projection: true/,
  );
  const model = createModel(
    'deepfm',
    { spec, rng: new Rng(1) },
    { embedding_dim: 8, embedding_projection: true, hidden_units: [5], embedding_init_std: 0.5 },
  );
  assert.deepEqual(
    model
      .namedParameters()
      .map(([n]) => n)
      .filter((n) => n.includes('proj_'))
      .sort(),
    ['embedding.proj_hist.weight', 'embedding.proj_item.weight', 'embedding.proj_user.weight'],
  );
  model.train();
  assert.ok(modelGradcheck(model, batch) > 10);
});

test("pooling 'attention' is not downgraded: models that do not attend over sequences refuse it", async () => {
  const { fm } = await fitted('attention');
  assert.throws(
    () => createModel('deepfm', { spec: fm.featureSpec(), rng: new Rng(1) }),
    /field 'hist' asks for pooling 'attention', which model 'deepfm' does not compute .*set pooling: sum, mean or max/,
  );
});

test('numeric fields as embedded fields (embed_dense) enter the FM pairs', async () => {
  const { fm, batch } = await fitted();
  const spec = fm.featureSpec();
  for (const f of spec.fields) delete f.embeddingDim;
  const plain = createModel('fm', { spec, rng: new Rng(1) }, { embedding_dim: 4 });
  const embedded = createModel('fm', { spec, rng: new Rng(1) }, { embedding_dim: 4, embed_dense: true, embedding_init_std: 0.5 });
  assert.ok(!plain.stateDict().has('embedding.dense_embedding'));
  assert.equal(embedded.stateDict().get('embedding.dense_embedding')!.length, 4);
  embedded.train();
  assert.ok(modelGradcheck(embedded, batch) > 10);
});

test('typed registry: FuxiCTR snake_case names and earlier aliases accepted; unknown, duplicated or mistyped options refused', () => {
  assert.deepEqual(resolveModelOptions('deepfm', { hidden_units: [8, 4], net_dropout: 0.1 }).hiddenUnits, [8, 4]);
  assert.deepEqual(resolveModelOptions('deepfm', { dnn_hidden_units: [8] }).hiddenUnits, [8]);
  assert.equal(resolveModelOptions('dcn', { crossing_layers: 2 }).numCrossLayers, 2);
  assert.deepEqual(resolveModelOptions('dcn', { hidden_units: [7] }).dnnHiddenUnits, [7]);
  assert.throws(
    () => resolveModelOptions('deepfm', { hidden_units: [8], dnn_hidden_units: [4] }),
    /options 'hidden_units' and 'dnn_hidden_units' both set 'hiddenUnits'/,
  );
  assert.throws(
    () => resolveModelOptions('deepfm', { cin_layer_units: [8] }),
    /model 'deepfm' has no option 'cin_layer_units'; options: embeddingDim/,
  );
  assert.throws(() => resolveModelOptions('deepfm', { hidden_units: [8, -1] }), /option 'hidden_units' must be a list of positive integers/);
  assert.throws(() => resolveModelOptions('deepfm', { batch_norm: 'yes' }), /option 'batch_norm' must be a boolean/);
  assert.equal(modelEntry('Shared-Bottom').name, 'shared_bottom');
  assert.ok(modelEntry('shared_bottom').multiTask && !modelEntry('deepfm').multiTask);
});

test('artifacts written before the field definition (sparse/varlen/dense lists) still describe the same fields', () => {
  const legacy = {
    sparse: [
      { name: 'a', vocabSize: 7, table: 'a', linear: true, deep: true },
      { name: 'b', vocabSize: 7, table: 'a', linear: false, deep: true },
    ],
    varlen: [{ name: 't', vocabSize: 5, table: 't', linear: true, deep: false, maxLen: 3, pooling: 'max', kind: 'varlen' }],
    dense: [{ name: 'x', linear: true, deep: true }],
    labels: ['click'],
  };
  assert.deepEqual(featureSpecFromStored(legacy), {
    fields: [
      { name: 'a', kind: 'sparse', use: 'both', vocabSize: 7, table: 'a' },
      { name: 'b', kind: 'sparse', use: 'deep', vocabSize: 7, table: 'a' },
      { name: 't', kind: 'varlen', use: 'linear', vocabSize: 5, table: 't', maxLen: 3, pooling: 'max' },
      { name: 'x', kind: 'dense', use: 'both' },
    ],
    labels: ['click'],
  });
});
