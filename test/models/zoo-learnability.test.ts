import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/engine/tensor.js';
import { generateFieldCtr } from '../../src/data/synth/criteo.js';
import { twoTruePairsSpec } from '../support/two-true-pairs.js';
import { loadSchema } from '../../src/features/schema.js';
import { loadDataSource } from '../../src/data/load.js';
import { trainOnFiles } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { createModel, resolveModelOptions } from '../../src/models/registry.js';
import { Rng } from '../../src/engine/random.js';
import { sparseField, type FeatureSpec } from '../../src/features/fields.js';
import type { Batch } from '../../src/features/batch.js';
import { InMemoryDataSource } from '../../src/data/data-source.js';
import { Trainer } from '../../src/train/trainer.js';
import { auc } from '../../src/metrics/auc.js';
import type { SingleTaskModel } from '../../src/models/base.js';
import { pairwiseDataset } from '../support/synthetic-batch.js';
import { AFM } from '../../src/models/afm.js';
import { fieldPairs } from '../../src/blocks/interactions/pairs.js';
import { splitFiles } from '../../src/data/synth/common.js';

/**
 * AFM's mechanism: on data where only the pairs (a, b) and (c, d) of five fields interact
 * (strong latent-factor pairs, weak first-order weights), the learned attention must put
 * more weight on each true pair than on any of the eight noise pairs.
 */
const SPEC = twoTruePairsSpec('afm-attention-test');

test('AFM attention weights the true pairs above every noise pair', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-afm-'));
  try {
    const meta = generateFieldCtr(SPEC, { outDir: dir, rows: 30_000, seed: 5 });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const out = await trainOnFiles({
      data: {
        ...splitFiles(dir, meta),
        onBadRow: 'error',
      },
      schema,
      label: null,
      model: 'afm',
      modelOptions: resolveModelOptions('afm', { embeddingDim: 8, embeddingInitStd: 0.01, attentionDim: 8 }),
      train: { ...TRAIN_DEFAULTS, epochs: 6, batchSize: 256, progress: false, optimizer: { type: 'adam' as const, lr: 3e-3 }, patience: 2 },
    });
    const model = out.model as AFM;
    model.eval();
    const test = await loadDataSource(out.featureMap, join(dir, meta.splits.test.file));
    const a = noGrad(() => model.attentionWeights(test.all))!;
    const fields = out.spec.fields.map((f) => f.name); // all sparse: the input layer's field order
    const { count: P, left, right } = fieldPairs(fields.length);
    const mean = new Map<string, number>();
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let r = 0; r < test.all.size; r++) s += a.data[r * P + p]!;
      mean.set([fields[left[p]!], fields[right[p]!]].sort().join(''), s / test.all.size);
    }
    const report = `mean attention ${JSON.stringify(Object.fromEntries([...mean].map(([k, v]) => [k, Number(v.toFixed(3))])))}, test AUC ${out.test!.auc.toFixed(4)}`;
    const noise = Math.max(...[...mean].filter(([k]) => k !== 'ab' && k !== 'cd').map(([, v]) => v));
    assert.ok(mean.get('ab')! > noise && mean.get('cd')! > noise, `a true pair is not weighted above the noise pairs: ${report}`);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Pre-encoded data whose pair interactions depend on the field pair: every value of field f
 * has its own k-dimensional latent vector toward each other field g, and
 * logit = Σ_{f<g} s·⟨u_{f→g}[x_f], u_{g→f}[x_g]⟩ — FFM's generative process. An FM of the
 * same dimension k shares one vector across all partners and cannot express it.
 */
function fieldAwareDataset(n: number, seed: number, F = 4, V = 12, k = 2, s = 1.3): { spec: FeatureSpec; batch: Batch; oracle: Float32Array } {
  const latent = new Rng(99);
  const u = Array.from({ length: F }, () =>
    Array.from({ length: F }, () => Array.from({ length: V }, () => Array.from({ length: k }, () => latent.normal()))),
  );
  const rng = new Rng(seed);
  const sparse: Record<string, Int32Array> = {};
  for (let f = 0; f < F; f++) sparse[`f${f}`] = new Int32Array(n);
  const y = new Float32Array(n),
    oracle = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const x = Array.from({ length: F }, () => rng.int(V));
    x.forEach((v, f) => {
      sparse[`f${f}`]![r] = v + 2;
    });
    let z = 0;
    for (let f = 0; f < F; f++) for (let g = f + 1; g < F; g++) for (let d = 0; d < k; d++) z += s * u[f]![g]![x[f]!]![d]! * u[g]![f]![x[g]!]![d]!;
    oracle[r] = 1 / (1 + Math.exp(-z));
    y[r] = rng.next() < oracle[r]! ? 1 : 0;
  }
  const spec: FeatureSpec = { fields: Array.from({ length: F }, (_, f) => sparseField(`f${f}`, V + 2)), labels: ['click'] };
  return { spec, batch: { size: n, sparse, dense: {}, varlen: {}, labels: { click: y } }, oracle };
}

