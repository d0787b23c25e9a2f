/**
 * `npm run bench:gbdt` — finerank's booster against XGBoost (tree_method hist), side by side,
 * and GBDT+LR next to LR alone and the booster alone.
 *
 * 1. Dataset: `finerank gen criteo --rows N` (default 1 000 000 rows: 80/10/10 split), cached
 *    under bench/out/gbdt-criteo-N/.
 * 2. Export: the feature map is fitted on train.csv and train/test are encoded once into
 *    float32 matrices (dense fields as their transformed numbers, sparse fields as their ids),
 *    so both learners read exactly the same numbers (matrix-files.ts).
 * 3. Booster: `node dist/bench/gbdt/finerank_gbdt.js` and `python3 bench/gbdt/xgb_ref.py`, each
 *    in its own process, with the same trees, depth, learning rate, bins and threads; each
 *    times its own fit and reports test AUC, logloss and peak RSS. Each side runs `--repeat`
 *    times (default 3), the sides alternating (finerank, XGBoost, XGBoost, finerank, …: each
 *    goes first as often as the other), so that a change of the machine's load hits both; the
 *    summary takes the median and minimum of each side's times and the ratio of the medians.
 * 4. Hybrid (unless --skip-hybrid): `finerank train --model lr` and `--model gbdt_lr` (same
 *    booster settings, LR on the leaf fields plus the original sparse fields) on the CSV files.
 * 5. Prints ONE JSON line: both sides' numbers (training wall and CPU time: median, minimum and
 *    every run; on a shared machine the CPU time is the steadier of the two), finerank's
 *    per-phase times of its median run (`phases`: wall, CPU, pool wait, worker busy, pool jobs),
 *    the finerank/XGBoost ratios of the medians (and of the minima), the hybrid AUCs, the
 *    machine and its 1-minute load average before and after.
 *
 * Options: --rows N  --seed S  --n-estimators 100  --max-depth 6  --learning-rate 0.3
 *          --max-bin 256  --threads 1 (finerank's n_jobs, XGBoost's n_jobs)  --repeat 3 (runs per side)
 *          --epochs 3 and --lr-rate 0.01 (Adam, for LR and GBDT+LR's LR; validation after every
 *          epoch, best epoch kept)  --skip-hybrid
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, intOption } from '../common/args.js';
import { runProcess, requireSuccess, lastJsonLine, numberField } from '../common/process.js';
import { repoRoot } from '../common/paths.js';
import { machineInfo } from '../common/machine.js';
import { toMiB } from '../common/rss.js';
import { loadSchema } from '../../src/features/schema.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import { encodeFile } from '../../src/data/load.js';
import { matrixMeta, writeSplit } from './matrix-files.js';

const opts = parseArgs(process.argv.slice(2), {
  rows: 'string',
  seed: 'string',
  'n-estimators': 'string',
  'max-depth': 'string',
  'learning-rate': 'string',
  'max-bin': 'string',
  threads: 'string',
  repeat: 'string',
  epochs: 'string',
  'lr-rate': 'string',
  'skip-hybrid': 'flag',
});
const rows = intOption(opts, 'rows', 1_000_000);
const seed = intOption(opts, 'seed', 1, 0);
const nEstimators = intOption(opts, 'n-estimators', 100);
const maxDepth = intOption(opts, 'max-depth', 6);
const learningRate = Number(opts['learning-rate'] ?? 0.3);
const maxBin = intOption(opts, 'max-bin', 256, 2);
const threads = intOption(opts, 'threads', 1);
const repeat = intOption(opts, 'repeat', 3);
const epochs = intOption(opts, 'epochs', 3);
const lrRate = Number(opts['lr-rate'] ?? 0.01);
if (!(lrRate > 0)) throw new Error(`--lr-rate must be > 0, got ${String(opts['lr-rate'])}`);
if (!(learningRate > 0)) throw new Error(`--learning-rate must be > 0, got ${String(opts['learning-rate'])}`);

const root = repoRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const dir = join(root, 'bench', 'out', `gbdt-criteo-${rows}-s${seed}`);
const log = (s: string) => process.stderr.write(`[bench:gbdt] ${s}\n`);
const loadBefore = machineInfo();

if (!existsSync(join(dir, 'train.csv'))) {
  mkdirSync(dir, { recursive: true });
  log(`generating criteo (${rows} rows) into ${dir} …`);
  const args = [cli, 'gen', 'criteo', '--rows', String(rows), '--seed', String(seed), '--out', dir];
  requireSuccess('dataset generation', process.execPath, args, await runProcess(process.execPath, args));
}
const mdir = join(dir, 'matrix');
if (!existsSync(join(mdir, 'matrix.json'))) {
  mkdirSync(mdir, { recursive: true });
  log('encoding train/test through the feature map into float32 matrices …');
  const schema = loadSchema(join(dir, 'schema.json'));
  const fm = await fitFeatureMap(join(dir, 'train.csv'), schema);
  const spec = fm.featureSpec();
  const label = spec.labels[0]!;
  const counts: Record<string, number> = {};
  for (const split of ['train', 'test']) {
    const b = await encodeFile(fm, join(dir, `${split}.csv`));
    writeSplit(mdir, split, b, spec, label);
    counts[split] = b.size;
  }
  writeFileSync(join(mdir, 'matrix.json'), JSON.stringify(matrixMeta(spec, counts)));
}

const common = [
  '--dir',
  mdir,
  '--n-estimators',
  String(nEstimators),
  '--max-depth',
  String(maxDepth),
  '--learning-rate',
  String(learningRate),
  '--max-bin',
  String(maxBin),
];
interface SideRun {
  train_seconds: number;
  train_cpu_seconds: number;
  test_auc: number;
  test_logloss: number;
  peak_rss_mib: number;
  trees: number;
  leaves: number;
  version?: string;
  phase_columns?: unknown;
  phases?: unknown;
}
async function side(label: string, command: string, args: string[]): Promise<SideRun> {
  log(`${label}: ${[command, ...args].join(' ')}`);
  const r = await runProcess(command, args, { env: { OMP_NUM_THREADS: String(threads), FINERANK_THREADS: String(threads) } });
  requireSuccess(label, command, args, r);
  const j = lastJsonLine(r.stdout, label);
  return {
    train_seconds: numberField(j, 'train_seconds', label),
    train_cpu_seconds: numberField(j, 'train_cpu_seconds', label),
    test_auc: numberField(j, 'test_auc', label),
    test_logloss: numberField(j, 'test_logloss', label),
    peak_rss_mib: toMiB(numberField(j, 'peak_rss_bytes', label)),
    trees: numberField(j, 'trees', label),
    leaves: numberField(j, 'leaves', label),
    ...(typeof j.xgboost === 'string' ? { version: j.xgboost } : {}),
    ...(typeof j.phases === 'object' ? { phase_columns: j.phase_columns, phases: j.phases } : {}),
  };
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** One side's runs: the run of median wall time (its AUC, RSS, phases), median/min/every time. */
function summary(runs: SideRun[]) {
  const walls = runs.map((r) => r.train_seconds),
    cpus = runs.map((r) => r.train_cpu_seconds);
  const mid = [...runs].sort((a, b) => a.train_seconds - b.train_seconds)[(runs.length - 1) >> 1]!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    ...mid,
    train_seconds: r3(median(walls)),
    train_seconds_min: r3(Math.min(...walls)),
    train_seconds_runs: walls.map(r3),
    train_cpu_seconds: r3(median(cpus)),
    train_cpu_seconds_min: r3(Math.min(...cpus)),
    train_cpu_seconds_runs: cpus.map(r3),
    peak_rss_mib: Math.max(...runs.map((r) => r.peak_rss_mib)),
  };
}
const runFinerank = () =>
  side('finerank', process.execPath, [join(root, 'dist', 'bench', 'gbdt', 'finerank_gbdt.js'), ...common, '--n-jobs', String(threads)]);
