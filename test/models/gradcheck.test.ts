import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { createModel, listModels } from '../../src/models/registry.js';
import { modelGradcheck } from '../support/model-gradcheck.js';
import { tinySpecAndBatch } from '../support/tiny-batch.js';

const SMALL: Record<string, Record<string, unknown>> = {
  lr: { embeddingInitStd: 0.5 },
  fm: { embeddingDim: 4, embeddingInitStd: 0.5 },
  widedeep: { embeddingDim: 4, embeddingInitStd: 0.5, dnnHiddenUnits: [5, 4], batchNorm: true },
  deepfm: { embeddingDim: 4, embeddingInitStd: 0.5, dnnHiddenUnits: [5, 4], batchNorm: true },
  dcn: { embeddingDim: 4, embeddingInitStd: 0.5, dnnHiddenUnits: [5], numCrossLayers: 2, batchNorm: true },
  din: {
    embeddingDim: 4,
    embeddingInitStd: 0.5,
    dinSequenceField: ['hist'],
    attentionHiddenUnits: [5],
    attentionHiddenActivations: 'relu',
    dnnHiddenUnits: [6],
    batchNorm: true,
  },
  dien: { embeddingDim: 4, embeddingInitStd: 0.5, dienSequenceField: ['hist'], gruType: 'AUGRU', dnnHiddenUnits: [6], batchNorm: true },
  deepmcp: {
    embeddingDim: 4,
    embeddingInitStd: 0.5,
    dnnHiddenUnits: [5],
    batchNorm: true,
    matchUserFields: ['b', 'tags'],
    matchItemFields: ['a', 'c'],
    matchHiddenUnits: [4],
    matchDim: 3,
    corrHiddenUnits: [4],
    corrDim: 3,
  },
  nfm: { embeddingDim: 4, embeddingInitStd: 0.5, hiddenUnits: [5, 4], biBatchNorm: true },
  pnn: { embeddingDim: 3, embeddingInitStd: 0.5, hiddenUnits: [5], productType: 'both' },
  dcnv2: {
    embeddingDim: 3,
    embeddingInitStd: 0.5,
    modelStructure: 'stacked_parallel',
    useLowRankMixture: true,
    lowRank: 2,
    numExperts: 2,
    numCrossLayers: 2,
    stackedDnnHiddenUnits: [4],
    parallelDnnHiddenUnits: [3],
  },
  xdeepfm: { embeddingDim: 3, embeddingInitStd: 0.5, cinLayerUnits: [3, 2], dnnHiddenUnits: [4] },
  afm: { embeddingDim: 3, embeddingInitStd: 0.5, attentionDim: 4 },
  ffm: { embeddingDim: 2, embeddingInitStd: 0.5, embedDense: true },
  fibinet: { embeddingDim: 3, embeddingInitStd: 0.5, hiddenUnits: [4], bilinearType: 'field_each', reductionRatio: 2 },
  autoint: {
    embeddingDim: 3,
    embeddingInitStd: 0.5,
    attentionLayers: 2,
    numHeads: 2,
    attentionDim: 4,
    useScale: true,
    layerNorm: true,
    useWide: true,
    dnnHiddenUnits: [4],
  },
  fgcnn: {
    embeddingDim: 3,
    embeddingInitStd: 0.5,
    channels: [3, 2],
    kernelHeights: [3, 3],
    poolingSizes: [2, 2],
    recombinedChannels: [2, 1],
    dnnHiddenUnits: [4],
  },
  autofis: { embeddingDim: 3, embeddingInitStd: 0.5, hiddenUnits: [4] },
  shared_bottom: { embeddingDim: 4, embeddingInitStd: 0.5, bottomHiddenUnits: [6], towerHiddenUnits: [3], batchNorm: true },
  mmoe: {
    embeddingDim: 4,
    embeddingInitStd: 0.5,
    numExperts: 3,
    expertHiddenUnits: [5, 4],
    gateHiddenUnits: [3],
    towerHiddenUnits: [3],
    batchNorm: true,
  },
  moe: { embeddingDim: 4, embeddingInitStd: 0.5, numExperts: 2, expertHiddenUnits: [4], gateHiddenUnits: [], towerHiddenUnits: [3] },
  ple: {
    embeddingDim: 4,
    embeddingInitStd: 0.5,
    numLayers: 2,
    numSharedExperts: 2,
    numSpecificExperts: 1,
    expertHiddenUnits: [4],
    gateHiddenUnits: [3],
    towerHiddenUnits: [3],
    batchNorm: true,
  },
  esmm: { embeddingDim: 4, embeddingInitStd: 0.5, towerHiddenUnits: [5, 3], batchNorm: true },
  // No trees (leafCounts []): the gradient path is the second model over the original fields (tree learning: test/gbdt).
  gbdt_lr: { leafCounts: [], secondModelOptions: ['embedding_init_std=0.5'] },
};

/** Models without trainable parameters (trees are fitted by boosting; tested in test/gbdt). */
const NO_GRADIENTS = new Set(['gbdt']);

for (const entry of listModels()) {
  test(
    `${entry.name}: end-to-end gradient matches finite differences`,
    { skip: NO_GRADIENTS.has(entry.name) ? 'no trainable parameters' : false },
    () => {
      const opts = SMALL[entry.name];
      assert.ok(opts !== undefined, `no gradcheck sizes for model ${entry.name}`);
      const { spec, batch } = tinySpecAndBatch(11);
      const model = createModel(entry.name, { spec, rng: new Rng(4), tasks: entry.multiTask ? ['click', 'buy'] : ['click'] }, opts);
      assert.equal(model.tasks.length, entry.multiTask ? 2 : 1);
      model.train();
      const checked = modelGradcheck(model, batch);
      assert.ok(checked > 10, `only ${checked} coordinates checked`);
    },
  );
}

test('shared tables appear once and receive gradients from every field using them', () => {
  const { spec, batch } = tinySpecAndBatch(12);
  const model = createModel('fm', { spec, rng: new Rng(4) }, SMALL.fm);
  const names = model.namedEmbeddings().map(([n]) => n);
  assert.deepEqual(names.filter((n) => n.startsWith('embedding.')).sort(), ['embedding.a', 'embedding.b', 'embedding.tags']);
});
