/**
 * Sampling benchmark (issue 13, "Checks: Sampling"): on the `criteo-small` synthetic preset
 * (known probabilities; C3 plays the item, a Zipf-distributed field whose top value holds
 * about a third of the rows), trains the same model without sampling and with each sampling
 * rule, recalibrated (importance weights or the closed-form correction), and reports per
 * variant the test AUC, its drop against the unsampled model of the same seed, and the mean
 * predicted rate on the unsampled test split against the observed rate, as mean and standard
 * deviation over several seeds (the seed drives sampling, initialization and batch order; the
 * data are generated once with --data-seed). A uniform random subsample of the same size as the
 * hot-item cap's sample separates "fewer rows" from "which rows".
 * Targets: |mean prediction / observed − 1| ≤ 2 % and AUC drop ≤ 0.005 (judged on the means).
 *
 *   npm run bench:sampling -- [--rows N] [--model lr|fm|deepfm] [--epochs N] [--data-seed S]
 *                             [--seeds 1,2,3] [--jobs 3] [--min-count N] [--variants SUBSTRING]
 *                             [--optimizer adam|sgd|adagrad] [--lr 0.001] [--embedding-optimizer lazy_adam|sgd|...]
 *
 * `--min-count` overrides the vocabulary minCount of every categorical column (default: the
 * preset's, 1). Data are cached under bench/out/sampling-*. Ends with one JSON line.
 * Popularity-aware negatives have their own benchmark (bench/sampling/implicit.ts).
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePreset, type SynthMeta } from '../../src/data/synth/index.js';
import { loadSchema, type Schema } from '../../src/features/schema.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles, type TrainJob } from '../../src/train/run.js';
import { applySampling } from '../../src/sampling/train-hook.js';
import type { SamplingRule } from '../../src/sampling/config.js';
import { Rng } from '../../src/engine/random.js';
import { AtomicFileWriter } from '../../src/util/atomic-stream.js';
import { machineInfo } from '../common/machine.js';
import { repoRoot } from '../common/paths.js';
import { summarizeVariants, variantTable, type VariantRun } from './stats.js';
import { runSeedsInChildren } from './parallel.js';
import { splitFiles } from '../../src/data/synth/common.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '400000' },
    model: { type: 'string', default: 'lr' },
    epochs: { type: 'string', default: '20' },
    'data-seed': { type: 'string', default: '1' },
    seeds: { type: 'string', default: '1,2,3' },
    jobs: { type: 'string', default: '3' },
    'min-count': { type: 'string' },
    optimizer: { type: 'string', default: 'adam' },
    lr: { type: 'string', default: '0.001' },
    'embedding-optimizer': { type: 'string', default: 'lazy_adam' },
    variants: { type: 'string' },
  },
});
const rows = Number(values.rows),
  dataSeed = Number(values['data-seed']);
const seeds = values.seeds!.split(',').map(Number);
const dir = join(repoRoot(), 'bench', 'out', `sampling-criteo-small-${rows}-${dataSeed}`);
let meta: SynthMeta;
if (existsSync(join(dir, 'meta.json'))) meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta;
else {
  process.stderr.write(`generating criteo-small (${rows} rows) into ${dir}\n`);
  meta = generatePreset('criteo-small', { outDir: dir, rows, seed: dataSeed });
}
let schema: Schema = loadSchema(join(dir, meta.schemaFile));
const minCount = values['min-count'] === undefined ? null : Number(values['min-count']);
if (minCount !== null) {
  schema = {
    ...schema,
    columns: schema.columns.map((c) => (c.role === 'sparse' && c.encoder.type === 'vocab' ? { ...c, encoder: { ...c.encoder, minCount } } : c)),
  };
}

const hot = (x: { t: number } | { cap: number }, correction: 'weight' | 'closed_form'): SamplingRule => ({ kind: 'hot_item', ...x, correction });
const negClosed: SamplingRule = { kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' };
/** A variant: sampling rules, or a uniform subsample as large as another variant's sample. */
type Variant = { name: string; rules: SamplingRule[] | null; uniformLike?: string; recalibrate?: boolean };
const CAP_W = 'hot_item cap=5000, weights';
const allVariants: Variant[] = [
  { name: 'none', rules: null },
  { name: 'negative_downsample 0.25, closed form', rules: [negClosed] },
  { name: 'negative_downsample 0.25, weights', rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }] },
  {
    name: 'negative_downsample 0.25, weights + recalibrate intercept',
    rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }],
    recalibrate: true,
  },
  { name: 'hot_item t=0.01, weights', rules: [hot({ t: 0.01 }, 'weight')] },
  { name: 'hot_item t=0.01, closed form (no weights)', rules: [hot({ t: 0.01 }, 'closed_form')] },
  { name: CAP_W, rules: [hot({ cap: 5000 }, 'weight')] },
  { name: 'hot_item cap=5000, weights + recalibrate intercept', rules: [hot({ cap: 5000 }, 'weight')], recalibrate: true },
  { name: 'hot_item cap=5000, closed form (no weights)', rules: [hot({ cap: 5000 }, 'closed_form')] },
  { name: 'uniform subsample, as many rows as cap=5000', rules: null, uniformLike: CAP_W },
  { name: 'hot_item t=0.01 weights + negative_downsample 0.25 closed form', rules: [hot({ t: 0.01 }, 'weight'), negClosed] },
  { name: 'hot_item t=0.01 closed form + negative_downsample 0.25 closed form', rules: [hot({ t: 0.01 }, 'closed_form'), negClosed] },
];
const variants = allVariants.filter((v) => v.name === 'none' || values.variants === undefined || v.name.includes(values.variants));
for (const v of variants) {
  if (v.uniformLike !== undefined && !variants.some((u) => u.name === v.uniformLike))
    throw new Error(`variant '${v.name}' needs '${v.uniformLike}' in the run`);
}

