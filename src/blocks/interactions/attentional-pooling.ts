import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { gather, mul, reluMlpScore, reshape, softmax, sum } from '../../engine/ops/index.js';
import { Dropout } from '../../nn/dropout.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { fieldPairs } from './pairs.js';

/**
 * The element-wise products of every field pair (AFM's pair-wise interaction layer,
 * FuxiCTR's InnerProductInteraction(output="elementwise_product")):
 *   v_{b,(f,g)} = e_{bf} ⊙ e_{bg},   e [B, F, D] → [B, F(F−1)/2, D] in `fieldPairs` order.
 * Two gathers and a multiply, so backward comes from the engine ops.
 */
export function pairwiseProducts(e: Tensor): Tensor {
  if (e.rank !== 3) throw new Error(`pairwiseProducts: expected [B, F, D], got [${e.shape}]`);
  const { left, right } = fieldPairs(e.shape[1]!);
  return mul(gather(e, left, 1), gather(e, right, 1));
}

/** Options of `AttentionalPooling`. */
export interface AttentionalPoolingOptions {
  /** Embedding dimension D. */
  dim: number;
  /** Hidden size A of the attention network (`attention_dim`). */
  attentionDim: number;
  /** Dropout on the attention weights and on the pooled vector (`attention_dropout: [a, b]`). */
  dropout: [number, number];
  rng: Rng;
}

/**
 * AFM's attention-based pooling (Xiao et al. 2017, eq. 4–5), as FuxiCTR's AFM:
 *   a'_{fg} = hᵀ ReLU(W v_{fg} + b),  a = softmax over the pairs,
 *   y = pᵀ dropout₂( Σ_{f<g} dropout₁(a)_{fg} v_{fg} ),   output [B, 1],
 * with W [D, A], b [A], h [A] (no bias), p [D] (no bias); Xavier-normal weights, zero b.
 * Parameters: (D + 1)·A + A + D.
 */
export class AttentionalPooling extends Module {
  private readonly attention: Linear;
  private readonly projection: Linear;
  private readonly output: Linear;
  private readonly dropWeights: Dropout;
  private readonly dropPooled: Dropout;

  constructor(opts: AttentionalPoolingOptions) {
    super();
    this.attention = this.child('attention', new Linear(opts.dim, opts.attentionDim, { rng: opts.rng }));
    this.projection = this.child('attention_h', new Linear(opts.attentionDim, 1, { bias: false, rng: opts.rng }));
    this.output = this.child('weight_p', new Linear(opts.dim, 1, { bias: false, rng: opts.rng }));
    this.dropWeights = this.child('attention_dropout', new Dropout(opts.dropout[0], opts.rng));
    this.dropPooled = this.child('pooled_dropout', new Dropout(opts.dropout[1], opts.rng));
  }

  /** Attention weights a [B, P] of pair products v [B, P, D] (before dropout). */
  weights(v: Tensor): Tensor {
    // hᵀ ReLU(W v + b) per pair, fused: the [B, P, A] hidden layer is never stored.
    return softmax(reluMlpScore(v, this.attention.weight, this.attention.bias, this.projection.weight), 1);
  }

  /** v [B, P, D] → [B, 1]. */
  forward(v: Tensor): Tensor {
    const [B, P] = v.shape as [number, number, number];
    const a = reshape(this.dropWeights.forward(this.weights(v)), [B, P, 1]);
    const pooled = sum(mul(a, v), 1); // [B, D]
    return this.output.forward(this.dropPooled.forward(pooled));
  }
}
