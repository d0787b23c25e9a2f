/**
 * Learnability benchmark (issue: "FM, DeepFM and DCN beat LR by a clear margin, and the best
 * model comes within 0.01 of the oracle AUC", on a larger dataset than the unit test):
 * generates the 'criteo' synthetic preset (default 1M rows, cached under bench/out/learn-*),
 * trains LR, FM, DeepFM and DCN with the same settings, and prints each model's test AUC and
 * logloss against the oracle's, ending with one JSON line.
 *
 *   npm run bench:learn -- [--rows N] [--preset criteo|criteo-small|sequence] [--models lr,fm,deepfm,dcn,din] [--epochs N]
 *                          [--embedding-init-std S (default 0.01)] [--lr R (Adam, default 2e-3)]
 *
 * On the `sequence` preset DIN attends over both histories (hist_item_id, hist_cate_id); the other
 * models take them mean-pooled.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePreset, type SynthMeta } from '../../src/data/synth/index.js';
import { loadSchema } from '../../src/features/schema.js';
import { resolveModelOptions, acceptedOptions } from '../../src/models/registry.js';
import { learnTrainOptions } from './protocol.js';
import { trainOnFiles } from '../../src/train/run.js';
import { repoRoot } from '../common/paths.js';
import { splitFiles } from '../../src/data/synth/common.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    preset: { type: 'string', default: 'criteo' },
    models: { type: 'string', default: 'lr,fm,deepfm,dcn' },
    epochs: { type: 'string', default: '6' },
    seed: { type: 'string', default: '2019' },
    'embedding-init-std': { type: 'string', default: '0.01' },
    lr: { type: 'string', default: '2e-3' },
  },
});
const rows = Number(values.rows),
  seed = Number(values.seed);
const dir = join(repoRoot(), 'bench', 'out', `learn-${values.preset}-${rows}-${seed}`);
let meta: SynthMeta;
if (existsSync(join(dir, 'meta.json'))) {
  meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta;
} else {
  process.stderr.write(`generating ${values.preset} (${rows} rows) into ${dir}\n`);
  meta = generatePreset(values.preset!, { outDir: dir, rows, seed });
}
const schema = loadSchema(join(dir, meta.schemaFile));
const oracle = Object.values(meta.splits.test.oracle)[0]!;
const MODEL = {
  embeddingDim: 16,
  embeddingInitStd: Number(values['embedding-init-std']),
  dnnHiddenUnits: [256, 128],
  numCrossLayers: 3,
  dinSequenceField: ['hist_item_id', 'hist_cate_id'],
  dienSequenceField: ['hist_item_id', 'hist_cate_id'],
};
const results: Record<string, { test_auc: number; test_logloss: number; samples_per_sec: number; epochs: number }> = {};
for (const model of values.models!.split(',')) {
  const out = await trainOnFiles(
    {
      data: {
        ...splitFiles(dir, meta),
        onBadRow: 'error',
      },
      schema,
      label: null,
      model,
      modelOptions: resolveModelOptions(model, acceptedOptions(model, MODEL)),
      train: learnTrainOptions(Number(values.epochs), Number(values.lr), seed),
    },
    { log: (l) => process.stderr.write(`[${model}] ${l}\n`) },
  );
  results[model] = {
    test_auc: out.test!.auc,
    test_logloss: out.test!.logloss,
    samples_per_sec: Math.round(out.result.samplesPerSec),
    epochs: out.result.epochs,
  };
  console.log(
    `${model.padEnd(8)} test AUC ${out.test!.auc.toFixed(4)}  logloss ${out.test!.logloss.toFixed(4)}  gap to oracle ${(oracle.auc - out.test!.auc).toFixed(4)}  (${results[model]!.samples_per_sec} rows/s, ${out.result.epochs} epochs)`,
  );
}
console.log(`oracle   test AUC ${oracle.auc.toFixed(4)}  logloss ${oracle.logloss.toFixed(4)}`);
const lr = results.lr?.test_auc;
const best = Math.max(
  ...Object.entries(results)
    .filter(([m]) => m !== 'lr')
    .map(([, r]) => r.test_auc),
);
console.log(
  JSON.stringify({
    bench: 'learn',
    preset: values.preset,
    rows,
    embedding_init_std: MODEL.embeddingInitStd,
    lr: Number(values.lr),
    oracle_auc: oracle.auc,
    oracle_logloss: oracle.logloss,
    models: results,
    best_gap_to_oracle: oracle.auc - best,
    margin_over_lr: lr === undefined ? null : best - lr,
  }),
);
