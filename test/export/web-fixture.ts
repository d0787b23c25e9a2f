/**
 * Artifacts of every registered model over one raw-row fixture (user/item/context fields,
 * a hashed field, numeric steps, a bucketized number, tags, a history), for the web export
 * tests. Neural models get random weights large enough to spread the probabilities
 * (embedding std 0.3), layers of at most 32 units, and moved batch-norm statistics; models whose
 * interaction reads embedded fields only embed the numeric field (`embed_dense`); tree models are trained (trees
 * cannot be random).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { chunkFromRows } from '../../src/readers/chunk.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, label, sequence, sparse, varlen, type Pooling } from '../../src/features/schema.js';
import { createModel, listModels, resolveModelOptions } from '../../src/models/registry.js';
import { saveArtifact } from '../../src/serve/artifact.js';
import { trainOnFiles } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';

/** Models whose history is attended (they need `pooling: attention`; the others refuse it). */
const ATTENTION_MODELS = new Set(['din', 'dien']);
/** Models that refuse a numeric field unless it is embedded. */
const EMBED_DENSE_MODELS = new Set(['autoint']);
/** Models trained here instead of given random weights. */
export const TREE_MODELS = new Set(['gbdt', 'gbdt_lr']);

function schemaFor(pooling: Pooling, multiValue = true) {
  const s = defineSchema({
    columns: [
      label('click'),
      label('buy'),
      sparse('user', { tag: 'user', encoder: { type: 'vocab', minCount: 2 } }),
      sparse('item', { tag: 'item' }),
      sparse('category', { tag: 'item', encoder: { type: 'hash', buckets: 13, seed: 5 } }),
      dense('price', { tag: 'item', transform: ['log1p', 'standardize'], missing: 'mean' }),
      dense('age', { tag: 'user', transform: [{ bucketize: { quantiles: 4 } }] }),
      varlen('tags', { tag: 'item', maxLen: 3 }),
      sequence('hist', { tag: 'user', maxLen: 5, shareWith: 'item', pooling }),
    ],
  });
  // The trees of gbdt read sparse and dense fields only.
  return multiValue ? s : { ...s, columns: s.columns.filter((c) => c.role !== 'varlen' && c.role !== 'sequence') };
}

/** `n` raw rows; `unseen` mixes in values the training rows never had and missing cells. */
export function rawRows(n: number, seed: number, unseen = false): Record<string, unknown>[] {
  const rng = new Rng(seed);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor(rng.next() * 25),
      it = Math.floor(rng.next() * 40);
    const hist = Array.from({ length: Math.floor(rng.next() * 8) }, () => `i${(it + Math.floor(rng.next() * 6)) % 40}`);
    rows.push({
      click: rng.next() < 1 / (1 + Math.exp(-(((u + it) % 5) - 2))) ? 1 : 0,
      buy: rng.next() < 0.15 ? 1 : 0,
      user: unseen && i % 5 === 0 ? `new${i}` : `u${u}`,
      item: unseen && i % 7 === 0 ? `newitem${i}` : `i${it}`,
      category: `c${it % 9}`,
      price: unseen && i % 6 === 0 ? null : Math.round(rng.next() * 1000) / 10,
      age: 18 + Math.floor(rng.next() * 50),
      tags: [`t${it % 5}`, `t${(it + u) % 7}`],
      hist: hist.join('|'),
    });
  }
  return rows;
}

const CSV_COLUMNS = ['click', 'buy', 'user', 'item', 'category', 'price', 'age', 'tags', 'hist'];

function csvOf(rows: Record<string, unknown>[]): string {
  const cell = (v: unknown) => (v === null ? '' : Array.isArray(v) ? v.join('|') : String(v));
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** Options that make a random model's outputs informative, where the model has them. */
function testOptions(defaults: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if ('embeddingInitStd' in defaults) o.embeddingInitStd = 0.3;
  if ('batchNorm' in defaults) o.batchNorm = true;
  // Narrower layers than the defaults (the same code paths, a faster test): every *HiddenUnits list capped at 32.
  for (const [k, v] of Object.entries(defaults)) if (/hiddenunits$/i.test(k) && Array.isArray(v)) o[k] = (v as number[]).map((n) => Math.min(n, 32));
  return o;
}

/** Writes `<name>.frk` for every registered model into `dir`; returns name → path. */
export async function writeEveryModel(dir: string): Promise<Map<string, string>> {
  const rows = rawRows(500, 1);
  const out = new Map<string, string>();
  for (const e of listModels()) {
    const path = join(dir, `${e.name}.frk`);
    out.set(e.name, path);
    const schema = schemaFor(ATTENTION_MODELS.has(e.name) ? 'attention' : 'mean', e.name !== 'gbdt');
    const tasks = !e.multiTask
      ? [{ name: 'click', label: 'click', weight: 1, where: null }]
      : e.name === 'esmm'
        ? [
            { name: 'ctr', label: 'click', weight: 1, where: null },
            { name: 'ctcvr', label: 'buy', weight: 1, where: null },
          ]
        : [
            { name: 'ctr', label: 'click', weight: 1, where: null },
            { name: 'cvr', label: 'buy', weight: 1, where: 'click' },
          ];
    if (TREE_MODELS.has(e.name)) {
      const train = join(dir, 'train.csv');
      writeFileSync(train, csvOf(rows));
      const o = await trainOnFiles({
        data: { train, valid: null, test: null, onBadRow: 'error' },
        schema,
        label: 'click',
        model: e.name,
        modelOptions: resolveModelOptions(e.name, { nEstimators: 6, maxDepth: 3 }),
        train: { ...TRAIN_DEFAULTS, epochs: 1, batchSize: 128, progress: false },
      });
      saveArtifact(path, o.model, {
        modelOptions: o.modelOptions!,
        inputSpec: o.spec,
        label: o.label,
        tasks: o.tasks,
        featureMap: o.featureMap.toJSON(),
        negativeSampleRate: 1,
        training: {},
      });
      continue;
    }
    const fm = await FeatureMap.fit(schema, [chunkFromRows(rows, CSV_COLUMNS)]);
    const spec = fm.featureSpec();
    const modelOptions = testOptions(e.defaults);
    if (EMBED_DENSE_MODELS.has(e.name)) modelOptions.embedDense = true;
    const model = createModel(e.name, { spec, rng: new Rng(7), tasks: tasks.map((t) => t.name) }, modelOptions);
    model.train();
    model.forwardTasks(fm.transformRows(rows.slice(0, 128)));
    model.eval();
    // DeepFM as if trained on a negative downsample (rate 0.5): its probabilities are recalibrated.
    const negativeSampleRate = e.name === 'deepfm' ? 0.5 : 1;
    saveArtifact(path, model, { modelOptions, inputSpec: spec, label: 'click', tasks, featureMap: fm.toJSON(), negativeSampleRate, training: {} });
  }
  return out;
}
