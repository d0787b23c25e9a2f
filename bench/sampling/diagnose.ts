/**
 * Calibration diagnosis of one sampling variant (issue 13): trains the `bench:sampling` model on
 * the same cached criteo-small data with one sampling rule and the trainer options given, and
 * prints per epoch the validation AUC and mean prediction / observed rate (validation is
 * unsampled), the epoch restore-best picked, the test numbers, and the weighted balance of the
 * final model on the sampled training file: Σ w·p / Σ w·y (1 at a stationary point of the
 * weighted loss's intercept). Used to find out why weighted variants were miscalibrated under
 * Adam (docs/sampling.md, "Calibration under Adam").
 *
 *   node dist/bench/sampling/diagnose.js --rule neg-w [--optimizer adam|sgd] [--embedding-optimizer lazy_adam|sgd]
 *     [--lr 0.001] [--epochs 20] [--patience 2] [--restore-best true|false] [--lr-decay 0.1] [--monitor auc|logloss]
 *     [--seed 1] [--rows 400000] [--min-count N] [--recalibrate none|intercept]
 *
 * Rules: none, neg-w, neg-cf (negative_downsample 0.25 weights / closed form), cap-w, cap-cf (hot_item cap 5000).
 * Ends with one JSON line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePreset, type SynthMeta } from '../../src/data/synth/index.js';
import { splitFiles } from '../../src/data/synth/common.js';
import { loadSchema, type Schema } from '../../src/features/schema.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles, type TrainJob } from '../../src/train/run.js';
import { applySampling } from '../../src/sampling/train-hook.js';
import type { SamplingRule, SamplingSpec } from '../../src/sampling/config.js';
import { loadDataSource } from '../../src/data/load.js';
import { predict } from '../../src/train/trainer.js';
import { machineInfo } from '../common/machine.js';
import { repoRoot } from '../common/paths.js';

const { values } = parseArgs({
  options: {
    rule: { type: 'string', default: 'neg-w' },
    rows: { type: 'string', default: '400000' },
    optimizer: { type: 'string', default: 'adam' },
    'embedding-optimizer': { type: 'string', default: 'lazy_adam' },
    lr: { type: 'string', default: '0.001' },
    epochs: { type: 'string', default: '20' },
    patience: { type: 'string', default: '2' },
    'restore-best': { type: 'string', default: 'true' },
    'lr-decay': { type: 'string', default: '0.1' },
    monitor: { type: 'string', default: 'auc' },
    seed: { type: 'string', default: '1' },
    'embedding-l2': { type: 'string', default: '0' },
    'min-count': { type: 'string' },
    recalibrate: { type: 'string', default: 'none' },
  },
});
const RULES: Record<string, SamplingRule[] | null> = {
  none: null,
  'neg-w': [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }],
  'neg-cf': [{ kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' }],
  'cap-w': [{ kind: 'hot_item', cap: 5000, correction: 'weight' }],
  'cap-cf': [{ kind: 'hot_item', cap: 5000, correction: 'closed_form' }],
};
const rules = RULES[values.rule!];
if (rules === undefined) throw new Error(`--rule must be one of ${Object.keys(RULES).join(', ')}`);
const rows = Number(values.rows);
const dir = join(repoRoot(), 'bench', 'out', `sampling-criteo-small-${rows}-1`);
const meta: SynthMeta = existsSync(join(dir, 'meta.json'))
  ? (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta)
  : generatePreset('criteo-small', { outDir: dir, rows, seed: 1 });
const seed = Number(values.seed);
/** The schema with every vocabulary's minCount set (null: as in the preset, 1). */
function withMinCount(schema: Schema, minCount: number | null): Schema {
  if (minCount === null) return schema;
  return {
    ...schema,
    columns: schema.columns.map((c) => (c.role === 'sparse' && c.encoder.type === 'vocab' ? { ...c, encoder: { ...c.encoder, minCount } } : c)),
  };
}
const job: TrainJob = {
  data: { ...splitFiles(dir, meta), onBadRow: 'error' },
  schema: withMinCount(loadSchema(join(dir, meta.schemaFile)), values['min-count'] === undefined ? null : Number(values['min-count'])),
  label: null,
  model: 'lr',
  modelOptions: resolveModelOptions('lr', {}),
  train: {
    ...TRAIN_DEFAULTS,
    optimizer: { type: values.optimizer as 'adam', lr: Number(values.lr) },
    embeddingOptimizer: { type: values['embedding-optimizer'] as 'lazy_adam' },
    epochs: Number(values.epochs),
    batchSize: 1024,
    patience: Number(values.patience),
    restoreBest: values['restore-best'] === 'true',
    lrDecayFactor: Number(values['lr-decay']),
    monitor: values.monitor as 'auc',
    embeddingL2: Number(values['embedding-l2']),
    recalibrate: values.recalibrate as 'none' | 'intercept',
    seed,
    progress: false,
  },
};
const spec: SamplingSpec = { item: 'C3', label: 'label', weight: 'sample_weight', seed, rules: rules ?? [] };
const sampled = rules === null ? null : await applySampling(job, spec);
try {
  const out = await trainOnFiles(job, { log: (l) => process.stderr.write(`${l}\n`) });
  const epochs = out.result.history.map((h) => ({
    epoch: h.epoch,
    lr: h.lr,
    valid_auc: Number(h.valid!.auc.toFixed(5)),
    valid_calibration: Number((h.valid!.calibration - 1).toFixed(4)),
  }));
  // Weighted balance of the final model on the (sampled) training file.
  const train = await loadDataSource(out.featureMap, job.data.train, { onBadRow: 'error' });
  const p = await predict(out.model, train, 4096, job.train.negativeSampleRate);
  let swp = 0,
    swy = 0,
    i = 0;
  for await (const b of train.batches({ batchSize: 4096, shuffle: false, seed: 0, epoch: 0 })) {
    const y = b.labels.label!;
    for (let r = 0; r < b.size; r++, i++) {
      const w = b.weight === undefined ? 1 : b.weight[r]!;
      swp += w * p.probs[out.tasks[0]!.name]![i]!;
      swy += w * y[r]!;
    }
  }
  for (const e of epochs) console.log(JSON.stringify(e));
  const t = out.test!;
  const res = {
    bench: 'sampling-diagnose',
    rule: values.rule,
    optimizer: values.optimizer,
    embedding_optimizer: values['embedding-optimizer'],
    lr: Number(values.lr),
    restore_best: job.train.restoreBest,
    monitor: job.train.monitor,
    seed,
    min_count: values['min-count'] === undefined ? null : Number(values['min-count']),
    recalibrate: values.recalibrate,
    logit_offset: out.result.logitOffset,
    best_epoch: out.result.bestEpoch,
    epochs_run: out.result.epochs,
    test_auc: Number(t.auc.toFixed(5)),
    test_rel_calibration_error: Number((t.meanPrediction / t.positiveRate - 1).toFixed(4)),
    train_weighted_balance: Number((swp / swy).toFixed(4)),
    load_avg_1m: machineInfo().load_avg_1m,
  };
  console.log(JSON.stringify(res));
} finally {
  sampled?.cleanup();
}
