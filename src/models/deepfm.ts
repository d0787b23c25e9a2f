import { Tensor } from '../engine/tensor.js';
import { add, reshape } from '../engine/ops/index.js';
import { MLP } from '../nn/mlp.js';
import type { Batch } from '../data/batch.js';
import { LinearLogit } from '../blocks/linear-logit.js';
import { FeatureEmbedding } from '../blocks/feature-embedding.js';
import { fmSecondOrder } from '../blocks/fm.js';
import { RankingModel, flatDeepInput, flatDeepInputDim, type DnnOptions, type EmbeddingOptions, type ModelContext } from './base.js';
import { dnnTower } from './wide-deep.js';

/** Options of DeepFM. */
export type DeepFMOptions = EmbeddingOptions & DnnOptions;

/**
 * DeepFM (Guo et al. 2017, Fig. 1): logit = FM(x) + DNN(e), where the FM component
 * (first-order weights + pairwise ⟨e_f, e_g⟩) and the DNN share one set of field
 * embeddings e. As in FuxiCTR, the first-order weights are separate 1-d embeddings and the
 * only bias is the DNN output layer's (no FM bias), so parameter counts match BARS.
 */
export class DeepFM extends RankingModel {
  readonly modelName = 'deepfm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureEmbedding;
  private readonly dnn: MLP;
  private readonly ctx: ModelContext;

  constructor(ctx: ModelContext, opts: DeepFMOptions) {
    super();
    this.ctx = ctx;
    this.linear = this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false }));
    this.embedding = this.child('embedding', new FeatureEmbedding(ctx.spec, { dim: opts.embeddingDim, part: 'deep', initStd: opts.embeddingInitStd, rng: ctx.rng }));
    this.dnn = this.child('dnn', dnnTower(flatDeepInputDim(this.embedding, ctx.spec), opts, ctx));
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const fm = add(this.linear.forward(batch), fmSecondOrder(e));
    const deep = reshape(this.dnn.forward(flatDeepInput(e, batch, this.ctx.spec)), [batch.size]);
    return add(fm, deep);
  }
}
