import { Tensor } from '../engine/tensor.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import { SingleTaskModel, type ModelContext } from './base.js';

/** Options of LR. */
export interface LROptions {
  /** Std of the N(0, std²) initialization of the per-value weights. Default 1e-4. */
  embeddingInitStd: number;
}

/** Logistic regression: logit = w₀ + Σ_f w_{f, x_f} + Σ_j u_j·dense_j. */
export class LR extends SingleTaskModel {
  readonly modelName = 'lr';
  private readonly linear: LinearLogit;

  constructor(ctx: ModelContext, opts: LROptions) {
    super(ctx);
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, owner: "model 'lr'" }));
  }

  override forward(batch: Batch): Tensor {
    return this.linear.forward(batch);
  }
}
