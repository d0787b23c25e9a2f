import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../engine/random.js';
import type { RankingModel } from '../models/base.js';
import { decodeContainer, encodeContainer, packState, unpackState, type StoredArray } from '../util/container.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { OptimizerPair } from './optimizers.js';
import type { Optimizer } from './optim.js';
import type { EvalLog } from './trainer.js';

/** The trainer's position and bookkeeping, enough to continue exactly where it stopped. */
export interface TrainState {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  lr: number;
  bestMetric: number;
  bestEpoch: number;
  badEvals: number;
  stopped: boolean;
  history: EvalLog[];
  lossSum: number;
  lossCount: number;
  trainSeconds: number;
  trainRows: number;
  /** Seconds the training loop waited for its next batch (absent in older checkpoints: 0). */
  dataWaitSeconds?: number;
  /** CPU seconds of the training thread itself while it waited for batches (absent in older checkpoints or off Linux). */
  dataWaitCpuSeconds?: number;
  /** The part of `dataWaitSeconds` spent before the first batch of each epoch (absent in older checkpoints: 0). */
  dataWaitFirstBatchSeconds?: number;
  /** CPU seconds of the training thread itself inside optimizer steps (as above). */
  trainCpuSeconds?: number;
  /** CPU seconds of the whole process (every thread: GC helpers, BLAS, workers) while waiting for batches and inside steps (absent in older checkpoints). */
  trainProcessCpuSeconds?: number;
}

/**
 * The data-parallel workers' model generators (dropout masks) as the checkpointer sees them
 * (src/train/parallel/data-parallel.ts: `workerRngStates`, `setWorkerRngStates`).
 */
export interface WorkerGenerators {
  /** Training threads, the training thread included. */
  threads: number;
  get(): number[][];
  set(states: number[][]): void;
}

const MAGIC = 'FRNKCKPT';
const FILE = 'checkpoint.frk';

/**
 * Saves and restores training checkpoints: model state, optimizer state, the random
 * generators (dropout masks) — of the data-parallel workers too, with the thread count that
 * wrote them — the trainer's position and the best weights so far, in one checksummed file
 * written atomically (a crash mid-write leaves the previous checkpoint). A checkpoint is only
 * resumed with the thread count that wrote it (the shards, their summation order and the
 * workers' masks depend on it): another count is refused with the reason.
 */
export class Checkpointer {
  readonly dir: string;
  private readonly rngs: Rng[];
  private workers: WorkerGenerators | null = null;

  constructor(dir: string, rngs: Rng[] = []) {
    this.dir = dir;
    this.rngs = rngs;
  }

  /** The data-parallel workers whose generators are saved and restored with the rest (null: one thread). */
  attachWorkers(workers: WorkerGenerators | null): void {
    this.workers = workers;
  }

  /** Path of the checkpoint file. */
  get path(): string {
    return join(this.dir, FILE);
  }

  /**
   * Writes the checkpoint. `groups`: the optimizers of separately optimized parameter groups
   * (AutoFIS's gates under GRDA), saved in order.
   */
  save(
    model: RankingModel,
    optim: OptimizerPair,
    state: TrainState,
    best: Map<string, Float32Array> | null,
    groups: readonly Optimizer[] = [],
  ): void {
    mkdirSync(this.dir, { recursive: true });
    const arrays = new Map<string, StoredArray>();
    for (const [k, v] of model.stateDict()) arrays.set(`model/${k}`, v);
    if (best !== null) for (const [k, v] of best) arrays.set(`best/${k}`, v);
    const meta = {
      model: model.modelName,
      state: packState(state, arrays, 'state'),
      optimizer: packState(optim.stateDict(), arrays, 'optim'),
      groups: groups.map((g) => packState(g.stateDict(), arrays, 'group')),
      rngs: this.rngs.map((r) => packState(r.getState(), arrays, 'rng')),
      trainThreads: this.workers?.threads ?? 1,
      workerRngs: this.workers === null ? [] : this.workers.get().map((s, i) => packState(s, arrays, `worker-rng.${i}`)),
      hasBest: best !== null,
    };
    writeFileAtomic(this.path, encodeContainer(MAGIC, meta, arrays));
  }

  /**
   * Restores model, optimizers (the pair and the `groups` saved with it) and generators;
   * returns the state, or null without a checkpoint.
   */
  load(
    model: RankingModel,
    optim: OptimizerPair,
    groups: readonly Optimizer[] = [],
  ): { state: TrainState; best: Map<string, Float32Array> | null } | null {
    if (!existsSync(this.path)) return null;
    const { meta, arrays } = decodeContainer(readFileSync(this.path), MAGIC, this.path);
    const m = meta as {
      model: string;
      state: unknown;
      optimizer: unknown;
      groups?: unknown[];
      rngs: unknown[];
      hasBest: boolean;
      trainThreads?: number;
      workerRngs?: unknown[];
    };
    if (m.model !== model.modelName) throw new Error(`${this.path}: checkpoint is of model '${m.model}', not '${model.modelName}'`);
    const savedGroups = m.groups ?? []; // checkpoints written before groups were saved have none
    if (savedGroups.length !== groups.length)
      throw new Error(`${this.path}: checkpoint has ${savedGroups.length} separately optimized parameter groups, trainer has ${groups.length}`);
    const threads = this.workers?.threads ?? 1;
    if (m.trainThreads === undefined && threads > 1)
      throw new Error(
        `${this.path}: this checkpoint predates the data-parallel workers' generators (dropout masks) in checkpoints, so a run with threads ${threads} cannot continue it exactly; resume it with threads: 1, or delete ${this.dir} to start over`,
      );
    if (m.trainThreads !== undefined && m.trainThreads !== threads)
      throw new Error(
        `${this.path}: checkpoint was written by a run with threads ${m.trainThreads}, this run has threads ${threads}; the batch shards, the order their gradients are summed in and the workers' dropout masks depend on the thread count, so the run would not continue exactly. Resume with threads: ${m.trainThreads} (--threads ${m.trainThreads}), or delete ${this.dir} to start over`,
      );
    const workerRngs = (m.workerRngs ?? []).map((s) => unpackState(s, arrays) as number[]);
    if (threads > 1 && workerRngs.length !== threads - 1)
      throw new Error(`${this.path}: checkpoint has ${workerRngs.length} worker generators for threads ${threads}`);
    const pick = (prefix: string): Map<string, Float32Array> => {
      const out = new Map<string, Float32Array>();
      for (const [k, v] of arrays) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v as Float32Array);
      return out;
    };
    model.loadStateDict(pick('model/'));
    optim.loadStateDict(unpackState(m.optimizer, arrays));
    savedGroups.forEach((g, i) => groups[i]!.loadStateDict(unpackState(g, arrays) as ReturnType<Optimizer['stateDict']>));
    if (m.rngs.length !== this.rngs.length)
      throw new Error(`${this.path}: checkpoint has ${m.rngs.length} generators, trainer has ${this.rngs.length}`);
    m.rngs.forEach((s, i) => this.rngs[i]!.setState(unpackState(s, arrays) as number[]));
    if (this.workers !== null) this.workers.set(workerRngs);
    return { state: unpackState(m.state, arrays) as TrainState, best: m.hasBest ? pick('best/') : null };
  }
}
