/**
 * Learnability experiments on variants of the `sequence` generator (docs/models.md "DIN and
 * DIEN: learnability"): generates the preset with some of its parameters overridden (cached
 * under /tmp/finerank-seq-spec/<tag>-<rows>), prints the generator's diagnostics and oracle,
 * then trains each model with the bench:learn protocol (embeddings 16, init std 0.1, DNN
 * [256, 128], batch 2048, Adam, embedding L2 1e-4, DIN/DIEN attending over both histories)
 * and prints its per-epoch valid AUC, test AUC and process CPU seconds.
 *
 *   node dist/bench/learn/sequence-spec.js --tag T [--generator sequence|sequence-match] [--rows 30000] [--spec '{"maxInterests":12}']
 *        [--model-options '{"dinUseSoftmax":true}'] [--models deepfm,din] [--epochs 3] [--lr 2e-3] [--batch-size 2048]
 *        [--seed 2019] [--train-seeds 2019,1,2] [--eval-every-steps 0]
 *
 * `--seed` seeds the data; `--train-seeds` (default: the data seed) lists the seeds of model
 * initialization, shuffling and negative draws: each model trains once per seed on the same
 * data, and its line gives the mean [min, max] of the test AUC and of the best valid AUC.
 * `--eval-every-steps N` evaluates every N steps instead of once per epoch (the learning rate
 * is cut ×0.1 after each evaluation that does not improve, the best evaluation's weights are kept).
 *
 * Ends with one JSON line (tag, spec overrides, oracle, per model: mean test AUC and per-seed
 * runs with their test AUC, valid AUCs and CPU seconds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { generateSequence, generateSequenceMatch, SEQUENCE_DEFAULTS, SEQUENCE_MATCH_DEFAULTS, type SynthMeta } from '../../src/data/synth/index.js';
import { loadSchema } from '../../src/features/schema.js';
import { resolveModelOptions, acceptedOptions } from '../../src/models/registry.js';
import { learnTrainOptions } from './protocol.js';
import { trainOnFiles } from '../../src/train/run.js';
import { splitFiles } from '../../src/data/synth/common.js';

const { values } = parseArgs({
  options: {
    tag: { type: 'string', default: 'default' },
    generator: { type: 'string', default: 'sequence' },
    rows: { type: 'string', default: '30000' },
    spec: { type: 'string', default: '{}' },
    'model-options': { type: 'string', default: '{}' },
    models: { type: 'string', default: 'deepfm,din' },
    epochs: { type: 'string', default: '3' },
    lr: { type: 'string', default: '2e-3' },
    'batch-size': { type: 'string', default: '2048' },
    seed: { type: 'string', default: '2019' },
    'train-seeds': { type: 'string' },
    'eval-every-steps': { type: 'string', default: '0' },
  },
});
const GENERATORS = {
  sequence: { defaults: SEQUENCE_DEFAULTS, generate: generateSequence },
  'sequence-match': { defaults: SEQUENCE_MATCH_DEFAULTS, generate: generateSequenceMatch },
} as const;
const generator = GENERATORS[values.generator as keyof typeof GENERATORS];
if (generator === undefined) throw new Error(`--generator: '${values.generator}' is not one of ${Object.keys(GENERATORS).join(', ')}`);
const overrides = JSON.parse(values.spec!) as Record<string, unknown>;
for (const key of Object.keys(overrides))
  if (!(key in generator.defaults)) throw new Error(`--spec: unknown parameter '${key}' (known: ${Object.keys(generator.defaults).join(', ')})`);
const spec = { ...generator.defaults, ...overrides };
const rows = Number(values.rows),
  seed = Number(values.seed);
const dir = join(tmpdir(), 'finerank-seq-spec', `${values.generator}-${values.tag}-${rows}-${seed}`);
// A cached dataset is reused only when it was generated from the same parameters.
const cached = existsSync(join(dir, 'meta.json')) ? (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta) : null;
const same =
  cached !== null && Object.entries(spec).every(([k, v]) => JSON.stringify((cached.params as Record<string, unknown>)[k]) === JSON.stringify(v));
const meta = same
  ? cached
  : (generator.generate as (s: typeof spec, o: { outDir: string; rows: number; seed: number }) => SynthMeta)(spec, { outDir: dir, rows, seed });
const oracle = Object.values(meta.splits.test.oracle)[0]!.auc;
console.log(`${values.tag}: oracle test AUC ${oracle.toFixed(4)}, diagnostics ${JSON.stringify(meta.splits.test.diagnostics)}`);
const schema = loadSchema(join(dir, meta.schemaFile));
const trainSeeds = (values['train-seeds'] ?? String(seed)).split(',').map(Number);
for (const s of trainSeeds)
  if (!Number.isInteger(s) || s < 0) throw new Error(`--train-seeds: '${values['train-seeds']}' is not a list of non-negative integers`);
const evalEverySteps = Number(values['eval-every-steps']);
if (!Number.isInteger(evalEverySteps) || evalEverySteps < 0)
  throw new Error(`--eval-every-steps: '${values['eval-every-steps']}' is not a non-negative integer`);
interface SeedRun {
  seed: number;
  test_auc: number;
  /** Valid AUC of each evaluation, in order. */
  valid_auc: number[];
  cpu_s: number;
}
const results: Record<string, { test_auc: number; test_auc_min: number; test_auc_max: number; best_valid_auc: number; runs: SeedRun[] }> = {};
const spread = (xs: number[]): string =>
  `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(4)} [${Math.min(...xs).toFixed(4)}, ${Math.max(...xs).toFixed(4)}]`;
