import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { AttentionalPooling, pairwiseProducts } from '../blocks/interactions/attentional-pooling.js';
import { fmSecondOrder } from '../blocks/interactions/fm.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of AFM (FuxiCTR's names). */
export interface AFMOptions extends EmbeddingOptions {
  /** Hidden size of the attention network (`attention_dim`). */
  attentionDim: number;
  /** [dropout on the attention weights, dropout on the pooled vector] (`attention_dropout`). */
  attentionDropout: number[];
  /** false: plain sum of the pair products, i.e. an FM (`use_attention`). */
  useAttention: boolean;
}

/**
 * Attentional Factorization Machine (Xiao et al. 2017, Fig. 1):
 *   logit = w₀ + Σ_f w_{x_f} + pᵀ Σ_{f<g} a_{fg} (e_f ⊙ e_g),
 *   a_{fg} = softmax_{pairs}( hᵀ ReLU(W (e_f ⊙ e_g) + b) ),
 * with dropout on the attention weights and on the pooled vector (`attention_dropout`).
 * `use_attention: false` gives Σ_{f<g} ⟨e_f, e_g⟩, an FM. As FuxiCTR: the linear part has
 * the model's one bias w₀, and p has no bias. FuxiCTR builds the attention network even
 * when `use_attention` is false (unused); finerank does not, so there the count is the FM's.
 * Dense parameters with attention: (D + 1)·A + A + D + 1; BARS Frappe (D 10, A 128):
 * 11·V + 1,547.
 */
export class AFM extends SingleTaskModel {
  readonly modelName = 'afm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;
  private readonly attention: AttentionalPooling | null;

  constructor(ctx: ModelContext, opts: AFMOptions) {
    super(ctx);
    const drop = opts.attentionDropout;
    if (drop.length !== 2 || drop.some((p) => !(p >= 0 && p < 1))) {
      throw new Error(
        `model 'afm' option 'attention_dropout' must be two probabilities in [0, 1) ([on the attention weights, on the pooled vector]), got ${JSON.stringify(drop)}`,
      );
    }
    if (!Number.isInteger(opts.attentionDim) || opts.attentionDim < 1)
      throw new Error(`model 'afm' option 'attention_dim' must be a positive integer, got ${opts.attentionDim}`);
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, owner: "model 'afm'" }));
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'afm', { sameDim: true }));
    this.attention = opts.useAttention
      ? this.child(
          'afm',
          new AttentionalPooling({ dim: this.embedding.dim, attentionDim: opts.attentionDim, dropout: [drop[0]!, drop[1]!], rng: ctx.rng }),
        )
      : null;
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch).stacked();
    const pairs = this.attention === null ? fmSecondOrder(e) : asLogit(this.attention.forward(pairwiseProducts(e)), batch);
    return add(this.linear.forward(batch), pairs);
  }

  /** The attention weights a [B, F(F−1)/2] of a batch, pairs in `fieldPairs` order (null without attention). */
  attentionWeights(batch: Batch): Tensor | null {
    if (this.attention === null) return null;
    return this.attention.weights(pairwiseProducts(this.embedding.forward(batch).stacked()));
  }
}
