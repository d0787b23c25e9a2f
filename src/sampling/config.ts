/**
 * Sampling configuration (`finerank sample --config FILE`, and the `sampling:` block of a
 * train config): which column is the item (and user, label), the rules, the seed and the
 * name of the importance-weight column written to the output. Validated with zod; errors
 * name the path, e.g. `sample.yaml: rules[0].t must be ...`.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SchemaError } from '../readers/errors.js';
import { readConfigFile } from '../features/schema.js';

/** One sampling rule. */
export type SamplingRule =
  /**
   * Keep a row of item i with probability min(1, √(t/f_i) + t/f_i) (word2vec), or min(1, cap/count_i).
   * `correction: weight` writes 1/keep; `closed_form` writes no weight: the keep probability
   * depends only on the item, so when the item is a model input P(y | x) is the same in the
   * sample and the closed-form correction is the identity.
   */
  | { kind: 'hot_item'; t?: number; cap?: number; correction: 'weight' | 'closed_form' }
  /** Keep negatives with probability `rate`; `correction: weight` writes 1/rate, `closed_form` leaves the recalibration to the trainer. */
  | { kind: 'negative_downsample'; rate: number; correction: 'weight' | 'closed_form' }
  /** Implicit feedback: every input row is a positive; add `perPositive` negatives per positive, items drawn ∝ count^alpha, never a positive of the user. */
  | { kind: 'popularity_negatives'; perPositive: number; alpha: number; itemColumns: string[] };

/** The columns and rules of a sampling run (without the files). */
export interface SamplingSpec {
  /** The item column (hot_item, popularity_negatives). */
  item?: string;
  user?: string;
  label?: string;
  /** Output column with the importance weight (multiplied into it when the input has it). */
  weight: string;
  seed: number;
  rules: SamplingRule[];
}

/** `finerank sample` config: a spec plus input and output files. */
export interface SampleConfig extends SamplingSpec {
  input: string;
  output: string;
  format?: 'csv' | 'tsv' | 'jsonl' | 'parquet';
  onBadRow: 'error' | 'skip';
}

const ruleInput = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('hot_item'),
    t: z.number().positive().max(1).optional(),
    cap: z.number().int().positive().optional(),
    correction: z.enum(['weight', 'closed_form']).default('weight'),
  }),
  z.strictObject({
    kind: z.literal('negative_downsample'),
    rate: z.number().positive().max(1),
    correction: z.enum(['weight', 'closed_form']).default('weight'),
  }),
  z.strictObject({
    kind: z.literal('popularity_negatives'),
    per_positive: z.number().int().positive(),
    alpha: z.number().min(0).max(2).default(0.75),
    item_columns: z.array(z.string().min(1)).default([]),
  }),
]);

/** The zod shape of the spec part (shared by `sample` and the train config's `sampling:` block). */
export const samplingSpecShape = {
  item: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  label: z.string().min(1).optional(),
  weight: z.string().min(1).default('weight'),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  rules: z.array(ruleInput).min(1),
};

const sampleInput = z.strictObject({
  ...samplingSpecShape,
  input: z.string().min(1),
  output: z.string().min(1),
  format: z.enum(['csv', 'tsv', 'jsonl', 'parquet']).optional(),
  on_bad_row: z.enum(['error', 'skip']).default('error'),
});

function fmtPath(base: string, path: ReadonlyArray<PropertyKey>): string {
  let s = base;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : (s ? '.' : '') + String(p);
  return s;
}

