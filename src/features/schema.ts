/**
 * Dataset schema: what each raw column is (its role), how it is encoded, and how the file is
 * laid out. Loaded from YAML or JSON (`loadSchema`) or built in code with the DeepCTR-style
 * helpers (`sparse`, `dense`, `varlen`, `sequence`, `label`, `group`, `weight`, then
 * `defineSchema`). Both paths go through the same validation, so a schema in code and the
 * same schema in a file are identical.
 *
 * File format (YAML shown; JSON is the same structure):
 *
 * ```yaml
 * dataset:                    # optional: how the file is laid out
 *   format: csv               # csv | tsv | libsvm | libfm | jsonl | parquet
 *   header: true              # csv/tsv: first line names the columns (default true)
 *   columns: [click, user_id, price, genres]   # declared order (required when header: false)
 *   separator: ","            # default "," for csv, "\t" for tsv
 *   quote: '"'
 *   # libsvm / libfm only: fields as feature-index ranges (inclusive) or a field map
 *   fields: [{name: user, range: [0, 957]}, {name: item, range: [958, 2600]}]
 *   fieldMap: {"0": user, "1": user, "2": item}   # alternative: feature index -> field
 *   label: click              # libsvm: which label column the leading value fills
 * columns:
 *   - {name: click, role: label}
 *   - {name: user_id, role: sparse, embeddingDim: 16, encoder: {type: vocab, minCount: 2}}
 *   - {name: item_id, role: sparse, encoder: {type: hash, buckets: 100000}}
 *   - {name: price, role: dense, transform: [log1p, standardize], missing: {fill: 0}}
 *   - {name: age, role: dense, transform: [{clip: [0, 100]}, {bucketize: {quantiles: 10}}]}
 *   - {name: genres, role: varlen, sep: "|", maxLen: 5, pooling: mean}
 *   - {name: hist_item_id, role: sequence, maxLen: 50, shareWith: item_id}
 *   - {name: user_id, role: group}
 *   - {name: w, role: weight}
 * ```
 *
 * Defaults: encoder `{type: vocab, minCount: 1}`; `use: both`; sparse missing value = the
 * empty string as its own category (`missing: oov` maps it to the OOV row instead,
 * `missing: error` rejects the row); dense missing = fill 0 before transforms
 * (`missing: mean` fills the training mean; `missing: keep` keeps NaN for the tree models); varlen sep `|`, pooling `mean`, keeps the first
 * `maxLen` values; sequence sep `|`, pooling `mean` (or `attention` for DIN-style models), keeps the last `maxLen` values (the
 * most recent, histories being oldest → newest); binary labels accept `1`/`+1` as positive and
 * `0`/`-1` as negative (override with `positive:`/`negative:` lists).
 *
 * Embedding sharing: `shareEmbeddingWith: f` (and `shareWith: f` on sequences, the same
 * thing) makes a field use `f`'s vocabulary and embedding table; the vocabulary is fitted on
 * the values of every field in the sharing group.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { DataFormat, DatasetSpec, LibsvmField } from '../readers/dataset.js';
import { SchemaError } from '../readers/errors.js';

// ---------------------------------------------------------------------------------------
// Resolved (validated, defaults filled) types
// ---------------------------------------------------------------------------------------

/** The role of a column. */
export type Role = 'sparse' | 'dense' | 'varlen' | 'sequence' | 'label' | 'group' | 'weight';
/** Which part of a model reads a feature (DeepCTR's linear vs dnn feature columns). */
export type Use = 'linear' | 'deep' | 'both';
/** Pooling of a multi-value field's embeddings. `attention` is for sequences (DIN-style). */
export type Pooling = 'sum' | 'mean' | 'max' | 'attention';

/** Vocabulary encoder: values seen ≥ minCount times in training get ids 2.., others OOV (1). */
export interface VocabEncoderSpec {
  type: 'vocab';
  /** Minimum training count for a value to get its own id (≥ 1). */
  minCount: number;
  /** Keep at most this many values (the most frequent); unlimited when absent. */
  maxSize?: number;
}
/** Hash encoder: id = 2 + murmur3_32(utf8(value), seed) mod buckets. No fitting. */
export interface HashEncoderSpec {
  type: 'hash';
  buckets: number;
  seed: number;
}
/** Categorical encoder. */
export type EncoderSpec = VocabEncoderSpec | HashEncoderSpec;

/** Missing categorical value: its own category `value`, the OOV row, or a bad row. */
export type SparseMissing = { policy: 'value'; value: string } | { policy: 'oov' } | { policy: 'error' };
/** Missing numeric value (before transforms): a constant, the training mean, or a bad row. */
/**
 * What a missing dense value becomes: a constant (`fill`), the training mean (`mean`), a bad
 * row (`error`), or NaN kept as missing (`keep`: for the tree models, whose splits learn
 * where missing values go; other models refuse such fields).
 */
export type DenseMissing = { policy: 'fill'; value: number } | { policy: 'mean' } | { policy: 'error' } | { policy: 'keep' };

/** One numeric transform step, applied in order. */
export type NumericStep =
  | { type: 'log1p' } // x → sign(x)·log(1 + |x|)
  | { type: 'clip'; min: number; max: number } // x → min(max(x, lo), hi)
  | { type: 'standardize' } // x → (x − mean) / std, fitted (std 0 → 1)
  | { type: 'minmax' }; // x → (x − min) / (max − min), fitted (range 0 → 0)

