import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePreset } from '../../data/synth/index.js';
import { loadSchema } from '../../features/schema.js';
import { kernels } from '../../engine/kernels/index.js';
import { resolveModelOptions } from '../../models/registry.js';
import { trainOnFiles } from '../../train/run.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../../train/options.js';
import { logLine, printTable } from '../format.js';
import { learningCurveLines } from '../learning-curve.js';
import { splitFiles } from '../../data/synth/common.js';

const HELP = `usage: finerank demo [--model NAME] [--rows N] [--epochs N] [--seed N] [--out DIR] [--json]

Generates the 'criteo-demo' synthetic dataset (13 numeric + 26 categorical fields, pairwise
latent interactions, known click probabilities; 800k rows), trains a model on it (DeepFM by default)
with validation, early stopping and best-weight restore, and prints test AUC and logloss
next to the oracle AUC / logloss of the true probabilities — the ceiling any model can reach —
and the learning curve: validation AUC per epoch against the validation oracle.`;

/** Training settings of the demo: small, fast and close to the oracle on criteo-demo. */
export const DEMO_TRAIN: TrainOptions = {
  ...TRAIN_DEFAULTS,
  epochs: 8,
  batchSize: 2048,
  optimizer: { type: 'adam', lr: 3e-3 },
  embeddingOptimizer: { type: 'lazy_adam' },
  embeddingL2: 1e-3,
  embeddingL2Mode: 'batch',
  patience: 2,
};

/**
 * Model settings of the demo (DeepFM's option names; every key must be one DeepFM accepts —
 * test/cli/demo-settings.test.ts checks it). Another `--model` takes the keys it accepts and
 * the demo says which ones it left out.
 */
export const DEMO_MODEL: Record<string, unknown> = {
  embeddingDim: 8,
  embeddingInitStd: 0.01,
  hiddenUnits: [128, 64],
  netDropout: 0,
  batchNorm: false,
};

/** The dataset preset the demo generates. */
export const DEMO_PRESET = 'criteo-demo';

/** `finerank demo`: generate → train → evaluate, with the oracle as the yardstick. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: 'deepfm' },
      rows: { type: 'string', default: '800000' },
      epochs: { type: 'string' },
      seed: { type: 'string', default: '2019' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const rows = Number(values.rows),
    seed = Number(values.seed);
  if (!Number.isInteger(rows) || rows < 1000) throw new Error(`--rows must be an integer ≥ 1000, got '${values.rows}'`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  const log = values.quiet ? () => {} : logLine;
  const dir = values.out ?? mkdtempSync(join(tmpdir(), 'finerank-demo-'));
  try {
    const t0 = performance.now();
    const meta = generatePreset(DEMO_PRESET, { outDir: dir, rows, seed });
    log(
      `generated ${DEMO_PRESET}: ${rows} rows in ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s); oracle test AUC ${Object.values(meta.splits.test.oracle)[0]!.auc.toFixed(4)}`,
    );
    const modelName = values.model;
    const accepted = Object.keys(resolveModelOptions(modelName));
    const skipped = Object.keys(DEMO_MODEL).filter((k) => !accepted.includes(k));
    if (skipped.length > 0) log(`demo settings that ${modelName} has no option for (left out): ${skipped.join(', ')}`);
    const modelOptions = resolveModelOptions(modelName, Object.fromEntries(Object.entries(DEMO_MODEL).filter(([k]) => accepted.includes(k))));
    const train: TrainOptions = { ...DEMO_TRAIN, seed, progress: !values.json && !values.quiet };
    if (values.epochs !== undefined) train.epochs = Number(values.epochs);
    const outcome = await trainOnFiles(
      {
        data: {
          ...splitFiles(dir, meta),
          onBadRow: 'error',
        },
        schema: loadSchema(join(dir, meta.schemaFile)),
        label: null,
        model: modelName,
        modelOptions,
        train,
      },
      { log },
    );
    const oracle = meta.splits.test.oracle[outcome.label];
    const validOracle = meta.splits.valid.oracle[outcome.label];
    if (oracle === undefined || validOracle === undefined) throw new Error(`generator meta has no oracle for label '${outcome.label}'`);
    const curve = outcome.result.history.filter((h) => h.valid !== null).map((h) => ({ epoch: h.epoch, auc: h.valid!.auc }));
    const result = {
      model: modelName,
      test_auc: outcome.test!.auc,
      test_logloss: outcome.test!.logloss,
      oracle_auc: oracle.auc,
      oracle_logloss: oracle.logloss,
      auc_gap: oracle.auc - outcome.test!.auc,
      valid_auc_per_epoch: curve.map((p) => Number(p.auc.toFixed(5))),
      valid_oracle_auc: validOracle.auc,
      epochs: outcome.result.epochs,
      samples_per_sec: outcome.summary.samples_per_sec,
      backend: kernels().name,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      if (!values.quiet) for (const line of learningCurveLines(curve, validOracle.auc)) console.log(line);
      printTable(result);
    }
    return 0;
  } finally {
    if (values.out === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
