/**
 * The finerank side of `npm run bench:gbdt`: reads the exported matrices (matrix-files.ts),
 * fits the booster on train (timed: binning + boosting), predicts test, prints ONE JSON line:
 * train_seconds (wall), train_cpu_seconds (user + system CPU of the process), test_auc, test_logloss, trees, leaves, peak_rss_bytes and phases (where
 * the fit's time went: per phase — binning, gradients, histograms, split finding, partition, margin update — wall
 * seconds, CPU seconds of all threads, seconds the main thread waited for the worker pool, seconds the pool's workers
 * worked, and pool round trips; see PhaseTimer in src/gbdt/grow.ts).
 *
 *   node dist/bench/gbdt/finerank_gbdt.js --dir DIR --n-estimators 100 --max-depth 6 --learning-rate 0.3 --max-bin 256 [--n-jobs 1] [--max-rows N]
 */
import { parseArgs, intOption } from '../common/args.js';
import { peakRssBytes } from '../common/rss.js';
import { Booster } from '../../src/gbdt/booster.js';
import { PHASES } from '../../src/gbdt/grow.js';
import { auc, logloss } from '../../src/metrics/index.js';
import { readSplit } from './matrix-files.js';

const opts = parseArgs(process.argv.slice(2), {
  dir: 'string',
  'n-estimators': 'string',
  'max-depth': 'string',
  'learning-rate': 'string',
  'max-bin': 'string',
  'max-rows': 'string',
  'n-jobs': 'string',
});
if (typeof opts.dir !== 'string') throw new Error('--dir is required');
const full = readSplit(opts.dir, 'train');
// --max-rows N: fit on the first N training rows only (profiling).
const maxRows = Math.min(full.m.rows, intOption(opts, 'max-rows', full.m.rows));
const train =
  maxRows === full.m.rows
    ? full
    : { m: { ...full.m, rows: maxRows, columns: full.m.columns.map((c) => c.subarray(0, maxRows)) }, y: full.y.subarray(0, maxRows) };
const test = readSplit(opts.dir, 'test');
const t0 = performance.now();
const c0 = process.cpuUsage();
const { booster, report } = Booster.fit(
  train.m,
  { y: train.y },
  {
    n_estimators: intOption(opts, 'n-estimators', 100),
    max_depth: intOption(opts, 'max-depth', 6),
    learning_rate: Number(opts['learning-rate'] ?? 0.3),
    max_bin: intOption(opts, 'max-bin', 256, 2),
    n_jobs: intOption(opts, 'n-jobs', 1),
  },
);
const trainSeconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const p = booster.predict(test.m);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    train_seconds: trainSeconds,
    train_cpu_seconds: (cpu.user + cpu.system) / 1e6,
    test_auc: auc(p, test.y),
    test_logloss: logloss(p, test.y),
    trees: booster.numTrees,
    leaves: booster.leafCounts.reduce((s, x) => s + x, 0),
    peak_rss_bytes: peakRssBytes(),
    // Per phase: [wall s, CPU s (all threads), main thread's pool wait s, workers' busy s, pool jobs].
    phase_columns: ['wall_s', 'cpu_s', 'pool_wait_s', 'worker_busy_s', 'pool_jobs'],
    phases: Object.fromEntries(
      PHASES.map((k) => {
        const ph = report.phases;
        return [k, [r3(ph.wall[k]), r3(ph.cpu[k]), r3(ph.poolWait[k]), r3(ph.workerBusy[k]), ph.poolJobs[k]]];
      }),
    ),
  }),
);
