import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { add, linear, reshape, sum } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import type { Batch } from '../../features/batch.js';
import type { FeatureSpec, FieldDef } from '../../features/fields.js';
import { FeatureInputs, denseValues, selectFields } from './feature-inputs.js';

/**
 * First-order (linear / "wide") logit: w₀ + Σ_f w_{f, x_f} + Σ_j u_j·dense_j over the fields
 * of the linear part (use linear|both), with one scalar weight per categorical value held
 * in 1-dimensional embedding tables (FuxiCTR's LR_Layer, DeepCTR's linear part); a
 * multi-value field contributes its pooled weight. Initialization follows the embeddings,
 * N(0, initStd²); numeric weights and the bias start at zero. `bias: false` drops w₀ where
 * another part already has one (DeepFM and Wide&Deep: the DNN's output layer; FuxiCTR's
 * LR_Layer(use_bias=False)).
 */
export class LinearLogit extends Module {
  private readonly emb: FeatureInputs | null;
  private readonly dense: FieldDef[];
  private readonly denseWeight: Tensor | null;
  private readonly bias: Tensor | null;

  constructor(spec: FeatureSpec, opts: { initStd: number; rng: Rng; bias?: boolean; owner?: string }) {
    super();
    const fields = selectFields(spec, { use: 'linear' });
    const hasCat = fields.some((f) => f.kind !== 'dense');
    this.emb = hasCat
      ? this.child(
          'embedding',
          new FeatureInputs(spec, {
            embeddingDim: 1,
            ignoreFieldDims: true,
            initStd: opts.initStd,
            rng: opts.rng,
            select: { use: 'linear', kinds: ['sparse', 'varlen', 'sequence'] },
            prefix: 'linear.',
            owner: opts.owner ? `${opts.owner} (linear part)` : 'the linear part',
          }),
        )
      : null;
    this.dense = fields.filter((f) => f.kind === 'dense');
    this.denseWeight = this.dense.length > 0 ? this.param('dense_weight', Tensor.zeros([this.dense.length, 1])) : null;
    this.bias = opts.bias === false ? null : this.param('bias', Tensor.zeros([1]));
  }

  /** The [B] first-order logits. */
  forward(batch: Batch): Tensor {
    let out: Tensor | null = null;
    if (this.emb !== null) out = sum(this.emb.forward(batch).stacked(), [1, 2]);
    if (this.denseWeight !== null) {
      const d = reshape(linear(denseValues(batch, this.dense), this.denseWeight, null), [batch.size]);
      out = out === null ? d : add(out, d);
    }
    if (out === null) out = Tensor.zeros([batch.size]);
    return this.bias === null ? out : add(out, this.bias);
  }
}
