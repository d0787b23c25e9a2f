import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { denseKernels } from '../kernels/index.js';
import { diceKernels } from '../kernels/dice.js';
import type { Rng } from '../random.js';
import { drawDropoutMask, NO_DROPOUT } from './dropout.js';

/**
 * Normalization ops, each fused (one op, forward and backward written out):
 * batch norm over the leading axes, layer norm over the last axis, and Dice (DIN's
 * batch-norm-gated activation). Statistics are accumulated in float64; values stay float32.
 * Batch norm's passes over the data run as the fused dense kernels (native or their
 * TypeScript twins, identical results; see DenseKernels in kernels/types.ts).
 */

/** Options of `batchNorm`. */
export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (true) or use the running ones (false). */
  training: boolean;
  /** Per-channel running mean [C], updated in place in training mode. */
  runningMean: Float32Array;
  /** Per-channel running variance [C] (unbiased), updated in place in training mode. */
  runningVar: Float32Array;
  /** Weight of the new batch statistic in the running average (torch's `momentum`), default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root, default 1e-5. */
  eps?: number;
  /**
   * Apply max(0, ·) to the result inside the op (an MLP layer's BN → ReLU fused: one
   * output buffer and one gradient buffer fewer, one pass fewer each way). Default false.
   */
  relu?: boolean;
  /**
   * Inverted dropout applied to the result inside the op, in training mode only: exactly
   * `dropout(batchNorm(x, …), p, rng, training)` — the same single `rng` draw, the same mask
   * and values (see `dropout`) — without the intermediate tensor, its gradient, and one pass
   * each way. p in [0, 1]; p = 0 (or eval mode) applies none and draws nothing.
   */
  dropout?: { p: number; rng: Rng };
}

/** Number of channels C of an input [..., C] after checking the rank and the parameter shapes. */
function channelsOf(op: string, x: Tensor, params: Array<[string, Tensor | null]>): number {
  if (x.rank < 2 && op !== 'layerNorm') throw new Error(`${op}: input must be [N, ..., C] (rank ≥ 2), got [${x.shape}]`);
  if (x.rank < 1) throw new Error(`${op}: input must have at least one axis, got a scalar`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, p] of params) {
    if (p !== null && (p.rank !== 1 || p.shape[0] !== c)) {
      throw new Error(`${op}: ${name} must be [${c}] (the last axis of the input [${x.shape}]), got [${p.shape}]`);
    }
  }
  return c;
}

function checkRunning(op: string, c: number, mean: Float32Array, variance: Float32Array): void {
  if (mean.length !== c) throw new Error(`${op}: runningMean has ${mean.length} values, expected ${c} (channels)`);
  if (variance.length !== c) throw new Error(`${op}: runningVar has ${variance.length} values, expected ${c} (channels)`);
}

/**
 * Per-channel batch mean and 1/sqrt(biased variance + eps) over the rows of a row-major
 * [rows, c] array, by the `bnStats` kernel (one pass: float64 sums of d = x − k and d² with
 * k the first row, a shift that keeps the variance free of cancellation when |mean| ≫ std).
 * Also updates the running statistics in place: r ← (1 − m)·r + m·batch, with the unbiased
 * variance (×rows/(rows − 1)) in the running variance, as torch does.
 */
function batchStats(
  op: string,
  x: Float32Array,
  rows: number,
  c: number,
  eps: number,
  runningMean: Float32Array,
  runningVar: Float32Array,
  momentum: number,
): { mean: Float32Array; invStd: Float32Array } {
  if (rows < 2) throw new Error(`${op}: training mode needs more than one value per channel (got ${rows} row(s) of ${c} channels)`);
  const stats = new Float64Array(2 * c);
  denseKernels().bnStats(x, rows, c, stats);
  const mean = new Float32Array(c),
    invStd = new Float32Array(c);
  const unbias = rows / (rows - 1);
  for (let j = 0; j < c; j++) {
    const m = stats[j]!,
      v = stats[c + j]!;
    mean[j] = m;
    invStd[j] = 1 / Math.sqrt(v + eps);
    runningMean[j] = (1 - momentum) * runningMean[j]! + momentum * m;
    runningVar[j] = (1 - momentum) * runningVar[j]! + momentum * v * unbias;
  }
  return { mean, invStd };
}

/** The running mean (copied) and 1/sqrt(running variance + eps), for eval mode. */
function runningStats(runningMean: Float32Array, runningVar: Float32Array, eps: number): { mean: Float32Array; invStd: Float32Array } {
  const invStd = new Float32Array(runningVar.length);
  for (let j = 0; j < invStd.length; j++) invStd[j] = 1 / Math.sqrt(runningVar[j]! + eps);
  return { mean: runningMean.slice(), invStd };
}

