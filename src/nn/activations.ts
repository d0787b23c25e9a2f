import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import { relu, sigmoid, tanh, leakyRelu, prelu } from '../engine/ops/activation.js';
import { dice } from '../engine/ops/norm.js';
import { Module } from './module.js';

/** A module with a one-tensor forward pass (layers, activations, blocks). */
export type Layer = Module & { forward(x: Tensor): Tensor };

/** max(0, x). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** 1 / (1 + e^−x). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** x for x > 0, slope·x otherwise (default slope 0.01, as torch). */
export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

/** The identity (activation 'linear'). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * PReLU: x for x > 0, α·x otherwise, with α learned — one α shared by all channels
 * (numParams = 1, torch's default) or one per channel of the last axis (numParams = C).
 * α starts at `init` (0.25, as torch).
 */
export class PReLU extends Module {
  /** [numParams] */
  readonly alpha: Tensor;

  constructor(numParams = 1, init = 0.25) {
    super();
    if (!Number.isInteger(numParams) || numParams < 1) throw new Error(`PReLU: numParams must be a positive integer, got ${numParams}`);
    this.alpha = this.param('alpha', Tensor.full([numParams], init));
  }

  forward(x: Tensor): Tensor {
    const n = this.alpha.size;
    if (n !== 1 && (x.rank < 1 || x.shape[x.rank - 1] !== n)) {
      throw new Error(`PReLU: ${n} parameters need an input [..., ${n}], got [${x.shape}]`);
    }
    return prelu(x, this.alpha);
  }
}

/** Options of `Dice`. */
export interface DiceModuleOptions {
  /** Added to the batch variance (default 1e-9, FuxiCTR's Dice). */
  eps?: number;
  /** Weight of each new batch statistic in the running averages (default 0.01, FuxiCTR's Dice / Keras' 0.99 decay). */
  momentum?: number;
}

/**
 * Dice, the data-adaptive activation of DIN (Zhou et al. 2018): p = sigmoid(BN(x)),
 * y = p·x + (1 − p)·α·x, with α [C] learned (init 0) and BN a batch norm over all leading
 * axes without affine transform (as FuxiCTR and DeepCTR; the paper's code normalizes
 * without γ, β too). train() mode uses the batch statistics and updates the running ones
 * (buffers `runningMean`, `runningVar`, in the state dict); eval() mode uses the running
 * statistics, so a prediction does not depend on the rest of its batch.
 */
export class Dice extends Module {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  /** [C], init 0. */
  readonly alpha: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(channels: number, opts: DiceModuleOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`Dice: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.eps = opts.eps ?? 1e-9;
    this.momentum = opts.momentum ?? 0.01;
    this.alpha = this.param('alpha', Tensor.zeros([channels]));
    this.runningMean = this.buffer('runningMean', Tensor.zeros([channels]));
    this.runningVar = this.buffer('runningVar', Tensor.full([channels], 1));
  }

  /** x [N, ..., C] → same shape. */
  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.channels) {
      throw new Error(`Dice: input must be [N, ..., ${this.channels}], got [${x.shape}]`);
    }
    return dice(x, this.alpha, {
      training: this.training,
      runningMean: this.runningMean.data,
      runningVar: this.runningVar.data,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** Activation names accepted by `makeActivation` (and MLP's `activation`). */
export type ActivationLayerName = 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'prelu' | 'dice' | 'linear' | 'identity';

/** The accepted activation names, for validation and messages. */
export const ACTIVATION_LAYER_NAMES: readonly ActivationLayerName[] = [
  'relu',
  'sigmoid',
  'tanh',
  'leaky_relu',
  'prelu',
  'dice',
  'linear',
  'identity',
];

/**
 * A fresh activation module by name (case-insensitive; 'identity' is an alias of
 * 'linear'). `dim` is the number of channels of its input: Dice keeps per-channel
 * statistics and α; PReLU gets one shared α (torch's default). `rng` is accepted for
 * activations with random initial state (none yet).
 */
export function makeActivation(name: string, dim: number, _rng?: Rng): Layer {
  switch (name.toLowerCase() as ActivationLayerName) {
    case 'relu':
      return new ReLU();
    case 'sigmoid':
      return new Sigmoid();
    case 'tanh':
      return new Tanh();
    case 'leaky_relu':
      return new LeakyReLU();
    case 'prelu':
      return new PReLU(1);
    case 'dice':
      return new Dice(dim);
    case 'linear':
    case 'identity':
      return new Identity();
    default:
      throw new Error(`unknown activation '${name}' (expected one of: ${ACTIVATION_LAYER_NAMES.join(', ')})`);
  }
}
