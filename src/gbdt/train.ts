import { Rng } from '../engine/random.js';
import { kernels } from '../engine/kernels/index.js';
import { BadRowLog } from '../readers/errors.js';
import { fitFeatureMap } from '../data/stream.js';
import { loadDataSource } from '../data/load.js';
import type { InMemoryDataSource } from '../data/data-source.js';
import { createModel, modelEntry } from '../models/registry.js';
import type { FeatureSpec } from '../features/fields.js';
import { singleTask, type TaskDef } from '../features/tasks.js';
import { Trainer, type TrainHooks, type TrainResult } from '../train/trainer.js';
import { finishTraining } from '../train/outcome.js';
import type { TrainJob, TrainOutcome } from '../train/run.js';
import { Booster, type FitReport } from './booster.js';
import { GbdtLrModel, GbdtModel, isTreeModel, treeMatrix, treeModelBoosterOptions } from './model.js';

/** Whether a model name (aliases included) names a tree model. */
export function isTreeModelName(name: string): boolean {
  return isTreeModel(modelEntry(name).name);
}

/** Fits the booster of a tree model on an encoded training set (validation set for early stopping). */
export function fitTrees(
  spec: FeatureSpec,
  label: string,
  opts: Record<string, unknown>,
  train: InMemoryDataSource,
  valid: InMemoryDataSource | null,
  log: (line: string) => void,
): { booster: Booster; report: FitReport } {
  const o = treeModelBoosterOptions(opts);
  const targets = (d: InMemoryDataSource) => ({ y: d.all.labels[label]!, ...(d.all.weight !== undefined ? { weight: d.all.weight } : {}) });
  const validSet = valid !== null && o.early_stopping_rounds > 0 ? { matrix: treeMatrix(valid.all, spec), targets: targets(valid) } : undefined;
  if (o.early_stopping_rounds > 0 && validSet === undefined) throw new Error('early_stopping_rounds needs a validation file (--valid or data.valid)');
  const every = Math.max(1, Math.round(o.n_estimators / 10));
  return Booster.fit(treeMatrix(train.all, spec), targets(train), o, {
    ...(validSet !== undefined ? { valid: validSet } : {}),
    log: (r) => {
      if ((r.round + 1) % every === 0)
        log(
          `tree ${r.round + 1}/${o.n_estimators}${r.valid !== null ? `: valid ${o.eval_metric || (o.objective === 'binary:logistic' ? 'logloss' : 'rmse')} ${r.valid.toFixed(5)}` : ''}`,
        );
    },
  });
}

/**
 * `trainOnFiles` for tree models ('gbdt', 'gbdt_lr'): fits the feature map on the training
 * file, encodes the splits, fits the booster on the encoded training data (dense fields as
 * numbers, sparse fields as their ids; early stopping on the validation file), then for
 * gbdt_lr trains the second model on the leaf fields with the ordinary Trainer, and
 * evaluates on the validation and test files. The returned model options carry the fitted
 * leaf counts the artifact needs.
 */
