/**
 * The embedding kernels: the loops of the embedding hot path (gathers, the row-sparse
 * gradient merge, row-wise optimizer updates) behind one interface with two backends — the
 * native addon (native/embedding.cc) and TypeScript twins (./kernels-ts.ts) that give
 * bit-identical results. The backend follows the engine's: FINERANK_BACKEND=typescript
 * (engine kernels named 'typescript') selects the twins; otherwise the addon's functions are
 * used when the addon loaded and has them. Kernels write only into arrays the caller
 * allocated; gathers return −1, or the index (into ids) of the first id outside the table,
 * for the caller to report with the table's name.
 */
import { kernels, type Kernels } from '../engine/kernels/index.js';
import { loadNativeAddon } from '../engine/kernels/native.js';
import { typescriptEmbeddingKernels } from './kernels-ts.js';

/** Pooling mode of `pool`: 0 sum, 1 mean (over the true length), 2 element-wise max. */
export type PoolMode = 0 | 1 | 2;

/**
 * Where the gradient row of position p = b·maxLen + j of a padded accumulate comes from:
 * 0 its own row (p), 1 row b (sum pooling), 2 row b scaled by 1/lengths[b] (mean pooling).
 */
export type RowMode = 0 | 1 | 2;

/**
 * The arrays of a row-sparse gradient accumulator (owned by `EmbeddingTable`): an
 * open-addressing hash (linear probing, hash h = (id·0x9e3779b1 mod 2³²) >>> (32 − log₂ size))
 * keys[h] = id (−1 empty) → slots[h] = entry; entries in first-arrival order with
 * entryIds[e], entryHash[e] (its hash slot) and entryValues[e·dim …] (the summed row);
 * state = [entry count, stop reason of the last `accumulate`].
 */
export interface AccumulatorArrays {
  keys: Int32Array;
  slots: Int32Array;
  entryIds: Int32Array;
  entryHash: Int32Array;
  entryValues: Float32Array;
  state: Int32Array;
}

/** The embedding kernel set (see the file comment). */
export interface EmbeddingKernels {
  /** 'native' (addon) or 'typescript'. */
  readonly name: 'native' | 'typescript';
  /**
   * out[b·F·dim + f·dim + d] = weights[f][ids[f][b]·dim + d] for a [B, F, dim] out (B =
   * ids[0].length). Returns −1, or f·B + b of the first out-of-range id. With `outStride`
   * (≥ F·dim) sample b's rows start at out[b·outStride] instead: the fields fill the first
   * F·dim values of each row of a wider array (an MLP's input rows, `embedFieldsConcat`).
   */
  gatherFields(weights: readonly Float32Array[], ids: readonly Int32Array[], dim: number, out: Float32Array, outStride?: number): number;
  /** out[outOffset + i·outStride + d] = w[ids[idsOffset + i]·dim + d], i < count. Returns −1 or the bad index into ids. */
  gatherRows(
    w: Float32Array,
    dim: number,
    ids: Int32Array,
    idsOffset: number,
    count: number,
    out: Float32Array,
    outOffset: number,
    outStride: number,
  ): number;
  /** Sequence gather: out[(b·maxLen + j)·dim …] = row ids[b·maxLen + j] for j < lengths[b] (other rows untouched). */
  gatherPadded(w: Float32Array, dim: number, ids: Int32Array, lengths: Int32Array, maxLen: number, out: Float32Array): number;
  /**
   * Pooling over j < lengths[b] into a zeroed out [B, dim]: sum, mean (sum × (1/len)) or max
   * (first maximal position per coordinate written to arg [B, dim], zeroed; null otherwise).
   */
  pool(
    w: Float32Array,
    dim: number,
    ids: Int32Array,
    lengths: Int32Array,
    maxLen: number,
    mode: PoolMode,
    out: Float32Array,
    arg: Int32Array | null,
  ): number;
  /**
   * Merges gradient rows into `acc` from position `start` to `count`, skipping the padding id
   * `pad` (−1: none): without lengths, position p has id ids[idsOffset + p] and row
   * scale·grad[gradOffset + p·gradStride …]; with lengths (count = lengths.length·maxLen),
   * positions j ≥ lengths[b] are skipped and rows follow `rowMode`. New ids get a zeroed entry;
   * a repeated id's rows are summed in arrival order. Returns the position reached; it stops
   * early with acc.state[1] = 1 when the entries are full (before inserting) or the hash is
   * over half full (after inserting) — the caller grows and calls again from there — 2 when
   * the id at the returned position is outside [0, rows), or 3 when the hash points past the
   * entries (corrupted arrays; native only).
   */
  accumulate(
    acc: AccumulatorArrays,
    rows: number,
    pad: number,
    dim: number,
    ids: Int32Array,
    idsOffset: number,
    start: number,
    count: number,
    grad: Float32Array,
    gradOffset: number,
    gradStride: number,
    scale: number,
    lengths: Int32Array | null,
    maxLen: number,
    rowMode: RowMode,
  ): number;
  /** SGD on rows ids (unique), gradients values [n, dim]: w ← w − lr·g. */
  sgd(ids: Int32Array, values: Float32Array, w: Float32Array, dim: number, lr: number): void;
  /** Adagrad rows: s ← s + g², w ← w − clr·g/(√s + eps). */
  adagrad(ids: Int32Array, values: Float32Array, w: Float32Array, sum: Float32Array, dim: number, clr: number, eps: number): void;
  /** Lazy Adam rows: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − stepSize·m/(√v + eps) (unrounded m, v). */
  lazyAdam(
    ids: Int32Array,
    values: Float32Array,
    w: Float32Array,
    m: Float32Array,
    v: Float32Array,
    dim: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
  ): void;
  /** FTRL-Proximal rows (formula in sparse-optim.ts `FTRL`). */
  ftrl(
    ids: Int32Array,
    values: Float32Array,
    w: Float32Array,
    z: Float32Array,
    n: Float32Array,
    dim: number,
    alpha: number,
    beta: number,
    l1: number,
    l2: number,
  ): void;
  /**
   * Dense Adam over every row but `pad` (−1: none): g = sparse row gradient (0 elsewhere) +
   * decay·w, w ← w − a·m/(√v + e); rows off the gradient with all-zero moments are skipped when
   * decay = 0. pos: an Int32Array with one −1 per row, used as scratch and left all −1.
   */
  tableAdam(
    ids: Int32Array,
    values: Float32Array,
    w: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pos: Int32Array,
    dim: number,
    pad: number,
    beta1: number,
    beta2: number,
    a: number,
    e: number,
    decay: number,
  ): void;
}