/**
 * Batch normalization over every axis but the last: for x [N, ..., C],
 * y = γ·(x − μ)/sqrt(σ² + eps) + β per channel, with μ, σ² the batch mean and biased
 * variance over all N·… rows (training) or the running statistics (eval). In training the
 * running statistics are updated in place with `momentum` (torch semantics: the running
 * variance takes the unbiased batch variance). `gamma`/`beta` may be null (no affine
 * transform). Backward in training is the standard formula
 * dx = (γ/σ)/n · (n·dy − Σdy − x̂·Σ(dy·x̂)); dγ = Σ dy·x̂, dβ = Σ dy. With `relu` the
 * result is max(0, y) and dy is zeroed where the result is not positive; with `dropout`
 * the (relu'd) result is multiplied by the dropout mask and dy by the same mask.
 * The result may be a recycled array; its gradient is recycled after the backward ran.
 */
export function batchNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, opts: BatchNormOptions): Tensor {
  const c = channelsOf('batchNorm', x, [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  checkRunning('batchNorm', c, opts.runningMean, opts.runningVar);
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const rows = c === 0 ? 0 : x.size / c;
  const xd = x.data;
  const gd = gamma?.data ?? null,
    bd = beta?.data ?? null;
  const training = opts.training;
  const relu = opts.relu ?? false;
  const { mean, invStd } = training
    ? batchStats('batchNorm', xd, rows, c, eps, opts.runningMean, opts.runningVar, momentum)
    : runningStats(opts.runningMean, opts.runningVar, eps);
  // y = (x − μ)·scale + β with scale = γ/σ (centred first: no cancellation when |μ| ≫ σ).
  const scale = new Float32Array(c),
    shift = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    scale[j] = (gd === null ? 1 : gd[j]!) * invStd[j]!;
    shift[j] = bd === null ? 0 : bd[j]!;
  }
  const drop = training && opts.dropout !== undefined ? drawDropoutMask('batchNorm: dropout', opts.dropout.p, opts.dropout.rng) : NO_DROPOUT;
  const { seed, threshold, scale: dropScale } = drop;
  const K = denseKernels();
  const out = allocFloat32(x.size);
  K.bnForward(xd, rows, c, mean, scale, shift, relu, seed, threshold, dropScale, out);
  const parents: Tensor[] = [x];
  if (gamma !== null) parents.push(gamma);
  if (beta !== null) parents.push(beta);
  // With relu, dy is masked by (result > 0), read from the result's bits by the kernels
  // (after dropout too: a kept element is > 0 exactly when the relu was, and a dropped
  // one has a zero gradient anyway).
  const mask = relu ? out : null;
  return fromOp(
    out,
    x.shape,
    parents,
    (g) => {
      const needGamma = gamma !== null && gamma.requiresGrad;
      const needBeta = beta !== null && beta.requiresGrad;
      const needSums = training || needGamma || needBeta;
      // sums[j] = Σ dy, sums[c + j] = Σ dy·x̂ (x̂ recomputed from x, not stored).
      const sums = needSums ? new Float64Array(2 * c) : null;
      if (sums !== null) K.bnGradSums(g, mask, xd, mean, invStd, rows, c, seed, threshold, dropScale, sums);
      if (needGamma) {
        const gg = gamma.gradBuffer();
        for (let j = 0; j < c; j++) gg[j]! += sums![c + j]!;
      }
      if (needBeta) {
        const gb = beta.gradBuffer();
        for (let j = 0; j < c; j++) gb[j]! += sums![j]!;
      }
      if (!x.requiresGrad) return;
      // Training: dx = scale·(dy − Σdy/n − x̂·Σ(dy·x̂)/n) = scale·dy − k·(x − μ) − b with
      // k = scale·invStd·Σ(dy·x̂)/n and b = scale·Σdy/n per channel. Eval: dx = scale·dy.
      const k = new Float32Array(c),
        b = new Float32Array(c);
      if (training) {
        for (let j = 0; j < c; j++) {
          k[j] = scale[j]! * invStd[j]! * (sums![c + j]! / rows);
          b[j] = scale[j]! * (sums![j]! / rows);
        }
      }
      const { grad, overwrite } = x.gradForWrite();
      K.bnInputGrad(g, mask, xd, mean, scale, k, b, rows, c, seed, threshold, dropScale, !overwrite, grad);
    },
    { releasesGrad: true },
  );
}

/**
 * Layer normalization over the last axis: for x [..., C],
 * y = γ·(x − μ)/sqrt(σ² + eps) + β with μ, σ² the mean and biased variance of each row's
 * C values. `gamma`/`beta` may be null (no affine transform). Backward per row:
 * dx = (1/σ)/C · (C·d − Σd − x̂·Σ(d·x̂)) with d = γ·dy; dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
 */
export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps = 1e-5): Tensor {
  const c = channelsOf('layerNorm', x, [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  const rows = c === 0 ? 0 : x.size / c;
  const xd = x.data;
  const gd = gamma?.data ?? null,
    bd = beta?.data ?? null;
  const mean = new Float32Array(rows),
    invStd = new Float32Array(rows);
  const out = new Float32Array(x.size);
  for (let i = 0, o = 0; i < rows; i++, o += c) {
    let s = 0;
    for (let j = 0; j < c; j++) s += xd[o + j]!;
    const mu = s / c;
    let q = 0;
    for (let j = 0; j < c; j++) {
      const d = xd[o + j]! - mu;
      q += d * d;
    }
    const inv = 1 / Math.sqrt(q / c + eps);
    mean[i] = mu;
    invStd[i] = inv;
    if (gd === null) {
      for (let j = 0; j < c; j++) out[o + j] = (xd[o + j]! - mu) * inv + (bd === null ? 0 : bd[j]!);
    } else {
      for (let j = 0; j < c; j++) out[o + j] = (xd[o + j]! - mu) * inv * gd[j]! + (bd === null ? 0 : bd[j]!);
    }
  }
  const parents: Tensor[] = [x];
  if (gamma !== null) parents.push(gamma);
  if (beta !== null) parents.push(beta);
  return fromOp(out, x.shape, parents, (g) => {
    const gg = gamma !== null && gamma.requiresGrad ? gamma.gradBuffer() : null;
    const gb = beta !== null && beta.requiresGrad ? beta.gradBuffer() : null;
    const gx = x.requiresGrad ? x.gradBuffer() : null;
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      const mu = mean[i]!,
        inv = invStd[i]!;
      let sumD = 0,
        sumDX = 0;
      for (let j = 0; j < c; j++) {
        const gv = g[o + j]!;
        const xh = (xd[o + j]! - mu) * inv;
        const d = gd === null ? gv : gv * gd[j]!;
        sumD += d;
        sumDX += d * xh;
        if (gg !== null) gg[j]! += gv * xh;
        if (gb !== null) gb[j]! += gv;
      }
      if (gx === null) continue;
      const mD = sumD / c,
        mDX = sumDX / c;
      for (let j = 0; j < c; j++) {
        const xh = (xd[o + j]! - mu) * inv;
        const d = gd === null ? g[o + j]! : g[o + j]! * gd[j]!;
        gx[o + j]! += inv * (d - mD - xh * mDX);
      }
    }
  });
}

/** Options of `dice`: the batch-norm statistics (no affine transform) that gate the activation. */
export interface DiceOptions {
  training: boolean;
  /** Per-channel running mean [C], updated in place in training mode. */
  runningMean: Float32Array;
  /** Per-channel running variance [C] (unbiased), updated in place in training mode. */
  runningVar: Float32Array;
  /** Weight of the new batch statistic in the running average, default 0.01 (FuxiCTR's Dice). */
  momentum?: number;
  /** Added to the variance, default 1e-9 (FuxiCTR's Dice). */
  eps?: number;
}

/**
 * Dice, DIN's data-adaptive activation, fused: for x [N, ..., C],
 * p = sigmoid(x̂) with x̂ = (x − μ)/sqrt(σ² + eps) the batch norm of x without affine
 * transform (batch statistics over all leading axes in training, running statistics in
 * eval), and y = p·x + (1 − p)·α·x with α [C] learned. Backward:
 * dx = dy·(p + (1 − p)·α) + BN-backward(dy·x·(1 − α)·p·(1 − p)), dα = Σ dy·x·(1 − p).
 */
export function dice(x: Tensor, alpha: Tensor, opts: DiceOptions): Tensor {
  const c = channelsOf('dice', x, [['alpha', alpha]]);
  checkRunning('dice', c, opts.runningMean, opts.runningVar);
  const eps = opts.eps ?? 1e-9;
  const momentum = opts.momentum ?? 0.01;
  const rows = c === 0 ? 0 : x.size / c;
  const xd = x.data,
    ad = alpha.data;
  const training = opts.training;
  const { mean, invStd } = training
    ? batchStats('dice', xd, rows, c, eps, opts.runningMean, opts.runningVar, momentum)
    : runningStats(opts.runningMean, opts.runningVar, eps);
  const p = new Float32Array(x.size);
  const out = new Float32Array(x.size);
  const k = diceKernels();
  k.forward(xd, rows, c, mean, invStd, ad, p, out);
  return fromOp(out, x.shape, [x, alpha], (g) => {
    if (!x.requiresGrad && !alpha.requiresGrad) return;
    // With x not requiring a gradient, its contribution goes to a scratch array.
    const gx = x.requiresGrad ? x.gradBuffer() : new Float32Array(x.size);
    k.backward(g, xd, p, rows, c, mean, invStd, ad, training, gx, alpha.requiresGrad ? alpha.gradBuffer() : null);
  });
}