/** Writes a uniform random subsample of a CSV (one row per line, header kept): each row kept with probability `rate`. */
async function uniformSubsample(input: string, output: string, rate: number, seed: number): Promise<number> {
  const rng = Rng.derive(seed, 'bench:uniform-subsample');
  const w = new AtomicFileWriter(output);
  let kept = 0,
    first = true;
  try {
    for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
      if (first || rng.next() < rate) {
        w.write(line + '\n');
        if (!first) kept++;
      }
      first = false;
    }
    w.commit();
  } finally {
    w.abort();
  }
  return kept;
}

const accepted = Object.keys(resolveModelOptions(values.model!));
const MODEL = { embeddingDim: 16, dnnHiddenUnits: [128, 64] };
interface Run extends VariantRun {
  mean_pred: number;
  observed: number;
}
/** Trains every variant for each seed, one after another. */
async function runSeeds(): Promise<Record<string, Run[]>> {
  const runs: Record<string, Run[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  const tmp = mkdtempSync(join(tmpdir(), 'finerank-bench-sampling-'));
  try {
    for (const seed of seeds) {
      let baseAuc = NaN;
      for (const v of variants) {
        const job: TrainJob = {
          data: {
            ...splitFiles(dir, meta),
            onBadRow: 'error',
          },
          schema,
          label: null,
          model: values.model!,
          modelOptions: resolveModelOptions(values.model!, Object.fromEntries(Object.entries(MODEL).filter(([k]) => accepted.includes(k)))),
          train: {
            ...TRAIN_DEFAULTS,
            optimizer: { type: values.optimizer as 'adam', lr: Number(values.lr) },
            embeddingOptimizer: { type: values['embedding-optimizer'] as 'lazy_adam' },
            epochs: Number(values.epochs),
            batchSize: 1024,
            patience: 2,
            seed,
            progress: false,
            recalibrate: v.recalibrate === true ? 'intercept' : 'none',
          },
        };
        let cleanup = () => {};
        let trainRows = meta.splits.train.rows;
        if (v.uniformLike !== undefined) {
          const like = runs[v.uniformLike]!.at(-1)!;
          const out = join(tmp, `uniform-${seed}.csv`);
          trainRows = await uniformSubsample(job.data.train, out, like.train_rows / meta.splits.train.rows, seed);
          job.data = { ...job.data, train: out };
        } else if (v.rules !== null) {
          const s = await applySampling(job, { item: 'C3', label: 'label', weight: 'sample_weight', seed, rules: v.rules });
          cleanup = s.cleanup;
          trainRows = s.report.rowsOut;
        }
        try {
          const out = await trainOnFiles(job, { log: (l) => process.stderr.write(`[seed ${seed}] [${v.name}] ${l}\n`) });
          const t = out.test!;
          if (v.name === 'none') baseAuc = t.auc;
          runs[v.name]!.push({
            train_rows: trainRows,
            test_auc: t.auc,
            auc_drop: baseAuc - t.auc,
            rel_calibration_error: t.meanPrediction / t.positiveRate - 1,
            mean_pred: t.meanPrediction,
            observed: t.positiveRate,
          });
        } finally {
          cleanup();
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return runs;
}
const jobs = Number(values.jobs);
const runs = seeds.length > 1 && jobs > 1 ? await runSeedsInChildren<Run>(seeds, jobs) : await runSeeds();

const results = summarizeVariants(runs);
const m = machineInfo();
console.log(
  `sampling benchmark: criteo-small ${rows} rows (data seed ${dataSeed}; test ${meta.splits.test.rows}, observed rate ${runs.none![0]!.observed.toFixed(4)}), model ${values.model} (${values.optimizer} lr ${values.lr}, embeddings ${values['embedding-optimizer']}), vocabulary minCount ${minCount ?? 'as in the preset'}, seeds ${seeds.join(',')} (mean ± sd); ${m.machine}; load average (1 min) ${m.load_avg_1m} — the machine is shared, numbers other than time are not affected by load`,
);
console.log(variantTable(results));
console.log(
  JSON.stringify({
    bench: 'sampling',
    rows,
    model: values.model,
    optimizer: values.optimizer,
    lr: Number(values.lr),
    embedding_optimizer: values['embedding-optimizer'],
    data_seed: dataSeed,
    seeds,
    min_count: minCount,
    ...m,
    results,
  }),
);
