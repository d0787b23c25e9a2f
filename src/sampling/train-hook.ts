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

/** Samples `job.data.train` and rewrites the job in place; call `cleanup()` when training is done. */
export async function applySampling(job: SampledJob, spec: SamplingSpec): Promise<{ report: SampleReport; cleanup: () => void }> {
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
    return { report, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
