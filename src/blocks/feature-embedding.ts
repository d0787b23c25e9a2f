import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { concat, reshape } from '../engine/ops/index.js';
import { EmbeddingTable } from '../embedding/table.js';
import { embedFields, embedPooled } from '../embedding/lookup.js';
import { Module } from '../nn/module.js';
import type { Batch } from '../data/batch.js';
import type { InputSpec, SparseInput, VarlenInput } from '../models/input-spec.js';

/** Options of `FeatureEmbedding`. */
export interface FeatureEmbeddingOptions {
  /** Embedding dimension of every field (FM-style models need one shared size). */
  dim: number;
  /** Which part the block serves: fields flagged for it are embedded. */
  part: 'deep' | 'linear';
  /** Standard deviation of the N(0, std²) initialization (protocol: 1e-4). */
  initStd: number;
  rng: Rng;
  /** Prefix of the table names (keeps linear and deep tables apart in state dicts). */
  prefix?: string;
}

/**
 * Embeds every categorical field of a batch into one [B, F, D] tensor: sparse fields by
 * row lookup, varlen fields by pooling their ids (sum / mean / max). Fields naming the same
 * table share it (DeepCTR's `embedding_name`, FuxiCTR's `share_embedding`). Dense fields are
 * not embedded here: `denseInputs` returns them as a [B, nDense] tensor for the DNN and
 * the linear part (DeepCTR's convention).
 */
export class FeatureEmbedding extends Module {
  /** Sparse fields embedded by this block, in output order. */
  readonly sparseFields: SparseInput[];
  /** Varlen fields embedded by this block (after the sparse ones in the output). */
  readonly varlenFields: VarlenInput[];
  readonly dim: number;
  private readonly sparseTables: EmbeddingTable[];
  private readonly varlenTables: EmbeddingTable[];

  constructor(spec: InputSpec, opts: FeatureEmbeddingOptions) {
    super();
    this.dim = opts.dim;
    const use = (f: SparseInput) => (opts.part === 'deep' ? f.deep : f.linear);
    this.sparseFields = spec.sparse.filter(use);
    this.varlenFields = spec.varlen.filter(use);
    const tables = new Map<string, EmbeddingTable>();
    const tableFor = (f: SparseInput): EmbeddingTable => {
      let t = tables.get(f.table);
      if (t === undefined) {
        const rows = Math.max(...[...spec.sparse, ...spec.varlen].filter((g) => g.table === f.table).map((g) => g.vocabSize));
        t = new EmbeddingTable(`${opts.prefix ?? ''}${f.table}`, rows, opts.dim, { init: 'normal', std: opts.initStd, rng: opts.rng });
        tables.set(f.table, t);
        this.table(f.table, t);
      }
      return t;
    };
    this.sparseTables = this.sparseFields.map(tableFor);
    this.varlenTables = this.varlenFields.map(tableFor);
  }

  /** Number of embedded fields F. */
  get numFields(): number {
    return this.sparseFields.length + this.varlenFields.length;
  }

  /** The [B, F, D] field embeddings of a batch. */
  forward(batch: Batch): Tensor {
    const parts: Tensor[] = [];
    if (this.sparseFields.length > 0) {
      parts.push(embedFields(this.sparseTables, this.sparseFields.map((f) => fieldIds(batch, f.name))));
    }
    this.varlenFields.forEach((f, i) => {
      const padded = batch.varlen[f.name];
      if (padded === undefined) throw new Error(`batch has no varlen field '${f.name}'`);
      parts.push(reshape(embedPooled(this.varlenTables[i]!, padded, f.pooling), [batch.size, 1, this.dim]));
    });
    if (parts.length === 0) throw new Error('FeatureEmbedding: no categorical field to embed');
    return parts.length === 1 ? parts[0]! : concat(parts, 1);
  }
}

/** The ids of a sparse field in a batch (error naming the field when absent). */
export function fieldIds(batch: Batch, name: string): Int32Array {
  const ids = batch.sparse[name];
  if (ids === undefined) throw new Error(`batch has no sparse field '${name}'`);
  return ids;
}

/**
 * The dense fields selected by `which` as a [B, nDense] leaf tensor (no gradient), or null
 * when there are none.
 */
export function denseInputs(batch: Batch, spec: InputSpec, which: 'deep' | 'linear'): Tensor | null {
  const fields = spec.dense.filter((f) => f[which]);
  if (fields.length === 0) return null;
  const n = fields.length;
  const out = new Float32Array(batch.size * n);
  fields.forEach((f, j) => {
    const col = batch.dense[f.name];
    if (col === undefined) throw new Error(`batch has no dense field '${f.name}'`);
    for (let i = 0; i < batch.size; i++) out[i * n + j] = col[i]!;
  });
  return new Tensor(out, [batch.size, n]);
}