/** zod parse with errors as SchemaError naming `file` and the path under `base`. */
function check<T>(schema: z.ZodType<T>, raw: unknown, file: string, base: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = fmtPath(base, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as unknown as { keys: string[] }).keys;
    throw new SchemaError(file, path, `has unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
  if (issue.code === 'invalid_union' && issue.path.includes('rules')) {
    const i = issue.path.indexOf('rules');
    throw new SchemaError(
      file,
      fmtPath(base, issue.path.slice(0, i + 2)) + '.kind',
      'must be one of hot_item, negative_downsample, popularity_negatives',
    );
  }
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined)
    throw new SchemaError(file, path, `is required (${issue.message})`);
  throw new SchemaError(file, path, issue.message);
}

/** Converts validated rules and refuses combinations the sampler does not support. */
function resolveSpec(c: z.infer<z.ZodObject<typeof samplingSpecShape>>, file: string, base: string): SamplingSpec {
  const at = (p: string) => (base ? `${base}.${p}` : p);
  const rules: SamplingRule[] = c.rules.map((r, i) => {
    switch (r.kind) {
      case 'hot_item':
        if (c.item === undefined) throw new SchemaError(file, at(`rules[${i}]`), '(hot_item) needs item, the item column');
        if ((r.t === undefined) === (r.cap === undefined))
          throw new SchemaError(file, at(`rules[${i}]`), '(hot_item) needs exactly one of t (word2vec rule) or cap (rows per item)');
        return {
          kind: 'hot_item',
          ...(r.t !== undefined ? { t: r.t } : {}),
          ...(r.cap !== undefined ? { cap: r.cap } : {}),
          correction: r.correction,
        };
      case 'negative_downsample':
        if (c.label === undefined) throw new SchemaError(file, at(`rules[${i}]`), '(negative_downsample) needs label, the label column');
        return { kind: 'negative_downsample', rate: r.rate, correction: r.correction };
      case 'popularity_negatives':
        if (c.item === undefined) throw new SchemaError(file, at(`rules[${i}]`), '(popularity_negatives) needs item, the item column');
        if (c.user === undefined) throw new SchemaError(file, at(`rules[${i}]`), '(popularity_negatives) needs user, the user column');
        if (c.label === undefined)
          throw new SchemaError(file, at(`rules[${i}]`), '(popularity_negatives) needs label, the label column written to the output');
        return { kind: 'popularity_negatives', perPositive: r.per_positive, alpha: r.alpha, itemColumns: r.item_columns };
    }
  });
  const kinds = rules.map((r) => r.kind);
  if (new Set(kinds).size !== kinds.length) throw new SchemaError(file, at('rules'), 'lists a rule kind twice');
  if (kinds.includes('popularity_negatives') && kinds.length > 1) {
    throw new SchemaError(
      file,
      at('rules'),
      'popularity_negatives cannot be combined with other rules (supported: hot_item and negative_downsample together or alone; popularity_negatives alone)',
    );
  }
  return {
    ...(c.item ? { item: c.item } : {}),
    ...(c.user ? { user: c.user } : {}),
    ...(c.label ? { label: c.label } : {}),
    weight: c.weight,
    seed: c.seed,
    rules,
  };
}

/** Validates a train config's `sampling:` block (`base` is its path in the file, e.g. `sampling`). */
export function parseSamplingSpec(raw: unknown, file: string, base: string): SamplingSpec {
  return resolveSpec(check(z.strictObject(samplingSpecShape), raw, file, base), file, base);
}

/** Validates a `finerank sample` config; relative paths resolve against `baseDir`. */
export function parseSampleConfig(raw: unknown, file: string, baseDir: string): SampleConfig {
  const c = check(sampleInput, raw, file, '');
  const spec = resolveSpec(c, file, '');
  const input = resolve(baseDir, c.input),
    output = resolve(baseDir, c.output);
  if (input === output) throw new SchemaError(file, 'output', 'must differ from input');
  return { ...spec, input, output, ...(c.format ? { format: c.format } : {}), onBadRow: c.on_bad_row };
}

/** Reads and validates a `finerank sample` config file (YAML or JSON). */
export function loadSampleConfig(path: string): SampleConfig {
  return parseSampleConfig(readConfigFile(path), path, dirname(resolve(path)));
}
