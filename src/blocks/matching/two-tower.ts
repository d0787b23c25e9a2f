import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { mul, sum, tanh } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import type { MLP } from '../../nn/mlp.js';
import { dnn, type DnnOptions } from '../towers/dnn-tower.js';

/**
 * A representation tower: an MLP (`hiddenUnits`) ending in `outputDim` units squashed by tanh,
 * DeepMCP's user, ad and correlation representations (Ouyang et al. 2019, §3.2–3.3):
 * v = tanh(W_out·MLP(x) + b_out).
 */
export class TanhTower extends Module {
  readonly outputDim: number;
  private readonly net: MLP;

  constructor(inputDim: number, opts: DnnOptions, outputDim: number, rng: Rng) {
    super();
    if (!Number.isInteger(outputDim) || outputDim < 1) throw new Error(`tanh tower: the output size must be a positive integer, got ${outputDim}`);
    this.outputDim = outputDim;
    this.net = this.child('net', dnn(inputDim, opts, rng, outputDim));
  }

  /** x [N, in] → [N, outputDim] in (−1, 1). */
  forward(x: Tensor): Tensor {
    return tanh(this.net.forward(x));
  }
}

/**
 * DeepMCP's matching subnet (§3.2): a user tower and an item tower, each a TanhTower over its
 * own inputs; the match logit is their inner product, so σ(⟨v_u, v_a⟩) is the match score
 * r(u, a) trained with log loss on the click label. [B, inU], [B, inA] → [B].
 */
export class TwoTowerMatch extends Module {
  private readonly user: TanhTower;
  private readonly item: TanhTower;

  constructor(userDim: number, itemDim: number, opts: DnnOptions, outputDim: number, rng: Rng) {
    super();
    this.user = this.child('user', new TanhTower(userDim, opts, outputDim, rng));
    this.item = this.child('item', new TanhTower(itemDim, opts, outputDim, rng));
  }

  /** The match logit ⟨v_u, v_a⟩ per row, [B]. */
  forward(user: Tensor, item: Tensor): Tensor {
    return sum(mul(this.user.forward(user), this.item.forward(item)), 1);
  }
}