/** Final bucketization of a dense value into a sparse id (2 + bucket index). */
export type BucketizeSpec = { method: 'quantile'; buckets: number } | { method: 'boundaries'; boundaries: number[] };

interface FeatureCommon {
  /** Feature name: the key in batches and in the feature map. */
  name: string;
  /** Raw column it is read from (defaults to `name`). */
  source: string;
}
/** What an input feature may carry besides its encoding. */
interface InputCommon {
  embeddingDim?: number;
  use: Use;
  /** Free tag saying where the feature comes from (user, item, context, ...); models and the input layer select by it. */
  tag?: string;
}

/** A categorical feature: one id per row. */
export interface SparseFeature extends FeatureCommon, InputCommon {
  role: 'sparse';
  encoder: EncoderSpec;
  embeddingDim?: number;
  shareEmbeddingWith?: string;
  use: Use;
  missing: SparseMissing;
}
/** A numeric feature, optionally bucketized into a sparse id (then it is embedded). */
export interface DenseFeature extends FeatureCommon, InputCommon {
  role: 'dense';
  transform: NumericStep[];
  bucketize?: BucketizeSpec;
  embeddingDim?: number;
  use: Use;
  missing: DenseMissing;
}
/** A multi-value categorical feature (`a|b|c`), padded to maxLen and pooled. */
export interface VarlenFeature extends FeatureCommon, InputCommon {
  role: 'varlen';
  sep: string;
  maxLen: number;
  pooling: Pooling;
  keep: 'first' | 'last';
  encoder: EncoderSpec;
  embeddingDim?: number;
  shareEmbeddingWith?: string;
  use: Use;
}
/** A behaviour history; `shareWith` names the target field whose vocabulary/embeddings it uses. */
export interface SequenceFeature extends FeatureCommon, InputCommon {
  role: 'sequence';
  sep: string;
  maxLen: number;
  pooling: Pooling;
  keep: 'first' | 'last';
  encoder: EncoderSpec;
  embeddingDim?: number;
  shareWith?: string;
  use: Use;
}
/** A label: binary (mapped to 0/1 via positive/negative value lists) or regression. */
export interface LabelFeature extends FeatureCommon {
  role: 'label';
  task: 'binary' | 'regression';
  positive: string[];
  negative: string[];
}
/** The group id (e.g. user) for gAUC: hashed to a 32-bit integer, no vocabulary. */
export interface GroupFeature extends FeatureCommon {
  role: 'group';
}
/** Per-row sample weight. */
export interface WeightFeature extends FeatureCommon {
  role: 'weight';
  missing: { policy: 'fill'; value: number } | { policy: 'error' };
}
export type { DataFormat, DatasetSpec, LibsvmField };

/** Any schema column. */
export type Feature = SparseFeature | DenseFeature | VarlenFeature | SequenceFeature | LabelFeature | GroupFeature | WeightFeature;

/** A validated schema. */
export interface Schema {
  dataset?: DatasetSpec;
  columns: Feature[];
}

// ---------------------------------------------------------------------------------------
// Input (file / builder) types
// ---------------------------------------------------------------------------------------

/** A transform as written in a file: `log1p`, `standardize`, `minmax`, `{clip: [lo, hi]}`,
 *  `{bucketize: {quantiles: k}}` or `{bucketize: {boundaries: [b1, b2, ...]}}`. */
export type TransformInput =
  'log1p' | 'standardize' | 'minmax' | { clip: [number, number] } | { bucketize: { quantiles: number } | { boundaries: number[] } };

/** Encoder as written: `{type: vocab, minCount?, maxSize?}` or `{type: hash, buckets, seed?}`. */
export type EncoderInput = { type: 'vocab'; minCount?: number; maxSize?: number } | { type: 'hash'; buckets: number; seed?: number };

/** Options of a sparse column as written. */
export interface SparseOptions {
  source?: string;
  encoder?: EncoderInput;
  embeddingDim?: number;
  shareEmbeddingWith?: string;
  use?: Use;
  missing?: 'oov' | 'error' | { value: string };
  tag?: string;
}
/** Options of a dense column as written. */
export interface DenseOptions {
  source?: string;
  transform?: TransformInput | TransformInput[];
  embeddingDim?: number;
  use?: Use;
  missing?: 'mean' | 'error' | 'keep' | { fill: number };
  tag?: string;
}
/** Options of a varlen column as written. */
export interface VarlenOptions {
  source?: string;
  sep?: string;
  maxLen: number;
  pooling?: Pooling;
  keep?: 'first' | 'last';
  encoder?: EncoderInput;
  embeddingDim?: number;
  shareEmbeddingWith?: string;
  use?: Use;
  tag?: string;
}
/** Options of a sequence column as written. */
export interface SequenceOptions {
  source?: string;
  sep?: string;
  maxLen: number;
  pooling?: Pooling;
  keep?: 'first' | 'last';
  encoder?: EncoderInput;
  embeddingDim?: number;
  shareWith?: string;
  use?: Use;
  tag?: string;
}
/** Options of a label column as written. */
export interface LabelOptions {
  source?: string;
  task?: 'binary' | 'regression';
  positive?: Array<string | number>;
  negative?: Array<string | number>;
}
/** Options of a weight column as written. */
export interface WeightOptions {
  source?: string;
  missing?: 'error' | { fill: number };
}

