import { Rng } from '../engine/random.js';
import { kernels } from '../engine/kernels/index.js';
import { BadRowLog } from '../readers/errors.js';
import type { FeatureMap } from '../features/featuremap.js';
import { createModel } from '../models/registry.js';
import type { RankingModel } from '../models/base.js';
import type { FeatureSpec } from '../features/fields.js';
import { singleTask, type TaskDef } from '../features/tasks.js';
import type { EvalReport } from '../metrics/index.js';
import type { Schema } from '../features/schema.js';
import type { TrainOptions } from './options.js';
import { Trainer, type TrainHooks, type TrainResult } from './trainer.js';
import { finishTraining } from './outcome.js';
import { fitFeatureMap } from '../data/stream.js';
import { openSplits, type StreamingSettings } from './streaming-choice.js';
import { StreamingDataSource } from '../data/streaming/source.js';
import { isTreeModelName, trainTreeModelOnFiles } from '../gbdt/train.js';
import { needsInteractionSearch, retrainOptions, searchInteractions } from './autofis-search.js';

/** What `trainOnFiles` needs: the files, the schema, the model and the training options. */
export interface TrainJob {
  data: { train: string; valid: string | null; test: string | null; onBadRow: 'error' | 'skip'; streaming?: StreamingSettings };
  schema: Schema;
  /** Label of a single-task model (the schema's first label when null and no tasks are given). */
  label: string | null;
  /** Tasks (multi-task models); null: one task, `label`. */
  tasks?: TaskDef[] | null;
  model: string;
  modelOptions: Record<string, unknown>;
  train: TrainOptions;
}

/** The outcome of a training job. */
export interface TrainOutcome {
  model: RankingModel;
  featureMap: FeatureMap;
  spec: FeatureSpec;
  /** The first task's label. */
  label: string;
  tasks: TaskDef[];
  result: TrainResult;
  /** First task's metrics. */
  valid: EvalReport | null;
  test: EvalReport | null;
  /** Every task's metrics. */
  validTasks: Record<string, EvalReport> | null;
  testTasks: Record<string, EvalReport> | null;
  /** Rows skipped as bad (only with onBadRow 'skip'), with the first few reasons. */
  skippedRows: number;
  skippedExamples: string[];
  /** Flat summary for tables and --json output. */
  summary: Record<string, number | string | null>;
  /** Model options to store in the artifact when training fitted some (tree models: leaf counts). */
  modelOptions?: Record<string, unknown>;
}

/**
 * Runs a whole job: fits the feature map on the training file only, encodes the splits,
 * builds the model (seeded), trains with validation / schedule / early stopping, restores
 * the best weights and evaluates on the test file.
 */
export async function trainOnFiles(job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  if (isTreeModelName(job.model)) {
    if ((job.train.threads ?? 1) > 1)
      throw new Error(
        `${job.model}: train.threads (data-parallel training) applies to the neural models; a tree model's threads are model_options.n_jobs`,
      );
    return trainTreeModelOnFiles(job, hooks);
  }
  const kept = job.schema.columns.filter((c) => c.role === 'dense' && c.missing.policy === 'keep').map((c) => c.name);
  if (kept.length > 0)
    throw new Error(
      `${job.model}: dense fields with missing: keep (${kept.join(', ')}) reach the model as NaN; only the tree models (gbdt, gbdt_lr) take them. Use missing: mean, {fill: <number>} or error for this model`,
    );
  const log = hooks.log ?? (() => {});
  const badRows = new BadRowLog();
  const load = { onBadRow: job.data.onBadRow, badRows };
  const t0 = performance.now();
  const sketch = job.data.streaming?.vocabSketchBytes;
  const fm = await fitFeatureMap(job.data.train, job.schema, sketch === undefined ? load : { ...load, vocabSketchBytes: sketch });
  if (sketch !== undefined)
    log(`vocabularies: fitted in two passes through a ${(sketch / 2 ** 10).toFixed(0)} KiB count-min sketch (data.vocab_fit: sketch)`);
  const spec = fm.featureSpec();
  const tasks = jobTasks(job, spec.labels);
  const { train, valid, test, streaming, reason } = await openSplits(fm, job.data, load, job.data.streaming, log);
  const nDense = spec.fields.filter((f) => f.kind === 'dense').length;
  const fields = `${spec.fields.length - nDense} categorical, ${nDense} dense fields`;
  if (streaming) log(`data: streaming (${reason}); feature map fitted in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${fields}`);
  else
    log(
      `data: ${train.rows} train, ${valid?.rows ?? 0} valid, ${test?.rows ?? 0} test rows encoded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${fields}`,
    );
  const rng = Rng.derive(job.train.seed, 'model');
  let model = createModel(job.model, { spec, rng, tasks: tasks.map((t) => t.name) }, job.modelOptions);
  let modelOptions: Record<string, unknown> | undefined;
  if (needsInteractionSearch(model)) {
    const all = model.pairNames.length;
    log(`model ${job.model}: search stage over ${all} pair interactions (gates under GRDA)`);
    const kept = await searchInteractions(model, job.modelOptions, train, valid, job.train, tasks, hooks, [rng]);
    log(`model ${job.model}: search kept ${kept.length} of ${all} pairs${kept.length > 0 ? `: ${kept.join(', ')}` : ''}; retrain stage`);
    modelOptions = retrainOptions(job.modelOptions, kept);
    model = createModel(job.model, { spec, rng, tasks: tasks.map((t) => t.name) }, modelOptions);
  }
  log(
    `model ${job.model}: ${countParameters(model)} parameters; kernels: ${kernels().detail}${tasks.length > 1 ? `; tasks: ${tasks.map((t) => t.name).join(', ')}` : ''}`,
  );
  const recipe = { model: job.model, spec, modelOptions: modelOptions ?? job.modelOptions, seed: job.train.seed };
  const trainer = new Trainer(model, job.train, tasks, hooks, [rng], [], recipe);
  if ((job.train.threads ?? 1) > 1) log(`training: data-parallel on ${job.train.threads} threads (one shard of every batch each, shared weights)`);
  const result = await trainer.fit(train, valid);
  return finishTraining({
    job,
    modelName: job.model,
    model,
    featureMap: fm,
    spec,
    tasks,
    result,
    valid,
    test,
    badRows,
    streaming,
    ...(train instanceof StreamingDataSource && train.parseWorkerCpuSeconds > 0 ? { parseWorkerCpuSeconds: train.parseWorkerCpuSeconds } : {}),
    ...(train instanceof StreamingDataSource ? { shuffleWindow: train.shuffleWindow } : {}),
    ...(modelOptions !== undefined ? { modelOptions } : {}),
  });
}

/** Number of trainable values: dense parameters plus embedding table entries. */
export function countParameters(model: RankingModel): number {
  let n = 0;
  for (const p of model.parameters()) n += p.size;
  for (const [, t] of model.namedEmbeddings()) n += t.rows * t.dim;
  return n;
}

/** The tasks of a job: its task list, else one task on `label` (default: the schema's first label). */
function jobTasks(job: TrainJob, labels: string[]): TaskDef[] {
  if (job.tasks !== undefined && job.tasks !== null && job.tasks.length > 0) return job.tasks;
  const label = job.label ?? labels[0];
  if (label === undefined) throw new Error('the schema declares no label column');
  if (!labels.includes(label)) throw new Error(`label '${label}' is not a label column of the schema (labels: ${labels.join(', ')})`);
  return singleTask(label);
}
