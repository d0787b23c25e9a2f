import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineSchema, type SchemaInput } from '../../features/schema.js';
import { Rng } from '../../engine/random.js';
import type { OracleStats } from './oracle.js';
import { ZipfSampler } from './zipf.js';

/** Output format of a generated dataset. */
export type SynthFormat = 'csv' | 'libfm';

/** Names of the three splits, in file order. */
export const SPLITS = ['train', 'valid', 'test'] as const;
/** A split name. */
export type SplitName = (typeof SPLITS)[number];

/** Options common to every generator. */
export interface GenerateOptions {
  /** Output directory (created if absent). */
  outDir: string;
  /** Total rows over the three splits. */
  rows: number;
  /** Seed: the same seed and options give byte-identical files. */
  seed: number;
  /** File format (libfm only where the generator supports it). Default csv. */
  format?: SynthFormat;
  /** Also write the true probability per row (CSV: extra column(s); libfm: `<split>.truth`). */
  withTruth?: boolean;
  /** Fractions of train / valid / test (default the preset's, usually 0.8 / 0.1 / 0.1). */
  splitFractions?: readonly [number, number, number];
  /** Called after each split is written (for progress output). */
  onSplit?: (split: SplitName, rows: number) => void;
}

/** One written split in the meta file. */
export interface SplitMeta {
  file: string;
  truthFile?: string;
  rows: number;
  /** Oracle metrics per label (e.g. `click`, or `click`, `conversion`, `ctcvr` for multi-task). */
  oracle: Record<string, OracleStats>;
  /** Extra diagnostics of the split (e.g. first-order-only oracle AUC). */
  diagnostics?: Record<string, number>;
}

/** The meta JSON written next to the data: parameters, row counts, oracle metrics. */
export interface SynthMeta {
  preset: string;
  generator: string;
  description: string;
  seed: number;
  rows: number;
  format: SynthFormat;
  withTruth: boolean;
  schemaFile: string;
  splits: Record<SplitName, SplitMeta>;
  /** The generative parameters (documented in docs/synthetic.md). */
  params: Record<string, unknown>;
  /** Generation wall time and speed. */
  timing: { seconds: number; rowsPerSecond: number };
}

/** Paths of the train / valid / test files of a dataset generated into `dir` (a `TrainJob`'s `data` files). */
export function splitFiles(dir: string, meta: SynthMeta): { train: string; valid: string; test: string } {
  return { train: join(dir, meta.splits.train.file), valid: join(dir, meta.splits.valid.file), test: join(dir, meta.splits.test.file) };
}

/** Row counts of the splits: round(rows·f_train), round(rows·f_valid), the rest. */
export function splitSizes(rows: number, fractions: readonly [number, number, number]): [number, number, number] {
  if (!Number.isInteger(rows) || rows < 3) throw new Error(`rows must be an integer >= 3, got ${rows}`);
  const [a, b, c] = fractions;
  if (!(a > 0 && b >= 0 && c >= 0) || Math.abs(a + b + c - 1) > 1e-9) {
    throw new Error(`split fractions must be non-negative, train > 0, and sum to 1, got [${fractions.join(', ')}]`);
  }
  const train = Math.round(rows * a);
  const valid = Math.round(rows * b);
  return [train, valid, rows - train - valid];
}

/** Validates options shared by the generators and creates the output directory. */
export function prepare(opts: GenerateOptions, supported: readonly SynthFormat[]): SynthFormat {
  const format = opts.format ?? 'csv';
  if (!supported.includes(format)) throw new Error(`format ${format} is not available for this dataset (use ${supported.join(' or ')})`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw new Error(`seed must be an integer in [0, 2^32), got ${opts.seed}`);
  }
  mkdirSync(opts.outDir, { recursive: true });
  return format;
}

/** Validates a schema with the features module and writes it as `schema.json`. */
export function writeSchema(outDir: string, schema: SchemaInput): string {
  defineSchema(schema);
  writeFileSync(join(outDir, 'schema.json'), JSON.stringify(schema, null, 2) + '\n');
  return 'schema.json';
}

/** Writes `meta.json`. */
export function writeMeta(outDir: string, meta: SynthMeta): void {
  writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, roundForJson, 2) + '\n');
}

/** What a generator knows at the end of a run, to be written as schema.json + meta.json. */
export interface FinishInput {
  preset: string;
  generator: string;
  description: string;
  format: SynthFormat;
  schema: SchemaInput;
  splits: Record<SplitName, SplitMeta>;
  params: Record<string, unknown>;
  /** performance.now() when generation started. */
  started: number;
}

