import { Tensor, noGrad, tidy } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { bceWithLogits } from '../engine/ops/index.js';
import { evaluate, type EvalReport } from '../metrics/index.js';
import type { Batch } from '../data/batch.js';
import type { RankingModel } from '../models/base.js';
import type { EmbeddingTable } from '../embedding/table.js';
import type { DataSource } from './data-source.js';
import type { TrainOptions } from './options.js';
import { buildOptimizers, type OptimizerPair } from './optimizers.js';
import { Checkpointer, type TrainState } from './checkpoint.js';
import { ProgressReporter } from './progress.js';

/** One validation result in the training history. */
export interface EvalLog {
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  valid: EvalReport | null;
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
}

/** Hooks for tests and tools. */
export interface TrainHooks {
  /** Called after every optimizer step; throwing aborts training (crash simulation). */
  afterStep?: (step: number) => void;
  /** Receives log lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Turns logits into probabilities with the negative-downsampling correction of
 * DESIGN.md §5: p = p′ / (p′ + (1 − p′)/w) for sampling rate w (w = 1: plain sigmoid).
 */
export function calibratedProbabilities(logits: Float32Array, negativeSampleRate = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const p = 1 / (1 + Math.exp(-logits[i]!));
    out[i] = negativeSampleRate === 1 ? p : p / (p + (1 - p) / negativeSampleRate);
  }
  return out;
}

