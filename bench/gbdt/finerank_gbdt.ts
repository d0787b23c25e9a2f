/**
 * The finerank side of `npm run bench:gbdt`: reads the exported matrices (matrix-files.ts),
 * fits the booster on train (timed: binning + boosting), predicts test, prints ONE JSON line:
 * train_seconds, test_auc, test_logloss, trees, leaves, peak_rss_bytes.
 *
 *   node dist/bench/gbdt/finerank_gbdt.js --dir DIR --n-estimators 100 --max-depth 6 --learning-rate 0.3 --max-bin 256
 */
import { parseArgs, intOption } from '../common/args.js';
import { peakRssBytes } from '../common/rss.js';
import { Booster } from '../../src/gbdt/booster.js';
import { auc, logloss } from '../../src/metrics/index.js';
import { readSplit } from './matrix-files.js';

const opts = parseArgs(process.argv.slice(2), { dir: 'string', 'n-estimators': 'string', 'max-depth': 'string', 'learning-rate': 'string', 'max-bin': 'string' });
if (typeof opts.dir !== 'string') throw new Error('--dir is required');
const train = readSplit(opts.dir, 'train');
const test = readSplit(opts.dir, 'test');
const t0 = performance.now();
const { booster } = Booster.fit(train.m, { y: train.y }, {
  n_estimators: intOption(opts, 'n-estimators', 100),
  max_depth: intOption(opts, 'max-depth', 6),
  learning_rate: Number(opts['learning-rate'] ?? 0.3),
  max_bin: intOption(opts, 'max-bin', 256, 2),
});
const trainSeconds = (performance.now() - t0) / 1000;
const p = booster.predict(test.m);
console.log(JSON.stringify({
  train_seconds: trainSeconds,
  test_auc: auc(p, test.y),
  test_logloss: logloss(p, test.y),
  trees: booster.numTrees,
  leaves: booster.leafCounts.reduce((s, x) => s + x, 0),
  peak_rss_bytes: peakRssBytes(),
}));