export async function trainTreeModelOnFiles(job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const log = hooks.log ?? (() => {});
  const name = modelEntry(job.model).name;
  treeModelBoosterOptions(job.modelOptions); // refuse bad options before reading any data
  if (job.data.streaming?.streaming === true) {
    throw new Error(
      `${name}: data.streaming is not supported: the booster bins every training row in memory (rows × fields × 2 bytes, twice); leave streaming off or 'auto' (tree models always load the splits into memory)`,
    );
  }
  const badRows = new BadRowLog();
  const load = { onBadRow: job.data.onBadRow, badRows };
  const t0 = performance.now();
  const sketch = job.data.streaming?.vocabSketchBytes;
  const fm = await fitFeatureMap(job.data.train, job.schema, sketch === undefined ? load : { ...load, vocabSketchBytes: sketch });
  const spec = fm.featureSpec();
  const tasks = treeTasks(job, name, spec.labels);
  const label = tasks[0]!.label;
  if (name === 'gbdt' && job.train.negativeSampleRate !== 1) {
    throw new Error(
      'gbdt: negativeSampleRate is not supported (the trees train on every row, so predictions need no recalibration); use 1, or gbdt_lr, whose second model trains on the sampled rows',
    );
  }
  if (name === 'gbdt' && job.train.recalibrate !== 'none') {
    throw new Error(
      "gbdt: recalibrate is not supported (the trees train on every row, unweighted sampling aside); use recalibrate: 'none', or gbdt_lr, whose second model is recalibrated by the trainer",
    );
  }
  const withSparse = name === 'gbdt_lr' && job.modelOptions.withSparse === true;
  const multi = spec.fields.filter((f) => f.kind === 'varlen' || f.kind === 'sequence');
  if (multi.length > 0 && !withSparse) {
    throw new Error(
      `${name}: the trees take sparse and dense fields only; varlen/sequence fields (${multi.map((f) => f.name).join(', ')}) are supported only as inputs of gbdt_lr's second model (with_sparse: true)`,
    );
  }
  const train = await loadDataSource(fm, job.data.train, load);
  const valid = job.data.valid === null ? null : await loadDataSource(fm, job.data.valid, load);
  const test = job.data.test === null ? null : await loadDataSource(fm, job.data.test, load);
  log(
    `data: ${train.rows} train, ${valid?.rows ?? 0} valid, ${test?.rows ?? 0} test rows encoded in ${((performance.now() - t0) / 1000).toFixed(1)} s; trees see ${spec.fields.filter((f) => f.kind === 'dense').length} dense + ${spec.fields.filter((f) => f.kind === 'sparse').length} sparse fields`,
  );

  const { booster, report } = fitTrees(spec, label, job.modelOptions, train, valid, log);
  const leaves = booster.leafCounts.reduce((s, x) => s + x, 0);
  log(
    `trees: ${booster.numTrees} (best iteration ${report.bestIteration}${report.stoppedEarly ? ', stopped early' : ''}), ${leaves} leaves, ${report.seconds.toFixed(1)} s`,
  );
  const modelOptions = { ...job.modelOptions, leafCounts: booster.leafCounts.slice() };
  const rng = Rng.derive(job.train.seed, 'model');
  const model = createModel(name, { spec, rng, tasks: tasks.map((t) => t.name) }, modelOptions) as GbdtModel;
  model.setTrees(booster);

  let result: TrainResult;
  if (model instanceof GbdtLrModel) {
    log(
      `second model ${model.second.modelName} on ${booster.numTrees} leaf fields${withSparse ? ` + ${spec.fields.filter((f) => f.kind !== 'dense').length} original categorical fields` : ''}; kernels: ${kernels().detail}`,
    );
    const trainer = new Trainer(model, job.train, tasks, hooks, [rng]);
    const second = await trainer.fit(train, valid);
    // The model's training time: the trees, then the second model.
    result = { ...second, trainSeconds: report.seconds + second.trainSeconds };
  } else {
    result = {
      history: [],
      steps: report.rounds.length,
      epochs: 0,
      bestEpoch: 0,
      bestMetric: report.rounds[report.bestIteration - 1]?.valid ?? NaN,
      stoppedEarly: report.stoppedEarly,
      samplesPerSec: (train.rows * report.rounds.length) / report.seconds,
      trainSeconds: report.seconds,
      dataWaitSeconds: 0, // the booster works on rows already in memory
    };
  }
  model.eval();
  return finishTraining({
    job,
    modelName: name,
    model,
    featureMap: fm,
    spec,
    tasks,
    result,
    valid,
    test,
    badRows,
    head: { trees: booster.numTrees, leaves, tree_seconds: Number(report.seconds.toFixed(2)) },
    streaming: false,
    modelOptions,
  });
}

/** The one task of a tree model (the trees fit one label on every row). */
function treeTasks(job: TrainJob, name: string, labels: string[]): TaskDef[] {
  if (job.tasks !== undefined && job.tasks !== null && job.tasks.length > 0) {
    if (job.tasks.length > 1)
      throw new Error(`${name} predicts one task, but ${job.tasks.length} are configured (${job.tasks.map((t) => t.name).join(', ')})`);
    if (job.tasks[0]!.where !== null) throw new Error(`${name}: a task with 'where' is not supported (the trees train on every row)`);
    return job.tasks;
  }
  const label = job.label ?? labels[0];
  if (label === undefined) throw new Error('the schema declares no label column');
  if (!labels.includes(label)) throw new Error(`label '${label}' is not a label column of the schema (labels: ${labels.join(', ')})`);
  return singleTask(label);
}
