import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { add, linear, reshape, sum } from '../engine/ops/index.js';
import { Module } from '../nn/module.js';
import type { Batch } from '../data/batch.js';
import type { InputSpec } from '../models/input-spec.js';
import { FeatureEmbedding, denseInputs } from './feature-embedding.js';

/**
 * First-order (linear / "wide") logit: w₀ + Σ_f w_{f, x_f} + Σ_j u_j·dense_j, with one scalar
 * weight per categorical value held in 1-dimensional embedding tables (FuxiCTR's LR_Layer,
 * DeepCTR's linear part). Initialization follows the embeddings, N(0, initStd²); dense weights
 * and the bias start at zero. `bias: false` drops w₀ where another part already has one
 * (DeepFM and Wide&Deep: the DNN's output layer; FuxiCTR's LR_Layer(use_bias=False)).
 */
export class LinearLogit extends Module {
  private readonly emb: FeatureEmbedding | null;
  private readonly denseWeight: Tensor | null;
  private readonly bias: Tensor | null;
  private readonly spec: InputSpec;

  constructor(spec: InputSpec, opts: { initStd: number; rng: Rng; bias?: boolean }) {
    super();
    this.spec = spec;
    const hasCat = spec.sparse.some((f) => f.linear) || spec.varlen.some((f) => f.linear);
    this.emb = hasCat ? this.child('embedding', new FeatureEmbedding(spec, { dim: 1, part: 'linear', initStd: opts.initStd, rng: opts.rng, prefix: 'linear.' })) : null;
    const nDense = spec.dense.filter((f) => f.linear).length;
    this.denseWeight = nDense > 0 ? this.param('dense_weight', Tensor.zeros([nDense, 1])) : null;
    this.bias = opts.bias === false ? null : this.param('bias', Tensor.zeros([1]));
  }

  /** The [B] first-order logits. */
  forward(batch: Batch): Tensor {
    let out: Tensor | null = null;
    if (this.emb !== null) out = sum(this.emb.forward(batch), [1, 2]);
    const dense = denseInputs(batch, this.spec, 'linear');
    if (dense !== null && this.denseWeight !== null) {
      const d = reshape(linear(dense, this.denseWeight, null), [batch.size]);
      out = out === null ? d : add(out, d);
    }
    if (out === null) out = Tensor.zeros([batch.size]);
    return this.bias === null ? out : add(out, this.bias);
  }
}
