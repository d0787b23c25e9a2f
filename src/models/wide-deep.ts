import { Tensor } from '../engine/tensor.js';
import { add, reshape } from '../engine/ops/index.js';
import { MLP } from '../nn/mlp.js';
import type { Batch } from '../data/batch.js';
import { LinearLogit } from '../blocks/linear-logit.js';
import { FeatureEmbedding } from '../blocks/feature-embedding.js';
import { RankingModel, flatDeepInput, flatDeepInputDim, type DnnOptions, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of Wide&Deep. */
export type WideDeepOptions = EmbeddingOptions & DnnOptions;

/**
 * Wide & Deep (Cheng et al. 2016): logit = wide(x) + DNN([e_1 … e_F, dense]); the wide part
 * is the first-order linear model over the raw categorical values (no hand-made crosses:
 * declare a crossed column in the schema to get one), trained jointly. The DNN output layer
 * carries the only bias.
 */
export class WideDeep extends RankingModel {
  readonly modelName = 'widedeep';
  private readonly wide: LinearLogit;
  private readonly embedding: FeatureEmbedding;
  private readonly dnn: MLP;
  private readonly ctx: ModelContext;

  constructor(ctx: ModelContext, opts: WideDeepOptions) {
    super();
    this.ctx = ctx;
    this.wide = this.child('wide', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false }));
    this.embedding = this.child('embedding', new FeatureEmbedding(ctx.spec, { dim: opts.embeddingDim, part: 'deep', initStd: opts.embeddingInitStd, rng: ctx.rng }));
    this.dnn = this.child('dnn', dnnTower(flatDeepInputDim(this.embedding, ctx.spec), opts, ctx));
  }

  override forward(batch: Batch): Tensor {
    const deep = reshape(this.dnn.forward(flatDeepInput(this.embedding.forward(batch), batch, this.ctx.spec)), [batch.size]);
    return add(this.wide.forward(batch), deep);
  }
}

/** A DNN tower ending in one output unit (no activation): the deep logit. */
export function dnnTower(inputDim: number, opts: DnnOptions, ctx: ModelContext): MLP {
  return new MLP({
    inputDim,
    hiddenUnits: opts.dnnHiddenUnits,
    activation: opts.dnnActivation,
    dropout: opts.dnnDropout,
    batchNorm: opts.batchNorm,
    outputDim: 1,
    rng: ctx.rng,
    // Dropout masks come from the context generator, whose state checkpoints save.
    dropoutRng: ctx.rng,
  });
}
