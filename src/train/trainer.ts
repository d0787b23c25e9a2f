import { Tensor, noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { backwardBatchLoss, taskWeights } from './parallel/batch-loss.js';
import { calibratedProbabilities, evaluate, type EvalReport } from '../metrics/index.js';
import type { Batch } from '../features/batch.js';
import { pickRows, singleTask, taskRows, type TaskDef } from '../features/tasks.js';
import type { RankingModel } from '../models/base.js';
import type { EmbeddingTable } from '../embedding/table.js';
import { LazyAdam } from '../embedding/sparse-optim.js';
import type { DataSource } from '../data/data-source.js';
import type { TrainOptions } from './options.js';
import { buildOptimizers, type OptimizerPair } from './optimizers.js';
import type { Optimizer } from './optim.js';
import { Checkpointer, type TrainState } from './checkpoint.js';
import { ProgressReporter } from './progress.js';
import { DataParallelGroup, type ParallelTimings } from './parallel/data-parallel.js';
import { shareModelStorage, type SharedModelStorage } from './parallel/shared-storage.js';
import type { ModelRecipe } from './parallel/protocol.js';
import { threadCpuSeconds } from '../util/thread-cpu.js';
import { fitInterceptShifts } from './recalibrate.js';

/** One validation result in the training history. */
export interface EvalLog {
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  /** Validation metrics of the first task (null without validation data). */
  valid: EvalReport | null;
  /** Validation metrics of every task, by task name. */
  tasks: Record<string, EvalReport> | null;
  /** The monitored value (see TrainOptions.monitorTask). */
  monitored: number | null;
  improved: boolean;
}

/** What `Trainer.fit` returns. */
export interface TrainResult {
  history: EvalLog[];
  steps: number;
  /** Epochs run (an epoch cut short by early stopping in step-validation mode counts). */
  epochs: number;
  bestEpoch: number;
  bestMetric: number;
  stoppedEarly: boolean;
  /** Training rows per second of training time (evaluation excluded). */
  samplesPerSec: number;
  trainSeconds: number;
  /**
   * Seconds the training loop waited for the next batch: from the end of one step (or the
   * start of an epoch) until the data source handed over the next batch — parsing, reading
   * the cache and gathering the shuffled batch, whatever was not done ahead in a worker.
   * Evaluation and checkpoint writes between steps are not counted.
   */
  dataWaitSeconds: number;
  /**
   * CPU seconds the training thread itself used while it waited for batches (gathering,
   * cache reads, taking over the parse worker's chunks) — the part of the data path that a
   * free core for the parse worker cannot hide — and inside optimizer steps. Null where
   * thread CPU time is not available (src/util/thread-cpu.ts).
   */
  dataWaitCpuSeconds?: number | null;
  /** The part of `dataWaitSeconds` spent waiting for the first batch of each epoch (a streaming text pass parses its first shuffle window then). */
  dataWaitFirstBatchSeconds?: number;
  trainCpuSeconds?: number | null;
  /**
   * CPU seconds of the whole process (all threads: V8's GC helpers, BLAS and training
   * workers) over the same spans (waiting for batches plus steps): what to compare with
   * another framework's process CPU time.
   */
  trainProcessCpuSeconds?: number | null;
  /** Where the training thread's step time went with `threads` > 1 (seconds); null with one thread. */
  parallel?: (ParallelTimings & { threads: number }) | null;
  /** δ added to each task's logit by `recalibrate: intercept` (by output name; absent or empty: none). */
  logitOffset?: Record<string, number>;
}

/**
 * Parameters a model trains with their own optimizer (AutoFIS's gates with GRDA): left out
 * of the configured dense optimizer, its penalties, clipping and learning-rate schedule, and
 * stepped after it; checkpoints save and restore their optimizers' state beside the others.
 */
export interface ParamGroup {
  params: Tensor[];
  optimizer: Optimizer;
}

/** Hooks for tests and tools. */
export interface TrainHooks {
  /** Called after every optimizer step; throwing aborts training (crash simulation). */
  afterStep?: (step: number) => void;
  /** Receives log lines (default: none). */
  log?: (line: string) => void;
}

/** Probabilities of every task, labels and groups of every row of a data source. */
export interface Predictions {
  /** Probabilities by task name, in row order. */
  probs: Record<string, Float32Array>;
  labels: Map<string, Float32Array>;
  groups: Int32Array | null;
}

/** Probabilities of a model for every row of a data source, in order (eval mode, no graph), one array per task and extra output. */
export async function predict(
  model: RankingModel,
  data: DataSource,
  batchSize = 4096,
  negativeSampleRate = 1,
  logitOffset: Readonly<Record<string, number>> = {},
): Promise<Predictions> {
  const outputs = model.outputNames();
  const probParts = new Map<string, Float32Array[]>(outputs.map((t) => [t, []]));
  const labelParts = new Map<string, Float32Array[]>();
  const groupParts: Int32Array[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of data.batches({ batchSize, shuffle: false, seed: 0, epoch: 0 })) {
      const logits = noGrad(() => model.forwardOutputs(batch));
      for (const t of outputs) probParts.get(t)!.push(calibratedProbabilities(logits[t]!.data, negativeSampleRate, logitOffset[t] ?? 0));
      for (const [k, v] of Object.entries(batch.labels)) {
        if (!labelParts.has(k)) labelParts.set(k, []);
        labelParts.get(k)!.push(v);
      }
      if (batch.group !== undefined) groupParts.push(batch.group);
    }
  } finally {
    model.train(wasTraining);
  }
  const join = <T extends Float32Array | Int32Array>(parts: T[], make: (n: number) => T): T => {
    const out = make(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const labels = new Map<string, Float32Array>();
  for (const [k, v] of labelParts)
    labels.set(
      k,
      join(v, (n) => new Float32Array(n)),
    );
  const probs: Record<string, Float32Array> = {};
  for (const [t, parts] of probParts) probs[t] = join(parts, (n) => new Float32Array(n));
  return { probs, labels, groups: groupParts.length > 0 ? join(groupParts, (n) => new Int32Array(n)) : null };
}

/**
 * Metrics of one task from predictions: rows where the task's `where` label is not 1 are
 * left out (a conversion task judged on clicked rows only).
 */
export function taskReport(p: Predictions, task: TaskDef): EvalReport {
  const probs = p.probs[task.name];
  if (probs === undefined) throw new Error(`the model has no task '${task.name}' (tasks: ${Object.keys(p.probs).join(', ')})`);
  const y = p.labels.get(task.label);
  if (y === undefined) throw new Error(`evaluation data has no label '${task.label}' (task '${task.name}')`);
  const rows = taskRows(
    task,
    (l) => p.labels.get(l),
    (l) => new Error(`evaluation data has no label '${l}' (the where-column of task '${task.name}')`),
  );
  return evaluate(pickRows(probs, rows), pickRows(y, rows), p.groups === null ? {} : { groups: pickRows(p.groups, rows) });
}

/** The task list given, or for a label name the model's one task on that label. */
function modelTasks(model: RankingModel, tasks: string | readonly TaskDef[]): TaskDef[] {
  if (typeof tasks !== 'string') return tasks.slice();
  return singleTask(tasks).map((t) => ({ ...t, name: model.tasks[0] ?? t.name }));
}

/** Per-task AUC, logloss, calibration (and gAUC with groups) of a model on a data source. */
export async function evaluateTasks(
  model: RankingModel,
  data: DataSource,
  tasks: readonly TaskDef[],
  batchSize = 4096,
  negativeSampleRate = 1,
  logitOffset: Readonly<Record<string, number>> = {},
): Promise<Record<string, EvalReport>> {
  const p = await predict(model, data, batchSize, negativeSampleRate, logitOffset);
  const out: Record<string, EvalReport> = {};
  for (const t of tasks) out[t.name] = taskReport(p, t);
  return out;
}

/** AUC, logloss, calibration (and gAUC with groups) of a single-task model (or of the first task) on a data source. */
export async function evaluateModel(
  model: RankingModel,
  data: DataSource,
  label: string | readonly TaskDef[],
  batchSize = 4096,
  negativeSampleRate = 1,
): Promise<EvalReport> {
  const tasks = modelTasks(model, label);
  const reports = await evaluateTasks(model, data, tasks.slice(0, 1), batchSize, negativeSampleRate);
  return reports[tasks[0]!.name]!;
}

function metricOf(r: EvalReport, monitor: TrainOptions['monitor']): number {
  if (monitor === 'auc') return r.auc;
  if (monitor === 'logloss') return r.logloss;
  if (r.gauc === undefined) throw new Error("monitor 'gauc' needs a group column in the validation data");
  return r.gauc;
}

/** The tasks whose metric is monitored: '' → the first, 'mean' → all, else the named ones (comma-separated). */
export function monitoredTasks(tasks: readonly TaskDef[], monitorTask: string): string[] {
  if (monitorTask === '') return [tasks[0]!.name];
  if (monitorTask === 'mean') return tasks.map((t) => t.name);
  const names = monitorTask.split(',').map((x) => x.trim());
  for (const n of names)
    if (!tasks.some((t) => t.name === n)) throw new Error(`monitorTask: no task '${n}' (tasks: ${tasks.map((t) => t.name).join(', ')})`);
  return names;
}

function monitorValue(reports: Record<string, EvalReport>, monitor: TrainOptions['monitor'], names: readonly string[]): number {
  let s = 0;
  for (const n of names) s += metricOf(reports[n]!, monitor);
  return s / names.length;
}

/**
 * The training loop of DESIGN.md §5, separate from the model: mean BCE (+ L2 terms),
 * backward, gradient clipping, dense and embedding optimizer steps; validation every
 * epoch (or every N steps), learning rate ×factor on plateau with a floor, early stopping
 * with patience, best weights restored at the end; atomic checkpoints for exact resume.
 */
export class Trainer {
  readonly model: RankingModel;
  readonly opts: TrainOptions;
  /** The tasks trained (one per model output). */
  readonly tasks: TaskDef[];
  private readonly hooks: TrainHooks;
  private readonly optim: OptimizerPair;
  private readonly tables: EmbeddingTable[];
  private readonly params: Tensor[];
  private readonly checkpointer: Checkpointer | null;
  private readonly groups: ParamGroup[];
  private readonly recipe: ModelRecipe | null;
  private readonly storage: SharedModelStorage | null;
  private group: DataParallelGroup | null = null;

  /**
   * `tasks`: the task list, or one label name for a single-task model. Every task must be
   * an output of the model, and every model output a task. `recipe`: how to build the
   * model again in a worker thread; needed when `opts.threads` > 1 (data-parallel training).
   */
  constructor(
    model: RankingModel,
    opts: TrainOptions,
    tasks: string | readonly TaskDef[],
    hooks: TrainHooks = {},
    rngs: Rng[] = [],
    groups: readonly ParamGroup[] = [],
    recipe: ModelRecipe | null = null,
  ) {
    this.model = model;
    this.opts = opts;
    this.tasks = modelTasks(model, tasks);
    const names = this.tasks.map((t) => t.name);
    if (names.length !== model.tasks.length || model.tasks.some((t) => !names.includes(t))) {
      throw new Error(`the model predicts tasks ${model.tasks.join(', ')} but training was given ${names.join(', ')}`);
    }
    model.validateTasks(this.tasks);
    monitoredTasks(this.tasks, opts.monitorTask);
    this.hooks = hooks;
    const own = new Set(groups.flatMap((g) => g.params));
    this.params = model.parameters().filter((p) => !own.has(p));
    this.tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
    const threads = opts.threads ?? 1; // options built before `threads` existed
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    if (threads > 1 && groups.length > 0)
      throw new Error(
        `threads ${threads}: data-parallel training does not support separately optimized parameter groups (AutoFIS's search stage); use threads: 1`,
      );
    if (threads > 1 && recipe === null)
      throw new Error(`threads ${threads}: data-parallel training needs the model's recipe (Trainer argument 'recipe')`);
    this.recipe = threads > 1 ? recipe : null;
    // Shared before the optimizers are built, so that they hold the shared arrays.
    this.storage = threads > 1 ? shareModelStorage(model) : null;
    this.optim = buildOptimizers(this.params, this.tables, opts);
    this.groups = groups.slice();
    this.checkpointer = opts.checkpointDir === '' ? null : new Checkpointer(opts.checkpointDir, rngs);
  }

  /**
   * One optimization step on a batch; returns the batch's loss without penalties: the
   * weighted sum over tasks of each task's mean BCE over its rows (rows where its `where`
   * label is not 1 count zero), plus the model's own extra loss (DIEN's auxiliary loss).
   */
  step(batch: Batch): number {
    const loss = backwardBatchLoss(this.model, this.tasks, batch);
    this.update();
    return loss;
  }

  /** `step` with the forward/backward split over the threads of `group` (data-parallel). */
  private async stepParallel(group: DataParallelGroup, batch: Batch): Promise<number> {
    const loss = await group.backward(batch);
    group.timeUpdate(() => this.update());
    return loss;
  }

  /** Penalties, clipping, the optimizer steps and zeroing of the gradients after a backward. */
  private update(): void {
    this.optim.applyPenalties();
    if (this.opts.clipNorm > 0) this.optim.clip(this.opts.clipNorm);
    this.optim.step();
    this.optim.zeroGrad();
    for (const g of this.groups) {
      g.optimizer.step();
      g.optimizer.zeroGrad();
    }
  }

  /**
   * Trains on `train`, validating on `valid` (when given). Resumes from the checkpoint in
   * `checkpointDir` when one exists.
   */
  async fit(train: DataSource, valid: DataSource | null): Promise<TrainResult> {
    if (this.storage === null) return this.fitWith(train, valid, null);
    const group = await DataParallelGroup.start(this.model, this.storage, this.recipe!, this.tasks, this.opts.threads ?? 1);
    this.group = group;
    if (this.optim.sparse instanceof LazyAdam) group.splitRowUpdates(this.optim.sparse);
    try {
      return await this.fitWith(train, valid, group);
    } finally {
      this.group = null;
      await group.close();
    }
  }

  /** A copy of the running data-parallel group's timings so far (null outside `fit` or with one thread); for benchmarks. */
  parallelTimings(): ParallelTimings | null {
    const t = this.group?.timings;
    return t === undefined ? null : { ...t, cpu: t.cpu === null ? null : { ...t.cpu } };
  }

  private async fitWith(train: DataSource, valid: DataSource | null, group: DataParallelGroup | null): Promise<TrainResult> {
    const o = this.opts;
    const log = this.hooks.log ?? (() => {});
    if (o.recalibrate === 'intercept' && valid === null)
      throw new Error("recalibrate: 'intercept' fits the shift on the validation split; give a validation file or use recalibrate: 'none'");
    let state: TrainState = {
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      lr: o.optimizer.lr,
      bestMetric: o.monitor === 'logloss' ? Infinity : -Infinity,
      bestEpoch: -1,
      badEvals: 0,
      stopped: false,
      history: [],
      lossSum: 0,
      lossCount: 0,
      trainSeconds: 0,
      trainRows: 0,
      dataWaitSeconds: 0,
    };
    let best: Map<string, Float32Array> | null = null;
    const groupOptimizers = this.groups.map((g) => g.optimizer);
    if (this.checkpointer !== null) {
      this.checkpointer.attachWorkers(
        group === null ? null : { threads: group.threads, get: () => group.workerRngStates(), set: (s) => group.setWorkerRngStates(s) },
      );
      const restored = this.checkpointer.load(this.model, this.optim, groupOptimizers);
      if (restored !== null) {
        state = restored.state;
        best = restored.best;
        log(`resumed from checkpoint at epoch ${state.epoch + 1}, step ${state.globalStep}`);
      }
    }
    const save = () => this.checkpointer?.save(this.model, this.optim, state, best, groupOptimizers);
    const better = (v: number) => (o.monitor === 'logloss' ? v < state.bestMetric - o.minDelta : v > state.bestMetric + o.minDelta);

    const validate = async (): Promise<void> => {
      const reports = valid === null ? null : await evaluateTasks(this.model, valid, this.tasks, Math.max(o.batchSize, 4096), o.negativeSampleRate);
      const trainLoss = state.lossCount > 0 ? state.lossSum / state.lossCount : NaN;
      state.lossSum = 0;
      state.lossCount = 0;
      let improved = true;
      let monitored: number | null = null;
      if (reports !== null) {
        const v = monitorValue(reports, o.monitor, monitoredTasks(this.tasks, o.monitorTask));
        monitored = v;
        improved = better(v);
        if (improved) {
          state.bestMetric = v;
          state.bestEpoch = state.epoch;
          state.badEvals = 0;
          if (o.restoreBest) best = snapshot(this.model);
        } else {
          state.badEvals++;
          if (o.lrDecayFactor !== 1) {
            state.lr = Math.max(state.lr * o.lrDecayFactor, o.minLr);
            this.optim.setLrScale(state.lr / o.optimizer.lr);
          }
          if (o.patience > 0 && state.badEvals >= o.patience) state.stopped = true;
        }
      }
      const entry: EvalLog = {
        epoch: state.epoch + 1,
        step: state.globalStep,
        lr: state.lr,
        trainLoss,
        valid: reports === null ? null : reports[this.tasks[0]!.name]!,
        tasks: reports,
        monitored,
        improved,
      };
      state.history.push(entry);
      log(formatEval(entry, o.monitor));
    };

    this.optim.setLrScale(state.lr / o.optimizer.lr);
    const rowsPerEpoch = train.rows;
    while (state.epoch < o.epochs && !state.stopped) {
      const progress = new ProgressReporter(o.progress, `epoch ${state.epoch + 1}/${o.epochs}`, rowsPerEpoch);
      this.model.train();
      // Resume: the source starts at the first batch not yet trained on.
      let asked = performance.now();
      let askedCpu = threadCpuSeconds();
      let askedProcessCpu = process.cpuUsage();
      let firstOfPass = true;
      for await (const batch of train.batches({
        batchSize: o.batchSize,
        shuffle: true,
        seed: o.seed,
        epoch: state.epoch,
        startBatch: state.stepInEpoch,
      })) {
        if (o.warmupSteps > 0 && state.globalStep < o.warmupSteps)
          this.optim.setLrScale(((state.globalStep + 1) / o.warmupSteps) * (state.lr / o.optimizer.lr));
        else if (o.warmupSteps > 0 && state.globalStep === o.warmupSteps) this.optim.setLrScale(state.lr / o.optimizer.lr);
        const t0 = performance.now();
        state.dataWaitSeconds = (state.dataWaitSeconds ?? 0) + (t0 - asked) / 1000;
        if (firstOfPass) state.dataWaitFirstBatchSeconds = (state.dataWaitFirstBatchSeconds ?? 0) + (t0 - asked) / 1000;
        firstOfPass = false;
        const cpu0 = threadCpuSeconds();
        if (cpu0 !== null && askedCpu !== null) state.dataWaitCpuSeconds = (state.dataWaitCpuSeconds ?? 0) + (cpu0 - askedCpu);
        const loss = group === null ? this.step(batch) : await this.stepParallel(group, batch);
        state.trainSeconds += (performance.now() - t0) / 1000;
        const cpu1 = threadCpuSeconds();
        if (cpu0 !== null && cpu1 !== null) state.trainCpuSeconds = (state.trainCpuSeconds ?? 0) + (cpu1 - cpu0);
        const processCpu = process.cpuUsage(askedProcessCpu);
        state.trainProcessCpuSeconds = (state.trainProcessCpuSeconds ?? 0) + (processCpu.user + processCpu.system) / 1e6;
        state.trainRows += batch.size;
        state.lossSum += loss;
        state.lossCount++;
        state.stepInEpoch++;
        state.globalStep++;
        progress.update(batch.size, loss);
        this.hooks.afterStep?.(state.globalStep);
        if (o.evalEverySteps > 0 && state.globalStep % o.evalEverySteps === 0) {
          await validate();
          save();
          if (state.stopped) break;
        } else if (o.checkpointEverySteps > 0 && state.globalStep % o.checkpointEverySteps === 0) {
          save();
        }
        asked = performance.now();
        askedCpu = threadCpuSeconds();
        askedProcessCpu = process.cpuUsage();
      }
      progress.done();
      if (!state.stopped && o.evalEverySteps === 0) await validate();
      state.epoch++;
      state.stepInEpoch = 0;
      save();
    }
    if (o.restoreBest && best !== null) this.model.loadStateDict(best);
    const logitOffset: Record<string, number> = {};
    if (o.recalibrate === 'intercept') {
      const shifts = await fitInterceptShifts(this.model, valid!, this.tasks, o.negativeSampleRate, Math.max(o.batchSize, 4096));
      for (const [t, s] of Object.entries(shifts)) {
        logitOffset[t] = s.offset;
        log(
          `recalibrate intercept${this.tasks.length > 1 ? ` [${t}]` : ''}: logit shift ${s.offset.toFixed(4)} on ${s.rows} validation rows (mean prediction ${s.meanBefore.toFixed(4)} → ${s.meanAfter.toFixed(4)}, observed ${s.observed.toFixed(4)})`,
        );
      }
    }
    return {
      logitOffset,
      history: state.history,
      steps: state.globalStep,
      epochs: state.epoch,
      bestEpoch: state.bestEpoch + 1,
      bestMetric: state.bestMetric,
      stoppedEarly: state.stopped,
      samplesPerSec: state.trainSeconds > 0 ? state.trainRows / state.trainSeconds : 0,
      trainSeconds: state.trainSeconds,
      dataWaitSeconds: state.dataWaitSeconds ?? 0,
      dataWaitCpuSeconds: state.dataWaitCpuSeconds ?? null,
      dataWaitFirstBatchSeconds: state.dataWaitFirstBatchSeconds ?? 0,
      trainCpuSeconds: state.trainCpuSeconds ?? null,
      trainProcessCpuSeconds: state.trainProcessCpuSeconds ?? null,
      parallel: group === null ? null : { threads: group.threads, ...group.timings },
    };
  }
}

/** A copy of every state array of a model. */
export function snapshot(model: RankingModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of model.stateDict()) out.set(k, v.slice());
  return out;
}

function formatEval(e: EvalLog, monitor: string): string {
  const one = (v: EvalReport) => `AUC ${v.auc.toFixed(6)} logloss ${v.logloss.toFixed(6)}${v.gauc !== undefined ? ` gAUC ${v.gauc.toFixed(6)}` : ''}`;
  const t = e.tasks;
  const metrics =
    t === null
      ? 'no validation data'
      : Object.keys(t).length === 1
        ? `valid ${one(Object.values(t)[0]!)}`
        : `valid ${Object.entries(t)
            .map(([k, v]) => `[${k}] ${one(v)}`)
            .join(', ')}`;
  return `epoch ${e.epoch} step ${e.step}: train loss ${e.trainLoss.toFixed(6)}, ${metrics}, lr ${e.lr.toExponential(1)}${e.improved ? '' : ` (${monitor} did not improve)`}`;
}

export { taskWeights };

export { Rng };
