/**
 * Optimizers for embedding tables. The row-wise ones (SparseSGD, SparseAdagrad, LazyAdam,
 * FTRL) read `table.sparseGrad()` and update only the rows in it: untouched rows and their
 * optimizer state stay bit-for-bit unchanged. `TableAdam` is plain dense Adam over every row
 * of the table (torch.optim.Adam on a dense nn.Embedding), which the published-benchmark
 * protocol (DESIGN.md §5) uses; it also consumes the whole-table L2 term `table.denseDecay`.
 *
 * State (accumulators of rows·dim floats per table — optimizer state, not gradients) is
 * allocated on a table's first step and keyed by `table.name` in state dicts; two distinct
 * tables with one name are an error. A table without a gradient (`!table.hasGrad()`) is
 * skipped entirely, its step count included (torch skips parameters whose grad is None).
 * The per-row loops are embedding kernels (./kernels.ts): native or TypeScript, same results.
 */
import type { EmbeddingTable, SparseRowGrad } from './table.js';
import { embeddingKernels } from './kernels.js';

/** Serializable optimizer state: hyper-parameters and per-table state (typed arrays inside). */
export interface SparseOptimizerState {
  kind: string;
  hyper: Record<string, number>;
  tables: Record<string, TableSlotState>;
}

/** State of one table: step count, shape (checked on load) and named accumulators. */
export interface TableSlotState {
  step: number;
  rows: number;
  dim: number;
  slots: Record<string, Float32Array>;
}

/** An optimizer of embedding tables. */
export interface SparseOptimizer {
  /** Learning rate (schedules set it between steps). */
  lr: number;
  /** Updates the tables from their current gradients (does not zero them). */
  step(tables: readonly EmbeddingTable[]): void;
  /** A snapshot (copies) of hyper-parameters and per-table state. */
  stateDict(): SparseOptimizerState;
  /** Restores a snapshot made by `stateDict` of the same optimizer kind. */
  loadStateDict(s: SparseOptimizerState): void;
}

interface LiveState {
  table: EmbeddingTable | null;
  step: number;
  slots: Record<string, Float32Array>;
  rows: number;
  dim: number;
}

function checkNumber(kind: string, name: string, v: number, min: number, strictMin = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (strictMin && v === min)) {
    throw new Error(`${kind}: ${name} must be a finite number ${strictMin ? '>' : '>='} ${min}, got ${v}`);
  }
}

/** Shared machinery: per-table state by name, skipping tables without gradient, state dicts. */
abstract class TableOptimizerBase implements SparseOptimizer {
  abstract lr: number;
  protected readonly states = new Map<string, LiveState>();
  /** Allocates a zeroed state array of n floats (`useSlotAllocator`). */
  private allocSlot: (n: number) => Float32Array = (n) => new Float32Array(n);

  /**
   * Allocates state arrays (existing and future ones, and those `loadStateDict` restores)
   * with `alloc` (which must return n zeros): data-parallel training puts them in
   * SharedArrayBuffers so that worker threads can update rows. Values are kept.
   */
  useSlotAllocator(alloc: (n: number) => Float32Array): void {
    this.allocSlot = alloc;
    for (const st of this.states.values()) {
      for (const [k, a] of Object.entries(st.slots)) {
        const b = alloc(a.length);
        b.set(a);
        st.slots[k] = b;
      }
    }
  }
  /** Optimizer kind, stored in state dicts. */
  protected abstract readonly kind: string;
  /** Names of the accumulators of one table and their initial value. */
  protected abstract slotInit(): Record<string, number>;
  /** Hyper-parameters for the state dict (lr included). */
  protected abstract hyper(): Record<string, number>;
  protected abstract setHyper(h: Record<string, number>): void;
  /** Updates one table that has a gradient; `st.step` was already incremented. */
  protected abstract update(table: EmbeddingTable, st: LiveState): void;

  step(tables: readonly EmbeddingTable[]): void {
    this.forEachStep(tables, (t, st) => this.update(t, st));
  }

