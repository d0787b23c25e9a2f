/**
 * ONNX parity: for EVERY registered model, train a tiny instance a few steps on generated
 * data, export it, run the ONNX file in onnxruntime-node on the same encoded batch and
 * require max |Δp| ≤ 1e-5 against finerank's eval forward (`scoreBatch`'s probabilities),
 * for every task and extra output. A registered model without an ONNX export fails here by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/engine/random.js';
import { add, bceWithLogits } from '../../src/engine/ops/index.js';
import { noGrad, type Tensor } from '../../src/engine/tensor.js';
import { createModel, listModels, resolveModelOptions } from '../../src/models/registry.js';
import type { RankingModel } from '../../src/models/base.js';
import type { EmbeddingTable } from '../../src/embedding/table.js';
import { SparseAdagrad } from '../../src/embedding/sparse-optim.js';
import { Adam } from '../../src/train/optim.js';
import type { Batch } from '../../src/features/batch.js';
import type { FeatureSpec } from '../../src/features/fields.js';
import { calibratedProbabilities } from '../../src/metrics/calibration.js';
import { onnxModelBytes } from '../../src/export/onnx/index.js';
import { lengthInputName } from '../../src/export/onnx/context.js';
import { tinySpecAndBatch } from '../support/tiny-batch.js';
import { Booster } from '../../src/gbdt/booster.js';
import { GbdtModel, isTreeModel, treeMatrix } from '../../src/gbdt/model.js';
import { camelCase } from '../../src/util/case.js';

/** Small sizes that still exercise each model's optional parts (batch norm, projections, every structure switch). */
const SMALL: Record<string, Record<string, unknown>> = {
  lr: {},
  fm: { embeddingDim: 4 },
  widedeep: { embeddingDim: 4, dnnHiddenUnits: [5, 4], batchNorm: true },
  deepfm: { embeddingDim: 4, dnnHiddenUnits: [5, 4], batchNorm: true },
  dcn: { embeddingDim: 4, dnnHiddenUnits: [5], numCrossLayers: 2, batchNorm: true },
  nfm: { embeddingDim: 4, hiddenUnits: [5, 4], biBatchNorm: true },
  pnn: { embeddingDim: 3, hiddenUnits: [5], productType: 'both' },
  dcnv2: {
    embeddingDim: 3,
    modelStructure: 'stacked_parallel',
    useLowRankMixture: true,
    lowRank: 2,
    numExperts: 2,
    numCrossLayers: 2,
    stackedDnnHiddenUnits: [4],
    parallelDnnHiddenUnits: [3],
  },
  xdeepfm: { embeddingDim: 3, cinLayerUnits: [3, 2], dnnHiddenUnits: [4] },
  afm: { embeddingDim: 3, attentionDim: 4 },
  ffm: { embeddingDim: 2, embedDense: true },
  fibinet: { embeddingDim: 3, hiddenUnits: [4], bilinearType: 'field_each', reductionRatio: 2 },
  autoint: { embeddingDim: 3, attentionLayers: 2, numHeads: 2, attentionDim: 4, useScale: true, layerNorm: true, useWide: true, dnnHiddenUnits: [4] },
  fgcnn: {
    embeddingDim: 3,
    shareEmbedding: false,
    channels: [3, 2],
    kernelHeights: [3, 3],
    poolingSizes: [2, 2],
    recombinedChannels: [2, 1],
    convActivation: 'tanh',
    convBatchNorm: true,
    dnnHiddenUnits: [5],
    dnnBatchNorm: true,
  },
  // The retrain stage (what a trained artifact holds): the kept pairs only, AutoDeepFM.
  autofis: { embeddingDim: 3, stage: 'retrain', keptPairs: ['a:b', 'a:tags', 'c:hist'], hiddenUnits: [4], batchNorm: true },
  shared_bottom: { embeddingDim: 4, bottomHiddenUnits: [6], towerHiddenUnits: [3], batchNorm: true },
  mmoe: { embeddingDim: 4, numExperts: 3, expertHiddenUnits: [5, 4], gateHiddenUnits: [3], towerHiddenUnits: [3], batchNorm: true },
  moe: { embeddingDim: 4, numExperts: 2, expertHiddenUnits: [4], gateHiddenUnits: [], towerHiddenUnits: [3] },
  ple: {
    embeddingDim: 4,
    embeddingInitStd: 0.3,
    numLayers: 2,
    numSharedExperts: 2,
    numSpecificExperts: 1,
    expertHiddenUnits: [4],
    gateHiddenUnits: [3],
    towerHiddenUnits: [3],
    batchNorm: true,
  },
  esmm: { embeddingDim: 4, towerHiddenUnits: [5, 3], batchNorm: true },
  din: {
    embeddingDim: 4,
    dinSequenceField: ['hist'],
    attentionHiddenUnits: [5],
    attentionHiddenActivations: 'dice',
    dinUseSoftmax: true,
    dnnHiddenUnits: [6],
    batchNorm: true,
  },
  dien: { embeddingDim: 4, dienSequenceField: ['hist'], gruType: 'AUGRU', dnnHiddenUnits: [6], batchNorm: true },
  deepmcp: {
    embeddingDim: 4,
    dnnHiddenUnits: [5],
    batchNorm: true,
    matchUserFields: ['b', 'tags'],
    matchItemFields: ['a', 'c'],
    matchDim: 3,
    corrDim: 3,
  },
  gbdt: {},
  gbdt_lr: { secondModel: 'deepfm', secondModelOptions: ['embedding_dim=3', 'hidden_units=[4]'] },
};

