import { numberField, optionalNumberField } from './process.js';

/**
 * The JSON line both DeepFM-mini programs (bench/engine/finerank_deepfm_mini.ts and
 * bench/engine/torch_deepfm_mini.py) print last. Field names are snake_case because the
 * line is shared with Python.
 */
export interface EngineResult {
  /** 'finerank' or 'pytorch'. */
  impl: string;
  /** Compute threads the program ran with. */
  threads: number;
  /** Batch size of training and of the throughput inference. */
  batch: number;
  /** Timed training steps. */
  steps: number;
  /** Training samples per second (forward + backward + optimizer steps). */
  train_samples_per_sec: number;
  /** Inference samples per second at `batch` rows per call (eval mode, sigmoid output). */
  infer_samples_per_sec: number;
  /** Median latency of one single-row scoring call, milliseconds. */
  latency_b1_ms: number;
  /** Peak resident set size of the whole process, bytes. */
  peak_rss_bytes: number;
  /** Mean BCE of the last timed training step (a sanity check that it trains). */
  final_loss: number | null;
  /** Training samples per second of process CPU time (user + system, all threads). */
  train_samples_per_cpu_sec: number | null;
  /** Inference samples per second of process CPU time. */
  infer_samples_per_cpu_sec: number | null;
}

/** Validates a parsed JSON line as an {@link EngineResult}; errors name the program and field. */
export function parseEngineResult(obj: Record<string, unknown>, label: string): EngineResult {
  if (typeof obj.impl !== 'string') throw new Error(`${label}: field 'impl' must be a string, got ${JSON.stringify(obj.impl)}`);
  return {
    impl: obj.impl,
    threads: numberField(obj, 'threads', label),
    batch: numberField(obj, 'batch', label),
    steps: numberField(obj, 'steps', label),
    train_samples_per_sec: numberField(obj, 'train_samples_per_sec', label),
    infer_samples_per_sec: numberField(obj, 'infer_samples_per_sec', label),
    latency_b1_ms: numberField(obj, 'latency_b1_ms', label),
    peak_rss_bytes: numberField(obj, 'peak_rss_bytes', label),
    final_loss: optionalNumberField(obj, 'final_loss', label),
    train_samples_per_cpu_sec: optionalNumberField(obj, 'train_samples_per_cpu_sec', label),
    infer_samples_per_cpu_sec: optionalNumberField(obj, 'infer_samples_per_cpu_sec', label),
  };
}