test('FFM beats FM of the same dimension on data whose pair interactions depend on the field pair', async () => {
  const train = fieldAwareDataset(20_000, 1),
    valid = fieldAwareDataset(3_000, 2),
    test = fieldAwareDataset(5_000, 3);
  const result: Record<string, number> = {};
  for (const name of ['fm', 'ffm']) {
    const rng = new Rng(7);
    const model = createModel(name, { spec: train.spec, rng }, { embeddingDim: 2, embeddingInitStd: 0.1 });
    const opts = { ...TRAIN_DEFAULTS, epochs: 8, batchSize: 256, progress: false, optimizer: { type: 'adam' as const, lr: 1e-2 }, patience: 2 };
    await new Trainer(model, opts, 'click', {}, [rng]).fit(new InMemoryDataSource(train.batch), new InMemoryDataSource(valid.batch));
    model.eval();
    const logits = noGrad(() => (model as SingleTaskModel).forward(test.batch));
    result[name] = auc(logits.data, test.batch.labels.click!);
  }
  const oracle = auc(test.oracle, test.batch.labels.click!);
  const report = `test AUC fm ${result.fm!.toFixed(4)}, ffm ${result.ffm!.toFixed(4)}, oracle ${oracle.toFixed(4)}`;
  assert.ok(result.ffm! > result.fm! + 0.03, `FFM does not beat FM by 0.03: ${report}`);
  assert.ok(result.ffm! > oracle - 0.02, `FFM is more than 0.02 below the oracle: ${report}`);
  console.log(report);
});

test('NFM, PNN, DCNv2, xDeepFM, FiBiNET and AutoInt beat LR on pairwise-interaction data', async () => {
  const train = pairwiseDataset(8_000, 11),
    valid = pairwiseDataset(2_000, 12),
    test = pairwiseDataset(4_000, 13);
  const small = { embeddingDim: 4, embeddingInitStd: 0.05 };
  const models: Record<string, Record<string, unknown>> = {
    lr: { embeddingInitStd: 0.05 },
    nfm: { ...small, hiddenUnits: [16] },
    pnn: { ...small, hiddenUnits: [16], productType: 'both' },
    dcnv2: { ...small, modelStructure: 'crossnet_only', numCrossLayers: 2 },
    xdeepfm: { ...small, cinLayerUnits: [8], dnnHiddenUnits: [] },
    fibinet: { ...small, hiddenUnits: [16], bilinearType: 'field_all', reductionRatio: 2 },
    autoint: { ...small, attentionLayers: 1, numHeads: 2, attentionDim: 8 },
  };
  const result: Record<string, number> = {};
  for (const [name, opts] of Object.entries(models)) {
    const rng = new Rng(3);
    const model = createModel(name, { spec: train.spec, rng }, opts);
    const trainOpts = { ...TRAIN_DEFAULTS, epochs: 6, batchSize: 128, progress: false, optimizer: { type: 'adam' as const, lr: 5e-3 }, patience: 2 };
    await new Trainer(model, trainOpts, 'click', {}, [rng]).fit(new InMemoryDataSource(train.batch), new InMemoryDataSource(valid.batch));
    model.eval();
    result[name] = auc(noGrad(() => (model as SingleTaskModel).forward(test.batch)).data, test.batch.labels.click!);
  }
  const report = `test AUC ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Number(v.toFixed(4))])))}`;
  for (const name of Object.keys(models).filter((m) => m !== 'lr'))
    assert.ok(result[name]! > result.lr! + 0.05, `${name} does not beat LR by 0.05: ${report}`);
  console.log(report);
});
