import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { activationUnitFirstLayer, maskedFill, matmul, reshape, softmax } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import type { MLP } from '../../nn/mlp.js';
import { dnn } from '../towers/dnn-tower.js';

/** Options of `TargetAttention`. */
export interface TargetAttentionOptions {
  /** Hidden layers of the activation unit (FuxiCTR `attention_hidden_units`). */
  hiddenUnits: number[];
  /** Their activation (`attention_hidden_activations`; DIN: dice). */
  activation: string;
  /** Dropout in the activation unit (`attention_dropout`). */
  dropout: number;
  /** Normalize the scores with a softmax over the valid positions (`din_use_softmax`); the paper does not. */
  useSoftmax: boolean;
  rng: Rng;
}

/**
 * DIN's local activation unit and attention pooling (Zhou et al. 2018, Fig. 2 right): for a
 * candidate q [B, D] and a history k [B, L, D], the weight of position l is
 * a(q, k_l) = MLP([q, k_l, q − k_l, q ⊙ k_l]) → 1 (no output activation), padding positions
 * get weight 0 (or are left out of the softmax), and the pooled interest is Σ_l a_l·k_l [B, D].
 * As in the paper (and FuxiCTR's default) the weights are not normalized, so the pooled
 * vector keeps the intensity of the user's interest; an empty history pools to zeros.
 */
export class TargetAttention extends Module {
  private readonly unit: MLP;
  private readonly useSoftmax: boolean;

  constructor(dim: number, opts: TargetAttentionOptions) {
    super();
    this.useSoftmax = opts.useSoftmax;
    this.unit = this.child(
      'unit',
      dnn(4 * dim, { hiddenUnits: opts.hiddenUnits, hiddenActivations: opts.activation, netDropout: opts.dropout, batchNorm: false }, opts.rng, 1),
    );
  }

  /** The attention weights [B, L] (0 at padding positions, where `padding` is 1). */
  weights(query: Tensor, keys: Tensor, padding: Uint8Array): Tensor {
    const [B, L, D] = keys.shape as [number, number, number];
    if (query.rank !== 2 || query.shape[0] !== B || query.shape[1] !== D)
      throw new Error(`TargetAttention: query [${query.shape}] does not match keys [${keys.shape}]`);
    if (padding.length !== B * L) throw new Error(`TargetAttention: padding mask has ${padding.length} entries, keys have ${B}×${L} positions`);
    const scores = reshape(this.unit.forwardAfterFirstLinear(this.firstLayer(query, keys)), [B, L]);
    return this.useSoftmax ? softmax(scores, -1, padding) : maskedFill(scores, padding, 0);
  }

  /** The activation unit's first Linear over [q, k_l, q − k_l, q ⊙ k_l], [B·L, H], factored (see `activationUnitFirstLayer`). */
  private firstLayer(query: Tensor, keys: Tensor): Tensor {
    const first = this.unit.firstLinear()!;
    return activationUnitFirstLayer(query, keys, first.weight, first.bias);
  }

  /** The pooled history Σ_l a(q, k_l)·k_l, [B, D]. */
  forward(query: Tensor, keys: Tensor, padding: Uint8Array): Tensor {
    const [B, L, D] = keys.shape as [number, number, number];
    const w = this.weights(query, keys, padding);
    return reshape(matmul(reshape(w, [B, 1, L]), keys), [B, D]);
  }
}
