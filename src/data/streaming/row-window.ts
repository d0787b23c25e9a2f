/**
 * A shuffle window stored row-major: each row's values of every column side by side, as
 * 4-byte words (Int32 ids as they are, Float32 numbers as their bits), so that gathering a
 * shuffled batch reads a few adjacent cache lines per row instead of one line per column.
 *
 * Why: a window of Criteo-shaped rows is 40 columns of up to 4 MB each; gathering a batch
 * of random rows column by column (`gatherBatch`) misses the cache once per value, and that
 * gather was the largest part of a cache pass's CPU (docs/streaming.md). Rows are copied in
 * (a transpose of each encoded chunk) once and gathered out as ordinary column batches, bit
 * for bit the values `gatherBatch` returns from the same rows (tested).
 */
import type { Batch } from '../../features/batch.js';

type Group = 'sparse' | 'dense' | 'labels' | 'varlenIds' | 'varlenLengths' | 'weight' | 'group';

/** One column's place in a row: `width` words from word `offset`. */
interface Slot {
  group: Group;
  name: string;
  width: number;
  offset: number;
}

/** The columns of a batch in row order (the layout of the first chunk; later ones must match). */
function slotsOf(b: Batch): { slots: Slot[]; words: number } {
  const slots: Slot[] = [];
  let offset = 0;
  const add = (group: Group, name: string, width: number) => {
    slots.push({ group, name, width, offset });
    offset += width;
  };
  for (const k in b.sparse) add('sparse', k, 1);
  for (const k in b.dense) add('dense', k, 1);
  for (const k in b.labels) add('labels', k, 1);
  for (const k in b.varlen) {
    add('varlenIds', k, b.varlen[k]!.maxLen);
    add('varlenLengths', k, 1);
  }
  if (b.weight) add('weight', 'weight', 1);
  if (b.group) add('group', 'group', 1);
  return { slots, words: offset };
}

/** The column of `b` a slot reads, as Int32 words (a view, no copy). */
function columnWords(b: Batch, s: Slot): Int32Array {
  let a: Int32Array | Float32Array | undefined;
  switch (s.group) {
    case 'sparse':
      a = b.sparse[s.name];
      break;
    case 'dense':
      a = b.dense[s.name];
      break;
    case 'labels':
      a = b.labels[s.name];
      break;
    case 'varlenIds':
      a = b.varlen[s.name]?.ids;
      break;
    case 'varlenLengths':
      a = b.varlen[s.name]?.lengths;
      break;
    case 'weight':
      a = b.weight;
      break;
    case 'group':
      a = b.group;
      break;
  }
  if (a === undefined) throw new Error(`streaming: encoded chunks differ in layout (no "${s.name}")`);
  return a instanceof Int32Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length);
}

/** A growable row-major window (module comment). */
export class RowWindow {
  /** Rows held. */
  fill = 0;
  private data: Int32Array;
  private readonly slots: Slot[];
  private readonly words: number;
  private readonly maxRows: number;

  /** A window for chunks laid out like `like`, of at most `maxRows` rows, starting with room for `initialRows`. */
  constructor(like: Batch, maxRows: number, initialRows: number) {
    const { slots, words } = slotsOf(like);
    this.slots = slots;
    this.words = Math.max(1, words);
    this.maxRows = maxRows;
    this.data = new Int32Array(Math.min(maxRows, Math.max(1, initialRows)) * this.words);
  }

  /** Appends rows [from, to) of `chunk` (same layout). */
  append(chunk: Batch, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const need = (this.fill + n) * this.words;
    if (need > this.data.length) {
      const rows = Math.min(this.maxRows, Math.max(this.fill + n, 2 * (this.data.length / this.words)));
      const grown = new Int32Array(rows * this.words);
      grown.set(this.data.subarray(0, this.fill * this.words));
      this.data = grown;
    }
    const d = this.data,
      W = this.words;
    for (const s of this.slots) {
      const src = columnWords(chunk, s);
      const w = s.width;
      let at = this.fill * W + s.offset;
      if (w === 1) {
        for (let r = from; r < to; r++, at += W) d[at] = src[r]!;
      } else {
        for (let r = from; r < to; r++, at += W) for (let t = 0, j = r * w; t < w; t++) d[at + t] = src[j + t]!;
      }
    }
    this.fill += n;
  }

  /** The rows at `rows` (indices into this window) as a column batch. */
  gather(rows: Int32Array): Batch {
    const m = rows.length;
    const d = this.data,
      W = this.words;
    const out: Batch = { size: m, sparse: {}, dense: {}, varlen: {}, labels: {} };
    const scalars: Int32Array[] = [];
    const scalarOffsets: number[] = [];
    const cols = new Map<Slot, Int32Array>();
    for (const s of this.slots) {
      const col = new Int32Array(m * s.width);
      cols.set(s, col);
      if (s.width === 1) {
        scalars.push(col);
        scalarOffsets.push(s.offset);
      } else {
        for (let i = 0; i < m; i++) {
          const base = rows[i]! * W + s.offset,
            o = i * s.width;
          for (let t = 0; t < s.width; t++) col[o + t] = d[base + t]!;
        }
      }
    }
    const ns = scalars.length;
    for (let i = 0; i < m; i++) {
      const base = rows[i]! * W;
      for (let c = 0; c < ns; c++) scalars[c]![i] = d[base + scalarOffsets[c]!]!;
    }
    const f32 = (a: Int32Array) => new Float32Array(a.buffer, a.byteOffset, a.length);
    const lengths = new Map<string, Int32Array>();
    for (const s of this.slots) if (s.group === 'varlenLengths') lengths.set(s.name, cols.get(s)!);
    for (const s of this.slots) {
      const col = cols.get(s)!;
      switch (s.group) {
        case 'sparse':
          out.sparse[s.name] = col;
          break;
        case 'dense':
          out.dense[s.name] = f32(col);
          break;
        case 'labels':
          out.labels[s.name] = f32(col);
          break;
        case 'varlenIds':
          out.varlen[s.name] = { ids: col, lengths: lengths.get(s.name)!, maxLen: s.width };
          break;
        case 'varlenLengths':
          break;
        case 'weight':
          out.weight = f32(col);
          break;
        case 'group':
          out.group = col;
          break;
      }
    }
    return out;
  }
}