  /** Calls `fn` once per distinct table of `tables` that has a gradient, after incrementing its `step`. */
  protected forEachStep(tables: readonly EmbeddingTable[], fn: (table: EmbeddingTable, st: LiveState) => void): void {
    const seen = new Set<EmbeddingTable>();
    for (const t of tables) {
      if (seen.has(t)) continue;
      seen.add(t);
      if (!t.hasGrad()) continue;
      const st = this.stateOf(t);
      st.step += 1;
      fn(t, st);
    }
  }

  protected stateOf(t: EmbeddingTable): LiveState {
    let st = this.states.get(t.name);
    if (st === undefined) {
      const slots: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(this.slotInit())) {
        const a = this.allocSlot(t.rows * t.dim);
        if (v !== 0) a.fill(v);
        slots[k] = a;
      }
      st = { table: t, step: 0, slots, rows: t.rows, dim: t.dim };
      this.states.set(t.name, st);
      return st;
    }
    if (st.table === null) {
      if (st.rows !== t.rows || st.dim !== t.dim) {
        throw new Error(`${this.kind}: loaded state for table '${t.name}' is [${st.rows}, ${st.dim}], the table is [${t.rows}, ${t.dim}]`);
      }
      st.table = t;
    } else if (st.table !== t) {
      throw new Error(`${this.kind}: two different tables are named '${t.name}'; optimizer state is keyed by table name`);
    }
    return st;
  }

  stateDict(): SparseOptimizerState {
    const tables: Record<string, TableSlotState> = {};
    for (const [name, st] of this.states) {
      const slots: Record<string, Float32Array> = {};
      for (const [k, a] of Object.entries(st.slots)) slots[k] = a.slice();
      tables[name] = { step: st.step, rows: st.rows, dim: st.dim, slots };
    }
    return { kind: this.kind, hyper: this.hyper(), tables };
  }

  loadStateDict(s: SparseOptimizerState): void {
    if (s === null || typeof s !== 'object' || s.kind !== this.kind) {
      throw new Error(`${this.kind}.loadStateDict: state is of kind '${(s as { kind?: unknown } | null)?.kind}', expected '${this.kind}'`);
    }
    for (const k of Object.keys(this.hyper())) {
      const v = s.hyper?.[k];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`${this.kind}.loadStateDict: hyper-parameter '${k}' must be a finite number, got ${v}`);
    }
    if (s.tables === null || typeof s.tables !== 'object') throw new Error(`${this.kind}.loadStateDict: 'tables' must be an object`);
    const expected = Object.keys(this.slotInit());
    const next = new Map<string, LiveState>();
    for (const [name, ts] of Object.entries(s.tables)) {
      if (!Number.isInteger(ts.step) || ts.step < 0) throw new Error(`${this.kind}.loadStateDict: table '${name}' has invalid step ${ts.step}`);
      const slots: Record<string, Float32Array> = {};
      for (const k of expected) {
        const a = ts.slots[k];
        if (!(a instanceof Float32Array) || a.length !== ts.rows * ts.dim) {
          throw new Error(`${this.kind}.loadStateDict: table '${name}' slot '${k}' must be a Float32Array of ${ts.rows}×${ts.dim} values`);
        }
        const copy = this.allocSlot(a.length);
        copy.set(a);
        slots[k] = copy;
      }
      const live = this.states.get(name);
      next.set(name, { table: live?.table ?? null, step: ts.step, slots, rows: ts.rows, dim: ts.dim });
      if (live?.table && (live.table.rows !== ts.rows || live.table.dim !== ts.dim)) {
        throw new Error(
          `${this.kind}.loadStateDict: state for table '${name}' is [${ts.rows}, ${ts.dim}], the table is [${live.table.rows}, ${live.table.dim}]`,
        );
      }
    }
    this.setHyper(s.hyper);
    this.states.clear();
    for (const [k, v] of next) this.states.set(k, v);
  }
}

/** Row-wise optimizers refuse the dense whole-table L2 term. */
function rowGrad(kind: string, t: EmbeddingTable): SparseRowGrad {
  if (t.denseDecay !== 0) {
    throw new Error(
      `${kind}: table '${t.name}' carries whole-table L2 (mode 'table'), which makes its gradient dense; use TableAdam, or L2 mode 'batch' with row-wise optimizers`,
    );
  }
  return t.sparseGrad();
}

