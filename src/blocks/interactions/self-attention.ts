import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { add, addLayerNorm, headAttention, headWeightedSum, relu, reshape } from '../../engine/ops/index.js';
import { Dropout } from '../../nn/dropout.js';
import { LayerNorm } from '../../nn/layernorm.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';

/** Options of `InteractingLayer`. */
export interface InteractingLayerOptions {
  /** Width of the input's last axis. */
  inputDim: number;
  /** Total width of the output, split evenly across the heads (`attention_dim`, as FuxiCTR). */
  attentionDim: number;
  numHeads: number;
  /** Add the input (projected by W_res when the widths differ) before the ReLU (`use_residual`). */
  useResidual: boolean;
  /** Divide the scores by √(head width) (`use_scale`). */
  useScale: boolean;
  /** LayerNorm after the residual sum (`layer_norm`). */
  layerNorm: boolean;
  /** Dropout on the attention weights and on the attention output. */
  dropout: number;
  rng: Rng;
}

/**
 * AutoInt's interacting layer (Song et al. 2019, eq. 5–8), as FuxiCTR's
 * MultiHeadSelfAttention(align_to="output"): over the fields x [B, F, In], per head h
 *   α^h = softmax_g( (x W_Q^h)(x W_K^h)ᵀ [/ √d] ),   o^h = α^h (x W_V^h),
 *   y = ReLU( LN?( dropout(o¹ ‖ … ‖ o^H) + x W_res ) ),
 * with W_Q, W_K, W_V [In, attentionDim] (no bias), d = attentionDim / H, W_res
 * [In, attentionDim] only when In ≠ attentionDim (else the identity), dropout also on α.
 * Parameters: 3·In·A (+ In·A for W_res) (+ 2·A with LayerNorm).
 * The heads stay in the projections' columns: `headAttention` and `headWeightedSum` (fused
 * kernels) read and write them there, so no per-head split, transpose or merge is copied.
 */
export class InteractingLayer extends Module {
  private readonly wq: Linear;
  private readonly wk: Linear;
  private readonly wv: Linear;
  private readonly wres: Linear | null;
  private readonly norm: LayerNorm | null;
  private readonly dropAttention: Dropout;
  private readonly dropOutput: Dropout;
  private readonly heads: number;
  private readonly headDim: number;
  private readonly useResidual: boolean;
  private readonly useScale: boolean;

  constructor(opts: InteractingLayerOptions) {
    super();
    const { inputDim, attentionDim, numHeads, rng } = opts;
    if (!Number.isInteger(numHeads) || numHeads < 1 || attentionDim % numHeads !== 0) {
      throw new Error(`interacting layer: attention_dim (${attentionDim}) must be a multiple of num_heads (${numHeads})`);
    }
    this.heads = numHeads;
    this.headDim = attentionDim / numHeads;
    this.useResidual = opts.useResidual;
    this.useScale = opts.useScale;
    this.wq = this.child('W_q', new Linear(inputDim, attentionDim, { bias: false, rng }));
    this.wk = this.child('W_k', new Linear(inputDim, attentionDim, { bias: false, rng }));
    this.wv = this.child('W_v', new Linear(inputDim, attentionDim, { bias: false, rng }));
    this.wres = opts.useResidual && inputDim !== attentionDim ? this.child('W_res', new Linear(inputDim, attentionDim, { bias: false, rng })) : null;
    this.norm = opts.layerNorm ? this.child('layer_norm', new LayerNorm(attentionDim)) : null;
    this.dropAttention = this.child('attention_dropout', new Dropout(opts.dropout, rng));
    this.dropOutput = this.child('output_dropout', new Dropout(opts.dropout, rng));
  }

  /** The attention weights α [B·H, F, F] (head-major within a row) of x [B, F, In]. */
  weights(x: Tensor): Tensor {
    const rows = this.rows(x);
    return this.scores(this.project(this.wq, rows, x), this.project(this.wk, rows, x));
  }

  /** x [B, F, In] as one [B·F, In] node that every projection reads (their GEMMs add their gradients straight into it). */
  private rows(x: Tensor): Tensor {
    return reshape(x, [x.size / x.shape[x.rank - 1]!, x.shape[x.rank - 1]!]);
  }

  /** A projection of the [B·F, In] rows, as [B, F, out]. */
  private project(w: Linear, rows: Tensor, x: Tensor): Tensor {
    const y = w.forward(rows);
    return reshape(y, [x.shape[0]!, x.shape[1]!, y.shape[1]!]);
  }

  private scores(q: Tensor, k: Tensor): Tensor {
    return headAttention(q, k, this.heads, this.useScale ? 1 / Math.sqrt(this.headDim) : 1);
  }

  /** x [B, F, In] → [B, F, attentionDim]. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3) throw new Error(`interacting layer: expected fields [B, F, In], got [${x.shape}]`);
    const rows = this.rows(x);
    const alpha = this.dropAttention.forward(this.scores(this.project(this.wq, rows, x), this.project(this.wk, rows, x)));
    const y = this.dropOutput.forward(headWeightedSum(alpha, this.project(this.wv, rows, x), this.heads)); // heads merged in place
    const residual = this.useResidual ? (this.wres === null ? x : this.project(this.wres, rows, x)) : null;
    // With layer norm: residual sum, LN and ReLU fused in one op (no sum / normalized tensors).
    if (this.norm !== null) return addLayerNorm(y, residual, this.norm.gamma, this.norm.beta, { eps: this.norm.eps, relu: true });
    return relu(residual === null ? y : add(y, residual));
  }
}
