/**
 * The one definition of a model input field. A schema column becomes a `FieldDef` in the
 * fitted feature map (`FeatureMap.fields()`), and that same object travels to the input layer
 * and the models: nothing is re-described on the way, so no setting can be dropped.
 */
import type { Pooling, Use } from './schema.js';

/** What a field holds in a batch: one id, one number, a pooled bag of ids, or an ordered history. */
export type FieldKind = 'sparse' | 'dense' | 'varlen' | 'sequence';

/** One input field as every layer above `features/` sees it. */
export interface FieldDef {
  name: string;
  /** sparse: one id; dense: one number; varlen/sequence: padded ids. A bucketized dense column is 'sparse'. */
  kind: FieldKind;
  /** Which parts read it: the first-order (linear / wide) part, the embedding (deep) part, or both. */
  use: Use;
  /** Rows of its embedding table (padding + OOV + known values); categorical fields only. */
  vocabSize?: number;
  /** Name of its embedding table (the sharing root); fields naming the same table share it. */
  table?: string;
  /** Its own embedding dimension; absent: the model's `embedding_dim`. */
  embeddingDim?: number;
  /** Free tag saying where it comes from (user, item, context, ...). */
  tag?: string;
  /** varlen / sequence: padded length. */
  maxLen?: number;
  /** varlen / sequence: how the input layer pools it; `attention` is left to a sequence model. */
  pooling?: Pooling;
  /** sequence: the target field it is a history of (its `shareWith`), when it has one. */
  historyOf?: string;
}

/** Every input field of a model, in schema order, plus the label names (one per possible task). */
export interface FeatureSpec {
  fields: FieldDef[];
  labels: string[];
}

/** True for fields that become embedding lookups. */
export function isCategorical(f: FieldDef): boolean {
  return f.kind !== 'dense';
}

/** A sparse field read by both parts with a table of its own: the common case (tests, benchmarks). */
export function sparseField(name: string, vocabSize: number, extra: Partial<FieldDef> = {}): FieldDef {
  return { name, kind: 'sparse', vocabSize, table: name, use: 'both', ...extra };
}

/** A numeric field read by both parts. */
export function denseField(name: string, extra: Partial<FieldDef> = {}): FieldDef {
  return { name, kind: 'dense', use: 'both', ...extra };
}

/** A multi-value field pooled by the input layer (mean by default). */
export function varlenField(name: string, vocabSize: number, maxLen: number, extra: Partial<FieldDef> = {}): FieldDef {
  return { name, kind: 'varlen', vocabSize, table: name, use: 'both', maxLen, pooling: 'mean', ...extra };
}

/** A behaviour history of `historyOf`, sharing its table. */
export function sequenceField(name: string, historyOf: string, vocabSize: number, maxLen: number, extra: Partial<FieldDef> = {}): FieldDef {
  return { name, kind: 'sequence', vocabSize, table: historyOf, use: 'both', maxLen, pooling: 'mean', historyOf, ...extra };
}

/**
 * Reads the input description stored in artifacts written before fields were one definition
 * (`{sparse, varlen, dense, labels}` with `linear` / `deep` flags); returns a current spec
 * unchanged.
 */
export function featureSpecFromStored(stored: unknown): FeatureSpec {
  const s = stored as Record<string, unknown>;
  if (Array.isArray(s.fields)) return s as unknown as FeatureSpec;
  type Legacy = {
    name: string;
    vocabSize?: number;
    table?: string;
    linear: boolean;
    deep: boolean;
    maxLen?: number;
    pooling?: Pooling;
    kind?: FieldKind;
  };
  const use = (f: Legacy): Use => (f.linear && f.deep ? 'both' : f.linear ? 'linear' : 'deep');
  const fields: FieldDef[] = [];
  for (const f of (s.sparse ?? []) as Legacy[])
    fields.push({ name: f.name, kind: 'sparse', use: use(f), vocabSize: f.vocabSize, table: f.table ?? f.name });
  for (const f of (s.varlen ?? []) as Legacy[])
    fields.push({
      name: f.name,
      kind: f.kind ?? 'varlen',
      use: use(f),
      vocabSize: f.vocabSize,
      table: f.table ?? f.name,
      maxLen: f.maxLen,
      pooling: f.pooling,
    });
  for (const f of (s.dense ?? []) as Legacy[]) fields.push({ name: f.name, kind: 'dense', use: use(f) });
  return { fields, labels: (s.labels ?? []) as string[] };
}
