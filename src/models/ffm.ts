import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import { FieldAwareEmbeddings, ffmInteraction } from '../blocks/interactions/ffm.js';
import { SingleTaskModel, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of FFM. */
export type FFMOptions = EmbeddingOptions;

/**
 * Field-aware Factorization Machine (Juan et al. 2016, eq. 3):
 *   logit = w₀ + Σ_f w_{x_f} + Σ_{f<g} ⟨v_{x_f, g}, v_{x_g, f}⟩,
 * one latent vector per feature and other field. Layout as FuxiCTR's FFM: F − 1 copies of
 * every embedding table (`FieldAwareEmbeddings`), the linear part with the model's bias.
 * Numeric fields enter the linear part, and the pair sum with `embed_dense` (value ×
 * field-aware vectors). libffm's L2 (λ/2·‖v‖² on the vectors a step touches) is the
 * trainer's `embedding_l2` with `embedding_l2_mode: batch`. Dense parameters: 1 (w₀);
 * embedding rows (F − 1)·D·V + V; BARS Frappe (F 10, D 10): 91·V + 1.
 */
export class FFM extends SingleTaskModel {
  readonly modelName = 'ffm';
  private readonly linear: LinearLogit;
  private readonly fieldAware: FieldAwareEmbeddings;

  constructor(ctx: ModelContext, opts: FFMOptions) {
    super(ctx);
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, owner: "model 'ffm'" }));
    this.fieldAware = this.child(
      'field_aware',
      new FieldAwareEmbeddings(ctx.spec, {
        embeddingDim: opts.embeddingDim,
        initStd: opts.embeddingInitStd,
        rng: ctx.rng,
        embedDense: opts.embedDense,
        sameDim: opts.embeddingProjection ? 'project' : 'require',
        owner: "model 'ffm'",
      }),
    );
  }

  override forward(batch: Batch): Tensor {
    return add(this.linear.forward(batch), ffmInteraction(this.fieldAware.forward(batch)));
  }
}
