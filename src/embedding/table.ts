/**
 * Embedding tables with row-sparse gradients (DESIGN.md §3, "Embeddings are not dense
 * tensors"). A table holds its values as one row-major [rows, dim] Float32Array; a batch
 * touches a few thousand of its rows, so its gradient is kept as (unique ids, rows) and is
 * never a table-sized array. Lookups (src/embedding/lookup.ts) add row gradients here during
 * backward; duplicates are merged on arrival (an open-addressing hash from id to gradient
 * slot, `AccumulatorArrays` in ./kernels.ts; the merge loop is an embedding kernel, native or
 * TypeScript); optimizers (src/embedding/sparse-optim.ts) read `sparseGrad()` and update
 * only those rows.
 */
import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { EmbeddingLike } from '../nn/module.js';
import type { PaddedIds } from '../features/batch.js';
import { fillNormal, fillUniform, fillXavierNormal } from '../nn/init.js';
import { embeddingKernels, type AccumulatorArrays, type RowMode } from './kernels.js';
import { adviseHugePages } from './huge-pages.js';

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

export { TOUCH_CHUNK, touchRows } from './kernels-ts.js';

const EMPTY = -1;

/** Whether tables built now skip their initial values (`withoutInitialValues`); per thread (module instance). */
let skipInitialValues = false;

/**
 * Runs `build` with every `EmbeddingTable` it constructs left at zeros, without drawing from
 * its generator: for a model whose tables are replaced right after (the worker threads of
 * data-parallel training adopt the training thread's shared tables, src/train/parallel/), so
 * that it neither spends time on values it throws away nor maps their pages (7.1M rows × 16:
 * ~5 s and ~450 MB). The model's other parameters are initialised as usual.
 */