/** Probabilities of a model for every row of a data source, in order (eval mode, no graph). */
export async function predict(model: RankingModel, data: DataSource, batchSize = 4096, negativeSampleRate = 1): Promise<{ probs: Float32Array; labels: Map<string, Float32Array>; groups: Int32Array | null }> {
  const probParts: Float32Array[] = [];
  const labelParts = new Map<string, Float32Array[]>();
  const groupParts: Int32Array[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of data.batches({ batchSize, shuffle: false, seed: 0, epoch: 0 })) {
      const logits = noGrad(() => model.forward(batch));
      probParts.push(calibratedProbabilities(logits.data, negativeSampleRate));
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
  for (const [k, v] of labelParts) labels.set(k, join(v, (n) => new Float32Array(n)));
  return {
    probs: join(probParts, (n) => new Float32Array(n)),
    labels,
    groups: groupParts.length > 0 ? join(groupParts, (n) => new Int32Array(n)) : null,
  };
}

/** AUC, logloss, calibration (and gAUC with groups) of a model on a data source. */
export async function evaluateModel(model: RankingModel, data: DataSource, label: string, batchSize = 4096, negativeSampleRate = 1): Promise<EvalReport> {
  const { probs, labels, groups } = await predict(model, data, batchSize, negativeSampleRate);
  const y = labels.get(label);
  if (y === undefined) throw new Error(`evaluation data has no label '${label}'`);
  return evaluate(probs, y, groups === null ? {} : { groups });
}

function monitorValue(r: EvalReport, monitor: TrainOptions['monitor']): number {
  if (monitor === 'auc') return r.auc;
  if (monitor === 'logloss') return r.logloss;
  if (r.gauc === undefined) throw new Error("monitor 'gauc' needs a group column in the validation data");
  return r.gauc;
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
  readonly label: string;
  private readonly hooks: TrainHooks;
  private readonly optim: OptimizerPair;
  private readonly tables: EmbeddingTable[];
  private readonly params: Tensor[];
  private readonly checkpointer: Checkpointer | null;

  constructor(model: RankingModel, opts: TrainOptions, label: string, hooks: TrainHooks = {}, rngs: Rng[] = []) {
    this.model = model;
    this.opts = opts;
    this.label = label;
    this.hooks = hooks;
    this.params = model.parameters();
    this.tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
    this.optim = buildOptimizers(this.params, this.tables, opts);
    this.checkpointer = opts.checkpointDir === "" ? null : new Checkpointer(opts.checkpointDir, rngs);
  }

  /** One optimization step on a batch; returns the batch's mean BCE (without penalties). */
  step(batch: Batch): number {
    const y = batch.labels[this.label];
    if (y === undefined) throw new Error(`training batch has no label '${this.label}'`);
    const loss = tidy(() => {
      const logits = this.model.forward(batch);
      const l = bceWithLogits(logits, y, batch.weight);
      l.backward();
      return l;
    });
    this.optim.applyPenalties();
    if (this.opts.clipNorm > 0) this.optim.clip(this.opts.clipNorm);
    this.optim.step();
    this.optim.zeroGrad();
    return loss.item();
  }

  /**
   * Trains on `train`, validating on `valid` (when given). Resumes from the checkpoint in
   * `checkpointDir` when one exists.
   */
  async fit(train: DataSource, valid: DataSource | null): Promise<TrainResult> {
    const o = this.opts;
    const log = this.hooks.log ?? (() => {});
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
    };
    let best: Map<string, Float32Array> | null = null;
    if (this.checkpointer !== null) {
      const restored = this.checkpointer.load(this.model, this.optim);
      if (restored !== null) {
        state = restored.state;
        best = restored.best;
        log(`resumed from checkpoint at epoch ${state.epoch + 1}, step ${state.globalStep}`);
      }
    }
    const save = () => this.checkpointer?.save(this.model, this.optim, state, best);
    const better = (v: number) => (o.monitor === 'logloss' ? v < state.bestMetric - o.minDelta : v > state.bestMetric + o.minDelta);

    const validate = async (): Promise<void> => {
      const report = valid === null ? null : await evaluateModel(this.model, valid, this.label, Math.max(o.batchSize, 4096));
      const trainLoss = state.lossCount > 0 ? state.lossSum / state.lossCount : NaN;
      state.lossSum = 0;
      state.lossCount = 0;
      let improved = true;
      if (report !== null) {
        const v = monitorValue(report, o.monitor);
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
      const entry: EvalLog = { epoch: state.epoch + 1, step: state.globalStep, lr: state.lr, trainLoss, valid: report, improved };
      state.history.push(entry);
      log(formatEval(entry, o.monitor));
    };

    this.optim.setLrScale(state.lr / o.optimizer.lr);
    const rowsPerEpoch = train.rows;
    while (state.epoch < o.epochs && !state.stopped) {
      const progress = new ProgressReporter(o.progress, `epoch ${state.epoch + 1}/${o.epochs}`, rowsPerEpoch);
      let index = 0;
      this.model.train();
      for await (const batch of train.batches({ batchSize: o.batchSize, shuffle: true, seed: o.seed, epoch: state.epoch })) {
        if (index++ < state.stepInEpoch) continue; // resume: skip batches already trained on
        if (o.warmupSteps > 0 && state.globalStep < o.warmupSteps) this.optim.setLrScale(((state.globalStep + 1) / o.warmupSteps) * (state.lr / o.optimizer.lr));
        else if (o.warmupSteps > 0 && state.globalStep === o.warmupSteps) this.optim.setLrScale(state.lr / o.optimizer.lr);
        const t0 = performance.now();
        const loss = this.step(batch);
        state.trainSeconds += (performance.now() - t0) / 1000;
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
      }
      progress.done();
      if (!state.stopped && o.evalEverySteps === 0) await validate();
      state.epoch++;
      state.stepInEpoch = 0;
      save();
    }
    if (o.restoreBest && best !== null) this.model.loadStateDict(best);
    return {
      history: state.history,
      steps: state.globalStep,
      epochs: state.epoch,
      bestEpoch: state.bestEpoch + 1,
      bestMetric: state.bestMetric,
      stoppedEarly: state.stopped,
      samplesPerSec: state.trainSeconds > 0 ? state.trainRows / state.trainSeconds : 0,
      trainSeconds: state.trainSeconds,
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
  const v = e.valid;
  const metrics = v === null ? 'no validation data' : `valid AUC ${v.auc.toFixed(6)} logloss ${v.logloss.toFixed(6)}${v.gauc !== undefined ? ` gAUC ${v.gauc.toFixed(6)}` : ''}`;
  return `epoch ${e.epoch} step ${e.step}: train BCE ${e.trainLoss.toFixed(6)}, ${metrics}, lr ${e.lr.toExponential(1)}${e.improved ? '' : ` (${monitor} did not improve)`}`;
}

export { Rng };
