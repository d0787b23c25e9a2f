import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { noGrad } from '../../src/engine/tensor.js';
import { createModel } from '../../src/models/registry.js';
import { saveArtifact, loadArtifact } from '../../src/serve/artifact.js';
import { tinySpecAndBatch } from '../support/tiny-batch.js';

/** Non-default options of every feature-crossing model of issue 8, including list and string options. */
const ZOO: Record<string, Record<string, unknown>> = {
  ffm: { embedding_dim: 3, embed_dense: true },
  nfm: { embedding_dim: 4, hidden_units: [6], bi_batch_norm: true, bi_dropout: 0.2 },
  pnn: { embedding_dim: 3, hidden_units: [5], product_type: 'both' },
  dcnv2: {
    embedding_dim: 3,
    model_structure: 'stacked_parallel',
    use_low_rank_mixture: true,
    low_rank: 2,
    num_experts: 3,
    stacked_dnn_hidden_units: [4],
    parallel_dnn_hidden_units: [5],
    batch_norm: true,
  },
  xdeepfm: { embedding_dim: 3, cin_layer_units: [4, 2], dnn_hidden_units: [5] },
  afm: { embedding_dim: 3, attention_dim: 5, attention_dropout: [0.1, 0.2] },
  fibinet: { embedding_dim: 3, bilinear_type: 'field_interaction', reduction_ratio: 2, hidden_units: [4], batch_norm: true },
  fgcnn: { embedding_dim: 3, channels: [3, 2], kernel_heights: [3, 3], pooling_sizes: [2, 2], recombined_channels: [2, 1], dnn_hidden_units: [4] },
  autoint: {
    embedding_dim: 4,
    attention_layers: 2,
    num_heads: 2,
    attention_dim: 6,
    use_scale: true,
    layer_norm: true,
    use_wide: true,
    dnn_hidden_units: [5],
  },
};

test('every zoo model survives an artifact round trip with its options (same predictions)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-zoo-art-'));
  try {
    const { spec, batch } = tinySpecAndBatch(5, 8);
    for (const [name, opts] of Object.entries(ZOO)) {
      const model = createModel(name, { spec, rng: new Rng(3), tasks: ['click'] }, { embedding_init_std: 0.3, ...opts });
      model.train();
      model.forwardTasks(batch); // moves batch-norm running statistics
      model.eval();
      const path = join(dir, `${name}.frk`);
      saveArtifact(path, model, { modelOptions: opts, inputSpec: spec, label: 'click', featureMap: null, negativeSampleRate: 1, training: {} });
      const loaded = loadArtifact(path);
      assert.equal(loaded.meta.model, name);
      const a = noGrad(() => model.forwardTasks(batch).click!).data;
      const b = noGrad(() => loaded.model.forwardTasks(batch).click!).data;
      assert.deepEqual(b, a, `${name}: predictions differ after the round trip`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
