import { Rng } from '../engine/random.js';
import type { Batch, PaddedIds } from '../features/batch.js';
import type { FeatureMap } from '../features/featuremap.js';
import { streamBatches } from './stream.js';
import type { BadRowLog, BadRowPolicy } from '../readers/errors.js';

/** Options of one pass over a data source. */
export interface PassOptions {
  batchSize: number;
  /** Shuffle rows (training). The order depends only on (seed, epoch). */
  shuffle: boolean;
  seed: number;
  epoch: number;
}

/**
 * Where the trainer gets batches from. A pass with the same options must yield the same
 * batches in the same order: exact resume after a crash skips the batches already done.
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
    for (let start = 0; start < n; start += opts.batchSize) {
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

/**
 * A data file streamed through a feature map on every pass, for data larger than memory:
 * memory stays bounded by the read block, the shuffle buffer and one batch. Training passes
 * shuffle through a buffer of `shuffleBuffer` rows seeded by (seed, epoch), so a pass is
 * reproducible and a resumed run can skip the batches it already trained on.
 */
export class StreamingDataSource implements DataSource {
  readonly path: string;
  private readonly fm: FeatureMap;
  private readonly shuffleBuffer: number;
  private readonly onBadRow: BadRowPolicy;
  private readonly badRows: BadRowLog | undefined;

  constructor(path: string, fm: FeatureMap, opts: { shuffleBuffer?: number; onBadRow?: BadRowPolicy; badRows?: BadRowLog } = {}) {
    this.path = path;
    this.fm = fm;
    this.shuffleBuffer = opts.shuffleBuffer ?? 100_000;
    this.onBadRow = opts.onBadRow ?? 'error';
    this.badRows = opts.badRows;
  }

  batches(opts: PassOptions): AsyncIterable<Batch> {
    return streamBatches(this.path, this.fm, {
      batchSize: opts.batchSize,
      shuffleBuffer: opts.shuffle ? this.shuffleBuffer : 0,
      seed: Rng.derive(opts.seed, `shuffle:${opts.epoch}`).nextUint32(),
      onBadRow: this.onBadRow,
      ...(this.badRows !== undefined ? { badRows: this.badRows } : {}),
    });
  }
}
