import { kernels } from '../engine/kernels/index.js';
import type { BadRowLog } from '../readers/errors.js';
import type { FeatureMap } from '../features/featuremap.js';
import type { FeatureSpec } from '../features/fields.js';
import type { TaskDef } from '../features/tasks.js';
import { outputTaskDefs, type RankingModel } from '../models/base.js';
import type { DataSource } from '../data/data-source.js';
import { evaluateTasks, type TrainResult } from './trainer.js';
import type { TrainJob, TrainOutcome } from './run.js';

/** What a finished training run hands to `finishTraining`. */
export interface TrainedRun {
  job: TrainJob;
  /** Model name for the summary (the registry name for tree models, else as the job wrote it). */
  modelName: string;
  model: RankingModel;
  featureMap: FeatureMap;
  spec: FeatureSpec;
  tasks: TaskDef[];
  result: TrainResult;
  valid: DataSource | null;
  test: DataSource | null;
  badRows: BadRowLog;
  /** Summary entries right after `model` (tree models: trees, leaves, tree_seconds). */
  head?: Record<string, number | string | null>;
  /** Whether the splits were streamed. */
  streaming: boolean;
  /** CPU seconds of the training file's parse worker (streaming text passes), when measured. */
  parseWorkerCpuSeconds?: number;
  /** Rows per shuffle window of the streamed training file. */
  shuffleWindow?: number;
  /** Model options to store in the artifact (tree models: with the fitted leaf counts). */
  modelOptions?: Record<string, unknown>;
}

/**
 * The end of every training run (`trainOnFiles` and the tree models' `trainTreeModelOnFiles`):
 * evaluates every output of the model (the tasks, then extra outputs such as ESMM's cvr) on
 * the validation and test sets, and builds the outcome with its flat summary (first task's
 * metrics, per-output metrics when there are several, speed, peak RSS, backend, skipped rows).
 */
export async function finishTraining(run: TrainedRun): Promise<TrainOutcome> {
  const { job, model, tasks, result, valid, test, badRows } = run;
  const evalBatch = Math.max(job.train.batchSize, 4096);
  const judged = outputTaskDefs(model, tasks);
  const validTasks = valid === null ? null : await evaluateTasks(model, valid, judged, evalBatch, job.train.negativeSampleRate, result.logitOffset);
  const testTasks = test === null ? null : await evaluateTasks(model, test, judged, evalBatch, job.train.negativeSampleRate, result.logitOffset);
  const first = tasks[0]!.name;
  const validReport = validTasks?.[first] ?? null;
  const testReport = testTasks?.[first] ?? null;
  const perTask: Record<string, number | null> = {};
  if (judged.length > 1) {
    for (const t of judged) {
      perTask[`valid_auc_${t.name}`] = validTasks?.[t.name]?.auc ?? null;
      perTask[`valid_logloss_${t.name}`] = validTasks?.[t.name]?.logloss ?? null;
      perTask[`test_auc_${t.name}`] = testTasks?.[t.name]?.auc ?? null;
      perTask[`test_logloss_${t.name}`] = testTasks?.[t.name]?.logloss ?? null;
    }
  }
  const summary: Record<string, number | string | null> = {
    model: run.modelName,
    ...run.head,
    epochs: result.epochs,
    best_epoch: result.bestEpoch,
    steps: result.steps,
    valid_auc: validReport?.auc ?? null,
    valid_logloss: validReport?.logloss ?? null,
    test_auc: testReport?.auc ?? null,
    test_logloss: testReport?.logloss ?? null,
    ...perTask,
    samples_per_sec: Math.round(result.samplesPerSec),
    train_seconds: Number(result.trainSeconds.toFixed(2)),
    data_wait_seconds: Number(result.dataWaitSeconds.toFixed(2)),
    data_wait_first_batch_seconds: Number((result.dataWaitFirstBatchSeconds ?? 0).toFixed(2)),
    data_wait_cpu_seconds: result.dataWaitCpuSeconds == null ? null : Number(result.dataWaitCpuSeconds.toFixed(2)),
    train_cpu_seconds: result.trainCpuSeconds == null ? null : Number(result.trainCpuSeconds.toFixed(2)),
    train_process_cpu_seconds: result.trainProcessCpuSeconds == null ? null : Number(result.trainProcessCpuSeconds.toFixed(3)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    backend: kernels().name,
    threads: kernels().getThreads(),
    train_threads: result.parallel?.threads ?? 1,
    ...(result.parallel !== null && result.parallel !== undefined
      ? {
          parallel_split_seconds: Number(result.parallel.split.toFixed(2)),
          parallel_own_shard_seconds: Number(result.parallel.ownShard.toFixed(2)),
          parallel_wait_seconds: Number(result.parallel.wait.toFixed(2)),
          parallel_merge_seconds: Number(result.parallel.merge.toFixed(2)),
          parallel_optimizer_seconds: Number(result.parallel.optimizer.toFixed(2)),
          parallel_optimizer_split: result.parallel.optimizerSplit ? 1 : 0,
        }
      : {}),
    skipped_rows: badRows.count,
    streaming: run.streaming ? 1 : 0,
    ...(run.parseWorkerCpuSeconds !== undefined ? { train_parse_worker_cpu_seconds: Number(run.parseWorkerCpuSeconds.toFixed(2)) } : {}),
    ...(run.shuffleWindow !== undefined ? { shuffle_buffer: run.shuffleWindow } : {}),
  };
  return {
    model,
    featureMap: run.featureMap,
    spec: run.spec,
    label: tasks[0]!.label,
    tasks,
    result,
    valid: validReport,
    test: testReport,
    validTasks,
    testTasks,
    ...(run.modelOptions !== undefined ? { modelOptions: run.modelOptions } : {}),
    skippedRows: badRows.count,
    skippedExamples: badRows.examples.map((e) => e.reason),
    summary,
  };
}
