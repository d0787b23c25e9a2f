import { Tensor } from '../engine/tensor.js';
import { batchNorm } from '../engine/ops/norm.js';
import { Module } from './module.js';
import type { Rng } from '../engine/random.js';

/** Options of `BatchNorm`. */
export interface BatchNormModuleOptions {
  /** Added to the variance (default 1e-5, as torch). */
  eps?: number;
  /** Weight of each new batch statistic in the running averages (default 0.1, as torch). */
  momentum?: number;
  /** Learn γ (init 1) and β (init 0) (default true). */
  affine?: boolean;
}

/**
 * Batch normalization over the last axis (torch's BatchNorm1d for [N, C]; for [N, ..., C]
 * statistics run over all leading axes): y = γ·(x − μ)/sqrt(σ² + eps) + β. In train()
 * mode μ, σ² are the batch's (biased variance) and the buffers `runningMean` (init 0) and
 * `runningVar` (init 1, unbiased batch variances) are updated with `momentum`; in eval()
 * mode the running statistics are used. The buffers belong to the state dict.
 */
export class BatchNorm extends Module {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  /** [C], init 1 (null without affine). */
  readonly gamma: Tensor | null;
  /** [C], init 0 (null without affine). */
  readonly beta: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(channels: number, opts: BatchNormModuleOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`BatchNorm: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.gamma = affine ? this.param('gamma', Tensor.full([channels], 1)) : null;
    this.beta = affine ? this.param('beta', Tensor.zeros([channels])) : null;
    this.runningMean = this.buffer('runningMean', Tensor.zeros([channels]));
    this.runningVar = this.buffer('runningVar', Tensor.full([channels], 1));
  }

  /** x [N, ..., C] → same shape. */
  forward(x: Tensor): Tensor {
    return this.run(x, false);
  }

  /**
   * max(0, BN(x)) as one fused op (an MLP layer's BatchNorm → ReLU), followed by inverted
   * dropout in the same op when `dropout` is given (training mode only; the same values and
   * rng draws as a separate Dropout).
   */
  forwardRelu(x: Tensor, dropout?: { p: number; rng: Rng }): Tensor {
    return this.run(x, true, dropout);
  }

  private run(x: Tensor, relu: boolean, dropout?: { p: number; rng: Rng }): Tensor {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.channels) {
      throw new Error(`BatchNorm: input must be [N, ..., ${this.channels}], got [${x.shape}]`);
    }
    return batchNorm(x, this.gamma, this.beta, {
      training: this.training,
      runningMean: this.runningMean.data,
      runningVar: this.runningVar.data,
      momentum: this.momentum,
      eps: this.eps,
      relu,
      dropout,
    });
  }
}