/** A column as written in a file (or returned by the builder helpers). */
export type ColumnInput =
  | ({ name: string; role: 'sparse' } & SparseOptions)
  | ({ name: string; role: 'dense' } & DenseOptions)
  | ({ name: string; role: 'varlen' } & VarlenOptions)
  | ({ name: string; role: 'sequence' } & SequenceOptions)
  | ({ name: string; role: 'label' } & LabelOptions)
  | { name: string; role: 'group'; source?: string }
  | ({ name: string; role: 'weight' } & WeightOptions);

/** The dataset part as written. */
export interface DatasetInput {
  format: DataFormat;
  header?: boolean;
  columns?: string[];
  separator?: string;
  quote?: string;
  fields?: Array<{ name: string; range: [number, number]; as?: 'index' | 'value' }>;
  fieldMap?: Record<string, string>;
  label?: string;
}

/** A whole schema as written. */
export interface SchemaInput {
  dataset?: DatasetInput;
  columns: ColumnInput[];
}

// ---------------------------------------------------------------------------------------
// Builder API (DeepCTR-style)
// ---------------------------------------------------------------------------------------

/** A categorical column, e.g. `sparse('user_id', {embeddingDim: 16, encoder: {type: 'vocab', minCount: 2}})`. */
export function sparse(name: string, opts: SparseOptions = {}): ColumnInput {
  return { name, role: 'sparse', ...opts };
}
/** A numeric column, e.g. `dense('price', {transform: ['log1p', 'standardize']})`. */
export function dense(name: string, opts: DenseOptions = {}): ColumnInput {
  return { name, role: 'dense', ...opts };
}
/** A multi-value column, e.g. `varlen('genres', {sep: '|', maxLen: 5, pooling: 'mean'})`. */
export function varlen(name: string, opts: VarlenOptions): ColumnInput {
  return { name, role: 'varlen', ...opts };
}
/** A behaviour history, e.g. `sequence('hist_item_id', {maxLen: 50, shareWith: 'item_id'})`. */
export function sequence(name: string, opts: SequenceOptions): ColumnInput {
  return { name, role: 'sequence', ...opts };
}
/** A label column, e.g. `label('click')`. */
export function label(name: string, opts: LabelOptions = {}): ColumnInput {
  return { name, role: 'label', ...opts };
}
/** The group column for gAUC, e.g. `group('user_id')`. */
export function group(name: string, opts: { source?: string } = {}): ColumnInput {
  return { name, role: 'group', ...opts };
}
/** A sample-weight column, e.g. `weight('w')`. */
export function weight(name: string, opts: WeightOptions = {}): ColumnInput {
  return { name, role: 'weight', ...opts };
}

/** Validates a schema built in code (same checks as a file; errors name `<code>`). */
export function defineSchema(input: SchemaInput): Schema {
  return validateSchema(input, '<code>');
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/** Reads and validates a schema file (`.yaml`/`.yml` or `.json`). */
export function loadSchema(path: string): Schema {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SchemaError(path, '', `cannot be read: ${(e as Error).message}`);
  }
  return parseSchema(text, path);
}

