import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { CIN } from '../blocks/interactions/cin.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of xDeepFM (FuxiCTR's names). */
export interface XDeepFMOptions extends EmbeddingOptions {
  /** Feature maps H_k of each CIN layer (`cin_layer_units`). */
  cinLayerUnits: number[];
  /** DNN hidden layers (`dnn_hidden_units`; FuxiCTR's `hidden_units` accepted); [] = no DNN. */
  dnnHiddenUnits: number[];
  /** DNN activation (`dnn_activations`; `hidden_activations` accepted). */
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
  /** The paper's split-half CIN (`split_half`; DeepCTR's `cin_split_half`); false: FuxiCTR's direct connections. */
  splitHalf: boolean;
}

/**
 * xDeepFM (Lian et al. 2018, Fig. 5): logit = linear(x) + CIN(e) + DNN(e_1 ‖ … ‖ e_F ‖ dense),
 * over one set of field embeddings e. As FuxiCTR: the CIN ends in its own Linear to one
 * unit (bias), every CIN layer is pooled into the output (direct connections; `split_half:
 * true` is the paper's variant where half of each hidden layer's maps feed the next layer
 * and half the output), the linear part has no bias, and `dnn_hidden_units: []` drops the DNN.
 * Dense parameters: CIN Σ_k (F·H_{k−1} + 1)·H_k + Σ_k H_k + 1 (H₀ = F), DNN
 * Σ_l (h_{l−1}+1)·h_l + h_L + 1 (+2·h_l with BN); BARS Frappe (F 10, D 10, cin [64],
 * DNN [400, 400, 400] with BN): 11·V + 370,530.
 */
export class XDeepFM extends SingleTaskModel {
  readonly modelName = 'xdeepfm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;
  private readonly cin: CIN;
  private readonly dnn: MLP | null;

  constructor(ctx: ModelContext, opts: XDeepFMOptions) {
    super(ctx);
    if (opts.cinLayerUnits.length === 0) throw new Error("model 'xdeepfm' needs at least one CIN layer in 'cin_layer_units'");
    this.linear = this.child(
      'linear',
      new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false, owner: "model 'xdeepfm'" }),
    );
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'xdeepfm', { sameDim: true }));
    this.cin = this.child('cin', new CIN(this.embedding.numFields, opts.cinLayerUnits, ctx.rng, 1, opts.splitHalf));
    const tower = {
      hiddenUnits: opts.dnnHiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
    };
    this.dnn = opts.dnnHiddenUnits.length > 0 ? this.child('dnn', dnn(this.embedding.flatWidth, tower, ctx.rng)) : null;
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const y = add(this.linear.forward(batch), asLogit(this.cin.forward(e.stacked()), batch));
    return this.dnn === null ? y : add(y, asLogit(this.dnn.forward(e.flat()), batch));
  }
}
