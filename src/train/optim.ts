/**
 * Dense optimizers over a list of parameter tensors, with torch.optim semantics (same
 * defaults, same update formulas, per-parameter step counts). A parameter whose `grad` is
 * null is skipped with no change to its state, as torch skips `p.grad is None`; `zeroGrad`
 * sets every grad to null (torch's `set_to_none=True`). Embedding tables have their own
 * optimizers (src/embedding/sparse-optim.ts).
 */
import type { Tensor } from '../engine/tensor.js';
import { denseKernels } from '../engine/kernels/index.js';

/** Serializable optimizer state: hyper-parameters and per-parameter state (null = none yet). */
export interface OptimizerState {
  kind: string;
  hyper: Record<string, number | boolean>;
  /** One entry per parameter, in construction order. */
  params: Array<ParamState | null>;
}

/** State of one parameter: step count and named buffers of the parameter's size. */
export interface ParamState {
  step: number;
  buffers: Record<string, Float32Array>;
}

/** A dense optimizer. */
export interface Optimizer {
  /** Learning rate (schedules set it between steps). */
  lr: number;
  /** Updates every parameter that has a gradient. */
  step(): void;
  /** Sets every parameter's gradient to null. */
  zeroGrad(): void;
  /** A snapshot (copies) of hyper-parameters and per-parameter state. */
  stateDict(): OptimizerState;
  /** Restores a snapshot of the same optimizer kind over the same parameter shapes. */
  loadStateDict(s: OptimizerState): void;
}

