/**
 * Popularity-aware negative sampling benchmark (issue 13, "Checks: Sampling", the
 * `popularity_negatives` row). Implicit-feedback data from a generator with known
 * probabilities: U users × I items, every pair exposed once per period, click probability
 *
 *   p(u, i) = σ(c + a_u + b_i + ⟨e_u, e_i⟩),  a_u ~ N(0, 0.5²), b_i = −s·ln(rank_i), e ~ N(0, σ_e²·I_k)
 *
 * (c set so the mean rate is `--rate`). Period 1 gives the training file — its positives only
 * (what an implicit-feedback log holds) and, as the reference, the full labelled grid; periods 2
 * and 3 are independent draws over the grid (validation: the pairs with (u + i) mod 3 = 0, a third of
 * every user's items and of every item's users; test: all pairs),
 * i.e. the unsampled distribution the predictions must be calibrated on. Variants: FM trained on
 * the full grid ("none"); on the positives plus `popularity_negatives` (k per positive, α = 0,
 * 0.75, 1) with their importance weights, recalibrated by `recalibrate: intercept` (α = 0.75 also
 * without it); and α = 0.75 with the weights ignored (what the correction buys). Reported per variant: test AUC, its drop against "none" of the same seed,
 * and mean prediction / observed rate on the test grid, mean ± sd over seeds (sampling,
 * initialization and batch order; the data are generated once).
 *
 *   npm run bench:sampling:implicit -- [--users 1000] [--items 300] [--rate 0.04] [--per-positive 10]
 *                                      [--seeds 1,2,3] [--data-seed 1] [--epochs 30] [--jobs 3]
 *                                      [--optimizer adam|sgd|adagrad] [--lr 0.01] [--embedding-optimizer lazy_adam|sgd|...]
 *
 * Data are cached under bench/out/sampling-implicit-*. Ends with one JSON line.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSchema, type Schema } from '../../src/features/schema.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles, type TrainJob } from '../../src/train/run.js';
import { applySampling } from '../../src/sampling/train-hook.js';
import { Rng } from '../../src/engine/random.js';
import { auc } from '../../src/metrics/index.js';
import { AtomicFileWriter } from '../../src/util/atomic-stream.js';
import { machineInfo } from '../common/machine.js';
import { repoRoot } from '../common/paths.js';
import { summarizeVariants, variantTable, type VariantRun } from './stats.js';
import { runSeedsInChildren } from './parallel.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    items: { type: 'string', default: '300' },
    rate: { type: 'string', default: '0.04' },
    'per-positive': { type: 'string', default: '10' },
    seeds: { type: 'string', default: '1,2,3' },
    jobs: { type: 'string', default: '3' },
    'data-seed': { type: 'string', default: '1' },
    epochs: { type: 'string', default: '30' },
    lr: { type: 'string', default: '0.01' },
    optimizer: { type: 'string', default: 'adam' },
    'embedding-optimizer': { type: 'string', default: 'lazy_adam' },
  },
});
const U = Number(values.users),
  I = Number(values.items),
  targetRate = Number(values.rate),
  perPositive = Number(values['per-positive']),
  dataSeed = Number(values['data-seed']);
const seeds = values.seeds!.split(',').map(Number);
const K = 4,
  EMB_STD = 0.5,
  ITEM_SLOPE = 0.5,
  USER_STD = 0.5;

/** The generator's logits without the intercept, pair (u, i) at u·I + i. */
function trueLogits(rng: Rng): Float64Array {
  const eu = Float64Array.from({ length: U * K }, () => rng.normal(0, EMB_STD));
  const ei = Float64Array.from({ length: I * K }, () => rng.normal(0, EMB_STD));
  const a = Float64Array.from({ length: U }, () => rng.normal(0, USER_STD));
  const z = new Float64Array(U * I);
  for (let u = 0; u < U; u++)
    for (let i = 0; i < I; i++) {
      let dot = 0;
      for (let k = 0; k < K; k++) dot += eu[u * K + k]! * ei[i * K + k]!;
      z[u * I + i] = a[u]! - ITEM_SLOPE * Math.log(i + 1) + dot;
    }
  return z;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** The intercept c with mean σ(c + z) = rate (bisection). */
function intercept(z: Float64Array, rate: number): number {
  let lo = -20,
    hi = 20;
  for (let it = 0; it < 60; it++) {
    const c = (lo + hi) / 2;
    let s = 0;
    for (const v of z) s += sigmoid(c + v);
    if (s / z.length > rate) hi = c;
    else lo = c;
  }
  return (lo + hi) / 2;
}

const dir = join(repoRoot(), 'bench', 'out', `sampling-implicit-v2-${U}x${I}-${targetRate}-${dataSeed}`);
interface Meta {
  trainPositives: number;
  trainRows: number;
  testRate: number;
  oracleAuc: number;
  oracleCalibration: number;
}
if (!existsSync(join(dir, 'meta.json'))) {
  process.stderr.write(`generating ${U}×${I} implicit-feedback grid into ${dir}\n`);
  mkdirSync(dir, { recursive: true });
  const rng = Rng.derive(dataSeed, 'bench:implicit');
  const z = trueLogits(rng);
  const c = intercept(z, targetRate);
  const p = z.map((v) => sigmoid(c + v));
  const files = ['train_full', 'train_pos', 'valid', 'test'].map((f) => new AtomicFileWriter(join(dir, `${f}.csv`)));
  const [full, pos, valid, test] = files as [AtomicFileWriter, AtomicFileWriter, AtomicFileWriter, AtomicFileWriter];
  for (const w of files) w.write('user_id,item_id,label\n');
  const testP: number[] = [],
    testY: number[] = [];
  let positives = 0;
  for (let u = 0; u < U; u++)
    for (let i = 0; i < I; i++) {
      const q = p[u * I + i]!;
      const row = `u${u},i${i},`;
      const y1 = rng.next() < q ? 1 : 0,
        y2 = rng.next() < q ? 1 : 0,
        y3 = rng.next() < q ? 1 : 0;
      full.write(row + y1 + '\n');
      if (y1 === 1) {
        pos.write(row + '1\n');
        positives++;
      }
      // A third of each user's items and of each item's users ((u·I + i) % 3 would be a third of the items when 3 divides I).
      if ((u + i) % 3 === 0) valid.write(row + y2 + '\n');
      test.write(row + y3 + '\n');
      testP.push(q);
      testY.push(y3);
    }
  for (const w of files) w.commit();
  writeFileSync(
    join(dir, 'schema.json'),
    JSON.stringify({
      dataset: { format: 'csv', header: true },
      columns: [
        { name: 'label', role: 'label' },
        { name: 'user_id', role: 'sparse', encoder: { type: 'vocab', minCount: 1 } },
        { name: 'item_id', role: 'sparse', encoder: { type: 'vocab', minCount: 1 } },
      ],
    }),
  );
  const testRate = testY.reduce((s, y) => s + y, 0) / testY.length;
  const meta: Meta = {
    trainPositives: positives,
    trainRows: U * I,
    testRate,
    oracleAuc: auc(testP, testY),
    oracleCalibration: testP.reduce((s, q) => s + q, 0) / testP.length / testRate,
  };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
}
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
const baseSchema = loadSchema(join(dir, 'schema.json'));

type Variant = { name: string; alpha: number | null; weighted: boolean; recalibrate?: boolean };
const variants: Variant[] = [
  { name: 'none (full labelled grid)', alpha: null, weighted: false },
  { name: `popularity_negatives k=${perPositive} alpha=0.75, weights`, alpha: 0.75, weighted: true },
  { name: `popularity_negatives k=${perPositive} alpha=0.75, weights + recalibrate intercept`, alpha: 0.75, weighted: true, recalibrate: true },
  { name: `popularity_negatives k=${perPositive} alpha=0, weights + recalibrate intercept`, alpha: 0, weighted: true, recalibrate: true },
  { name: `popularity_negatives k=${perPositive} alpha=1, weights + recalibrate intercept`, alpha: 1, weighted: true, recalibrate: true },
  { name: `popularity_negatives k=${perPositive} alpha=0.75, weights ignored`, alpha: 0.75, weighted: false },
];
type Run = VariantRun;
/** Trains every variant for each seed, one after another. */
async function runSeeds(): Promise<Record<string, Run[]>> {
  const runs: Record<string, Run[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (const seed of seeds) {
    let baseAuc = NaN;
    for (const v of variants) {
      const job: TrainJob = {
        data: {
          train: join(dir, v.alpha === null ? 'train_full.csv' : 'train_pos.csv'),
          valid: join(dir, 'valid.csv'),
          test: join(dir, 'test.csv'),
          onBadRow: 'error',
        },
        schema: baseSchema,
        label: null,
        model: 'fm',
        modelOptions: resolveModelOptions('fm', { embeddingDim: 8 }),
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
      let trainRows = meta.trainRows;
      if (v.alpha !== null) {
        const s = await applySampling(job, {
          item: 'item_id',
          user: 'user_id',
          label: 'label',
          weight: 'sample_weight',
          seed,
          rules: [{ kind: 'popularity_negatives', perPositive, alpha: v.alpha, itemColumns: [] }],
        });
        cleanup = s.cleanup;
        trainRows = s.report.rowsOut;
        // Ignoring the weights: the sampled file keeps its weight column, the schema does not read it.
        if (!v.weighted) job.schema = { ...job.schema, columns: job.schema.columns.filter((c) => c.role !== 'weight') } satisfies Schema;
      }
      try {
        const out = await trainOnFiles(job, { log: (l) => process.stderr.write(`[seed ${seed}] [${v.name}] ${l}\n`) });
        const t = out.test!;
        if (v.alpha === null) baseAuc = t.auc;
        runs[v.name]!.push({
          train_rows: trainRows,
          test_auc: t.auc,
          auc_drop: baseAuc - t.auc,
          rel_calibration_error: t.meanPrediction / t.positiveRate - 1,
        });
      } finally {
        cleanup();
      }
    }
  }
  return runs;
}
const jobs = Number(values.jobs);
const runs = seeds.length > 1 && jobs > 1 ? await runSeedsInChildren<Run>(seeds, jobs) : await runSeeds();
const results = summarizeVariants(runs);
const m = machineInfo();
console.log(
  `popularity-negatives benchmark: ${U} users × ${I} items (data seed ${dataSeed}), ${meta.trainPositives} training positives of ${meta.trainRows} pairs, test grid ${meta.trainRows} pairs at rate ${meta.testRate.toFixed(4)} (oracle AUC ${meta.oracleAuc.toFixed(4)}, oracle pred/obs ${meta.oracleCalibration.toFixed(4)}); FM (embedding 8; ${values.optimizer} lr ${values.lr}, embeddings ${values['embedding-optimizer']}); seeds ${seeds.join(',')} (mean ± sd); ${m.machine}; load average (1 min) ${m.load_avg_1m} — the machine is shared, numbers other than time are not affected by load`,
);
console.log(variantTable(results));
console.log(
  JSON.stringify({
    bench: 'sampling-implicit',
    users: U,
    items: I,
    per_positive: perPositive,
    optimizer: values.optimizer,
    lr: Number(values.lr),
    embedding_optimizer: values['embedding-optimizer'],
    data_seed: dataSeed,
    seeds,
    ...meta,
    ...m,
    results,
  }),
);