/** Options of `SparseSGD`. */
export interface SparseSGDOptions {
  lr: number;
}

/** Plain SGD on touched rows: w ← w − lr·g. */
export class SparseSGD extends TableOptimizerBase {
  lr: number;
  protected readonly kind = 'SparseSGD';
  constructor(opts: SparseSGDOptions) {
    super();
    checkNumber('SparseSGD', 'lr', opts.lr, 0);
    this.lr = opts.lr;
  }
  protected slotInit(): Record<string, number> {
    return {};
  }
  protected hyper(): Record<string, number> {
    return { lr: this.lr };
  }
  protected setHyper(h: Record<string, number>): void {
    this.lr = h.lr!;
  }
  protected update(t: EmbeddingTable): void {
    const { ids, values } = rowGrad(this.kind, t);
    embeddingKernels().sgd(ids, values, t.weight, t.dim, this.lr);
  }
}

/** Options of `SparseAdagrad` (torch.optim.Adagrad defaults). */
export interface SparseAdagradOptions {
  lr?: number;
  /** Initial value of the squared-gradient accumulator (default 0; TensorFlow uses 0.1). */
  initialAccumulatorValue?: number;
  /** Added to √accumulator (default 1e-10). */
  eps?: number;
  /** Learning-rate decay: clr = lr / (1 + (step − 1)·lrDecay) (default 0). */
  lrDecay?: number;
}

/**
 * Adagrad on touched rows, torch semantics: s ← s + g², w ← w − clr·g / (√s + eps) with
 * clr = lr / (1 + (t − 1)·lrDecay), t the table's step count.
 */
export class SparseAdagrad extends TableOptimizerBase {
  lr: number;
  eps: number;
  lrDecay: number;
  readonly initialAccumulatorValue: number;
  protected readonly kind = 'SparseAdagrad';
  constructor(opts: SparseAdagradOptions = {}) {
    super();
    this.lr = opts.lr ?? 1e-2;
    this.eps = opts.eps ?? 1e-10;
    this.lrDecay = opts.lrDecay ?? 0;
    this.initialAccumulatorValue = opts.initialAccumulatorValue ?? 0;
    checkNumber(this.kind, 'lr', this.lr, 0);
    checkNumber(this.kind, 'eps', this.eps, 0);
    checkNumber(this.kind, 'lrDecay', this.lrDecay, 0);
    checkNumber(this.kind, 'initialAccumulatorValue', this.initialAccumulatorValue, 0);
  }
  protected slotInit(): Record<string, number> {
    return { sum: this.initialAccumulatorValue };
  }
  protected hyper(): Record<string, number> {
    return { lr: this.lr, eps: this.eps, lrDecay: this.lrDecay, initialAccumulatorValue: this.initialAccumulatorValue };
  }
  protected setHyper(h: Record<string, number>): void {
    this.lr = h.lr!;
    this.eps = h.eps!;
    this.lrDecay = h.lrDecay!;
    (this as { initialAccumulatorValue: number }).initialAccumulatorValue = h.initialAccumulatorValue!;
  }
  protected update(t: EmbeddingTable, st: LiveState): void {
    const { ids, values } = rowGrad(this.kind, t);
    const clr = this.lr / (1 + (st.step - 1) * this.lrDecay);
    embeddingKernels().adagrad(ids, values, t.weight, st.slots.sum!, t.dim, clr, this.eps);
  }
}

/** Options of `LazyAdam` and `TableAdam` (torch defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8). */
export interface RowAdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

function adamHyper(kind: string, opts: RowAdamOptions): Required<RowAdamOptions> {
  const h = { lr: opts.lr ?? 1e-3, beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8 };
  checkNumber(kind, 'lr', h.lr, 0);
  checkNumber(kind, 'eps', h.eps, 0);
  if (!(h.beta1 >= 0 && h.beta1 < 1)) throw new Error(`${kind}: beta1 must be in [0, 1), got ${h.beta1}`);
  if (!(h.beta2 >= 0 && h.beta2 < 1)) throw new Error(`${kind}: beta2 must be in [0, 1), got ${h.beta2}`);
  return h;
}

