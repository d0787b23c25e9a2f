/**
 * The training loss of one batch and its backward pass, shared by the trainer's own step and
 * the data-parallel workers (src/train/parallel/): the weighted sum over tasks of each task's
 * mean BCE over its rows (rows where its `where` label is not 1 count zero), plus the model's
 * own extra loss (DIEN's auxiliary loss).
 */
import { tidy, type Tensor } from '../../engine/tensor.js';
import { add, bceWithLogits, scale } from '../../engine/ops/index.js';
import type { Batch } from '../../features/batch.js';
import type { TaskDef } from '../../features/tasks.js';
import type { RankingModel } from '../../models/base.js';

/**
 * Multipliers of one shard's loss terms so that the shards' gradients sum to the whole
 * batch's: per task, the shard's share of the task's weight sum (rows, or sample weights of
 * the rows the task counts); for the extra loss, the shard's share of the rows.
 */
export interface ShardScales {
  tasks: number[];
  extra: number;
}

/**
 * Runs forward and backward of `model` on `batch` (gradients accumulate into the parameters
 * and the tables' sparse accumulators) and returns the loss value. With `scales`, task t's
 * mean BCE is multiplied by scales.tasks[t] and the extra loss by scales.extra (a shard of a
 * data-parallel step); the value returned is then that shard's part of the batch loss.
 */
export function backwardBatchLoss(model: RankingModel, tasks: readonly TaskDef[], batch: Batch, scales: ShardScales | null = null): number {
  const loss = tidy(() => {
    const logits = model.forwardTasks(batch);
    let total: Tensor | null = null;
    tasks.forEach((t, i) => {
      const y = batch.labels[t.label];
      if (y === undefined) throw new Error(`training batch has no label '${t.label}' (task '${t.name}')`);
      let l = bceWithLogits(logits[t.name]!, y, taskWeights(batch, t));
      const factor = t.weight * (scales === null ? 1 : scales.tasks[i]!);
      if (factor !== 1) l = scale(l, factor);
      total = total === null ? l : add(total, l);
    });
    let extra = model.extraLoss();
    if (extra !== null && scales !== null && scales.extra !== 1) extra = scale(extra, scales.extra);
    if (extra !== null) total = add(total!, extra);
    total!.backward();
    return total!;
  });
  return loss.item();
}

/** Per-row weights of a task's loss: the sample weight, times 0 where the task's `where` label is not 1. */
export function taskWeights(batch: Batch, task: TaskDef): Float32Array | undefined {
  if (task.where === null) return batch.weight;
  const cond = batch.labels[task.where];
  if (cond === undefined) throw new Error(`training batch has no label '${task.where}' (the where-column of task '${task.name}')`);
  const w = new Float32Array(batch.size);
  for (let i = 0; i < batch.size; i++) w[i] = cond[i] === 1 ? (batch.weight === undefined ? 1 : batch.weight[i]!) : 0;
  return w;
}

/**
 * The loss multipliers of the shards rows [bounds[k], bounds[k+1]) of `batch` (see
 * `ShardScales`): shard k's weight sum of each task over the batch's. A task with no weight
 * in the whole batch gets 0 everywhere (its mean BCE is 0 on every shard too).
 */
export function shardScales(batch: Batch, tasks: readonly TaskDef[], bounds: readonly number[]): ShardScales[] {
  const n = bounds.length - 1;
  const out: ShardScales[] = [];
  for (let k = 0; k < n; k++) out.push({ tasks: [], extra: (bounds[k + 1]! - bounds[k]!) / batch.size });
  for (const t of tasks) {
    const w = taskWeights(batch, t);
    const sums = new Array<number>(n).fill(0);
    let total = 0;
    for (let k = 0; k < n; k++) {
      let s = 0;
      if (w === undefined) s = bounds[k + 1]! - bounds[k]!;
      else for (let i = bounds[k]!; i < bounds[k + 1]!; i++) s += w[i]!;
      sums[k] = s;
      total += s;
    }
    for (let k = 0; k < n; k++) out[k]!.tasks.push(total > 0 ? sums[k]! / total : 0);
  }
  return out;
}
