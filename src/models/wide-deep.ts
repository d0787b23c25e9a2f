import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn, type DnnOptions } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of Wide&Deep. */
export type WideDeepOptions = EmbeddingOptions & DnnOptions;

/**
 * Wide & Deep (Cheng et al. 2016, Fig. 1 center): logit = wide(x) + DNN([e_1 … e_F, dense]);
 * the wide part is the first-order linear model over the raw categorical values (no
 * hand-made crosses: declare a crossed column in the schema to get one), trained jointly.
 * The DNN output layer carries the only bias.
 */
export class WideDeep extends SingleTaskModel {
  readonly modelName = 'widedeep';
  private readonly wide: LinearLogit;
  private readonly embedding: FeatureInputs;
  private readonly dnn: MLP;

  constructor(ctx: ModelContext, opts: WideDeepOptions) {
    super(ctx);
    this.wide = this.child(
      'wide',
      new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false, owner: "model 'widedeep'" }),
    );
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'widedeep'));
    this.dnn = this.child('dnn', dnn(this.embedding.flatWidth, opts, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    const deep = asLogit(this.dnn.forward(this.embedding.forward(batch).flat()), batch);
    return add(this.wide.forward(batch), deep);
  }
}