/** Steps of Adam (dense) + Adagrad (tables) on the summed task losses, so weights and BN statistics move away from their initial values. */
function trainFewSteps(model: RankingModel, batch: Batch, steps: number): void {
  const params = model.parameters();
  const tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
  const dense = new Adam(params, { lr: 0.05 });
  const sparse = new SparseAdagrad({ lr: 0.1 });
  model.train();
  for (let s = 0; s < steps; s++) {
    const logits = model.forwardTasks(batch);
    let loss: Tensor | null = null;
    for (const t of model.tasks) {
      const label = batch.labels[t] ?? batch.labels[Object.keys(batch.labels)[0]!]!;
      const l = bceWithLogits(logits[t]!, label);
      loss = loss === null ? l : add(loss, l);
    }
    const extra = model.extraLoss();
    if (extra !== null) loss = add(loss!, extra);
    loss!.backward();
    dense.step();
    sparse.step(tables);
    dense.zeroGrad();
    for (const t of tables) t.zeroGrad();
  }
  model.eval();
}

/** The batch as ONNX Runtime feeds: int64 ids, float values, padded ids + lengths; only the graph's inputs. */
function feeds(batch: Batch, spec: FeatureSpec, names: readonly string[]): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  const B = batch.size;
  for (const f of spec.fields) {
    if (f.kind === 'sparse') out[f.name] = new ort.Tensor('int64', BigInt64Array.from(batch.sparse[f.name]!, BigInt), [B]);
    else if (f.kind === 'dense') out[f.name] = new ort.Tensor('float32', Float32Array.from(batch.dense[f.name]!), [B]);
    else {
      const p = batch.varlen[f.name]!;
      out[f.name] = new ort.Tensor('int64', BigInt64Array.from(p.ids, BigInt), [B, p.maxLen]);
      out[lengthInputName(f.name)] = new ort.Tensor('int64', BigInt64Array.from(p.lengths, BigInt), [B]);
    }
  }
  return Object.fromEntries(names.map((n) => [n, out[n]!]));
}

/** Booster options of the tree models' few small trees (depth 2, no minimum child weight on 16 rows). */
const TREES = { n_estimators: 3, max_depth: 2, min_child_weight: 0, learning_rate: 0.5 };

/** How a variant changes the standard check: field definitions (pooling, dimensions), the negative-sampling rate. */
interface Variant {
  editSpec?: (spec: FeatureSpec) => void;
  negativeSampleRate?: number;
  logitOffset?: Record<string, number>;
}

