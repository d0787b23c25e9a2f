import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { fmSecondOrder } from '../blocks/interactions/fm.js';
import { SingleTaskModel, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of FM. */
export type FMOptions = EmbeddingOptions;

/**
 * Factorization machine (Rendle 2010): logit = w₀ + Σ_f w_{x_f} + Σ_{f<g} ⟨v_{x_f}, v_{x_g}⟩,
 * the second-order term computed as ½[(Σv)² − Σv²]. Numeric fields enter the linear term,
 * and the pairwise term too with `embed_dense` (value × vector, as FuxiCTR's FM).
 */
export class FM extends SingleTaskModel {
  readonly modelName = 'fm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;

  constructor(ctx: ModelContext, opts: FMOptions) {
    super(ctx);
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, owner: "model 'fm'" }));
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'fm', { sameDim: true }));
  }

  override forward(batch: Batch): Tensor {
    return add(this.linear.forward(batch), fmSecondOrder(this.embedding.forward(batch).stacked()));
  }
}
