import { Tensor } from '../engine/tensor.js';
import { concat } from '../engine/ops/index.js';
import { Linear } from '../nn/linear.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { CrossNet } from '../blocks/interactions/cross.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of DCN (FuxiCTR's DCN config names). */
export interface DCNOptions extends EmbeddingOptions {
  /** DNN hidden layers (`dnn_hidden_units`); [] = cross network only. */
  dnnHiddenUnits: number[];
  /** DNN activation (`dnn_activations`). */
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
  /** Number of cross layers (`num_cross_layers`; FuxiCTR v1 `crossing_layers`). */
  numCrossLayers: number;
}

/**
 * Deep & Cross Network (Wang et al. 2017, Fig. 1): x₀ = [e_1 … e_F, dense]; a cross network
 * (x_{l+1} = x₀ x_lᵀ w_l + b_l + x_l) and a DNN run in parallel on x₀; their outputs are
 * concatenated and a final linear layer gives the logit (the paper's combination layer,
 * as in FuxiCTR; no separate first-order term). BARS Frappe count: 10·V + 364,701.
 */
export class DCN extends SingleTaskModel {
  readonly modelName = 'dcn';
  private readonly embedding: FeatureInputs;
  private readonly cross: CrossNet;
  private readonly dnn: MLP | null;
  private readonly fc: Linear;

  constructor(ctx: ModelContext, opts: DCNOptions) {
    super(ctx);
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'dcn'));
    const inputDim = this.embedding.flatWidth;
    const tower = {
      hiddenUnits: opts.dnnHiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
    };
    this.dnn = opts.dnnHiddenUnits.length > 0 ? this.child('dnn', dnn(inputDim, tower, ctx.rng, 0)) : null;
    this.cross = this.child('cross', new CrossNet(inputDim, opts.numCrossLayers, ctx.rng));
    this.fc = this.child('fc', new Linear(inputDim + (opts.dnnHiddenUnits.at(-1) ?? 0), 1, { rng: ctx.rng }));
  }

  override forward(batch: Batch): Tensor {
    const x0 = this.embedding.forward(batch).flat();
    const crossOut = this.cross.forward(x0);
    const combined = this.dnn === null ? crossOut : concat([crossOut, this.dnn.forward(x0)], 1);
    return asLogit(this.fc.forward(combined), batch);
  }
}
