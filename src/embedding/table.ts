/**
 * Embedding tables with row-sparse gradients (DESIGN.md §3, "Embeddings are not dense
 * tensors"). A table holds its values as one row-major [rows, dim] Float32Array; a batch
 * touches a few thousand of its rows, so its gradient is kept as (unique ids, rows) and is
 * never a table-sized array. Lookups (src/embedding/lookup.ts) add row gradients here during
 * backward; duplicates are merged on arrival (an open-addressing hash from id to gradient
 * slot); optimizers (src/embedding/sparse-optim.ts) read `sparseGrad()` and update only
 * those rows.
 */
import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { EmbeddingLike } from '../nn/module.js';
import { fillNormal, fillUniform, fillXavierNormal } from '../nn/init.js';

/** Initial distribution of a table's values. */
export type EmbeddingInit = 'normal' | 'uniform' | 'xavier' | 'zeros';

/** Options of `EmbeddingTable`. */
export interface EmbeddingTableOptions {
  /**
   * 'normal': N(0, std²) (default; the published-benchmark protocol). 'uniform': U[−a, a]
   * with a = std·√3, so that its standard deviation is also `std`. 'xavier': Xavier/Glorot
   * normal with fans (rows, dim). 'zeros': all zeros.
   */
  init?: EmbeddingInit;
  /** Standard deviation of 'normal' and 'uniform' (default 1e-4, DESIGN.md §5). */
  std?: number;
  /** Source of randomness; required for every init except 'zeros'. */
  rng?: Rng;
  /**
   * The padding row (default 0, the id convention of src/data/batch.ts): all zeros, never
   * receives a gradient, never updated. null: no padding row.
   */
  paddingIdx?: number | null;
  /** Whether lookups record gradients for this table (default true). */
  trainable?: boolean;
}

/** A row-sparse gradient: unique ids and their summed gradient rows, [ids.length, dim]. */
export interface SparseRowGrad {
  ids: Int32Array;
  values: Float32Array;
}

/** Rows per chunk of the touch-then-work loops (see `touchRows`). */
export const TOUCH_CHUNK = 64;
const sink = new Float64Array(1);

/**
 * Reads one float per cache line of rows ids[from … to) of a row-major [·, dim] array, so
 * that a following per-row loop finds them in cache. Random rows of a large table are
 * memory-latency bound, and a per-row JS loop body is long enough that the CPU keeps only
 * two or three rows' misses in flight; this tight loop keeps many in flight (measured 8×
 * faster gathers from a 1M-row table). Ids must already be in range.
 */
export function touchRows(a: Float32Array, dim: number, ids: Int32Array, from: number, to: number): void {
  let acc = 0;
  if (dim <= 16) {
    for (let i = from; i < to; i++) {
      const s = ids[i]! * dim;
      acc += a[s]! + a[s + dim - 1]!;
    }
  } else {
    for (let i = from; i < to; i++) {
      const s = ids[i]! * dim;
      for (let d = 0; d < dim; d += 16) acc += a[s + d]!;
      acc += a[s + dim - 1]!;
    }
  }
  sink[0]! += acc; // keeps the loads alive
}

const EMPTY = -1;
const INITIAL_HASH_BITS = 10;
const INITIAL_ENTRIES = 256;

/**
 * An embedding table: `weight` [rows, dim], optional padding row, and a row-sparse gradient
 * accumulator. Besides the row gradients it carries `denseDecay`, the coefficient c of a
 * dense gradient term c·W on every row (set by whole-table L2, src/train/regularization.ts,
 * scaled by gradient clipping, consumed by `TableAdam`); it is 0 unless that mode is used.
 */
export class EmbeddingTable implements EmbeddingLike {
  /** Name used in error messages and optimizer state dicts. */
  readonly name: string;
  /** Number of rows (vocabulary size including padding and OOV rows). */
  readonly rows: number;
  /** Embedding dimension. */
  readonly dim: number;
  /** Row-major [rows, dim] values. */
  readonly weight: Float32Array;
  /** The padding row's id, or null when the table has none. */
  readonly paddingIdx: number | null;
  /**
   * A size-0 leaf tensor standing for the table in the autograd graph: lookup ops list it
   * as a parent, so their result requires a gradient exactly when the table is trainable
   * (and grad mode is on). Its own `grad` stays null; gradients go to `accumulateGrad`.
   */
  readonly anchor: Tensor;
  /** Coefficient c of an extra dense gradient term c·W on every row (whole-table L2). */
  denseDecay = 0;