/**
 * Reads a YAML or JSON configuration file (JSON when the name ends in `.json`) into plain
 * data; unreadable or unparsable files raise a `SchemaError` naming the file.
 */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SchemaError(path, '', `cannot be read: ${(e as Error).message}`);
  }
  const json = extname(path).toLowerCase() === '.json';
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SchemaError(path, '', `is not valid ${json ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
}

/** Parses schema text; JSON when the name ends in `.json` or the text starts with `{`, else YAML. */
export function parseSchema(text: string, file = '<schema>'): Schema {
  const ext = extname(file).toLowerCase();
  let raw: unknown;
  try {
    raw = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && text.trimStart().startsWith('{')) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SchemaError(file, '', `is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return validateSchema(raw, file);
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

const name = z.string({ error: 'must be a string' }).min(1, { error: 'must be a non-empty string' });
const posInt = z
  .number({ error: 'must be a positive integer' })
  .int({ error: 'must be a positive integer' })
  .positive({ error: 'must be a positive integer' });
const nonNegInt = z
  .number({ error: 'must be a non-negative integer' })
  .int({ error: 'must be a non-negative integer' })
  .min(0, { error: 'must be a non-negative integer' });
const finite = z.number({ error: 'must be a finite number' }).finite({ error: 'must be a finite number' });
const use = z.enum(['linear', 'deep', 'both'], { error: 'must be one of linear, deep, both' });
const pooling = z.enum(['sum', 'mean', 'max', 'attention'], { error: 'must be one of sum, mean, max, attention' });
const keep = z.enum(['first', 'last'], { error: 'must be first or last' });
const sep = z.string({ error: 'must be a string' }).min(1, { error: 'must be a non-empty string' });
const anyValue = z.unknown();

const vocabInput = z.strictObject({ type: z.literal('vocab'), minCount: posInt.optional(), maxSize: posInt.optional() });
const hashInput = z.strictObject({ type: z.literal('hash'), buckets: posInt, seed: nonNegInt.optional() });

const tagName = z.string({ error: 'must be a string such as user, item or context' }).min(1, { error: 'must not be empty' });
const sparseInput = z.strictObject({
  name,
  role: z.literal('sparse'),
  source: name.optional(),
  encoder: anyValue.optional(),
  embeddingDim: posInt.optional(),
  shareEmbeddingWith: name.optional(),
  use: use.optional(),
  tag: tagName.optional(),
  missing: anyValue.optional(),
});
const denseInput = z.strictObject({
  name,
  role: z.literal('dense'),
  source: name.optional(),
  transform: anyValue.optional(),
  embeddingDim: posInt.optional(),
  use: use.optional(),
  tag: tagName.optional(),
  missing: anyValue.optional(),
});
const varlenInput = z.strictObject({
  name,
  role: z.literal('varlen'),
  source: name.optional(),
  sep: sep.optional(),
  maxLen: posInt,
  pooling: pooling.optional(),
  keep: keep.optional(),
  encoder: anyValue.optional(),
  embeddingDim: posInt.optional(),
  shareEmbeddingWith: name.optional(),
  use: use.optional(),
  tag: tagName.optional(),
});
const sequenceInput = z.strictObject({
  name,
  role: z.literal('sequence'),
  source: name.optional(),
  sep: sep.optional(),
  maxLen: posInt,
  pooling: pooling.optional(),
  keep: keep.optional(),
  encoder: anyValue.optional(),
  embeddingDim: posInt.optional(),
  shareWith: name.optional(),
  use: use.optional(),
  tag: tagName.optional(),
});
const labelValue = z.union([z.string(), z.number()], { error: 'must be a string or number' });
const labelInput = z.strictObject({
  name,
  role: z.literal('label'),
  source: name.optional(),
  task: z.enum(['binary', 'regression'], { error: 'must be binary or regression' }).optional(),
  positive: z.array(labelValue, { error: 'must be a list' }).min(1, { error: 'must not be empty' }).optional(),
  negative: z.array(labelValue, { error: 'must be a list' }).min(1, { error: 'must not be empty' }).optional(),
});
const groupInput = z.strictObject({ name, role: z.literal('group'), source: name.optional() });
const weightInput = z.strictObject({ name, role: z.literal('weight'), source: name.optional(), missing: anyValue.optional() });

const fieldInput = z.strictObject({
  name,
  range: z.tuple([nonNegInt, nonNegInt], { error: 'must be [lo, hi] with non-negative integers' }),
  as: z.enum(['index', 'value'], { error: 'must be index or value' }).optional(),
});
const datasetInput = z.strictObject({
  format: z.enum(['csv', 'tsv', 'libsvm', 'libfm', 'jsonl', 'parquet'], {
    error: 'must be one of csv, tsv, libsvm, libfm, jsonl, parquet',
  }),
  header: z.boolean({ error: 'must be true or false' }).optional(),
  columns: z.array(name, { error: 'must be a list of column names' }).min(1, { error: 'must not be empty' }).optional(),
  separator: z.string({ error: 'must be a single character' }).length(1, { error: 'must be a single character' }).optional(),
  quote: z.string({ error: 'must be a single character' }).length(1, { error: 'must be a single character' }).optional(),
  fields: z.array(fieldInput, { error: 'must be a list of {name, range}' }).min(1, { error: 'must not be empty' }).optional(),
  fieldMap: z
    .record(z.string().regex(/^\d+$/, { error: 'keys must be feature indices' }), name, {
      error: 'must map feature indices to field names',
    })
    .optional(),
  label: name.optional(),
});

const roleSchemas = {
  sparse: sparseInput,
  dense: denseInput,
  varlen: varlenInput,
  sequence: sequenceInput,
  label: labelInput,
  group: groupInput,
  weight: weightInput,
} as const;

/** Formats a zod path like `columns[3].encoder.minCount`. */
function fmtPath(base: string, path: ReadonlyArray<PropertyKey>): string {
  let s = base;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : (s ? '.' : '') + String(p);
  return s;
}

/** Parses with zod, throwing a SchemaError naming the first problem's path. */
function check<T>(schema: z.ZodType<T>, value: unknown, file: string, base: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as unknown as { keys: string[] }).keys;
    throw new SchemaError(file, fmtPath(base, issue.path), `has unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
  if (issue.code === 'invalid_value' || issue.code === 'invalid_type') {
    const path = fmtPath(base, issue.path);
    const isMissing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    if (isMissing) throw new SchemaError(file, path, `is required (${issue.message})`);
  }
  throw new SchemaError(file, fmtPath(base, issue.path), issue.message);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolveEncoder(v: unknown, file: string, path: string): EncoderSpec {
  if (v === undefined) return { type: 'vocab', minCount: 1 };
  if (!isObj(v)) throw new SchemaError(file, path, 'must be an object {type: vocab | hash, ...}');
  if (v.type === 'vocab') {
    const e = check(vocabInput, v, file, path);
    return e.maxSize !== undefined ? { type: 'vocab', minCount: e.minCount ?? 1, maxSize: e.maxSize } : { type: 'vocab', minCount: e.minCount ?? 1 };
  }
  if (v.type === 'hash') {
    const e = check(hashInput, v, file, path);
    return { type: 'hash', buckets: e.buckets, seed: e.seed ?? 0 };
  }
  throw new SchemaError(file, path + '.type', 'must be vocab or hash');
}

function resolveSparseMissing(v: unknown, file: string, path: string): SparseMissing {
  if (v === undefined) return { policy: 'value', value: '' };
  if (v === 'oov') return { policy: 'oov' };
  if (v === 'error') return { policy: 'error' };
  if (isObj(v) && Object.keys(v).length === 1 && typeof v.value === 'string') return { policy: 'value', value: v.value };
  throw new SchemaError(file, path, 'must be oov, error or {value: "<category>"}');
}

function resolveDenseMissing(v: unknown, file: string, path: string): DenseMissing {
  if (v === undefined) return { policy: 'fill', value: 0 };
  if (v === 'mean') return { policy: 'mean' };
  if (v === 'error') return { policy: 'error' };
  if (v === 'keep') return { policy: 'keep' };
  if (isObj(v) && Object.keys(v).length === 1 && typeof v.fill === 'number' && Number.isFinite(v.fill)) {
    return { policy: 'fill', value: v.fill };
  }
  throw new SchemaError(file, path, 'must be mean, error, keep or {fill: <number>}');
}

function resolveTransforms(v: unknown, file: string, path: string): { steps: NumericStep[]; bucketize?: BucketizeSpec } {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const steps: NumericStep[] = [];
  let bucketize: BucketizeSpec | undefined;
  const at = (i: number) => (Array.isArray(v) ? `${path}[${i}]` : path);
  list.forEach((t: unknown, i: number) => {
    const p = at(i);
    if (bucketize) throw new SchemaError(file, p, 'must not follow bucketize (bucketize must be the last transform)');
    const last = steps[steps.length - 1];
    const isBucketize = isObj(t) && 'bucketize' in t;
    if (!isBucketize && last && (last.type === 'standardize' || last.type === 'minmax')) {
      throw new SchemaError(
        file,
        p,
        `must not follow ${last.type}: a fitted transform (standardize, minmax) must be the last numeric step, since its statistics are fitted in one streaming pass`,
      );
    }
    if (t === 'log1p' || t === 'standardize' || t === 'minmax') {
      steps.push({ type: t });
      return;
    }
    if (isObj(t) && Object.keys(t).length === 1 && 'clip' in t) {
      const c = t.clip;
      if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'number' || typeof c[1] !== 'number' || !(c[0] <= c[1])) {
        throw new SchemaError(file, p + '.clip', 'must be [lo, hi] with numbers lo ≤ hi');
      }
      steps.push({ type: 'clip', min: c[0], max: c[1] });
      return;
    }
    if (isObj(t) && Object.keys(t).length === 1 && 'bucketize' in t) {
      const b = t.bucketize;
      if (isObj(b) && Object.keys(b).length === 1 && 'quantiles' in b) {
        const k = b.quantiles;
        if (typeof k !== 'number' || !Number.isInteger(k) || k < 2) {
          throw new SchemaError(file, p + '.bucketize.quantiles', 'must be an integer ≥ 2');
        }
        bucketize = { method: 'quantile', buckets: k };
        return;
      }
      if (isObj(b) && Object.keys(b).length === 1 && 'boundaries' in b) {
        const bs = b.boundaries;
        if (!Array.isArray(bs) || bs.length === 0 || !bs.every((x) => typeof x === 'number' && Number.isFinite(x))) {
          throw new SchemaError(file, p + '.bucketize.boundaries', 'must be a non-empty list of finite numbers');
        }
        for (let j = 1; j < bs.length; j++) {
          if (!(bs[j] > bs[j - 1]))
            throw new SchemaError(file, `${p}.bucketize.boundaries[${j}]`, 'must be greater than the previous boundary (strictly increasing)');
        }
        bucketize = { method: 'boundaries', boundaries: bs.slice() as number[] };
        return;
      }
      throw new SchemaError(file, p + '.bucketize', 'must be {quantiles: k} or {boundaries: [b1, b2, ...]}');
    }
    throw new SchemaError(file, p, 'must be log1p, standardize, minmax, {clip: [lo, hi]} or {bucketize: {...}}');
  });
  return bucketize ? { steps, bucketize } : { steps };
}

function labelList(v: Array<string | number> | undefined, dflt: string[]): string[] {
  return v === undefined ? dflt : v.map((x) => String(x));
}

function resolveColumn(v: unknown, file: string, path: string): Feature {
  if (!isObj(v)) throw new SchemaError(file, path, 'must be an object with name and role');
  const role = v.role;
  if (typeof role !== 'string' || !(role in roleSchemas)) {
    throw new SchemaError(
      file,
      path + '.role',
      `must be one of ${Object.keys(roleSchemas).join(', ')}${role === undefined ? ' (missing)' : ` (got ${JSON.stringify(role)})`}`,
    );
  }
  const opt = <T extends object>(o: T): T => {
    for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
    return o;
  };
  switch (role as Role) {
    case 'sparse': {
      const c = check(sparseInput, v, file, path);
      return opt({
        role: 'sparse',
        name: c.name,
        source: c.source ?? c.name,
        encoder: resolveEncoder(c.encoder, file, path + '.encoder'),
        embeddingDim: c.embeddingDim,
        shareEmbeddingWith: c.shareEmbeddingWith,
        use: c.use ?? 'both',
        tag: c.tag,
        missing: resolveSparseMissing(c.missing, file, path + '.missing'),
      });
    }
    case 'dense': {
      const c = check(denseInput, v, file, path);
      const t = resolveTransforms(c.transform, file, path + '.transform');
      const missing = resolveDenseMissing(c.missing, file, path + '.missing');
      if (missing.policy === 'keep' && t.bucketize !== undefined)
        throw new SchemaError(
          file,
          path + '.missing',
          'keep cannot be combined with bucketize (a bucket id has no missing value); use mean, error or {fill: <number>}',
        );
      return opt({
        role: 'dense',
        name: c.name,
        source: c.source ?? c.name,
        transform: t.steps,
        bucketize: t.bucketize,
        embeddingDim: c.embeddingDim,
        use: c.use ?? 'both',
        tag: c.tag,
        missing,
      });
    }
    case 'varlen': {
      const c = check(varlenInput, v, file, path);
      return opt({
        role: 'varlen',
        name: c.name,
        source: c.source ?? c.name,
        sep: c.sep ?? '|',
        maxLen: c.maxLen,
        pooling: c.pooling ?? 'mean',
        keep: c.keep ?? 'first',
        encoder: resolveEncoder(c.encoder, file, path + '.encoder'),
        embeddingDim: c.embeddingDim,
        shareEmbeddingWith: c.shareEmbeddingWith,
        use: c.use ?? 'both',
        tag: c.tag,
      });
    }
    case 'sequence': {
      const c = check(sequenceInput, v, file, path);
      if (c.shareWith !== undefined && c.encoder !== undefined) {
        throw new SchemaError(file, path + '.encoder', `must be left out when shareWith is set (the sequence uses ${c.shareWith}'s vocabulary)`);
      }
      return opt({
        role: 'sequence',
        name: c.name,
        source: c.source ?? c.name,
        sep: c.sep ?? '|',
        maxLen: c.maxLen,
        pooling: c.pooling ?? 'mean',
        keep: c.keep ?? 'last',
        encoder: resolveEncoder(c.encoder, file, path + '.encoder'),
        embeddingDim: c.embeddingDim,
        shareWith: c.shareWith,
        use: c.use ?? 'both',
        tag: c.tag,
      });
    }
    case 'label': {
      const c = check(labelInput, v, file, path);
      const task = c.task ?? 'binary';
      if (task === 'regression' && (c.positive || c.negative)) {
        throw new SchemaError(file, path + (c.positive ? '.positive' : '.negative'), 'applies to binary labels only');
      }
      const positive = labelList(c.positive, task === 'binary' ? ['1', '+1'] : []);
      const negative = labelList(c.negative, task === 'binary' ? ['0', '-1'] : []);
      for (const p of positive) {
        if (negative.includes(p)) throw new SchemaError(file, path + '.negative', `must not contain "${p}", which is also positive`);
      }
      return { role: 'label', name: c.name, source: c.source ?? c.name, task, positive, negative };
    }
    case 'group': {
      const c = check(groupInput, v, file, path);
      return { role: 'group', name: c.name, source: c.source ?? c.name };
    }
    case 'weight': {
      const c = check(weightInput, v, file, path);
      let missing: WeightFeature['missing'] = { policy: 'error' };
      if (c.missing !== undefined) {
        if (c.missing === 'error') missing = { policy: 'error' };
        else if (isObj(c.missing) && Object.keys(c.missing).length === 1 && typeof c.missing.fill === 'number' && Number.isFinite(c.missing.fill)) {
          missing = { policy: 'fill', value: c.missing.fill };
        } else throw new SchemaError(file, path + '.missing', 'must be error or {fill: <number>}');
      }
      return { role: 'weight', name: c.name, source: c.source ?? c.name, missing };
    }
  }
}

