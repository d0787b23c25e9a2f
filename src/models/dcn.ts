import { Tensor } from '../engine/tensor.js';
import { concat, reshape } from '../engine/ops/index.js';
import { Linear } from '../nn/linear.js';
import { MLP } from '../nn/mlp.js';
import type { Batch } from '../data/batch.js';
import { FeatureEmbedding } from '../blocks/feature-embedding.js';
import { CrossNet } from '../blocks/cross.js';
import { RankingModel, flatDeepInput, flatDeepInputDim, type DnnOptions, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of DCN. */
export interface DCNOptions extends EmbeddingOptions, DnnOptions {
  /** Number of cross layers. Default 3. */
  numCrossLayers: number;
}

/**
 * Deep & Cross Network (Wang et al. 2017, Fig. 1): x₀ = [e_1 … e_F, dense]; a cross network
 * (x_{l+1} = x₀ x_lᵀ w_l + b_l + x_l) and a DNN run in parallel on x₀; their outputs are
 * concatenated and a final linear layer gives the logit (the paper's combination layer,
 * as in FuxiCTR; no separate first-order term). With dnnHiddenUnits = [] it is the
 * cross network alone followed by the linear layer.
 */
export class DCN extends RankingModel {
  readonly modelName = 'dcn';
  private readonly embedding: FeatureEmbedding;
  private readonly cross: CrossNet;
  private readonly dnn: MLP | null;
  private readonly fc: Linear;
  private readonly ctx: ModelContext;

  constructor(ctx: ModelContext, opts: DCNOptions) {
    super();
    this.ctx = ctx;
    this.embedding = this.child('embedding', new FeatureEmbedding(ctx.spec, { dim: opts.embeddingDim, part: 'deep', initStd: opts.embeddingInitStd, rng: ctx.rng }));
    const inputDim = flatDeepInputDim(this.embedding, ctx.spec);
    this.dnn = opts.dnnHiddenUnits.length > 0
      ? this.child('dnn', new MLP({ inputDim, hiddenUnits: opts.dnnHiddenUnits, activation: opts.dnnActivation, dropout: opts.dnnDropout, batchNorm: opts.batchNorm, rng: ctx.rng, dropoutRng: ctx.rng }))
      : null;
    this.cross = this.child('cross', new CrossNet(inputDim, opts.numCrossLayers, ctx.rng));
    const finalDim = inputDim + (opts.dnnHiddenUnits.at(-1) ?? 0);
    this.fc = this.child('fc', new Linear(finalDim, 1, { rng: ctx.rng }));
  }

  override forward(batch: Batch): Tensor {
    const x0 = flatDeepInput(this.embedding.forward(batch), batch, this.ctx.spec);
    const crossOut = this.cross.forward(x0);
    const combined = this.dnn === null ? crossOut : concat([crossOut, this.dnn.forward(x0)], 1);
    return reshape(this.fc.forward(combined), [batch.size]);
  }
}
