/**
 * Messages between the training thread and its data-parallel workers (./data-parallel.ts,
 * ./worker.ts), and the recipe a worker rebuilds the model from.
 */
import type { FeatureSpec } from '../../features/fields.js';
import type { Batch } from '../../features/batch.js';
import type { TaskDef } from '../../features/tasks.js';
import type { SharedModelStorage } from './shared-storage.js';
import type { ShardScales } from './batch-loss.js';

/**
 * How to build the model again in another thread: `createModel(model, {spec, rng, tasks},
 * modelOptions)`; `seed` is the training seed (workers derive their dropout generators from it).
 */
export interface ModelRecipe {
  model: string;
  spec: FeatureSpec;
  modelOptions: Record<string, unknown>;
  seed: number;
}

/** What a worker is started with. */
export interface WorkerInit {
  recipe: ModelRecipe;
  tasks: TaskDef[];
  storage: SharedModelStorage;
  /** The worker's shard index (1 … threads − 1; shard 0 is the training thread's). */
  index: number;
  /** The worker's dense gradients, flat in `namedParameters()` order. */
  gradBuffer: SharedArrayBuffer;
}

/** One step: the worker's shard of the batch and its loss multipliers. */
export interface StepRequest {
  type: 'step';
  batch: Batch;
  scales: ShardScales;
}

/**
 * The worker's part of a LazyAdam step (`DataParallelGroup.splitRowUpdates`): per table (by
 * index in `namedEmbeddings()` order) its share of the merged row gradient and the shared
 * state arrays. The worker updates those rows of the shared weights, writes the milliseconds
 * it took into `ms[index − 1]`, then stores 1 (or −1 on an error, which it also
 * posts) into `done` and notifies it; no reply message.
 */
export interface RowsRequest {
  type: 'rows';
  beta1: number;
  beta2: number;
  eps: number;
  jobs: Array<{ table: number; ids: Int32Array; values: Float32Array; m: Float32Array; v: Float32Array; stepSize: number }>;
  done: Int32Array;
  /** Per worker (shared): the milliseconds of its last row step, for the training thread's balancing. */
  ms: Float64Array;
}

/** Sets the worker's model generator (dropout masks) to a state from a checkpoint; no reply. */
export interface SetRngRequest {
  type: 'set-rng';
  state: number[];
}

/** Any message to a worker. */
export type WorkerRequest = StepRequest | SetRngRequest | RowsRequest;

/** A worker's reply to a step (dense gradients are in its gradient buffer). */
export type StepReply = {
  type: 'done';
  /** The shard's part of the batch loss. */
  loss: number;
  /** Per parameter: whether the shard produced a gradient (else its slot is stale). */
  hasGrad: boolean[];
  /** Per table: the row gradient (unique ids, summed rows), or null when the shard never reached the table. */
  sparse: Array<{ ids: Int32Array; values: Float32Array } | null>;
  /** CPU seconds of the worker's thread for this shard (forward, backward, copying the gradients out); null when unknown. */
  cpuSeconds: number | null;
  /** The worker's model generator after the shard (`Rng.getState`), kept by the training thread for checkpoints. */
  rngState: number[];
};

/** Any message from a worker. */
export type WorkerMessage = StepReply | { type: 'ready'; rngState: number[] } | { type: 'error'; message: string };

/**
 * The purpose string of worker `index`'s model generator (`Rng.derive(seed, purpose)`): its
 * initial values are discarded (the weights are shared), but the dropout generators drawn from
 * it differ per worker, so the shards do not share dropout masks.
 */
export function workerRngPurpose(index: number): string {
  return `data-parallel:worker-${index}`;
}

export type { Batch };
