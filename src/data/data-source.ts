import { Rng } from '../engine/random.js';
import type { Batch, PaddedIds } from '../features/batch.js';

/** Options of one pass over a data source. */
export interface PassOptions {
  batchSize: number;
  /** Shuffle rows (training). The order depends only on (seed, epoch). */
  shuffle: boolean;
  seed: number;
  epoch: number;
  /** First batch of the pass to yield (default 0): exact resume skips the batches already trained on. */
  startBatch?: number;
}

/**
 * Where the trainer gets batches from. A pass with the same options must yield the same
 * batches in the same order, and a pass from `startBatch` k must yield exactly the batches
 * k, k+1, … of the full pass: exact resume after a crash starts at the first batch not done.
 * Implementations: `InMemoryDataSource` (below) and `StreamingDataSource` (data/streaming).
 */
export interface DataSource {
  /** Rows in one pass, when known. */
  readonly rows?: number;
  batches(opts: PassOptions): AsyncIterable<Batch> | Iterable<Batch>;
}

/**
 * A fully encoded dataset held in memory as one column-major Batch. Shuffling permutes
 * row indices with an Rng derived from (seed, epoch), then gathers each batch's rows.
 */
export class InMemoryDataSource implements DataSource {
  readonly all: Batch;

  constructor(all: Batch) {
    this.all = all;
  }

  get rows(): number {
    return this.all.size;
  }

  *batches(opts: PassOptions): Iterable<Batch> {
    const n = this.all.size;
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    let order: Int32Array | null = null;
    if (opts.shuffle) {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      Rng.derive(opts.seed, `shuffle:${opts.epoch}`).shuffle(order);
    }
    const first = opts.startBatch ?? 0;
    if (!Number.isInteger(first) || first < 0) throw new Error(`startBatch must be a non-negative integer, got ${first}`);
    for (let start = first * opts.batchSize; start < n; start += opts.batchSize) {
      const end = Math.min(n, start + opts.batchSize);
      yield order === null ? viewRows(this.all, start, end) : gatherBatch(this.all, order.subarray(start, end));
    }
  }
}

/** The rows of `b` at `rows`, copied into a new batch. */
export function gatherBatch(b: Batch, rows: Int32Array): Batch {
  const m = rows.length;
  const gather = <T extends Int32Array | Float32Array>(col: T): T => {
    const out = new (col.constructor as { new (n: number): T })(m);
    for (let i = 0; i < m; i++) out[i] = col[rows[i]!]!;
    return out;
  };
  const mapCols = <T extends Int32Array | Float32Array>(cols: Record<string, T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(cols)) out[k] = gather(v);
    return out;
  };
  const varlen: Record<string, PaddedIds> = {};
  for (const [k, v] of Object.entries(b.varlen)) {
    const L = v.maxLen;
    const ids = new Int32Array(m * L);
    for (let i = 0; i < m; i++) ids.set(v.ids.subarray(rows[i]! * L, rows[i]! * L + L), i * L);
    varlen[k] = { ids, lengths: gather(v.lengths), maxLen: L };
  }
  const out: Batch = { size: m, sparse: mapCols(b.sparse), dense: mapCols(b.dense), varlen, labels: mapCols(b.labels) };
  if (b.weight !== undefined) out.weight = gather(b.weight);
  if (b.group !== undefined) out.group = gather(b.group);
  return out;
}

/** Rows [start, end) of a batch as views into its columns (no copy). */
export function viewRows(b: Batch, start: number, end: number): Batch {
  const mapCols = <T extends Int32Array | Float32Array>(cols: Record<string, T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(cols)) out[k] = v.subarray(start, end) as T;
    return out;
  };
  const varlen: Record<string, PaddedIds> = {};
  for (const [k, v] of Object.entries(b.varlen)) {
    varlen[k] = { ids: v.ids.subarray(start * v.maxLen, end * v.maxLen), lengths: v.lengths.subarray(start, end), maxLen: v.maxLen };
  }
  const out: Batch = { size: end - start, sparse: mapCols(b.sparse), dense: mapCols(b.dense), varlen, labels: mapCols(b.labels) };
  if (b.weight !== undefined) out.weight = b.weight.subarray(start, end);
  if (b.group !== undefined) out.group = b.group.subarray(start, end);
  return out;
}
