import type { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import { dropout } from '../engine/ops/dropout.js';
import { Module } from './module.js';

/**
 * Inverted dropout: in train() mode each value is zeroed with probability p and the
 * survivors are scaled by 1/(1 − p), so eval() mode is the identity. The mask comes from
 * `rng`, so one seed reproduces the masks.
 */
export class Dropout extends Module {
  readonly p: number;
  /** The source of the masks (an MLP layer passes it to batchNorm's fused dropout). */
  readonly rng: Rng;

  constructor(p: number, rng: Rng) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    this.p = p;
    this.rng = rng;
  }

  /** x → x·mask/(1 − p) in training, x in eval (or when p = 0). */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, this.rng, true);
  }
}
