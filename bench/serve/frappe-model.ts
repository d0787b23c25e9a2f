import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { chunkFromRows } from '../../src/readers/chunk.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, label, sparse } from '../../src/features/schema.js';
import { createModel } from '../../src/models/registry.js';
import type { RankingModel } from '../../src/models/base.js';
import { saveArtifact } from '../../src/serve/artifact.js';

/** Frappe_x1 fields and their number of distinct values (bench/train/config.json). */
export const FRAPPE_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['user', 957],
  ['item', 4082],
  ['daytime', 7],
  ['weekday', 7],
  ['isweekend', 2],
  ['homework', 3],
  ['cost', 2],
  ['weather', 9],
  ['country', 80],
  ['city', 233],
];
/** Fields of the candidate (the app); the others are the user / context part of a rank request. */
export const CANDIDATE_FIELDS = new Set(['item', 'cost']);

/** BARS DeepFM_frappe_x1 hyper-parameters (bench/train/config.json). */
export const FRAPPE_DEEPFM = { embeddingDim: 10, hiddenUnits: [400, 400, 400], batchNorm: true, netDropout: 0.2, embeddingInitStd: 0.05 };

/**
 * A DeepFM artifact with the Frappe sizes: the feature map's vocabularies hold exactly the
 * Frappe cardinalities (values `v0`…`v{n−1}` per field), the weights are random (speed does
 * not depend on them) and the batch-norm running statistics are moved off (0, 1) by one
 * training-mode batch. Returns the path, the model and the feature map.
 */
export async function writeFrappeArtifact(dir: string): Promise<{ path: string; model: RankingModel; fm: FeatureMap }> {
  const n = Math.max(...FRAPPE_FIELDS.map(([, c]) => c));
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < n; r++) {
    const row: Record<string, unknown> = { label: r % 5 === 0 ? 1 : 0 };
    for (const [f, c] of FRAPPE_FIELDS) row[f] = `v${r % c}`;
    rows.push(row);
  }
  const schema = defineSchema({ columns: [label('label'), ...FRAPPE_FIELDS.map(([f]) => sparse(f))] });
  const fm = await FeatureMap.fit(schema, [chunkFromRows(rows, ['label', ...FRAPPE_FIELDS.map(([f]) => f)])]);
  const spec = fm.featureSpec();
  const model = createModel('deepfm', { spec, rng: new Rng(2021) }, FRAPPE_DEEPFM);
  model.train();
  model.forwardTasks(fm.transformRows(rows.slice(0, 4096)));
  model.eval();
  const path = join(dir, 'deepfm-frappe.frk');
  saveArtifact(path, model, {
    modelOptions: FRAPPE_DEEPFM,
    inputSpec: spec,
    label: 'label',
    featureMap: fm.toJSON(),
    negativeSampleRate: 1,
    training: {},
  });
  return { path, model, fm };
}

/** A rank request body: one random user/context and `n` random candidates (seeded). */
export function rankRequest(n: number, seed: number): { context: Record<string, string>; candidates: Record<string, string>[] } {
  const rng = new Rng(seed);
  const pick = (c: number) => `v${Math.floor(rng.next() * c)}`;
  const context: Record<string, string> = {};
  for (const [f, c] of FRAPPE_FIELDS) if (!CANDIDATE_FIELDS.has(f)) context[f] = pick(c);
  const candidates = Array.from({ length: n }, () => {
    const cand: Record<string, string> = {};
    for (const [f, c] of FRAPPE_FIELDS) if (CANDIDATE_FIELDS.has(f)) cand[f] = pick(c);
    return cand;
  });
  return { context, candidates };
}