/** Writes the schema and the meta file of a finished dataset and returns the meta. */
export function finishDataset(opts: GenerateOptions, f: FinishInput): SynthMeta {
  const schemaFile = writeSchema(opts.outDir, f.schema);
  const seconds = (performance.now() - f.started) / 1000;
  const meta: SynthMeta = {
    preset: f.preset,
    generator: f.generator,
    description: f.description,
    seed: opts.seed,
    rows: opts.rows,
    format: f.format,
    withTruth: !!opts.withTruth,
    schemaFile,
    splits: f.splits,
    params: f.params,
    timing: { seconds, rowsPerSecond: opts.rows / seconds },
  };
  writeMeta(opts.outDir, meta);
  return meta;
}

/** Keeps meta numbers readable (10 significant digits) and NaN as null. */
function roundForJson(_key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    if (Number.isInteger(value)) return value;
    return Number(value.toPrecision(10));
  }
  return value;
}

/** Logistic function. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/**
 * The bias b with mean_i σ(b + z_i) = target (bisection on a pilot sample of logits
 * without bias; a weighted mean when weights are given), so the generated positive rate is
 * close to the target.
 */
export function solveBias(z: Float64Array, target: number, weights?: Float64Array): number {
  if (!(target > 0 && target < 1)) throw new Error(`target rate must be in (0, 1), got ${target}`);
  let wsum = 0;
  for (let i = 0; i < z.length; i++) wsum += weights === undefined ? 1 : weights[i]!;
  let lo = -30;
  let hi = 30;
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    let s = 0;
    for (let i = 0; i < z.length; i++) s += (weights === undefined ? 1 : weights[i]!) * sigmoid(mid + z[i]!);
    if (s / wsum < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Formats a probability for a truth column (9 significant digits). */
export function fmtProb(p: number): string {
  return p.toPrecision(9);
}

/**
 * Items grouped by category (CSR: the items of category c are `items[start[c]…start[c+1]]`, in
 * increasing item index) with a Zipf(n_c, s) sampler per category over that order, so an item's
 * popularity rank inside its category is its position there. Categories of equal size share
 * one sampler. Draws nothing from any rng while built (the generators' streams stay as they were).
 */
export class CategoryItemIndex {
  /** Item ids grouped by category. */
  readonly items: Int32Array;
  /** Offsets into `items` per category, length categories + 1. */
  readonly start: Int32Array;
  private readonly samplers: ZipfSampler[];

  constructor(itemCategory: Int32Array, categories: number, itemZipf: number) {
    const counts = new Int32Array(categories + 1);
    for (let i = 0; i < itemCategory.length; i++) counts[itemCategory[i]! + 1]!++;
    for (let c = 0; c < categories; c++) counts[c + 1]! += counts[c]!;
    this.start = counts.slice();
    const fill = counts.slice(0, categories);
    this.items = new Int32Array(itemCategory.length);
    for (let i = 0; i < itemCategory.length; i++) this.items[fill[itemCategory[i]!]!++] = i;
    this.samplers = [];
    const bySize = new Map<number, ZipfSampler>();
    for (let c = 0; c < categories; c++) {
      const n = this.start[c + 1]! - this.start[c]!;
      let z = bySize.get(n);
      if (!z) bySize.set(n, (z = new ZipfSampler(n, itemZipf)));
      this.samplers.push(z);
    }
  }

  /** One item of `category`, drawn by its Zipf sampler (one draw from `rng`). */
  sample(category: number, rng: Rng): number {
    return this.items[this.start[category]! + this.samplers[category]!.sample(rng)]!;
  }
}

/** Rows of the pilot sample that sets a generator's bias. */
export const PILOT_ROWS = 20_000;

/**
 * The bias b of a row generator: draws PILOT_ROWS rows from the stream `Rng.derive(seed,
 * stream)` into one reused row buffer and solves mean σ(b + logit(row)) = target (`solveBias`).
 */
export function pilotBias<Row>(
  seed: number,
  stream: string,
  target: number,
  newRow: () => Row,
  sampleRow: (rng: Rng, row: Row) => void,
  logitWithoutBias: (row: Row) => number,
): number {
  const pilot = Rng.derive(seed, stream);
  const row = newRow();
  const z = new Float64Array(PILOT_ROWS);
  for (let i = 0; i < z.length; i++) {
    sampleRow(pilot, row);
    z[i] = logitWithoutBias(row);
  }
  return solveBias(z, target);
}
