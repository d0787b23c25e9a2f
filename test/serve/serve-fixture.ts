import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { chunkFromRows } from '../../src/readers/chunk.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, label, sparse, varlen } from '../../src/features/schema.js';
import { createModel } from '../../src/models/registry.js';
import type { RankingModel } from '../../src/models/base.js';
import { saveArtifact } from '../../src/serve/artifact.js';

/** The raw columns of the serving fixture: a user/context part and a candidate part. */
const COLUMNS = [
  label('click'),
  sparse('user'),
  sparse('hour'),
  sparse('item'),
  sparse('category', { encoder: { type: 'hash', buckets: 7 } }),
  dense('price', { transform: ['log1p', 'standardize'] }),
  varlen('tags', { maxLen: 3 }),
];
export const SCHEMA = defineSchema({ columns: COLUMNS });

/** `n` training-like raw rows (seeded). */
export function fixtureRows(n: number, seed = 1): Record<string, unknown>[] {
  const rng = new Rng(seed);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor(rng.next() * 20),
      it = Math.floor(rng.next() * 50);
    rows.push({
      click: rng.next() < 0.3 ? 1 : 0,
      user: `u${u}`,
      hour: Math.floor(rng.next() * 24),
      item: `i${it}`,
      category: `c${it % 9}`,
      price: Math.round(rng.next() * 1000) / 10,
      tags: [`t${it % 5}`, `t${(it + u) % 5}`],
    });
  }
  return rows;
}

/**
 * Writes a DeepFM artifact (with batch norm whose running statistics were moved off their
 * initial values, and a feature map fitted on `fixtureRows`) and returns its path, model and
 * feature map. `seed` changes the weights.
 */
export async function writeFixtureArtifact(
  dir: string,
  name: string,
  seed = 1,
  opts: Record<string, unknown> = {},
): Promise<{ path: string; model: RankingModel; fm: FeatureMap }> {
  const rows = fixtureRows(400);
  const fm = await FeatureMap.fit(SCHEMA, [chunkFromRows(rows, fm0Columns())]);
  const spec = fm.featureSpec();
  const modelOptions = { embeddingDim: 4, embeddingInitStd: 0.3, dnnHiddenUnits: [16, 8], batchNorm: true, ...opts };
  const model = createModel('deepfm', { spec, rng: new Rng(seed) }, modelOptions);
  model.train();
  model.forwardTasks(fm.transformRows(rows));
  model.eval();
  const path = join(dir, name);
  saveArtifact(path, model, { modelOptions, inputSpec: spec, label: 'click', featureMap: fm.toJSON(), negativeSampleRate: 1, training: {} });
  return { path, model, fm };
}

function fm0Columns(): string[] {
  return SCHEMA.columns.map((c) => c.name);
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'finerank-serve-'));
}

/**
 * A two-task artifact over the fixture's input columns, with its feature map; weights
 * random, batch norm statistics moved. Shared-Bottom: tasks 'ctr' (click) and 'cvr' (buy,
 * where click); ESMM: tasks 'ctr' (click) and 'ctcvr' (buy), plus its extra output 'cvr'.
 */
export async function writeMultiTaskArtifact(
  dir: string,
  name: string,
  modelName: 'shared_bottom' | 'esmm' = 'shared_bottom',
): Promise<{ path: string; model: RankingModel; fm: FeatureMap }> {
  const schema = defineSchema({ columns: [label('buy'), ...COLUMNS] });
  const rows = fixtureRows(300).map((r, i) => ({ ...r, buy: i % 7 === 0 ? 1 : 0 }));
  const fm = await FeatureMap.fit(schema, [chunkFromRows(rows, ['buy', ...fm0Columns()])]);
  const spec = fm.featureSpec();
  const tasks =
    modelName === 'esmm'
      ? [
          { name: 'ctr', label: 'click', weight: 1, where: null },
          { name: 'ctcvr', label: 'buy', weight: 1, where: null },
        ]
      : [
          { name: 'ctr', label: 'click', weight: 1, where: null },
          { name: 'cvr', label: 'buy', weight: 1, where: 'click' },
        ];
  const modelOptions: Record<string, unknown> =
    modelName === 'esmm'
      ? { embeddingDim: 4, embeddingInitStd: 0.3, towerHiddenUnits: [8], batchNorm: true }
      : { embeddingDim: 4, embeddingInitStd: 0.3, bottomHiddenUnits: [16], towerHiddenUnits: [8], batchNorm: true };
  const model = createModel(modelName, { spec, rng: new Rng(3), tasks: tasks.map((t) => t.name) }, modelOptions);
  model.train();
  model.forwardTasks(fm.transformRows(rows));
  model.eval();
  const path = join(dir, name);
  saveArtifact(path, model, { modelOptions, inputSpec: spec, label: 'click', tasks, featureMap: fm.toJSON(), negativeSampleRate: 1, training: {} });
  return { path, model, fm };
}
