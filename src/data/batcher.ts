/**
 * Batching: re-cuts a stream of encoded chunks into batches of exactly `batchSize` rows (the
 * last one smaller unless `dropLast`), optionally through a shuffle buffer.
 *
 * Shuffle buffer (as tf.data's): the first `shuffleBuffer` rows fill the buffer; then each
 * incoming row replaces a uniformly chosen buffered row, which is emitted; at the end the
 * remaining buffer is emitted in a random permutation. Memory is bounded by the buffer; the
 * order is a function of the seed and the input order only. A buffer at least as large as
 * the data gives a uniform shuffle. For several epochs, use a different seed per epoch
 * (e.g. seed + epoch).
 */
import type { Batch, PaddedIds } from '../features/batch.js';
import { Rng } from '../engine/random.js';
import type { FeatureMap, TransformOptions } from '../features/featuremap.js';
import type { RawChunk } from '../readers/chunk.js';

/** Options of `rebatch` / `batches`. */
export interface BatchOptions {
  /** Rows per batch (≥ 1). */
  batchSize: number;
  /** Rows held for shuffling; 0 or absent = keep the input order. */
  shuffleBuffer?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Drop a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Column pairs to copy rows between two batches of the same layout. */
interface CopyPlan {
  i32: Array<[Int32Array, Int32Array]>;
  f32: Array<[Float32Array, Float32Array]>;
  pad: Array<[PaddedIds, PaddedIds]>;
}

function plan(src: Batch, dst: Batch): CopyPlan {
  const p: CopyPlan = { i32: [], f32: [], pad: [] };
  for (const k in dst.sparse) p.i32.push([need(src.sparse[k], k), dst.sparse[k]!]);
  for (const k in dst.dense) p.f32.push([need(src.dense[k], k), dst.dense[k]!]);
  for (const k in dst.labels) p.f32.push([need(src.labels[k], k), dst.labels[k]!]);
  for (const k in dst.varlen) p.pad.push([need(src.varlen[k], k), dst.varlen[k]!]);
  if (dst.weight) p.f32.push([need(src.weight, 'weight'), dst.weight]);
  if (dst.group) p.i32.push([need(src.group, 'group'), dst.group]);
  return p;
}

function need<T>(x: T | undefined, k: string): T {
  if (x === undefined) throw new Error(`rebatch: input batches differ in layout (no "${k}")`);
  return x;
}

function copyRows(p: CopyPlan, from: number, to: number, n: number): void {
  for (const [s, d] of p.i32) d.set(s.subarray(from, from + n), to);
  for (const [s, d] of p.f32) d.set(s.subarray(from, from + n), to);
  for (const [s, d] of p.pad) {
    const ml = s.maxLen;
    d.ids.set(s.ids.subarray(from * ml, (from + n) * ml), to * ml);
    d.lengths.set(s.lengths.subarray(from, from + n), to);
  }
}

function copyRow(p: CopyPlan, from: number, to: number): void {
  const i32 = p.i32,
    f32 = p.f32,
    pad = p.pad;
  for (let k = 0; k < i32.length; k++) {
    const c = i32[k]!;
    c[1][to] = c[0][from]!;
  }
  for (let k = 0; k < f32.length; k++) {
    const c = f32[k]!;
    c[1][to] = c[0][from]!;
  }
  for (let k = 0; k < pad.length; k++) {
    const [s, d] = pad[k]!;
    const ml = s.maxLen;
    d.ids.set(s.ids.subarray(from * ml, from * ml + ml), to * ml);
    d.lengths[to] = s.lengths[from]!;
  }
}

/** An empty batch with the layout of `t` and room for `n` rows. */
export function allocBatch(t: Batch, n: number): Batch {
  const b: Batch = { size: n, sparse: {}, dense: {}, varlen: {}, labels: {} };
  for (const k in t.sparse) b.sparse[k] = new Int32Array(n);
  for (const k in t.dense) b.dense[k] = new Float32Array(n);
  for (const k in t.labels) b.labels[k] = new Float32Array(n);
  for (const k in t.varlen) {
    const ml = t.varlen[k]!.maxLen;
    b.varlen[k] = { ids: new Int32Array(n * ml), lengths: new Int32Array(n), maxLen: ml };
  }
  if (t.weight) b.weight = new Float32Array(n);
  if (t.group) b.group = new Int32Array(n);
  return b;
}

/** Rows [0, n) of `b` as a new batch (copies). */
export function sliceBatch(b: Batch, start: number, n: number): Batch {
  const out = allocBatch(b, n);
  copyRows(plan(b, out), start, 0, n);
  return out;
}

/** Concatenates batches of the same layout. */
export function concatBatches(bs: readonly Batch[]): Batch {
  if (bs.length === 0) throw new Error('concatBatches: no batches');
  const total = bs.reduce((s, b) => s + b.size, 0);
  const out = allocBatch(bs[0]!, total);
  let at = 0;
  for (const b of bs) {
    copyRows(plan(b, out), 0, at, b.size);
    at += b.size;
  }
  return out;
}

/** Re-cuts encoded batches into batches of `batchSize` rows, optionally shuffled (see module comment). */
export async function* rebatch(input: AsyncIterable<Batch> | Iterable<Batch>, opts: BatchOptions): AsyncGenerator<Batch> {
  const bs = opts.batchSize;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`rebatch: batchSize must be a positive integer, got ${bs}`);
  const cap = Math.max(0, Math.floor(opts.shuffleBuffer ?? 0));
  const rng = Rng.derive(opts.seed ?? 0, 'shuffle');
  let out: Batch | null = null;
  let fill = 0;
  let store: Batch | null = null;
  let stored = 0;
  for await (const b of input) {
    if (b.size === 0) continue;
    if (cap === 0) {
      if (fill === 0 && b.size === bs) {
        yield b;
        continue;
      }
      out ??= allocBatch(b, bs);
      const p = plan(b, out);
      let off = 0;
      while (off < b.size) {
        const k = Math.min(bs - fill, b.size - off);
        copyRows(p, off, fill, k);
        fill += k;
        off += k;
        if (fill === bs) {
          yield out;
          out = allocBatch(b, bs);
          fill = 0;
          if (off < b.size) {
            copyPlanTarget(p, out);
          }
        }
      }
      continue;
    }
    store ??= allocBatch(b, cap);
    out ??= allocBatch(b, bs);
    const toStore = plan(b, store);
    let toOut = plan(store, out);
    let r = 0;
    if (stored < cap) {
      const k = Math.min(cap - stored, b.size);
      copyRows(toStore, 0, stored, k);
      stored += k;
      r = k;
    }
    for (; r < b.size; r++) {
      const j = rng.int(cap);
      copyRow(toOut, j, fill++);
      copyRow(toStore, r, j);
      if (fill === bs) {
        yield out;
        out = allocBatch(b, bs);
        toOut = plan(store, out);
        fill = 0;
      }
    }
  }
  if (store !== null && out !== null && stored > 0) {
    const order = new Int32Array(stored);
    for (let i = 0; i < stored; i++) order[i] = i;
    rng.shuffle(order);
    let toOut = plan(store, out);
    for (let i = 0; i < stored; i++) {
      copyRow(toOut, order[i]!, fill++);
      if (fill === bs) {
        yield out;
        out = allocBatch(store, bs);
        toOut = plan(store, out);
        fill = 0;
      }
    }
  }
  if (out !== null && fill > 0 && !opts.dropLast) yield sliceBatch(out, 0, fill);
}

/** Re-targets a copy plan at a fresh output batch (same layout). */
function copyPlanTarget(p: CopyPlan, out: Batch): void {
  let a = 0,
    f = 0,
    v = 0;
  for (const k in out.sparse) p.i32[a++]![1] = out.sparse[k]!;
  for (const k in out.dense) p.f32[f++]![1] = out.dense[k]!;
  for (const k in out.labels) p.f32[f++]![1] = out.labels[k]!;
  for (const k in out.varlen) p.pad[v++]![1] = out.varlen[k]!;
  if (out.weight) p.f32[f++]![1] = out.weight;
  if (out.group) p.i32[a++]![1] = out.group;
}

/** Encodes raw chunks with a feature map and re-cuts them into batches. */
export async function* batches(
  chunks: AsyncIterable<RawChunk> | Iterable<RawChunk>,
  fmap: FeatureMap,
  opts: BatchOptions & TransformOptions,
): AsyncGenerator<Batch> {
  async function* encoded(): AsyncGenerator<Batch> {
    for await (const c of chunks) yield fmap.transform(c, opts);
  }
  yield* rebatch(encoded(), opts);
}
