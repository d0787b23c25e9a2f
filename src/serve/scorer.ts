import { tidy } from '../engine/tensor.js';
import type { Batch } from '../features/batch.js';
import type { ServedModel } from './model-slot.js';
import { scoreBatch } from './score.js';

/** Probabilities of every row of a batch, one Float32Array per output (tasks, then extra outputs), in the model's order. */
export interface TaskScores {
  /** Task names; the first is the one whose probability is the plain `score`. */
  tasks: readonly string[];
  /** Per task: one probability per batch row. */
  probs: Record<string, Float32Array>;
}

/**
 * The server's one call into a model: `scoreBatch` (eval mode, no autograd graph, every
 * task's and extra output's probability with the artifact's negative-sampling correction) inside `tidy`, so
 * that the forward activations go back to the engine's buffer pool and the next request
 * computes into memory already mapped (the probabilities are fresh arrays, not pooled).
 */
export function scoreServed(served: ServedModel, batch: Batch): TaskScores {
  const probs = tidy(() => scoreBatch(served.artifact, batch));
  for (const t of served.tasks) {
    if (probs[t]?.length !== batch.size) throw new Error(`model '${served.artifact.meta.model}' gave no ${batch.size} probabilities for task '${t}'`);
  }
  return { tasks: served.tasks, probs };
}

/** Rows [start, start + n) of task scores (copies). */
export function sliceScores(s: TaskScores, start: number, n: number): TaskScores {
  const probs: Record<string, Float32Array> = {};
  for (const t of s.tasks) probs[t] = s.probs[t]!.slice(start, start + n);
  return { tasks: s.tasks, probs };
}