for (const model of values.models!.split(',')) {
  const options = {
    embeddingDim: 16,
    embeddingInitStd: 0.1,
    dnnHiddenUnits: [256, 128],
    dinSequenceField: ['hist_item_id', 'hist_cate_id'],
    dienSequenceField: ['hist_item_id', 'hist_cate_id'],
    ...(JSON.parse(values['model-options']!) as Record<string, unknown>),
  };
  const runs: SeedRun[] = [];
  for (const trainSeed of trainSeeds) {
    const valid: number[] = [];
    const t0 = process.cpuUsage();
    const out = await trainOnFiles(
      {
        data: { ...splitFiles(dir, meta), onBadRow: 'error' },
        schema,
        label: null,
        model,
        modelOptions: resolveModelOptions(model, acceptedOptions(model, options)),
        train: { ...learnTrainOptions(Number(values.epochs), Number(values.lr), trainSeed), batchSize: Number(values['batch-size']), evalEverySteps },
      },
      {
        log: (line) => {
          const m = /valid AUC ([0-9.]+)/.exec(line);
          if (m) valid.push(Number(m[1]));
          process.stderr.write(`[${model} seed ${trainSeed}] ${line}\n`);
        },
      },
    );
    const cpu = process.cpuUsage(t0);
    const run: SeedRun = { seed: trainSeed, test_auc: out.test!.auc, valid_auc: valid, cpu_s: Math.round((cpu.user + cpu.system) / 1e6) };
    runs.push(run);
    console.log(
      `${values.tag} ${model.padEnd(7)} seed ${trainSeed}: test AUC ${run.test_auc.toFixed(4)}  valid ${valid.map((v) => v.toFixed(4)).join(' / ')}  (${run.cpu_s} CPU s)`,
    );
  }
  const tests = runs.map((r) => r.test_auc);
  const bestValids = runs.map((r) => Math.max(...r.valid_auc));
  results[model] = {
    test_auc: tests.reduce((a, b) => a + b, 0) / tests.length,
    test_auc_min: Math.min(...tests),
    test_auc_max: Math.max(...tests),
    best_valid_auc: bestValids.reduce((a, b) => a + b, 0) / bestValids.length,
    runs,
  };
  console.log(`${values.tag} ${model.padEnd(7)} over ${runs.length} seed(s): test AUC ${spread(tests)}, best valid AUC ${spread(bestValids)}`);
}
console.log(
  JSON.stringify({
    bench: 'learn-sequence-spec',
    generator: values.generator,
    tag: values.tag,
    rows,
    spec: overrides,
    lr: Number(values.lr),
    batch_size: Number(values['batch-size']),
    epochs: Number(values.epochs),
    eval_every_steps: evalEverySteps,
    data_seed: seed,
    train_seeds: trainSeeds,
    model_options: JSON.parse(values['model-options']!) as unknown,
    oracle_auc: oracle,
    models: results,
  }),
);
