import { Tensor } from '../engine/tensor.js';
import { add, reshape } from '../engine/ops/index.js';
import { Linear } from '../nn/linear.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { InteractingLayer } from '../blocks/interactions/self-attention.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of AutoInt / AutoInt+ (FuxiCTR's names). */
export interface AutoIntOptions extends EmbeddingOptions {
  /** Number of interacting layers (`attention_layers`). */
  attentionLayers: number;
  /** Heads per layer (`num_heads`). */
  numHeads: number;
  /** Output width of a layer, all heads together (`attention_dim`). */
  attentionDim: number;
  useResidual: boolean;
  useScale: boolean;
  layerNorm: boolean;
  /** Add a first-order part (`use_wide`). */
  useWide: boolean;
  /** DNN beside the attention (`dnn_hidden_units`): non-empty = AutoInt+. */
  dnnHiddenUnits: number[];
  dnnActivations: string;
  /** Dropout of the attention weights and outputs and of the DNN (`net_dropout`). */
  netDropout: number;
  batchNorm: boolean;
}

/**
 * AutoInt (Song et al. 2019, Fig. 1) and AutoInt+: the field embeddings e [B, F, D] pass
 * through L interacting layers (multi-head self-attention over the fields, residual, ReLU),
 *   logit = w_outᵀ flatten(x_L) + b  [+ DNN(e_1 ‖ … ‖ e_F ‖ dense)  (AutoInt+)]  [+ Σ_f w_{x_f}  (use_wide)].
 * As FuxiCTR: `attention_dim` is the width of all heads together (head width
 * attention_dim / num_heads), the first layer's residual is projected (W_res), `net_dropout`
 * applies to the attention weights and outputs and to the DNN, the scale is √(head width),
 * the wide part has no bias. Defaults as FuxiCTR's constructor, except
 * `dnn_hidden_units: []` (plain AutoInt; FuxiCTR's default [64, 64, 64] is AutoInt+).
 * Dense parameters, A = attention_dim: 4·D·A (3·D·A when D = A) + (L − 1)·3·A² (+ 2·A per
 * layer with layer_norm), the output F·A + 1, the DNN Σ_l (h_{l−1}+1)·h_l + h_L + 1
 * (+2·h_l with BN); BARS Frappe AutoInt (L 6, H 4, A 128): 10·V + 252,161; AutoInt+
 * (L 5, layer_norm, DNN [400, 400, 400] with BN): 10·V + 568,290.
 */
export class AutoInt extends SingleTaskModel {
  readonly modelName = 'autoint';
  private readonly linear: LinearLogit | null;
  private readonly embedding: FeatureInputs;
  private readonly layers: InteractingLayer[] = [];
  private readonly fc: Linear;
  private readonly dnn: MLP | null;

  constructor(ctx: ModelContext, opts: AutoIntOptions) {
    super(ctx);
    if (!Number.isInteger(opts.attentionLayers) || opts.attentionLayers < 1)
      throw new Error(`model 'autoint' option 'attention_layers' must be a positive integer, got ${opts.attentionLayers}`);
    if (!Number.isInteger(opts.numHeads) || opts.numHeads < 1 || !Number.isInteger(opts.attentionDim) || opts.attentionDim % opts.numHeads !== 0) {
      throw new Error(`model 'autoint' option 'attention_dim' (${opts.attentionDim}) must be a positive multiple of 'num_heads' (${opts.numHeads})`);
    }
    this.linear = opts.useWide
      ? this.child('linear', new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false, owner: "model 'autoint'" }))
      : null;
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'autoint', { sameDim: true }));
    const raw = this.embedding.rawDense;
    if (raw.length > 0 && opts.dnnHiddenUnits.length === 0 && !opts.useWide) {
      throw new Error(
        `model 'autoint': numeric fields ${raw.map((f) => `'${f.name}'`).join(', ')} would reach no part of the model (the attention takes embedded fields only); set embed_dense: true (the paper's), use_wide: true, or dnn_hidden_units`,
      );
    }
    let width = this.embedding.dim;
    for (let l = 0; l < opts.attentionLayers; l++) {
      this.layers.push(
        this.child(
          `attention${l}`,
          new InteractingLayer({
            inputDim: width,
            attentionDim: opts.attentionDim,
            numHeads: opts.numHeads,
            useResidual: opts.useResidual,
            useScale: opts.useScale,
            layerNorm: opts.layerNorm,
            dropout: opts.netDropout,
            rng: ctx.rng,
          }),
        ),
      );
      width = opts.attentionDim;
    }
    this.fc = this.child('fc', new Linear(this.embedding.numFields * opts.attentionDim, 1, { rng: ctx.rng }));
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
    let x = e.stacked();
    for (const layer of this.layers) x = layer.forward(x);
    let y = asLogit(this.fc.forward(reshape(x, [batch.size, x.size / batch.size])), batch);
    if (this.dnn !== null) y = add(y, asLogit(this.dnn.forward(e.flat()), batch));
    return this.linear === null ? y : add(y, this.linear.forward(batch));
  }
}