function checkNonNeg(kind: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${kind}: ${name} must be a finite number >= 0, got ${v}`);
}

function checkBeta(kind: string, name: string, v: number): void {
  if (!(v >= 0 && v < 1)) throw new Error(`${kind}: ${name} must be in [0, 1), got ${v}`);
}

/** Shared machinery: parameter list, per-parameter lazy state, zeroGrad, state dicts. */
abstract class DenseOptimizerBase implements Optimizer {
  abstract lr: number;
  readonly params: readonly Tensor[];
  protected readonly state: Array<ParamState | null>;
  protected abstract readonly kind: string;
  /** Names of this optimizer's per-parameter buffers. */
  protected abstract bufferNames(): string[];
  protected abstract hyper(): Record<string, number | boolean>;
  protected abstract setHyper(h: Record<string, number | boolean>): void;
  /** Updates one parameter; `st.step` was already incremented. */
  protected abstract update(p: Tensor, g: Float32Array, st: ParamState): void;

  constructor(kind: string, params: readonly Tensor[]) {
    const seen = new Set<Tensor>();
    params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`${kind}: parameter ${i}${p.name ? ` ('${p.name}')` : ''} is listed twice`);
      seen.add(p);
    });
    this.params = params.slice();
    this.state = params.map(() => null);
  }

  /** Initial buffers of a parameter (zeros unless overridden). */
  protected initBuffers(p: Tensor): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const n of this.bufferNames()) out[n] = new Float32Array(p.size);
    return out;
  }

  step(): void {
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      const g = p.grad;
      if (g === null) continue;
      let st = this.state[i]!;
      if (st === null) {
        st = { step: 0, buffers: this.initBuffers(p) };
        this.state[i] = st;
      }
      st.step += 1;
      this.update(p, g, st);
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  stateDict(): OptimizerState {
    return {
      kind: this.kind,
      hyper: this.hyper(),
      params: this.state.map((st) => {
        if (st === null) return null;
        const buffers: Record<string, Float32Array> = {};
        for (const [k, a] of Object.entries(st.buffers)) buffers[k] = a.slice();
        return { step: st.step, buffers };
      }),
    };
  }

  loadStateDict(s: OptimizerState): void {
    const k = this.kind;
    if (s === null || typeof s !== 'object' || s.kind !== k) {
      throw new Error(`${k}.loadStateDict: state is of kind '${(s as { kind?: unknown } | null)?.kind}', expected '${k}'`);
    }
    const cur = this.hyper();
    for (const name of Object.keys(cur)) {
      const v = s.hyper?.[name];
      if (typeof v !== typeof cur[name] || (typeof v === 'number' && !Number.isFinite(v))) {
        throw new Error(`${k}.loadStateDict: hyper-parameter '${name}' must be a ${typeof cur[name]}, got ${v}`);
      }
    }
    if (!Array.isArray(s.params) || s.params.length !== this.params.length) {
      throw new Error(
        `${k}.loadStateDict: state has ${Array.isArray(s.params) ? s.params.length : 'no'} parameter entries, optimizer has ${this.params.length} parameters`,
      );
    }
    const next = s.params.map((ps, i) => {
      if (ps === null) return null;
      const p = this.params[i]!;
      if (!Number.isInteger(ps.step) || ps.step < 0) throw new Error(`${k}.loadStateDict: parameter ${i} has invalid step ${ps.step}`);
      const buffers: Record<string, Float32Array> = {};
      for (const n of this.bufferNames()) {
        const a = ps.buffers?.[n];
        if (!(a instanceof Float32Array) || a.length !== p.size) {
          throw new Error(
            `${k}.loadStateDict: parameter ${i}${p.name ? ` ('${p.name}')` : ''} buffer '${n}' must be a Float32Array of ${p.size} values`,
          );
        }
        buffers[n] = a.slice();
      }
      return { step: ps.step, buffers };
    });
    this.setHyper(s.hyper);
    for (let i = 0; i < next.length; i++) this.state[i] = next[i]!;
  }
}

/** Options of `SGD` (torch.optim.SGD). */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** L2 added to the gradient: g ← g + weightDecay·w. */
  weightDecay?: number;
}

/**
 * SGD with optional momentum and Nesterov, torch semantics: d = g + wd·w; with momentum,
 * b ← d on the first step, else b ← μ·b + (1 − dampening)·d; d ← d + μ·b (Nesterov) or b;
 * w ← w − lr·d.
 */
export class SGD extends DenseOptimizerBase {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  protected readonly kind = 'SGD';
  constructor(params: readonly Tensor[], opts: SGDOptions) {
    super('SGD', params);
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.validate();
  }
  private validate(): void {
    checkNonNeg('SGD', 'lr', this.lr);
    checkNonNeg('SGD', 'momentum', this.momentum);
    checkNonNeg('SGD', 'dampening', this.dampening);
    checkNonNeg('SGD', 'weightDecay', this.weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }
  protected bufferNames(): string[] {
    return this.momentum !== 0 ? ['momentum'] : [];
  }
  protected hyper(): Record<string, number | boolean> {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.momentum = h.momentum as number;
    this.dampening = h.dampening as number;
    this.nesterov = h.nesterov as boolean;
    this.weightDecay = h.weightDecay as number;
    this.validate();
  }
  protected update(p: Tensor, g: Float32Array, st: ParamState): void {
    const w = p.data,
      n = w.length,
      lr = this.lr,
      wd = this.weightDecay,
      mu = this.momentum;
    if (mu === 0) {
      for (let i = 0; i < n; i++) w[i]! -= lr * (g[i]! + wd * w[i]!);
      return;
    }
    let b = st.buffers.momentum;
    if (b === undefined) {
      b = new Float32Array(n);
      st.buffers.momentum = b;
    }
    const first = st.step === 1,
      damp = 1 - this.dampening,
      nesterov = this.nesterov;
    for (let i = 0; i < n; i++) {
      const d = g[i]! + wd * w[i]!;
      const bi = Math.fround(first ? d : mu * b[i]! + damp * d);
      b[i] = bi;
      w[i]! -= lr * (nesterov ? d + mu * bi : bi);
    }
  }
}

/** Options of `Adam` and `AdamW` (torch defaults: betas 0.9/0.999, eps 1e-8). */
export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
}

abstract class AdamBase extends DenseOptimizerBase {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  constructor(kind: string, params: readonly Tensor[], opts: AdamOptions, defaultDecay: number) {
    super(kind, params);
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? defaultDecay;
    this.validate(kind);
  }
  private validate(kind: string): void {
    checkNonNeg(kind, 'lr', this.lr);
    checkNonNeg(kind, 'eps', this.eps);
    checkNonNeg(kind, 'weightDecay', this.weightDecay);
    checkBeta(kind, 'beta1', this.beta1);
    checkBeta(kind, 'beta2', this.beta2);
  }
  protected bufferNames(): string[] {
    return ['m', 'v'];
  }
  protected hyper(): Record<string, number | boolean> {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.beta1 = h.beta1 as number;
    this.beta2 = h.beta2 as number;
    this.eps = h.eps as number;
    this.weightDecay = h.weightDecay as number;
    this.validate(this.kind);
  }
  /** The Adam update with g ← g + l2·w: m, v moments, bias-corrected as torch does. */
  protected adamUpdate(w: Float32Array, g: Float32Array, st: ParamState, l2: number): void {
    const m = st.buffers.m!,
      v = st.buffers.v!,
      n = w.length;
    const b1 = this.beta1,
      b2 = this.beta2;
    // lr/(1−β₁ᵗ) · m/(√v/√(1−β₂ᵗ) + eps) rewritten as a·m/(√v + e): one multiply fewer.
    const sqrtBc2 = Math.sqrt(1 - Math.pow(b2, st.step));
    const a = (this.lr / (1 - Math.pow(b1, st.step))) * sqrtBc2,
      e = this.eps * sqrtBc2;
    // The `adamUpdate` dense kernel (native, or its TypeScript twin: the same float64 loop).
    denseKernels().adamUpdate(w, g, m, v, n, b1, b2, a, e, l2);
  }
}

/**
 * Adam (Kingma & Ba 2015), torch.optim.Adam semantics: g ← g + wd·w; m ← β₁m + (1−β₁)g;
 * v ← β₂v + (1−β₂)g²; w ← w − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + eps).
 */
export class Adam extends AdamBase {
  protected readonly kind = 'Adam';
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    super('Adam', params, opts, 0);
  }
  protected update(p: Tensor, g: Float32Array, st: ParamState): void {
    this.adamUpdate(p.data, g, st, this.weightDecay);
  }
}

/**
 * AdamW (Loshchilov & Hutter 2019), torch semantics: w ← w·(1 − lr·wd) first (decoupled
 * decay, default wd 1e-2), then the Adam update without L2 in the gradient.
 */
export class AdamW extends AdamBase {
  protected readonly kind = 'AdamW';
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    super('AdamW', params, opts, 1e-2);
  }
  protected update(p: Tensor, g: Float32Array, st: ParamState): void {
    const w = p.data;
    const f = 1 - this.lr * this.weightDecay;
    if (f !== 1) for (let i = 0; i < w.length; i++) w[i]! *= f;
    this.adamUpdate(w, g, st, 0);
  }
}

/** Options of `Adagrad` (torch.optim.Adagrad defaults). */
export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

/**
 * Adagrad (Duchi et al. 2011), torch semantics: g ← g + wd·w; clr = lr/(1 + (t−1)·lrDecay);
 * s ← s + g²; w ← w − clr·g/(√s + eps). Defaults lr 1e-2, eps 1e-10, accumulator 0.
 */
export class Adagrad extends DenseOptimizerBase {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  initialAccumulatorValue: number;
  protected readonly kind = 'Adagrad';
  constructor(params: readonly Tensor[], opts: AdagradOptions = {}) {
    super('Adagrad', params);
    this.lr = opts.lr ?? 1e-2;
    this.lrDecay = opts.lrDecay ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.eps = opts.eps ?? 1e-10;
    this.initialAccumulatorValue = opts.initialAccumulatorValue ?? 0;
    this.validate();
  }
  private validate(): void {
    for (const [n, v] of Object.entries(this.hyper())) checkNonNeg('Adagrad', n, v as number);
  }
  protected bufferNames(): string[] {
    return ['sum'];
  }
  protected override initBuffers(p: Tensor): Record<string, Float32Array> {
    return { sum: new Float32Array(p.size).fill(this.initialAccumulatorValue) };
  }
  protected hyper(): Record<string, number | boolean> {
    return {
      lr: this.lr,
      lrDecay: this.lrDecay,
      weightDecay: this.weightDecay,
      eps: this.eps,
      initialAccumulatorValue: this.initialAccumulatorValue,
    };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.lrDecay = h.lrDecay as number;
    this.weightDecay = h.weightDecay as number;
    this.eps = h.eps as number;
    this.initialAccumulatorValue = h.initialAccumulatorValue as number;
    this.validate();
  }
  protected update(p: Tensor, g: Float32Array, st: ParamState): void {
    const w = p.data,
      s = st.buffers.sum!,
      n = w.length,
      wd = this.weightDecay,
      eps = this.eps;
    const clr = this.lr / (1 + (st.step - 1) * this.lrDecay);
    for (let i = 0; i < n; i++) {
      const gi = g[i]! + wd * w[i]!;
      const acc = Math.fround(s[i]! + gi * gi);
      s[i] = acc;
      w[i]! -= (clr * gi) / (Math.sqrt(acc) + eps);
    }
  }
}

/** Options of `GRDA`. */
export interface GRDAOptions {
  lr: number;
  /** Strength of the growing L1 threshold. */
  c: number;
  /** Growth exponent of the threshold (0.5 < μ < 1 in the paper). */
  mu: number;
}

/**
 * Generalized regularized dual averaging (Chao, Wang, Xing & Cheng 2020), the optimizer
 * AutoFIS trains its gates with, as the authors' gRDA code: the accumulator starts at the
 * parameter's initial value a₀ = w₀ and sums the steps, a_n = a_{n−1} − lr·g_n; the L1
 * threshold grows as λ_n = λ_{n−1} + c·lr^{1/2+μ}·(n^μ − (n−1)^μ) (= c·lr^{1/2+μ}·n^μ at a
 * constant lr); the parameter is the soft-thresholded accumulator
 *   w_n = sign(a_n)·max(|a_n| − λ_n, 0),
 * so a parameter whose accumulated gradient does not keep it beyond the threshold becomes
 * exactly 0 (and can come back only if its accumulator grows past λ again). λ is kept per
 * element (all equal) to fit the per-parameter buffer layout.
 */
export class GRDA extends DenseOptimizerBase {
  lr: number;
  c: number;
  mu: number;
  protected readonly kind = 'GRDA';
  constructor(params: readonly Tensor[], opts: GRDAOptions) {
    super('GRDA', params);
    this.lr = opts.lr;
    this.c = opts.c;
    this.mu = opts.mu;
    this.validate();
  }
  private validate(): void {
    for (const [n, v] of Object.entries(this.hyper())) checkNonNeg('GRDA', n, v as number);
  }
  protected bufferNames(): string[] {
    return ['accumulator', 'threshold'];
  }
  protected override initBuffers(p: Tensor): Record<string, Float32Array> {
    return { accumulator: p.data.slice(), threshold: new Float32Array(p.size) };
  }
  protected hyper(): Record<string, number | boolean> {
    return { lr: this.lr, c: this.c, mu: this.mu };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.c = h.c as number;
    this.mu = h.mu as number;
    this.validate();
  }
  protected update(p: Tensor, g: Float32Array, st: ParamState): void {
    const w = p.data,
      a = st.buffers.accumulator!,
      th = st.buffers.threshold!,
      n = st.step;
    const grow = this.c * Math.pow(this.lr, 0.5 + this.mu) * (Math.pow(n, this.mu) - Math.pow(n - 1, this.mu));
    for (let i = 0; i < w.length; i++) {
      a[i]! -= this.lr * g[i]!;
      th[i]! += grow;
      const m = Math.abs(a[i]!) - th[i]!;
      w[i] = m > 0 ? Math.sign(a[i]!) * m : 0;
    }
  }
}
