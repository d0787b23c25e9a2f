/**
 * What a model needs to know of its inputs: the fields, their vocabulary sizes (table rows,
 * padding and OOV included), which embedding table each one uses (sharing) and whether it
 * feeds the linear part, the deep part or both. Built from a fitted feature map
 * (`inputSpecFromFeatureMap`) or by hand in tests and benchmarks.
 */
export interface SparseInput {
  name: string;
  /** Rows of the field's embedding table (known values + padding + OOV). */
  vocabSize: number;
  /** Name of the embedding table; fields with the same table name share embeddings. */
  table: string;
  /** Feeds first-order (linear / wide) terms. */
  linear: boolean;
  /** Feeds embedding-based parts (FM, DNN, crosses). */
  deep: boolean;
}

/** A multi-value field pooled into one embedding (sum, mean or max over its ids). */
export interface VarlenInput extends SparseInput {
  maxLen: number;
  pooling: 'sum' | 'mean' | 'max';
  /** 'sequence' fields are behaviour histories that sequence models use by position. */
  kind: 'varlen' | 'sequence';
}

/** A numeric field, already transformed by the feature map. */
export interface DenseInput {
  name: string;
  linear: boolean;
  deep: boolean;
}

/** All inputs of a model, in a fixed field order. */
export interface InputSpec {
  sparse: SparseInput[];
  varlen: VarlenInput[];
  dense: DenseInput[];
  /** Label names (one per task). */
  labels: string[];
}

/** A sparse field fed to both parts, with its own table: the common case. */
export function sparseInput(name: string, vocabSize: number, extra: Partial<SparseInput> = {}): SparseInput {
  return { name, vocabSize, table: name, linear: true, deep: true, ...extra };
}

/** A dense field fed to both parts. */
export function denseInput(name: string, extra: Partial<DenseInput> = {}): DenseInput {
  return { name, linear: true, deep: true, ...extra };
}