export function withoutInitialValues<T>(build: () => T): T {
  const prev = skipInitialValues;
  skipInitialValues = true;
  try {
    return build();
  } finally {
    skipInitialValues = prev;
  }
}
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
  // The accumulator (layout in AccumulatorArrays); grown here, filled by the kernels.
  private readonly acc: AccumulatorArrays;
  private touched = false;
  private cached: SparseRowGrad | null = null;

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
    this.acc = {
      keys: new Int32Array(1 << INITIAL_HASH_BITS).fill(EMPTY),
      slots: new Int32Array(1 << INITIAL_HASH_BITS),
      entryIds: new Int32Array(INITIAL_ENTRIES),
      entryHash: new Int32Array(INITIAL_ENTRIES),
      entryValues: new Float32Array(INITIAL_ENTRIES * dim),
      state: new Int32Array(2),
    };
    this.anchor = new Tensor(new Float32Array(0), [0], opts.trainable ?? true);
    this.anchor.name = name;

    const init = opts.init ?? 'normal';
    const std = opts.std ?? 1e-4;
    if (init !== 'zeros' && !skipInitialValues) {
      // Written in full right below: large tables ask for huge pages first (fewer TLB misses per lookup).
      adviseHugePages(this.weight);
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
      throw new Error(
        `embedding table '${this.name}': accumulateGrad of ${count} rows needs ${count} ids and ${count * this.dim} values, got ${ids.length} and ${grad.length}`,
      );
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
    ids: Int32Array,
    idsOffset: number,
    count: number,
    grad: Float32Array,
    gradOffset: number,
    gradStride: number,
    scale: number,
  ): void {
    this.merge(ids, idsOffset, count, grad, gradOffset, gradStride, scale, null, 0, 0);
  }

  /**
   * Gradient of a padded multi-value field (ids [B, maxLen], lengths [B]): only positions
   * j < lengths[b] count, in order. rows 'position': the row of position p = b·maxLen + j is
   * grad[gradOffset + p·gradStride …] (sequences); 'sum': every position of b gets row
   * grad[gradOffset + b·gradStride …]; 'mean': that row scaled by 1/lengths[b] (pooling).
   * Padding ids are skipped; out-of-range ids throw.
   */
  accumulateGradPadded(padded: PaddedIds, grad: Float32Array, gradOffset: number, gradStride: number, rows: 'position' | 'sum' | 'mean'): void {
    const mode: RowMode = rows === 'position' ? 0 : rows === 'sum' ? 1 : rows === 'mean' ? 2 : this.badRows(rows);
    const B = padded.lengths.length,
      L = padded.maxLen;
    if (!Number.isInteger(L) || L < 0 || padded.ids.length !== B * L) {
      throw new Error(`embedding table '${this.name}': padded ids must hold lengths.length × maxLen = ${B} × ${L} values, got ${padded.ids.length}`);
    }
    for (let b = 0; b < B; b++) {
      const len = padded.lengths[b]!;
      if (len < 0 || len > L) throw new Error(`embedding table '${this.name}': lengths[${b}] = ${len} is outside [0, ${L}]`);
    }
    this.merge(padded.ids, 0, padded.lengths.length * padded.maxLen, grad, gradOffset, gradStride, 1, padded.lengths, padded.maxLen, mode);
  }

  private badRows(rows: never): never {
    throw new Error(`embedding table '${this.name}': accumulateGradPadded rows must be 'position', 'sum' or 'mean', got '${String(rows)}'`);
  }

  /** Runs the accumulate kernel, growing the entries / hash when it asks, until done. */
  private merge(
    ids: Int32Array,
    idsOffset: number,
    count: number,
    grad: Float32Array,
    gradOffset: number,
    gradStride: number,
    scale: number,
    lengths: Int32Array | null,
    maxLen: number,
    rowMode: RowMode,
  ): void {
    this.touched = true;
    this.cached = null;
    const k = embeddingKernels(),
      acc = this.acc,
      st = acc.state;
    let p = 0;
    for (;;) {
      p = k.accumulate(acc, this.rows, this.pad, this.dim, ids, idsOffset, p, count, grad, gradOffset, gradStride, scale, lengths, maxLen, rowMode);
      const reason = st[1]!;
      if (reason === 0) return;
      if (reason === 2) this.rangeError(ids[idsOffset + p]!);
      if (reason === 3) throw new Error(`embedding table '${this.name}': gradient accumulator corrupted (hash entry beyond the entry count)`);
      const full = st[0] === acc.entryIds.length,
        crowded = st[0]! * 2 > acc.keys.length;
      if (!full && !crowded) throw new Error(`embedding table '${this.name}': accumulate kernel stopped at ${p} without cause (internal error)`);
      if (full) this.growEntries();
      if (crowded) this.rehash();
    }
  }

  private growEntries(): void {
    const acc = this.acc,
      cap = acc.entryIds.length * 2;
    const ids = new Int32Array(cap);
    ids.set(acc.entryIds);
    acc.entryIds = ids;
    const hs = new Int32Array(cap);
    hs.set(acc.entryHash);
    acc.entryHash = hs;
    const vals = new Float32Array(cap * this.dim);
    vals.set(acc.entryValues);
    acc.entryValues = vals;
  }

  /** Doubles the hash and reinserts the entries in order (the kernels' hash function). */
  private rehash(): void {
    const acc = this.acc,
      count = acc.state[0]!;
    const size = acc.keys.length * 2,
      mask = size - 1,
      shift = 32 - Math.log2(size);
    const keys = new Int32Array(size).fill(EMPTY);
    const slots = new Int32Array(size);
    for (let e = 0; e < count; e++) {
      const id = acc.entryIds[e]!;
      let h = Math.imul(id, 0x9e3779b1) >>> shift;
      while (keys[h] !== EMPTY) h = (h + 1) & mask;
      keys[h] = id;
      slots[h] = e;
      acc.entryHash[e] = h;
    }
    acc.keys = keys;
    acc.slots = slots;
  }

  /**
   * The gradient as (unique ids in first-arrival order, summed rows). The arrays are views of
   * the live accumulator: clipping and batch L2 modify them in place; they stay valid until
   * the next accumulate or `zeroGrad`. The same object is returned until then.
   */
  sparseGrad(): SparseRowGrad {
    if (this.cached === null) {
      const count = this.acc.state[0]!;
      this.cached = {
        ids: this.acc.entryIds.subarray(0, count),
        values: this.acc.entryValues.subarray(0, count * this.dim),
      };
    }
    return this.cached;
  }

  /** Number of unique rows with a gradient. */
  get gradRowCount(): number {
    return this.acc.state[0]!;
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
    const acc = this.acc,
      keys = acc.keys,
      hs = acc.entryHash,
      count = acc.state[0]!;
    for (let e = 0; e < count; e++) keys[hs[e]!] = EMPTY;
    acc.state[0] = 0;
    this.touched = false;
    this.cached = null;
    this.denseDecay = 0;
  }
}