function resolveDataset(v: unknown, file: string): DatasetSpec {
  const d = check(datasetInput, v, file, 'dataset');
  const fmt = d.format;
  const isText = fmt === 'csv' || fmt === 'tsv';
  const isSvm = fmt === 'libsvm' || fmt === 'libfm';
  if (!isText) {
    for (const k of ['header', 'separator', 'quote'] as const) {
      if (d[k] !== undefined) throw new SchemaError(file, `dataset.${k}`, `applies to csv/tsv only (format is ${fmt})`);
    }
  }
  if (!isSvm) {
    for (const k of ['fields', 'fieldMap', 'label'] as const) {
      if (d[k] !== undefined) throw new SchemaError(file, `dataset.${k}`, `applies to libsvm/libfm only (format is ${fmt})`);
    }
  }
  const header = isText ? (d.header ?? true) : false;
  if (isText && !header && !d.columns) throw new SchemaError(file, 'dataset.columns', 'is required when header is false (declare the column order)');
  if (isSvm && !d.fields && !d.fieldMap) throw new SchemaError(file, 'dataset.fields', `is required for ${fmt} (or give dataset.fieldMap)`);
  if (d.fields && d.fieldMap) throw new SchemaError(file, 'dataset.fieldMap', 'must not be given together with dataset.fields');
  if (d.columns) {
    const seen = new Set<string>();
    d.columns.forEach((c, i) => {
      if (seen.has(c)) throw new SchemaError(file, `dataset.columns[${i}]`, `repeats column "${c}"`);
      seen.add(c);
    });
  }
  let fields: LibsvmField[] | undefined;
  if (d.fields) {
    fields = d.fields.map((f, i) => {
      if (f.range[0] > f.range[1]) throw new SchemaError(file, `dataset.fields[${i}].range`, 'must have lo ≤ hi');
      return { name: f.name, range: [f.range[0], f.range[1]] as [number, number], as: f.as ?? 'index' };
    });
    const sorted = fields.map((f, i) => ({ f, i })).sort((a, b) => a.f.range[0] - b.f.range[0]);
    for (let j = 1; j < sorted.length; j++) {
      if (sorted[j]!.f.range[0] <= sorted[j - 1]!.f.range[1]) {
        throw new SchemaError(
          file,
          `dataset.fields[${sorted[j]!.i}].range`,
          `overlaps the range of fields[${sorted[j - 1]!.i}] (${sorted[j - 1]!.f.name})`,
        );
      }
    }
    const names = new Set<string>();
    fields.forEach((f, i) => {
      if (names.has(f.name)) throw new SchemaError(file, `dataset.fields[${i}].name`, `repeats field "${f.name}"`);
      names.add(f.name);
    });
  }
  const out: DatasetSpec = {
    format: fmt,
    header,
    separator: d.separator ?? (fmt === 'tsv' ? '\t' : ','),
    quote: d.quote ?? '"',
  };
  if (d.columns) out.columns = d.columns.slice();
  if (fields) out.fields = fields;
  if (d.fieldMap) out.fieldMap = { ...d.fieldMap };
  if (d.label) out.label = d.label;
  return out;
}

