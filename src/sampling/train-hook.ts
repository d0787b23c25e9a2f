/**
 * Sampling inside `finerank train` (the `sampling:` block of a train config): samples the
 * training file into a temporary folder, then points the job at the sample, adds the weight
 * column to the schema (with `missing: {fill: 1}`, so unsampled validation / test / serving
 * files need no such column) and, for closed-form negative downsampling, sets the trainer's
 * `negativeSampleRate` so predictions are recalibrated. Only CSV/TSV training files with a
 * header are supported here (the sample is written as CSV); `finerank sample` handles the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFromExtension } from '../readers/index.js';
import type { Schema } from '../features/schema.js';
import type { TrainOptions } from '../train/options.js';
import type { SamplingSpec } from './config.js';
import { sampleFile, type SampleReport } from './sampler.js';

/** The parts of a training job that sampling changes. */
export interface SampledJob {
  data: { train: string; onBadRow: 'error' | 'skip' };
  schema: Schema;
  train: TrainOptions;
}

/** hot_item importance weights above this draw a warning (see `samplingWarnings`). */
export const HEAVY_HOT_ITEM_WEIGHT = 10;
const ADAPTIVE_DENSE = new Set(['adam', 'adamw', 'adagrad']);
const ADAPTIVE_TABLES = new Set(['table_adam', 'lazy_adam', 'adagrad', 'ftrl']);

/**
 * Warnings for a sampling spec under the job's training options: importance weights
 * (`correction: weight`, popularity_negatives) with a per-coordinate adaptive optimizer and no
 * `recalibrate: intercept` leave predictions miscalibrated on unseen rows (measured in
 * docs/sampling.md: +2.3 % to +2.9 % for negative downsampling 0.25, about +22 % for
 * popularity negatives), because those optimizers do not scale the steps of rarely seen
 * parameters by the weights. And hot_item weights above `HEAVY_HOT_ITEM_WEIGHT` (a cap or t that
 * keeps few rows of a popular item): the weighted loss is that much noisier and costs AUC,
 * which no recalibration restores (measured: cap 5000, weights ~20, AUC −0.012 against −0.004
 * in closed form).
 */
export function samplingWarnings(spec: SamplingSpec, train: TrainOptions, maxWeight = 1): string[] {
  const out: string[] = [];
  const hot = spec.rules.find((r) => r.kind === 'hot_item');
  if (hot !== undefined && hot.kind === 'hot_item' && hot.correction === 'weight' && maxWeight > HEAVY_HOT_ITEM_WEIGHT)
    out.push(
      `sampling: hot_item weights reach ${maxWeight.toFixed(1)} (rows of popular items kept with probability ${(1 / maxWeight).toFixed(3)}); weights this heavy make the loss noisy and cost AUC — when the item is a model input use correction: closed_form (no weights needed) — see docs/sampling.md`,
    );
  const weighted = spec.rules.filter((r) => r.kind === 'popularity_negatives' || r.correction === 'weight').map((r) => r.kind);
  if (weighted.length === 0 || train.recalibrate !== 'none') return out;
  const adaptive = [
    ...(ADAPTIVE_DENSE.has(train.optimizer.type) ? [`optimizer ${train.optimizer.type}`] : []),
    ...(ADAPTIVE_TABLES.has(train.embeddingOptimizer.type) ? [`embedding_optimizer ${train.embeddingOptimizer.type}`] : []),
  ];
  if (adaptive.length === 0) return out;
  return [
    ...out,
    `sampling: ${weighted.join(', ')} corrected by importance weights under ${adaptive.join(' and ')} (per-coordinate adaptive steps ignore the weights of rarely seen parameters, so predictions come out too high on unseen rows); set train.recalibrate: intercept (one logit shift fitted on the validation split)${weighted.includes('popularity_negatives') ? '' : ', or use correction: closed_form'} — see docs/sampling.md`,
  ];
}

/** Samples `job.data.train` and rewrites the job in place; call `cleanup()` when training is done. */
export async function applySampling(job: SampledJob, spec: SamplingSpec): Promise<{ report: SampleReport; cleanup: () => void; warnings: string[] }> {
  const ds = job.schema.dataset;
  const format = ds?.format ?? formatFromExtension(job.data.train);
  if (format !== 'csv' || (ds !== undefined && (!ds.header || ds.separator !== ',' || ds.quote !== '"'))) {
    throw new Error(
      `sampling inside train supports CSV training files with a header, "," separator and '"' quotes (got ${format ?? 'an unknown format'}${ds && !ds.header ? ' without a header' : ''}); run 'finerank sample' and train on its output instead`,
    );
  }
  const existing = job.schema.columns.find((c) => c.role === 'weight');
  if (existing !== undefined && existing.source !== spec.weight) {
    throw new Error(`sampling.weight is "${spec.weight}" but the schema's weight column reads "${existing.source}"; use the same column`);
  }
  const hot = spec.rules.find((r) => r.kind === 'hot_item');
  if (hot !== undefined && hot.kind === 'hot_item' && hot.correction === 'closed_form') {
    const inputs = job.schema.columns.filter((c) => c.role === 'sparse' && c.source === spec.item);
    if (inputs.length === 0)
      throw new Error(
        `sampling: hot_item with correction closed_form needs the item column "${spec.item}" as a sparse feature of the schema (the identity correction holds only when the model sees the item); use correction: weight otherwise`,
      );
  }
  const dir = mkdtempSync(join(tmpdir(), 'finerank-sample-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const out = join(dir, 'train.sampled.csv');
    const report = await sampleFile(spec, job.data.train, out, { format: 'csv', onBadRow: job.data.onBadRow });
    if (report.negativeSampleRate !== 1) {
      if (job.train.negativeSampleRate !== 1)
        throw new Error(
          `sampling has a closed-form negative_downsample rule and train.negative_sample_rate is already ${job.train.negativeSampleRate}; set only one`,
        );
      job.train = { ...job.train, negativeSampleRate: report.negativeSampleRate };
    }
    if (existing === undefined) {
      job.schema = {
        ...job.schema,
        columns: [...job.schema.columns, { role: 'weight', name: spec.weight, source: spec.weight, missing: { policy: 'fill', value: 1 } }],
      };
    }
    job.data = { ...job.data, train: out };
    return { report, cleanup, warnings: samplingWarnings(spec, job.train, report.maxWeight) };
  } catch (e) {
    cleanup();
    throw e;
  }
}
