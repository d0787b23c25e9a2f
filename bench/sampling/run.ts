/**
 * Sampling benchmark (issue 13, "Checks: Sampling"): on the `criteo-small` synthetic preset
 * (known probabilities; C3 plays the item, a Zipf-distributed field whose top value holds
 * about a third of the rows), trains the same model without sampling and with each sampling
 * rule, recalibrated (importance weights or the closed-form negative-downsampling
 * correction), and reports per variant the test AUC, its drop against the unsampled model,
 * and the mean predicted rate on the unsampled test split against the observed rate.
 * Targets: |mean prediction / observed − 1| ≤ 2 % and AUC drop ≤ 0.005.
 *
 *   npm run bench:sampling -- [--rows N] [--model lr|fm|deepfm] [--epochs N] [--seed S]
 *
 * Data are cached under bench/out/sampling-*. Ends with one JSON line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePreset, type SynthMeta } from '../../src/data/synth/index.js';
import { loadSchema } from '../../src/features/schema.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles, type TrainJob } from '../../src/train/run.js';
import { applySampling } from '../../src/sampling/train-hook.js';
import type { SamplingRule } from '../../src/sampling/config.js';
import { machineInfo } from '../common/machine.js';
import { formatTable } from '../common/table.js';
import { repoRoot } from '../common/paths.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '400000' },
    model: { type: 'string', default: 'lr' },
    epochs: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
  },
});
const rows = Number(values.rows),
  seed = Number(values.seed);
const dir = join(repoRoot(), 'bench', 'out', `sampling-criteo-small-${rows}-${seed}`);
let meta: SynthMeta;
if (existsSync(join(dir, 'meta.json'))) meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta;
else {
  process.stderr.write(`generating criteo-small (${rows} rows) into ${dir}\n`);
  meta = generatePreset('criteo-small', { outDir: dir, rows, seed });
}
const schema = loadSchema(join(dir, meta.schemaFile));
const variants: { name: string; rules: SamplingRule[] | null }[] = [
  { name: 'none', rules: null },
  { name: 'negative_downsample 0.25, closed form', rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' }] },
  { name: 'negative_downsample 0.25, weights', rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }] },
  { name: 'hot_item t=0.01 (C3), weights', rules: [{ kind: 'hot_item', t: 0.01 }] },
  { name: 'hot_item cap=5000 (C3), weights', rules: [{ kind: 'hot_item', cap: 5000 }] },
  {
    name: 'hot_item t=0.01 + negative_downsample 0.25 closed form',
    rules: [
      { kind: 'hot_item', t: 0.01 },
      { kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' },
    ],
  },
];
const accepted = Object.keys(resolveModelOptions(values.model!));
const MODEL = { embeddingDim: 16, dnnHiddenUnits: [128, 64] };
const results: Record<
  string,
  { train_rows: number; test_auc: number; auc_drop: number; mean_pred: number; observed: number; rel_calibration_error: number; pass: boolean }
> = {};
let baseAuc = NaN;
for (const v of variants) {
  const job: TrainJob = {
    data: {
      train: join(dir, meta.splits.train.file),
      valid: join(dir, meta.splits.valid.file),
      test: join(dir, meta.splits.test.file),
      onBadRow: 'error',
    },
    schema,
    label: null,
    model: values.model!,
    modelOptions: resolveModelOptions(values.model!, Object.fromEntries(Object.entries(MODEL).filter(([k]) => accepted.includes(k)))),
    train: { ...TRAIN_DEFAULTS, epochs: Number(values.epochs), batchSize: 1024, patience: 2, seed, progress: false },
  };
  let cleanup = () => {};
  let trainRows = meta.splits.train.rows;
  if (v.rules !== null) {
    const s = await applySampling(job, { item: 'C3', label: 'label', weight: 'sample_weight', seed, rules: v.rules });
    cleanup = s.cleanup;
    trainRows = s.report.rowsOut;
  }
  try {
    const out = await trainOnFiles(job, { log: (l) => process.stderr.write(`[${v.name}] ${l}\n`) });
    const t = out.test!;
    if (v.rules === null) baseAuc = t.auc;
    const rel = t.meanPrediction / t.positiveRate - 1;
    const drop = baseAuc - t.auc;
    results[v.name] = {
      train_rows: trainRows,
      test_auc: t.auc,
      auc_drop: drop,
      mean_pred: t.meanPrediction,
      observed: t.positiveRate,
      rel_calibration_error: rel,
      pass: Math.abs(rel) <= 0.02 && drop <= 0.005,
    };
  } finally {
    cleanup();
  }
}
const m = machineInfo();
console.log(
  `sampling benchmark: criteo-small ${rows} rows (test ${meta.splits.test.rows}), model ${values.model}, seed ${seed}; ${m.machine}; load average (1 min) ${m.load_avg_1m} — the machine is shared, numbers other than time are not affected by load`,
);
console.log(
  formatTable(
    ['variant', 'train rows', 'test AUC', 'AUC drop', 'mean pred', 'observed', 'pred/obs − 1', 'pass'],
    Object.entries(results).map(([k, r]) => [
      k,
      String(r.train_rows),
      r.test_auc.toFixed(4),
      r.auc_drop.toFixed(4),
      r.mean_pred.toFixed(4),
      r.observed.toFixed(4),
      `${(r.rel_calibration_error * 100).toFixed(2)} %`,
      r.pass ? 'yes' : 'NO',
    ]),
  ),
);
console.log(JSON.stringify({ bench: 'sampling', rows, model: values.model, seed, ...m, results }));
