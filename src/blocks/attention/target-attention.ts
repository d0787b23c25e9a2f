import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { add, linear, maskedFill, matmul, mul, reshape, slice, softmax, sub } from '../../engine/ops/index.js';
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

  /**
   * The activation unit's first Linear over [q, k_l, q − k_l, q ⊙ k_l] for every position, [B·L, H],
   * without building the [B·L, 4D] features: with W = [W_q; W_k; W_d; W_p] (row blocks of D),
   * [q, k, q − k, q ⊙ k]·W = q·(W_q + W_d) + k·(W_k − W_d) + (q ⊙ k)·W_p, and the first term
   * (with the bias) is computed once per row of the batch instead of once per position.
   */
  private firstLayer(query: Tensor, keys: Tensor): Tensor {
    const [B, L, D] = keys.shape as [number, number, number];
    const first = this.unit.firstLinear()!;
    const w = first.weight;
    const H = w.shape[1]!;
    const [wq, wk, wd, wp] = [0, 1, 2, 3].map((i) => slice(w, 0, i * D, (i + 1) * D)) as [Tensor, Tensor, Tensor, Tensor];
    const perRow = reshape(linear(query, add(wq, wd), first.bias), [B, 1, H]);
    const q = reshape(query, [B, 1, D]);
    const flatKeys = reshape(keys, [B * L, D]);
    const products = reshape(mul(q, keys), [B * L, D]);
    const perPosition = reshape(add(matmul(flatKeys, sub(wk, wd)), matmul(products, wp)), [B, L, H]);
    return reshape(add(perPosition, perRow), [B * L, H]);
  }

  /** The pooled history Σ_l a(q, k_l)·k_l, [B, D]. */
  forward(query: Tensor, keys: Tensor, padding: Uint8Array): Tensor {
    const [B, L, D] = keys.shape as [number, number, number];
    const w = this.weights(query, keys, padding);
    return reshape(matmul(reshape(w, [B, 1, L]), keys), [B, D]);
  }
}