/**
 * Hyper-parameters shared by the Adam-family table optimizers (lr, β₁, β₂, eps), with their
 * validation and state-dict handling; subclasses give `kind` and the row update.
 */
abstract class RowAdamBase extends TableOptimizerBase {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** `kind` names the optimizer in errors (the subclass's `kind` is not set yet here). */
  constructor(kind: string, opts: RowAdamOptions) {
    super();
    const h = adamHyper(kind, opts);
    this.lr = h.lr;
    this.beta1 = h.beta1;
    this.beta2 = h.beta2;
    this.eps = h.eps;
  }
  protected slotInit(): Record<string, number> {
    return { m: 0, v: 0 };
  }
  protected hyper(): Record<string, number> {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps };
  }
  protected setHyper(h: Record<string, number>): void {
    const c = adamHyper(this.kind, h);
    this.lr = c.lr;
    this.beta1 = c.beta1;
    this.beta2 = c.beta2;
    this.eps = c.eps;
  }
}

/**
 * Lazy Adam with torch.optim.SparseAdam semantics (torch/optim/sparse_adam.py): on the
 * touched rows only, m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², and
 * w ← w − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + eps), where t is the table's step count —
 * incremented on every `step` in which the table has a gradient, whichever rows it touched
 * (torch keeps one `step` per parameter tensor, not per row). Note eps is added to √v, not
 * to the bias-corrected √v̂ as in dense Adam; untouched rows keep stale moments.
 */
export class LazyAdam extends RowAdamBase {
  protected readonly kind = 'LazyAdam';
  /**
   * When set, `step` hands the row updates of all tables to it in one call instead of running
   * them (data-parallel training splits them over its threads; its splitter may return while
   * other threads still update their rows, and waits for them before the weights are next
   * read). Each row's update depends only on that row and the table's step size, so any split
   * gives the serial step's values bit for bit.
   */
  rowSplitter: ((jobs: LazyAdamRowJob[], beta1: number, beta2: number, eps: number) => void) | null = null;
  constructor(opts: RowAdamOptions = {}) {
    super('LazyAdam', opts);
  }
  override step(tables: readonly EmbeddingTable[]): void {
    const split = this.rowSplitter;
    if (split === null) return super.step(tables);
    const jobs: LazyAdamRowJob[] = [];
    this.forEachStep(tables, (t, st) => {
      const { ids, values } = rowGrad(this.kind, t);
      jobs.push({ table: t, ids, values, m: st.slots.m!, v: st.slots.v!, stepSize: this.stepSize(st.step) });
    });
    if (jobs.length > 0) split(jobs, this.beta1, this.beta2, this.eps);
  }
  /** lr·√(1−β₂ᵗ)/(1−β₁ᵗ) for the table's step count t. */
  private stepSize(step: number): number {
    return (this.lr * Math.sqrt(1 - Math.pow(this.beta2, step))) / (1 - Math.pow(this.beta1, step));
  }
  protected update(t: EmbeddingTable, st: LiveState): void {
    const { ids, values } = rowGrad(this.kind, t);
    embeddingKernels().lazyAdam(ids, values, t.weight, st.slots.m!, st.slots.v!, t.dim, this.beta1, this.beta2, this.eps, this.stepSize(st.step));
  }
}

/** The row updates of one table in a `LazyAdam` step: unique ids, their gradient rows, the table's state and step size. */
export interface LazyAdamRowJob {
  table: EmbeddingTable;
  ids: Int32Array;
  values: Float32Array;
  m: Float32Array;
  v: Float32Array;
  stepSize: number;
}

/**
 * Dense Adam over the whole table, exactly torch.optim.Adam on a dense nn.Embedding: every
 * row (padding row excepted, which stays zero) gets m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
 * w ← w − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + eps), with g = the sparse row gradient (0 for
 * untouched rows) + denseDecay·w (whole-table L2). Costs O(rows·dim) per step, like the
 * reference; without L2, untouched rows whose moments are all zero are skipped (their update
 * is exactly zero). The arithmetic is the same as `Adam` in src/train/optim.ts.
 */