/** The addon's embedding functions (native/embedding.cc). */
interface EmbeddingAddon {
  embGatherFields(weights: readonly Float32Array[], ids: readonly Int32Array[], dim: number, out: Float32Array): number;
  embGatherRows: EmbeddingKernels['gatherRows'];
  embGatherPadded: EmbeddingKernels['gatherPadded'];
  embPool: EmbeddingKernels['pool'];
  embAccumulate(
    keys: Int32Array,
    slots: Int32Array,
    entryIds: Int32Array,
    entryHash: Int32Array,
    entryValues: Float32Array,
    state: Int32Array,
    rows: number,
    pad: number,
    dim: number,
    ids: Int32Array,
    idsOffset: number,
    start: number,
    count: number,
    grad: Float32Array,
    gradOffset: number,
    gradStride: number,
    scale: number,
    lengths: Int32Array | null,
    maxLen: number,
    rowMode: RowMode,
  ): number;
  embSgd: EmbeddingKernels['sgd'];
  embAdagrad: EmbeddingKernels['adagrad'];
  embLazyAdam: EmbeddingKernels['lazyAdam'];
  embFtrl: EmbeddingKernels['ftrl'];
  embTableAdam: EmbeddingKernels['tableAdam'];
}

const ADDON_FUNCTIONS = [
  'embGatherFields',
  'embGatherRows',
  'embGatherPadded',
  'embPool',
  'embAccumulate',
  'embSgd',
  'embAdagrad',
  'embLazyAdam',
  'embFtrl',
  'embTableAdam',
] as const;

let nativeCache: { kernels: EmbeddingKernels } | { error: string } | null = null;

/**
 * The native embedding kernels, or why they are unavailable (addon not built or not
 * loadable, or built before these functions existed). Loaded once.
 */
export function loadNativeEmbeddingKernels(): { kernels: EmbeddingKernels } | { error: string } {
  if (nativeCache !== null) return nativeCache;
  const loaded = loadNativeAddon();
  if ('error' in loaded) {
    nativeCache = { error: loaded.error };
    return nativeCache;
  }
  const addon = loaded.addon as unknown as Partial<EmbeddingAddon>;
  for (const fn of ADDON_FUNCTIONS) {
    if (typeof addon[fn] !== 'function') {
      nativeCache = { error: `native addon lacks ${fn}() (stale build? run npm rebuild)` };
      return nativeCache;
    }
  }
  const a = addon as EmbeddingAddon;
  const k: EmbeddingKernels = {
    name: 'native',
    gatherFields: a.embGatherFields,
    gatherRows: a.embGatherRows,
    gatherPadded: a.embGatherPadded,
    pool: a.embPool,
    accumulate: (acc, rows, pad, dim, ids, idsOffset, start, count, grad, gradOffset, gradStride, scale, lengths, maxLen, rowMode) =>
      a.embAccumulate(
        acc.keys,
        acc.slots,
        acc.entryIds,
        acc.entryHash,
        acc.entryValues,
        acc.state,
        rows,
        pad,
        dim,
        ids,
        idsOffset,
        start,
        count,
        grad,
        gradOffset,
        gradStride,
        scale,
        lengths,
        maxLen,
        rowMode,
      ),
    sgd: a.embSgd,
    adagrad: a.embAdagrad,
    lazyAdam: a.embLazyAdam,
    ftrl: a.embFtrl,
    tableAdam: a.embTableAdam,
  };
  nativeCache = { kernels: k };
  return nativeCache;
}

let forced: EmbeddingKernels | null = null;
let chosenFor: Kernels | null = null;
let chosen: EmbeddingKernels = typescriptEmbeddingKernels;

/**
 * The active embedding kernels: those set by `setEmbeddingKernels`, else native when the
 * engine's backend is native and the addon has the embedding functions, else TypeScript.
 * Follows the engine backend (`kernels()`), re-checked cheaply on every call.
 */
export function embeddingKernels(): EmbeddingKernels {
  if (forced !== null) return forced;
  const engine = kernels();
  if (engine !== chosenFor) {
    chosenFor = engine;
    if (engine.name === 'typescript') chosen = typescriptEmbeddingKernels;
    else {
      const n = loadNativeEmbeddingKernels();
      chosen = 'kernels' in n ? n.kernels : typescriptEmbeddingKernels;
    }
  }
  return chosen;
}

/** Forces a kernel set (tests compare backends; benchmarks switch them); null restores the automatic choice. */
export function setEmbeddingKernels(k: EmbeddingKernels | null): void {
  forced = k;
}

export { typescriptEmbeddingKernels } from './kernels-ts.js';