/** The raw column names a dataset provides, when the schema declares them (else undefined). */
export function declaredColumns(ds: DatasetSpec): string[] | undefined {
  if (ds.fields) return [ds.label ?? 'label', ...ds.fields.map((f) => f.name)];
  if (ds.fieldMap) return [ds.label ?? 'label', ...new Set(Object.values(ds.fieldMap))];
  return ds.columns;
}

/**
 * Validates a parsed schema object and fills defaults. Errors name the path in the file,
 * e.g. `schema.yaml: columns[3].encoder.minCount must be a positive integer`.
 * Cross-checks: unique feature names per kind, at most one group and one weight, sharing
 * targets exist and are categorical (no cycles), at least one label, and the columns read
 * exist among the declared dataset columns when those are declared.
 */
export function validateSchema(raw: unknown, file = '<schema>'): Schema {
  if (!isObj(raw)) throw new SchemaError(file, '', 'must be an object with "columns" (and optionally "dataset")');
  for (const k of Object.keys(raw)) {
    if (k !== 'columns' && k !== 'dataset') throw new SchemaError(file, k, 'is not a known key (expected columns, dataset)');
  }
  if (!Array.isArray(raw.columns)) throw new SchemaError(file, 'columns', 'must be a list of columns');
  if (raw.columns.length === 0) throw new SchemaError(file, 'columns', 'must not be empty');
  const columns = raw.columns.map((c, i) => resolveColumn(c, file, `columns[${i}]`));
  const dataset = raw.dataset === undefined ? undefined : resolveDataset(raw.dataset, file);

  // Names: features (sparse/dense/varlen/sequence) share one namespace; labels another.
  const featureIdx = new Map<string, number>();
  const labelIdx = new Map<string, number>();
  let groupAt = -1,
    weightAt = -1,
    nLabels = 0;
  columns.forEach((c, i) => {
    const p = `columns[${i}].name`;
    if (c.role === 'label') {
      if (labelIdx.has(c.name)) throw new SchemaError(file, p, `repeats label "${c.name}" (first at columns[${labelIdx.get(c.name)}])`);
      labelIdx.set(c.name, i);
      nLabels++;
    } else if (c.role === 'group') {
      if (groupAt >= 0) throw new SchemaError(file, `columns[${i}]`, `is a second group column (first at columns[${groupAt}])`);
      groupAt = i;
    } else if (c.role === 'weight') {
      if (weightAt >= 0) throw new SchemaError(file, `columns[${i}]`, `is a second weight column (first at columns[${weightAt}])`);
      weightAt = i;
    } else {
      if (featureIdx.has(c.name)) throw new SchemaError(file, p, `repeats feature "${c.name}" (first at columns[${featureIdx.get(c.name)}])`);
      featureIdx.set(c.name, i);
    }
  });
  if (nLabels === 0) throw new SchemaError(file, 'columns', 'must contain at least one column with role: label');

  // Sharing targets.
  const shareOf = (c: Feature): string | undefined =>
    c.role === 'sequence' ? c.shareWith : c.role === 'sparse' || c.role === 'varlen' ? c.shareEmbeddingWith : undefined;
  columns.forEach((c, i) => {
    const t = shareOf(c);
    if (t === undefined) return;
    const key = c.role === 'sequence' ? 'shareWith' : 'shareEmbeddingWith';
    const j = featureIdx.get(t);
    if (j === undefined)
      throw new SchemaError(file, `columns[${i}].${key}`, `names "${t}", which is not a sparse, varlen or sequence feature of this schema`);
    const target = columns[j]!;
    if (target.role === 'dense')
      throw new SchemaError(file, `columns[${i}].${key}`, `names "${t}", a dense feature; sharing needs a categorical feature`);
    if (t === c.name) throw new SchemaError(file, `columns[${i}].${key}`, 'must not name the feature itself');
    // Cycle check.
    const seen = new Set([c.name]);
    let cur: string | undefined = t;
    while (cur !== undefined) {
      if (seen.has(cur)) throw new SchemaError(file, `columns[${i}].${key}`, `forms a sharing cycle through "${cur}"`);
      seen.add(cur);
      cur = shareOf(columns[featureIdx.get(cur)!]!);
    }
  });

  // libsvm/libfm: the leading value fills the first label unless dataset.label says otherwise.
  if (dataset && (dataset.format === 'libsvm' || dataset.format === 'libfm') && dataset.label === undefined) {
    dataset.label = columns.find((c) => c.role === 'label')!.source;
  }
  // Columns read must exist when the dataset declares them.
  if (dataset) {
    const avail = declaredColumns(dataset);
    if (avail) {
      const set = new Set(avail);
      columns.forEach((c, i) => {
        if (!set.has(c.source)) {
          const key = c.source === c.name ? 'name' : 'source';
          throw new SchemaError(
            file,
            `columns[${i}].${key}`,
            `names column "${c.source}", which the dataset does not declare (declared: ${avail.join(', ')})`,
          );
        }
      });
    }
  }
  return dataset ? { dataset, columns } : { columns };
}