export class TableAdam extends RowAdamBase {
  protected readonly kind = 'TableAdam';
  /** Per table: row → position in the sparse gradient, −1 elsewhere (rows Int32, reused). */
  private readonly rowPos = new Map<EmbeddingTable, Int32Array>();
  constructor(opts: RowAdamOptions = {}) {
    super('TableAdam', opts);
  }
  protected update(t: EmbeddingTable, st: LiveState): void {
    const { ids, values } = t.sparseGrad();
    let pos = this.rowPos.get(t);
    if (pos === undefined) {
      pos = new Int32Array(t.rows).fill(-1);
      this.rowPos.set(t, pos);
    }
    // torch's lr/(1−β₁ᵗ) · m/(√v/√(1−β₂ᵗ) + eps), rewritten as a·m/(√v + e) (same as dense `Adam`).
    const b1 = this.beta1,
      b2 = this.beta2;
    const sqrtBc2 = Math.sqrt(1 - Math.pow(b2, st.step));
    const a = (this.lr / (1 - Math.pow(b1, st.step))) * sqrtBc2,
      e = this.eps * sqrtBc2;
    embeddingKernels().tableAdam(ids, values, t.weight, st.slots.m!, st.slots.v!, pos, t.dim, t.paddingIdx ?? -1, b1, b2, a, e, t.denseDecay);
  }
}

/** Options of `FTRL` (McMahan et al. 2013, "Ad Click Prediction: a View from the Trenches"). */
export interface FTRLOptions {
  /** α, the per-coordinate learning-rate scale (exposed as `lr`). */
  alpha: number;
  /** β (default 1). */
  beta?: number;
  /** L1 strength λ₁ (default 0). */
  l1?: number;
  /** L2 strength λ₂ (default 0). */
  l2?: number;
  /** Initial n (sum of squared gradients; default 0 as in the paper, TensorFlow uses 0.1). */
  initialAccumulatorValue?: number;
}

/**
 * FTRL-Proximal per coordinate of the touched rows (McMahan et al. 2013, Algorithm 1):
 * σ = (√(n + g²) − √n)/α, z ← z + g − σ·w, n ← n + g², then
 * w = 0 if |z| ≤ λ₁, else −(z − sign(z)·λ₁) / ((β + √n)/α + λ₂).
 * The weight is a function of (z, n): on a row's first update its initial value enters only
 * through σ·w (as in TensorFlow's Ftrl), so a zero-gradient coordinate of a fresh row becomes 0.
 */
export class FTRL extends TableOptimizerBase {
  lr: number;
  beta: number;
  l1: number;
  l2: number;
  readonly initialAccumulatorValue: number;
  protected readonly kind = 'FTRL';
  constructor(opts: FTRLOptions) {
    super();
    this.lr = opts.alpha;
    this.beta = opts.beta ?? 1;
    this.l1 = opts.l1 ?? 0;
    this.l2 = opts.l2 ?? 0;
    this.initialAccumulatorValue = opts.initialAccumulatorValue ?? 0;
    checkNumber(this.kind, 'alpha', this.lr, 0, true);
    checkNumber(this.kind, 'beta', this.beta, 0);
    checkNumber(this.kind, 'l1', this.l1, 0);
    checkNumber(this.kind, 'l2', this.l2, 0);
    checkNumber(this.kind, 'initialAccumulatorValue', this.initialAccumulatorValue, 0);
  }
  protected slotInit(): Record<string, number> {
    return { z: 0, n: this.initialAccumulatorValue };
  }
  protected hyper(): Record<string, number> {
    return { alpha: this.lr, beta: this.beta, l1: this.l1, l2: this.l2, initialAccumulatorValue: this.initialAccumulatorValue };
  }
  protected setHyper(h: Record<string, number>): void {
    this.lr = h.alpha!;
    this.beta = h.beta!;
    this.l1 = h.l1!;
    this.l2 = h.l2!;
    (this as { initialAccumulatorValue: number }).initialAccumulatorValue = h.initialAccumulatorValue!;
  }
  protected update(t: EmbeddingTable, st: LiveState): void {
    const { ids, values } = rowGrad(this.kind, t);
    embeddingKernels().ftrl(ids, values, t.weight, st.slots.z!, st.slots.n!, t.dim, this.lr, this.beta, this.l1, this.l2);
  }
}
