import { Rng } from '../engine/random.js';
import { kernels } from '../engine/kernels/index.js';
import { BadRowLog } from '../data/errors.js';
import type { FeatureMap } from '../features/featuremap.js';
import { createModel } from '../models/registry.js';
import type { RankingModel } from '../models/base.js';
import type { InputSpec } from '../models/input-spec.js';
import type { EvalReport } from '../metrics/index.js';
import type { Schema } from '../features/schema.js';
import type { TrainOptions } from './options.js';
import { Trainer, evaluateModel, type TrainHooks, type TrainResult } from './trainer.js';
import { inputSpecFromFeatureMap, loadDataSource } from './pipeline.js';
import { fitFeatureMap } from '../data/stream.js';

/** What `trainOnFiles` needs: the files, the schema, the model and the training options. */
export interface TrainJob {
  data: { train: string; valid: string | null; test: string | null; onBadRow: 'error' | 'skip' };
  schema: Schema;
  label: string | null;
  model: string;
  modelOptions: Record<string, unknown>;
  train: TrainOptions;
}

/** The outcome of a training job. */
export interface TrainOutcome {
  model: RankingModel;
  featureMap: FeatureMap;
  spec: InputSpec;
  label: string;
  result: TrainResult;
  valid: EvalReport | null;
  test: EvalReport | null;
  /** Rows skipped as bad (only with onBadRow 'skip'), with the first few reasons. */
  skippedRows: number;
  skippedExamples: string[];
  /** Flat summary for tables and --json output. */
  summary: Record<string, number | string | null>;
}

/**
 * Runs a whole job: fits the feature map on the training file only, encodes the splits,
 * builds the model (seeded), trains with validation / schedule / early stopping, restores
 * the best weights and evaluates on the test file.
 */
export async function trainOnFiles(job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const log = hooks.log ?? (() => {});
  const badRows = new BadRowLog();
  const load = { onBadRow: job.data.onBadRow, badRows };
  const t0 = performance.now();
  const fm = await fitFeatureMap(job.data.train, job.schema, load);
  const spec = inputSpecFromFeatureMap(fm);
  const label = job.label ?? spec.labels[0];
  if (label === undefined) throw new Error('the schema declares no label column');
  if (!spec.labels.includes(label)) throw new Error(`label '${label}' is not a label column of the schema (labels: ${spec.labels.join(', ')})`);
  const train = await loadDataSource(fm, job.data.train, load);
  const valid = job.data.valid === null ? null : await loadDataSource(fm, job.data.valid, load);
  const test = job.data.test === null ? null : await loadDataSource(fm, job.data.test, load);
  log(`data: ${train.rows} train, ${valid?.rows ?? 0} valid, ${test?.rows ?? 0} test rows encoded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${spec.sparse.length + spec.varlen.length} categorical, ${spec.dense.length} dense fields`);
  const rng = Rng.derive(job.train.seed, 'model');
  const model = createModel(job.model, { spec, rng }, job.modelOptions);
  log(`model ${job.model}: ${countParameters(model)} parameters; kernels: ${kernels().detail}`);
  const trainer = new Trainer(model, job.train, label, hooks, [rng]);
  const result = await trainer.fit(train, valid);
  const evalBatch = Math.max(job.train.batchSize, 4096);
  const validReport = valid === null ? null : await evaluateModel(model, valid, label, evalBatch, job.train.negativeSampleRate);
  const testReport = test === null ? null : await evaluateModel(model, test, label, evalBatch, job.train.negativeSampleRate);
  const summary: Record<string, number | string | null> = {
    model: job.model,
    epochs: result.epochs,
    best_epoch: result.bestEpoch,
    steps: result.steps,
    valid_auc: validReport?.auc ?? null,
    valid_logloss: validReport?.logloss ?? null,
    test_auc: testReport?.auc ?? null,
    test_logloss: testReport?.logloss ?? null,
    samples_per_sec: Math.round(result.samplesPerSec),
    train_seconds: Number(result.trainSeconds.toFixed(2)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    backend: kernels().name,
    threads: kernels().getThreads(),
    skipped_rows: badRows.count,
  };
  return {
    model, featureMap: fm, spec, label, result, valid: validReport, test: testReport,
    skippedRows: badRows.count, skippedExamples: badRows.examples.map((e) => e.reason), summary,
  };
}

/** Number of trainable values: dense parameters plus embedding table entries. */
export function countParameters(model: RankingModel): number {
  let n = 0;
  for (const p of model.parameters()) n += p.size;
  for (const [, t] of model.namedEmbeddings()) n += t.rows * t.dim;
  return n;
}