async function checkParity(name: string, multiTask: boolean, opts0: Record<string, unknown>, variant: Variant = {}): Promise<void> {
  const { spec, batch } = tinySpecAndBatch(21, 16);
  variant.editSpec?.(spec);
  // Tree models: fit the trees on the batch; the options carry the fitted leaf counts (as training stores them in the artifact).
  const booster = isTreeModel(name) ? Booster.fit(treeMatrix(batch, spec), { y: batch.labels.click! }, TREES).booster : null;
  const treeOpts =
    booster === null ? {} : { ...Object.fromEntries(Object.entries(TREES).map(([k, v]) => [camelCase(k), v])), leafCounts: booster.leafCounts };
  const opts = { ...opts0, ...treeOpts };
  const model = createModel(name, { spec, rng: new Rng(5), tasks: multiTask ? ['click', 'buy'] : ['click'] }, opts);
  if (booster !== null && model instanceof GbdtModel) model.setTrees(booster);
  if (model.parameters().length > 0) trainFewSteps(model, batch, 5);
  else model.eval();
  const w = variant.negativeSampleRate ?? 1;
  const { bytes } = onnxModelBytes(model, spec, resolveModelOptions(name, opts), {
    negativeSampleRate: w,
    ...(variant.logitOffset !== undefined ? { logitOffset: variant.logitOffset } : {}),
  });
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run(feeds(batch, spec, session.inputNames));
  const logits = noGrad(() => model.forwardOutputs(batch));
  assert.deepEqual(session.outputNames, model.outputNames());
  for (const out of model.outputNames()) {
    const want = calibratedProbabilities(logits[out]!.data, w, variant.logitOffset?.[out] ?? 0);
    const got = result[out]!.data as Float32Array;
    assert.equal(got.length, batch.size, `${name}/${out}: ${got.length} probabilities for ${batch.size} rows`);
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i]! - got[i]!));
    assert.ok(maxDiff <= 1e-5, `${name}/${out}: max |Δp| = ${maxDiff}`);
    // The trained probabilities are not all equal (the comparison is not vacuous).
    assert.ok(Math.max(...want) - Math.min(...want) > 1e-4, `${name}/${out}: predictions do not vary`);
  }
}

for (const entry of listModels()) {
  test(`${entry.name}: ONNX export runs in onnxruntime-node with max |Δp| ≤ 1e-5`, async () => {
    const opts = SMALL[entry.name];
    assert.ok(opts !== undefined, `model '${entry.name}' has no ONNX parity configuration (and maybe no ONNX export)`);
    await checkParity(entry.name, entry.multiTask, opts);
  });
}

/** Field of the tiny spec by name. */
function fieldOf(spec: FeatureSpec, name: string) {
  const f = spec.fields.find((x) => x.name === name);
  assert.ok(f !== undefined, name);
  return f;
}