  /** Padding id, or −1 when none (ids are range-checked before this comparison). */
  private readonly pad: number;
  // Open-addressing hash: id -> entry index. keys[h] is the id stored at slot h (EMPTY if none).
  private hashBits = INITIAL_HASH_BITS;
  private keys = new Int32Array(1 << INITIAL_HASH_BITS).fill(EMPTY);
  private slots = new Int32Array(1 << INITIAL_HASH_BITS);
  // Entries in first-arrival order: ids, gradient rows, and the hash slot of each.
  private entryIds = new Int32Array(INITIAL_ENTRIES);
  private entryHash = new Int32Array(INITIAL_ENTRIES);
  private entryValues: Float32Array;
  private count = 0;
  private touched = false;
  private cached: SparseRowGrad | null = null;
  private readonly chunkEntries = new Int32Array(TOUCH_CHUNK);

  constructor(name: string, rows: number, dim: number, opts: EmbeddingTableOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new Error('embedding table name must be a non-empty string');
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`embedding table '${name}': rows must be a positive integer, got ${rows}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`embedding table '${name}': dim must be a positive integer, got ${dim}`);
    if (rows > 0x7fffffff) throw new Error(`embedding table '${name}': ${rows} rows exceed the int32 id range`);
    this.name = name;
    this.rows = rows;
    this.dim = dim;
    const pad = opts.paddingIdx === undefined ? 0 : opts.paddingIdx;
    if (pad !== null && (!Number.isInteger(pad) || pad < 0 || pad >= rows)) {
      throw new Error(`embedding table '${name}': paddingIdx ${pad} is outside [0, ${rows})`);
    }
    this.paddingIdx = pad;
    this.pad = pad === null ? -1 : pad;
    this.weight = new Float32Array(rows * dim);
    this.entryValues = new Float32Array(INITIAL_ENTRIES * dim);
    this.anchor = new Tensor(new Float32Array(0), [0], opts.trainable ?? true);
    this.anchor.name = name;

    const init = opts.init ?? 'normal';
    const std = opts.std ?? 1e-4;
    if (init !== 'zeros') {
      if (opts.rng === undefined) throw new Error(`embedding table '${name}': init '${init}' needs an rng (one seed controls all randomness)`);
      if (init === 'normal') fillNormal(this.weight, std, opts.rng);
      else if (init === 'uniform') fillUniform(this.weight, -std * Math.sqrt(3), std * Math.sqrt(3), opts.rng);
      else if (init === 'xavier') fillXavierNormal(this.weight, rows, dim, opts.rng);
      else throw new Error(`embedding table '${name}': unknown init '${String(init)}' (expected normal, uniform, xavier or zeros)`);
    } // 'zeros': a new Float32Array is already zero (and its pages stay unmapped until used)
    if (pad !== null) this.weight.fill(0, pad * dim, (pad + 1) * dim);
  }

  /** Whether lookups record gradients for this table. */
  get trainable(): boolean {
    return this.anchor.requiresGrad;
  }

  set trainable(on: boolean) {
    this.anchor.requiresGrad = on;
  }

  /** Throws the standard out-of-range error for `id`. */
  rangeError(id: number): never {
    throw new Error(`embedding table '${this.name}': id ${id} is out of range (the table has ${this.rows} rows, valid ids 0..${this.rows - 1})`);
  }

  /**
   * Adds `count` gradient rows (row i = grad[i·dim … i·dim + dim − 1]) for `ids[0..count)`.
   * Repeated ids are summed; padding ids are skipped.
   */
  accumulateGrad(ids: Int32Array, grad: Float32Array, count: number): void {
    if (count > ids.length || count * this.dim > grad.length) {
      throw new Error(`embedding table '${this.name}': accumulateGrad of ${count} rows needs ${count} ids and ${count * this.dim} values, got ${ids.length} and ${grad.length}`);
    }
    this.accumulateGradStrided(ids, 0, count, grad, 0, this.dim, 1);
  }

  /**
   * General form of `accumulateGrad`: for i in [0, count), adds scale·grad[gradOffset +
   * i·gradStride + d] (d < dim) to the gradient of row ids[idsOffset + i]. A stride of 0
   * adds the same row to every id (sum/mean pooling); a stride above dim reads one field of
   * an interleaved [B, F, dim] gradient. Padding ids are skipped; out-of-range ids throw.
   */
  accumulateGradStrided(
    ids: Int32Array, idsOffset: number, count: number,
    grad: Float32Array, gradOffset: number, gradStride: number, scale: number,
  ): void {
    this.touched = true;
    this.cached = null;
    const dim = this.dim, dim4 = dim & ~3, ent = this.chunkEntries;
    // Two passes per chunk: resolve ids to gradient slots (hash probes), then add the rows.
    // Short loop bodies let the CPU overlap the cache misses of many rows.
    for (let c = 0; c < count; c += TOUCH_CHUNK) {
      const n = Math.min(count - c, TOUCH_CHUNK);
      this.resolveEntries(ids, idsOffset + c, n, ent);
      const values = this.entryValues;
      let src = gradOffset + c * gradStride;
      for (let j = 0; j < n; j++, src += gradStride) {
        const e = ent[j]!;
        if (e < 0) continue;
        const dst = e * dim;
        if (scale === 1) {
          let d = 0;
          for (; d < dim4; d += 4) {
            values[dst + d]! += grad[src + d]!;
            values[dst + d + 1]! += grad[src + d + 1]!;
            values[dst + d + 2]! += grad[src + d + 2]!;
            values[dst + d + 3]! += grad[src + d + 3]!;
          }
          for (; d < dim; d++) values[dst + d]! += grad[src + d]!;
        } else {
          for (let d = 0; d < dim; d++) values[dst + d]! += scale * grad[src + d]!;
        }
      }
    }
  }

  /**
   * ent[j] = gradient slot of ids[from + j] for j < n (−1 for padding), inserting new ids
   * with a zeroed row. Throws on out-of-range ids.
   */
  private resolveEntries(ids: Int32Array, from: number, n: number, ent: Int32Array): void {
    const rows = this.rows, pad = this.pad, dim = this.dim;
    let keys = this.keys, slots = this.slots;
    let shift = 32 - this.hashBits, mask = (1 << this.hashBits) - 1;
    for (let j = 0; j < n; j++) {
      const id = ids[from + j]!;
      if (id >>> 0 >= rows) this.rangeError(id);
      if (id === pad) { ent[j] = -1; continue; }
      let h = Math.imul(id, 0x9e3779b1) >>> shift;
      let k = keys[h]!;
      while (k !== id && k !== EMPTY) {
        h = (h + 1) & mask;
        k = keys[h]!;
      }
      if (k === id) { ent[j] = slots[h]!; continue; }
      // New entry.
      const e = this.count;
      if (e === this.entryIds.length) this.growEntries();
      keys[h] = id;
      slots[h] = e;
      this.entryIds[e] = id;
      this.entryHash[e] = h;
      this.count = e + 1;
      this.entryValues.fill(0, e * dim, e * dim + dim);
      ent[j] = e;
      if (this.count * 2 > keys.length) {
        this.rehash();
        keys = this.keys; slots = this.slots;
        shift = 32 - this.hashBits; mask = (1 << this.hashBits) - 1;
      }
    }
  }

  private growEntries(): void {
    const cap = this.entryIds.length * 2;
    const ids = new Int32Array(cap); ids.set(this.entryIds); this.entryIds = ids;
    const hs = new Int32Array(cap); hs.set(this.entryHash); this.entryHash = hs;
    const vals = new Float32Array(cap * this.dim); vals.set(this.entryValues); this.entryValues = vals;
  }

  private rehash(): void {
    this.hashBits += 1;
    const size = 1 << this.hashBits, mask = size - 1, shift = 32 - this.hashBits;
    const keys = new Int32Array(size).fill(EMPTY);
    const slots = new Int32Array(size);
    for (let e = 0; e < this.count; e++) {
      const id = this.entryIds[e]!;
      let h = Math.imul(id, 0x9e3779b1) >>> shift;
      while (keys[h] !== EMPTY) h = (h + 1) & mask;
      keys[h] = id;
      slots[h] = e;
      this.entryHash[e] = h;
    }
    this.keys = keys;
    this.slots = slots;
  }

  /**
   * The gradient as (unique ids in first-arrival order, summed rows). The arrays are views of
   * the live accumulator: clipping and batch L2 modify them in place; they stay valid until
   * the next accumulate or `zeroGrad`. The same object is returned until then.
   */
  sparseGrad(): SparseRowGrad {
    if (this.cached === null) {
      this.cached = {
        ids: this.entryIds.subarray(0, this.count),
        values: this.entryValues.subarray(0, this.count * this.dim),
      };
    }
    return this.cached;
  }

  /** Number of unique rows with a gradient. */
  get gradRowCount(): number {
    return this.count;
  }

  /**
   * Whether the table has a gradient since the last `zeroGrad`: a backward reached one of its
   * lookups (even if every id was padding), or a dense term (`denseDecay`) was added. Like
   * torch's `p.grad is not None`: optimizers skip tables without one.
   */
  hasGrad(): boolean {
    return this.touched || this.denseDecay !== 0;
  }

  /** Clears the gradient in O(unique rows): no table-sized work. */
  zeroGrad(): void {
    const keys = this.keys, hs = this.entryHash;
    for (let e = 0; e < this.count; e++) keys[hs[e]!] = EMPTY;
    this.count = 0;
    this.touched = false;
    this.cached = null;
    this.denseDecay = 0;
  }
}