const runXgboost = () => side('xgboost', '/usr/bin/python3', [join(root, 'bench', 'gbdt', 'xgb_ref.py'), ...common, '--threads', String(threads)]);
const frRuns: SideRun[] = [],
  xgRuns: SideRun[] = [];
for (let i = 0; i < repeat; i++) {
  // Alternate who goes first: F X, X F, F X, …
  if (i % 2 === 0) {
    frRuns.push(await runFinerank());
    xgRuns.push(await runXgboost());
  } else {
    xgRuns.push(await runXgboost());
    frRuns.push(await runFinerank());
  }
}
const fr = summary(frRuns),
  xg = summary(xgRuns);

let hybrid: Record<string, number> | null = null;
if (opts['skip-hybrid'] !== true) {
  const trainCli = async (model: string, modelOptions: Record<string, unknown>) => {
    const cfgPath = join(dir, `bench-${model}.json`);
    writeFileSync(
      cfgPath,
      JSON.stringify({
        data: { train: 'train.csv', valid: 'valid.csv', test: 'test.csv', schema: 'schema.json' },
        model,
        model_options: modelOptions,
        train: { epochs, batch_size: 4096, seed, optimizer: { type: 'adam', lr: lrRate } },
        preset: 'default',
      }),
    );
    const args = [cli, 'train', '--config', cfgPath, '--json', '--quiet'];
    log(`hybrid: ${args.join(' ')}`);
    const r = await runProcess(process.execPath, args, { env: { FINERANK_THREADS: String(threads) } });
    requireSuccess(model, process.execPath, args, r);
    const j = lastJsonLine(r.stdout, model);
    return { auc: numberField(j, 'test_auc', model), seconds: numberField(j, 'train_seconds', model) };
  };
  const lr = await trainCli('lr', {});
  const gl = await trainCli('gbdt_lr', {
    n_estimators: nEstimators,
    max_depth: maxDepth,
    learning_rate: learningRate,
    max_bin: maxBin,
    n_jobs: threads,
  });
  hybrid = {
    lr_test_auc: lr.auc,
    gbdt_test_auc: fr.test_auc,
    gbdt_lr_test_auc: gl.auc,
    lr_train_seconds: lr.seconds,
    gbdt_lr_train_seconds: gl.seconds,
  };
}

const r4 = (x: number) => Math.round(x * 10000) / 10000;
console.log(
  JSON.stringify({
    bench: 'gbdt',
    dataset: `criteo --rows ${rows} --seed ${seed}`,
    params: { n_estimators: nEstimators, max_depth: maxDepth, learning_rate: learningRate, max_bin: maxBin, threads, tree_method: 'hist' },
    finerank: fr,
    xgboost: xg,
    repeat,
    ratios: {
      // Medians of each side's runs (and their minima: the least disturbed run of each).
      train_time: r4(fr.train_seconds / xg.train_seconds),
      train_time_min: r4(fr.train_seconds_min / xg.train_seconds_min),
      train_cpu_time: r4(fr.train_cpu_seconds / xg.train_cpu_seconds),
      train_cpu_time_min: r4(fr.train_cpu_seconds_min / xg.train_cpu_seconds_min),
      peak_rss: r4(fr.peak_rss_mib / xg.peak_rss_mib),
      test_auc_diff: r4(fr.test_auc - xg.test_auc),
    },
    hybrid,
    machine: loadBefore.machine,
    load_avg_1m_before: loadBefore.load_avg_1m,
    load_avg_1m_after: machineInfo().load_avg_1m,
  }),
);