/** Structure switches the registry loop does not reach: every pooling, projections, the other GRU types, bilinear types, cross networks, activations, the negative-sampling correction. */
const VARIANTS: Array<{ title: string; model: string; opts: Record<string, unknown>; variant?: Variant }> = [
  {
    title: 'sum and max pooling of multi-value fields',
    model: 'fm',
    opts: { embeddingDim: 4 },
    variant: {
      editSpec: (s) => {
        fieldOf(s, 'tags').pooling = 'max';
        fieldOf(s, 'hist').pooling = 'sum';
      },
    },
  },
  {
    title: 'a field of its own dimension projected (embedding_projection), tanh DNN',
    model: 'deepfm',
    opts: { embeddingDim: 4, embeddingProjection: true, dnnHiddenUnits: [5], hiddenActivations: 'tanh' },
    variant: { editSpec: (s) => (fieldOf(s, 'b').embeddingDim = 3) },
  },
  {
    title: 'PReLU DNN, negative sampling rate 0.1',
    model: 'widedeep',
    opts: { embeddingDim: 4, dnnHiddenUnits: [5], hiddenActivations: 'prelu' },
    variant: { negativeSampleRate: 0.1 },
  },
  {
    title: 'negative sampling rate 0.25 and the logit offset of recalibrate: intercept',
    model: 'deepfm',
    opts: { embeddingDim: 4, dnnHiddenUnits: [5] },
    variant: { negativeSampleRate: 0.25, logitOffset: { click: -0.7 } },
  },
  {
    title: 'leaky ReLU, numeric fields embedded',
    model: 'dcn',
    opts: { embeddingDim: 3, dnnHiddenUnits: [4], dnnActivations: 'leaky_relu', embedDense: true },
  },
  {
    title: 'DIN without softmax, ReLU attention unit',
    model: 'din',
    opts: { embeddingDim: 4, dinSequenceField: ['hist'], attentionHiddenUnits: [5], attentionHiddenActivations: 'relu', dnnHiddenUnits: [6] },
  },
  { title: 'DIEN with AGRU', model: 'dien', opts: { embeddingDim: 3, dienSequenceField: ['hist'], gruType: 'AGRU', dnnHiddenUnits: [4] } },
  {
    title: 'DIEN with AIGRU, no attention softmax',
    model: 'dien',
    opts: { embeddingDim: 3, dienSequenceField: ['hist'], gruType: 'AIGRU', useAttentionSoftmax: false, dnnHiddenUnits: [4] },
  },
  {
    title: "DIEN with enable_sum_pooling and FuxiCTR's auxiliary MLP (a training loss: not exported)",
    model: 'dien',
    opts: { embeddingDim: 3, dienSequenceField: ['hist'], gruType: 'AUGRU', enableSumPooling: true, auxHiddenUnits: [3], dnnHiddenUnits: [4] },
  },
  { title: 'DIEN with a plain GRU', model: 'dien', opts: { embeddingDim: 3, dienSequenceField: ['hist'], gruType: 'GRU', dnnHiddenUnits: [4] } },
  { title: 'FiBiNET field_all', model: 'fibinet', opts: { embeddingDim: 3, hiddenUnits: [4], bilinearType: 'field_all' } },
  { title: 'FiBiNET field_interaction', model: 'fibinet', opts: { embeddingDim: 3, hiddenUnits: [4], bilinearType: 'field_interaction' } },
  { title: 'PNN outer products only', model: 'pnn', opts: { embeddingDim: 3, hiddenUnits: [4], productType: 'outer' } },
  { title: 'DCNv2 full-rank parallel', model: 'dcnv2', opts: { embeddingDim: 3, numCrossLayers: 2, parallelDnnHiddenUnits: [4] } },
  {
    title: 'DCNv2 low-rank stacked',
    model: 'dcnv2',
    opts: { embeddingDim: 3, modelStructure: 'stacked', lowRankCross: true, lowRank: 2, stackedDnnHiddenUnits: [4] },
  },
  { title: 'AFM without attention', model: 'afm', opts: { embeddingDim: 3, useAttention: false } },
  {
    title: 'AutoInt without residual, one head',
    model: 'autoint',
    opts: { embeddingDim: 3, attentionLayers: 1, attentionDim: 4, useResidual: false, embedDense: true },
  },
  {
    title: 'FGCNN shared embedding, no conv batch norm, leaky ReLU, numeric fields embedded (7 rows pooled by 3 with padding 1)',
    model: 'fgcnn',
    opts: {
      embeddingDim: 3,
      shareEmbedding: true,
      embedDense: true,
      channels: [2],
      kernelHeights: [5],
      poolingSizes: [3],
      recombinedChannels: [2],
      convActivation: 'leaky_relu',
      convBatchNorm: false,
      dnnHiddenUnits: [4],
    },
  },
  {
    title: 'FGCNN without pooling (size 1), ReLU, three layers',
    model: 'fgcnn',
    opts: {
      embeddingDim: 2,
      channels: [2, 3, 2],
      kernelHeights: [1, 3, 5],
      poolingSizes: [1, 5, 1],
      recombinedChannels: [1, 2, 1],
      convActivation: 'relu',
      dnnHiddenUnits: [4],
    },
  },
  { title: 'AutoFIS search stage (every pair gated), AutoDeepFM', model: 'autofis', opts: { embeddingDim: 3, hiddenUnits: [4] } },
  {
    title: 'AutoFM (hidden_units []), retrain stage',
    model: 'autofis',
    opts: { embeddingDim: 3, stage: 'retrain', keptPairs: ['a:c', 'b:hist', 'tags:hist'], hiddenUnits: [] },
  },
  {
    title: 'AutoFIS retrain stage with no pair kept',
    model: 'autofis',
    opts: { embeddingDim: 3, stage: 'retrain', keptPairs: [], hiddenUnits: [4] },
  },
  { title: 'GBDT+LR with LR on the leaves only', model: 'gbdt_lr', opts: { withSparse: false } },
];

for (const v of VARIANTS) {
  test(`${v.model} (${v.title}): ONNX parity`, async () => {
    await checkParity(v.model, false, v.opts, v.variant);
  });
}
