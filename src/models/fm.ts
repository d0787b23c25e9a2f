import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { Batch } from '../data/batch.js';
import { LinearLogit } from '../blocks/linear-logit.js';
import { FeatureEmbedding } from '../blocks/feature-embedding.js';
import { fmSecondOrder } from '../blocks/fm.js';
import { RankingModel, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of FM. */
export type FMOptions = EmbeddingOptions;

/**
 * Factorization machine (Rendle 2010): logit = w₀ + Σ_f w_{x_f} + Σ_{f<g} ⟨v_{x_f}, v_{x_g}⟩,
 * the second-order term computed as ½[(Σv)² − Σv²]. Dense fields enter the linear term only.
 */
export class FM extends RankingModel {
  readonly modelName = 'fm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureEmbedding;

  constructor(ctx: ModelContext, opts: FMOptions) {
    super();
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng }));
    this.embedding = this.child('embedding', new FeatureEmbedding(ctx.spec, { dim: opts.embeddingDim, part: 'deep', initStd: opts.embeddingInitStd, rng: ctx.rng }));
  }

  override forward(batch: Batch): Tensor {
    return add(this.linear.forward(batch), fmSecondOrder(this.embedding.forward(batch)));
  }
}