/** Converts a validated schema back to the file format (for persisting with the feature map). */
export function schemaToJSON(schema: Schema): SchemaInput {
  const columns: ColumnInput[] = schema.columns.map((c): ColumnInput => {
    const src = c.source !== c.name ? { source: c.source } : {};
    const enc = (e: EncoderSpec): EncoderInput =>
      e.type === 'vocab'
        ? e.maxSize !== undefined
          ? { type: 'vocab', minCount: e.minCount, maxSize: e.maxSize }
          : { type: 'vocab', minCount: e.minCount }
        : { type: 'hash', buckets: e.buckets, seed: e.seed };
    const isInput = c.role !== 'label' && c.role !== 'group' && c.role !== 'weight';
    const dim = {
      ...(isInput && c.embeddingDim !== undefined ? { embeddingDim: c.embeddingDim } : {}),
      ...(isInput && c.tag !== undefined ? { tag: c.tag } : {}),
    };
    switch (c.role) {
      case 'sparse':
        return {
          name: c.name,
          role: 'sparse',
          ...src,
          encoder: enc(c.encoder),
          ...dim,
          ...(c.shareEmbeddingWith !== undefined ? { shareEmbeddingWith: c.shareEmbeddingWith } : {}),
          use: c.use,
          missing: c.missing.policy === 'value' ? { value: c.missing.value } : c.missing.policy,
        };
      case 'dense': {
        const transform: TransformInput[] = c.transform.map((t): TransformInput => (t.type === 'clip' ? { clip: [t.min, t.max] } : t.type));
        if (c.bucketize) {
          transform.push({
            bucketize: c.bucketize.method === 'quantile' ? { quantiles: c.bucketize.buckets } : { boundaries: c.bucketize.boundaries.slice() },
          });
        }
        return {
          name: c.name,
          role: 'dense',
          ...src,
          transform,
          ...dim,
          use: c.use,
          missing: c.missing.policy === 'fill' ? { fill: c.missing.value } : c.missing.policy,
        };
      }
      case 'varlen':
        return {
          name: c.name,
          role: 'varlen',
          ...src,
          sep: c.sep,
          maxLen: c.maxLen,
          pooling: c.pooling,
          keep: c.keep,
          encoder: enc(c.encoder),
          ...dim,
          ...(c.shareEmbeddingWith !== undefined ? { shareEmbeddingWith: c.shareEmbeddingWith } : {}),
          use: c.use,
        };
      case 'sequence':
        return {
          name: c.name,
          role: 'sequence',
          ...src,
          sep: c.sep,
          maxLen: c.maxLen,
          pooling: c.pooling,
          keep: c.keep,
          ...(c.shareWith !== undefined ? { shareWith: c.shareWith } : { encoder: enc(c.encoder) }),
          ...dim,
          use: c.use,
        };
      case 'label':
        return c.task === 'binary'
          ? { name: c.name, role: 'label', ...src, task: c.task, positive: c.positive.slice(), negative: c.negative.slice() }
          : { name: c.name, role: 'label', ...src, task: c.task };
      case 'group':
        return { name: c.name, role: 'group', ...src };
      case 'weight':
        return { name: c.name, role: 'weight', ...src, missing: c.missing.policy === 'fill' ? { fill: c.missing.value } : 'error' };
    }
  });
  const out: SchemaInput = { columns };
  if (schema.dataset) {
    const d = schema.dataset;
    const ds: DatasetInput = { format: d.format };
    if (d.format === 'csv' || d.format === 'tsv') {
      ds.header = d.header;
      ds.separator = d.separator;
      ds.quote = d.quote;
    }
    if (d.columns) ds.columns = d.columns.slice();
    if (d.fields) ds.fields = d.fields.map((f) => ({ name: f.name, range: [f.range[0], f.range[1]], as: f.as }));
    if (d.fieldMap) ds.fieldMap = { ...d.fieldMap };
    if (d.label) ds.label = d.label;
    out.dataset = ds;
  }
  return out;
}

/** Features that become embedding lookups (sparse, bucketized dense, varlen, sequence). */
export function categoricalFeatures(schema: Schema): Array<SparseFeature | DenseFeature | VarlenFeature | SequenceFeature> {
  return schema.columns.filter(
    (c): c is SparseFeature | DenseFeature | VarlenFeature | SequenceFeature =>
      c.role === 'sparse' || c.role === 'varlen' || c.role === 'sequence' || (c.role === 'dense' && c.bucketize !== undefined),
  );
}

/** The feature whose vocabulary/embedding table `name` uses (itself when it shares with none). */
export function sharingRoot(schema: Schema, featureName: string): string {
  let cur = featureName;
  for (;;) {
    const f = schema.columns.find((c) => c.name === cur && c.role !== 'label' && c.role !== 'group' && c.role !== 'weight');
    if (!f) return cur;
    const next = f.role === 'sequence' ? f.shareWith : f.role === 'sparse' || f.role === 'varlen' ? f.shareEmbeddingWith : undefined;
    if (next === undefined) return cur;
    cur = next;
  }
}
