/**
 * `StreamingDataSource`: a data file streamed through a feature map on every pass, for data
 * larger than memory. Memory is bounded by the read block, one shuffle window and one batch.
 * The pass order is the windowed permutation of window-shuffle.ts; with a cache folder the
 * first complete pass writes the encoded cache (cache.ts) and later passes read it.
 */
import { BadRowLog, type BadRowPolicy } from '../../readers/errors.js';
import type { Batch } from '../../features/batch.js';
import { rawChunks } from '../stream.js';
import type { FeatureMap } from '../../features/featuremap.js';
import type { DataSource, PassOptions } from '../data-source.js';
import { viewRows } from '../data-source.js';
import { encodeInWorker } from './encode-in-worker.js';
import { windowBatches, type EncodedRows } from './window-shuffle.js';
import { CacheWriter, cachePath, inputKey, openCache, sha256Json, type CacheKey, type CacheReader } from './cache.js';

/** Options of a streaming source. */
export interface StreamingOptions {
  /** Rows per shuffle window (default 1 000 000); see window-shuffle.ts for what it guarantees. */
  shuffleWindow?: number;
  onBadRow?: BadRowPolicy;
  /** Counts rows skipped as bad, once (on the first complete pass over the text). */
  badRows?: BadRowLog;
  /** Folder of the encoded cache; null: no cache, every pass parses the text. */
  cacheDir?: string | null;
  /** Bytes per text block read (default: the reader's, 4 MiB). */
  blockBytes?: number;
  /** Parse and encode text in a worker thread, overlapping with training (default true). */
  parseWorker?: boolean;
  /** Receives one line when the cache is built, used or rebuilt (and why). */
  log?: (line: string) => void;
}

/** Default rows per shuffle window. */
export const DEFAULT_SHUFFLE_WINDOW = 1_000_000;

/** Where the rows of the last pass came from. */
export type PassOrigin = 'text' | 'cache';

/** A data file streamed on every pass (module comment). */
export class StreamingDataSource implements DataSource {
  readonly path: string;
  readonly shuffleWindow: number;
  private readonly fm: FeatureMap;
  private readonly opts: StreamingOptions;
  private knownRows: number | undefined;
  private badRowsCounted = false;
  private cache: CacheReader | null = null;
  private cacheChecked = false;
  /** Origin of the rows of the most recent pass (for logs and tests). */
  lastOrigin: PassOrigin | null = null;
  /** Why the cache was not used on the most recent text pass (null: used, or no cache dir). */
  cacheMiss: string | null = null;
  /** CPU seconds of the parse worker threads over the complete text passes so far (Linux; 0 when unknown). */
  parseWorkerCpuSeconds = 0;

  constructor(path: string, fm: FeatureMap, opts: StreamingOptions = {}) {
    this.path = path;
    this.fm = fm;
    this.opts = opts;
    this.shuffleWindow = opts.shuffleWindow ?? DEFAULT_SHUFFLE_WINDOW;
    if (!Number.isInteger(this.shuffleWindow) || this.shuffleWindow < 1)
      throw new Error(`shuffle window must be a positive integer (rows), got ${this.shuffleWindow}`);
  }

  /** Rows in one pass, once a pass has completed or a cache has been opened. */
  get rows(): number | undefined {
    return this.knownRows;
  }

  /** The batches of one pass (windowed permutation when `shuffle`), from `startBatch` on. */
  batches(o: PassOptions): AsyncIterable<Batch> {
    return windowBatches(this.encodedRows(), {
      batchSize: o.batchSize,
      window: this.shuffleWindow,
      shuffle: o.shuffle,
      seed: o.seed,
      epoch: o.epoch,
      startBatch: o.startBatch ?? 0,
    });
  }

  /** The key the cache of this file must match. */
  cacheKey(): CacheKey {
    return {
      input: inputKey(this.path),
      schemaSha256: sha256Json(this.fm.schema),
      featureMapSha256: this.fm.contentSha256(),
      onBadRow: this.opts.onBadRow ?? 'error',
    };
  }

