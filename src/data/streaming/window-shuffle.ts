/**
 * The streaming pass order: a *windowed permutation*.
 *
 * The encoded rows of one pass are cut, in file order, into windows of `window` consecutive
 * rows (the last one shorter). Each window is permuted uniformly at random (Fisher–Yates) by
 * a generator derived from (seed, epoch, window index) alone; the permuted windows are
 * concatenated in file order and that stream is cut into batches of `batchSize` rows (a batch
 * may span two windows). Window 0 uses exactly the generator of the in-memory source
 * (`Rng.derive(seed, "shuffle:<epoch>")`), so with `window ≥ rows` a streaming pass yields the
 * same batches as `InMemoryDataSource`.
 *
 * Guarantees: every row exactly once per pass; within a window, a uniform permutation; the
 * order is a pure function of (seed, epoch, window, batchSize) and the file, so batch `k` can
 * be reached without replaying the random draws of batches 0..k-1 (exact resume).
 * Not guaranteed: rows never leave their window, and windows keep file order, so a file
 * sorted by time or label is only locally shuffled; a window is as large as the memory it
 * may use (see docs/streaming.md).
 */
import { Rng } from '../../engine/random.js';
import type { Batch } from '../../features/batch.js';
import { concatBatches, sliceBatch } from '../batcher.js';
import { viewRows } from '../data-source.js';
import { RowWindow } from './row-window.js';

/** Options of one windowed pass. */
export interface WindowPassOptions {
  batchSize: number;
  /** Rows per shuffle window; ignored when `shuffle` is false. */
  window: number;
  shuffle: boolean;
  seed: number;
  epoch: number;
  /** First batch to yield (the batches before it are skipped, exact resume). */
  startBatch?: number;
}

/** Source of encoded rows for a pass: chunks in file order, able to skip whole rows cheaply. */
export interface EncodedRows {
  /** Encoded chunks in file order, starting at row `fromRow` (earlier rows are skipped). */
  chunks(fromRow: number): AsyncIterable<Batch>;
}

/** The generator that permutes window `w` of epoch `epoch`. */
export function windowRng(seed: number, epoch: number, w: number): Rng {
  return Rng.derive(seed, w === 0 ? `shuffle:${epoch}` : `shuffle:${epoch}:window:${w}`);
}

/** Yields batches in windowed-permutation order (module comment), starting at `startBatch`. */
export async function* windowBatches(rows: EncodedRows, o: WindowPassOptions): AsyncGenerator<Batch> {
  const bs = o.batchSize;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`batch size must be a positive integer, got ${bs}`);
  const startBatch = o.startBatch ?? 0;
  if (!Number.isInteger(startBatch) || startBatch < 0) throw new Error(`startBatch must be a non-negative integer, got ${startBatch}`);
  const skipRows = startBatch * bs;
  if (!o.shuffle) {
    yield* inOrder(rows.chunks(skipRows), bs);
    return;
  }
  const W = o.window;
  if (!Number.isInteger(W) || W < 1) throw new Error(`shuffle window must be a positive integer (rows), got ${W}`);
  const firstWindow = Math.floor(skipRows / W);
  let skipInWindow = skipRows - firstWindow * W; // permuted rows of the first window already trained on
  let w = firstWindow;
  let win: RowWindow | null = null; // the window's rows, row-major (row-window.ts)
  let carry: Batch | null = null; // rows of a batch begun in the previous window

  function* flush(): Generator<Batch> {
    if (win === null || win.fill === 0) return;
    const fill = win.fill;
    const order = new Int32Array(fill);
    for (let i = 0; i < fill; i++) order[i] = i;
    windowRng(o.seed, o.epoch, w).shuffle(order);
    let at = skipInWindow;
    skipInWindow = 0;
    if (carry !== null && at < fill) {
      const take = Math.min(bs - carry.size, fill - at);
      const joined = concatBatches([carry, win.gather(order.subarray(at, at + take))]);
      at += take;
      carry = null;
      if (joined.size === bs) yield joined;
      else carry = joined;
    }
    for (; at + bs <= fill; at += bs) yield win.gather(order.subarray(at, at + bs));
    if (at < fill) carry = win.gather(order.subarray(at, fill));
    win.fill = 0;
    w++;
  }

  for await (const chunk of rows.chunks(firstWindow * W)) {
    let off = 0;
    while (off < chunk.size) {
      win ??= new RowWindow(chunk, W, 65_536);
      const k = Math.min(W - win.fill, chunk.size - off);
      win.append(chunk, off, off + k);
      off += k;
      if (win.fill === W) yield* flush();
    }
  }
  yield* flush();
  if (carry !== null) yield carry;
}

/** Input order, re-cut into batches of `bs` rows. */
async function* inOrder(chunks: AsyncIterable<Batch>, bs: number): AsyncGenerator<Batch> {
  let carry: Batch | null = null;
  for await (const chunk of chunks) {
    let off = 0;
    if (carry !== null) {
      const take = Math.min(bs - carry.size, chunk.size);
      carry = concatBatches([carry, viewRows(chunk, 0, take)]);
      off = take;
      if (carry.size < bs) continue;
      yield carry;
      carry = null;
    }
    for (; off + bs <= chunk.size; off += bs) yield off === 0 && bs === chunk.size ? chunk : sliceBatch(chunk, off, bs);
    if (off < chunk.size) carry = sliceBatch(chunk, off, chunk.size - off);
  }
  if (carry !== null) yield carry;
}
