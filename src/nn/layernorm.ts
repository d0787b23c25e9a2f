import { Tensor } from '../engine/tensor.js';
import { layerNorm } from '../engine/ops/norm.js';
import { Module } from './module.js';

/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, as torch). */
  eps?: number;
  /** Learn γ (init 1) and β (init 0) (default true). */
  affine?: boolean;
}

/**
 * Layer normalization over the last axis: y = γ·(x − μ)/sqrt(σ² + eps) + β with μ, σ²
 * the mean and biased variance of each row's C values; the same in train and eval mode.
 */
export class LayerNorm extends Module {
  readonly channels: number;
  readonly eps: number;
  /** [C], init 1 (null without affine). */
  readonly gamma: Tensor | null;
  /** [C], init 0 (null without affine). */
  readonly beta: Tensor | null;

  constructor(channels: number, opts: LayerNormOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`LayerNorm: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.gamma = affine ? this.param('gamma', Tensor.full([channels], 1)) : null;
    this.beta = affine ? this.param('beta', Tensor.zeros([channels])) : null;
  }

  /** x [..., C] → same shape. */
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.channels) {
      throw new Error(`LayerNorm: input must be [..., ${this.channels}], got [${x.shape}]`);
    }
    return layerNorm(x, this.gamma, this.beta, this.eps);
  }
}