  private encodedRows(): EncodedRows {
    return { chunks: (fromRow) => this.chunks(fromRow) };
  }

  private async *chunks(fromRow: number): AsyncGenerator<Batch> {
    const dir = this.opts.cacheDir ?? null;
    const log = this.opts.log ?? (() => {});
    if (dir !== null && !this.cacheChecked) {
      this.cacheChecked = true;
      const opened = openCache(cachePath(dir, this.path), this.cacheKey());
      if ('reader' in opened) {
        this.cache = opened.reader;
        this.knownRows = opened.reader.rows;
        this.cacheMiss = null;
        log(
          `${this.path}: using encoded cache ${opened.reader.path} (${opened.reader.rows} rows, ${(opened.reader.bytes / 2 ** 20).toFixed(1)} MiB)`,
        );
      } else {
        this.cacheMiss = opened.reason;
        log(`${this.path}: building encoded cache (${opened.reason})`);
      }
    }
    if (this.cache !== null) {
      this.lastOrigin = 'cache';
      yield* this.cache.chunks(fromRow);
      return;
    }
    this.lastOrigin = 'text';
    yield* this.fromText(fromRow, dir);
  }

  /** Parses and encodes the text; writes the cache when the pass completes (and a folder is set). */
  private async *fromText(fromRow: number, dir: string | null): AsyncGenerator<Batch> {
    const key = dir === null ? null : this.cacheKey();
    const writer = dir === null ? null : cacheFailure(dir, this.path, () => new CacheWriter(cachePath(dir, this.path)));
    const badRows = this.badRowsCounted ? new BadRowLog() : (this.opts.badRows ?? new BadRowLog());
    const transform: { onBadRow: BadRowPolicy; badRows: BadRowLog } = { onBadRow: this.opts.onBadRow ?? 'error', badRows };
    const read = {
      dataset: this.fm.schema.dataset,
      onBadRow: transform.onBadRow,
      badRows,
      ...(this.opts.blockBytes !== undefined ? { blockBytes: this.opts.blockBytes } : {}),
    };
    const encoded =
      this.opts.parseWorker === false
        ? this.encodeHere(read, transform)
        : encodeInWorker(this.path, this.fm, {
            ...transform,
            ...(this.opts.blockBytes !== undefined ? { blockBytes: this.opts.blockBytes } : {}),
            // A whole window ahead: the next window is parsed while the current one trains.
            aheadRows: this.shuffleWindow,
            onWorkerCpu: (s) => (this.parseWorkerCpuSeconds += s),
          });
    let done = false;
    let row = 0;
    try {
      for await (const b of encoded) {
        if (b.size === 0) continue;
        if (writer !== null) cacheFailure(dir!, this.path, () => writer.append(b));
        const start = row;
        row += b.size;
        if (row <= fromRow) continue;
        yield start >= fromRow ? b : viewRows(b, fromRow - start, b.size);
      }
      done = true;
    } finally {
      if (writer !== null) {
        if (done && row > 0) {
          writer.commit(key!);
          this.cacheChecked = false; // the next pass opens (and verifies) the new cache
        } else {
          writer.abort();
        }
      }
    }
    if (row === 0) throw new Error(`${this.path}: no data rows`);
    this.knownRows = row;
    this.badRowsCounted = true;
  }

  /** Reads and encodes on the calling thread. */
  private async *encodeHere(read: Parameters<typeof rawChunks>[2], transform: { onBadRow: BadRowPolicy; badRows: BadRowLog }): AsyncGenerator<Batch> {
    for await (const chunk of rawChunks(this.path, this.fm.schema, read)) yield this.fm.transform(chunk, transform);
  }
}

/** Runs a cache write; a failure (unwritable folder, full disk) becomes an error that says what to change. */
function cacheFailure<T>(dir: string, input: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(
      `${input}: cannot write the encoded cache in ${dir} (${(e as Error).message}); set data.cache_dir to a writable folder with room, or data.cache: false`,
    );
  }
}
