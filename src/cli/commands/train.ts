import { parseArgs } from 'node:util';
import { loadTrainConfig } from '../config.js';
import { trainOnFiles } from '../../train/run.js';
import { saveArtifact } from '../../serve/artifact.js';
import { logLine, printTable } from '../format.js';
import { applySampling } from '../../sampling/train-hook.js';

const HELP = `usage: finerank train [--config FILE] [options]

Fits the feature map on the training file, trains the model with validation after every
epoch (or every N steps), early stopping and best-weight restore, evaluates on the test
file and writes a model artifact.

options:
  --config FILE       YAML/JSON config (see README: "Train configuration")
  --train/--valid/--test FILE   data files (override the config)
  --schema FILE       schema file (overrides the config)
  --model NAME        model (default deepfm; 'finerank info' lists them)
  --preset NAME       default | bars (the BARS/FuxiCTR published-benchmark protocol)
  --epochs N  --batch-size N  --seed N
  --threads N         data-parallel training on N threads (train.threads; default 1)
  -o, --output FILE   where to write the model artifact
  --json              print one JSON object as the last line
  --quiet             no progress bar or per-epoch log`;

/** `finerank train`: trains from a config and/or flags, prints metrics, writes the artifact. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      train: { type: 'string' },
      valid: { type: 'string' },
      test: { type: 'string' },
      schema: { type: 'string' },
      model: { type: 'string' },
      preset: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got '${v}'`);
    return n;
  };
  const cfg = loadTrainConfig(values.config ?? null, {
    train: values.train,
    valid: values.valid,
    test: values.test,
    schema: values.schema,
    model: values.model,
    preset: values.preset,
    output: values.output,
    epochs: int('epochs', values.epochs),
    batchSize: int('batch-size', values['batch-size']),
    seed: int('seed', values.seed),
    threads: int('threads', values.threads),
  });
  if (values.quiet || values.json) cfg.train.progress = cfg.train.progress && !values.quiet;
  const log = values.quiet ? () => {} : logLine;
  let cleanup = () => {};
  if (cfg.sampling !== null) {
    const s = await applySampling(cfg, cfg.sampling);
    cleanup = s.cleanup;
    for (const w of s.warnings) console.error(`warning: ${w}`);
    log(
      `sampling: ${s.report.rowsIn} → ${s.report.rowsOut} training rows; Σ weights ${s.report.weightSum.toFixed(1)}${cfg.train.negativeSampleRate !== 1 ? `; recalibrating with negative_sample_rate ${cfg.train.negativeSampleRate}` : ''}`,
    );
  }
  let outcome;
  try {
    outcome = await trainOnFiles(cfg, { log });
  } finally {
    cleanup();
  }
  if (cfg.output !== null) {
    saveArtifact(cfg.output, outcome.model, {
      modelOptions: outcome.modelOptions ?? cfg.modelOptions,
      inputSpec: outcome.spec,
      label: outcome.label,
      tasks: outcome.tasks,
      featureMap: outcome.featureMap.toJSON(),
      negativeSampleRate: cfg.train.negativeSampleRate,
      ...(outcome.result.logitOffset !== undefined && Object.keys(outcome.result.logitOffset).length > 0
        ? { logitOffset: outcome.result.logitOffset }
        : {}),
      training: { preset: cfg.preset, options: cfg.train, summary: outcome.summary, createdAt: new Date().toISOString() },
    });
    log(`model written to ${cfg.output}`);
  }
  if (outcome.skippedRows > 0) log(`skipped ${outcome.skippedRows} bad rows, e.g.: ${outcome.skippedExamples.slice(0, 3).join(' | ')}`);
  if (values.json) console.log(JSON.stringify({ ...outcome.summary, preset: cfg.preset, output: cfg.output }));
  else printTable({ ...outcome.summary, preset: cfg.preset, output: cfg.output });
  return 0;
}
