/** ONNX export refusals: each names what is wrong instead of writing a broken graph. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { createModel, resolveModelOptions } from '../../src/models/registry.js';
import { sparseField, varlenField, type FeatureSpec } from '../../src/features/fields.js';
import { onnxModelBytes } from '../../src/export/onnx/index.js';
import { modelExportOf } from '../../src/export/onnx/models/index.js';

test('a field named like another field’s lengths input is refused, naming the input', () => {
  const spec: FeatureSpec = { fields: [varlenField('tags', 6, 3), sparseField('tags_length', 5)], labels: ['click'] };
  const model = createModel('fm', { spec, rng: new Rng(1) }, { embeddingDim: 2 });
  model.eval();
  assert.throws(() => onnxModelBytes(model, spec, resolveModelOptions('fm', { embeddingDim: 2 })), /two graph inputs named 'tags_length'/);
});

test('a tree model without trees is refused; an unknown model name lists the exportable ones', () => {
  const spec: FeatureSpec = { fields: [sparseField('a', 5)], labels: ['click'] };
  const model = createModel('gbdt', { spec, rng: new Rng(1) }, {});
  model.eval();
  assert.throws(() => onnxModelBytes(model, spec, resolveModelOptions('gbdt', {})), /'gbdt': the model has no trees/);
  assert.throws(
    () => modelExportOf('no_such_model'),
    /model 'no_such_model' has no ONNX export yet; exportable models: lr, fm, ffm, .*fgcnn, autofis, .*gbdt_lr/,
  );
});
