import { Tensor } from '../engine/tensor.js';
import { add, concat, reshape } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { BILINEAR_TYPES, BilinearInteraction, SENet } from '../blocks/interactions/senet-bilinear.js';
import { dnn, type DnnOptions } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of FiBiNET (FuxiCTR's names). */
export interface FiBiNETOptions extends EmbeddingOptions, DnnOptions {
  /** `field_all`, `field_each` or `field_interaction` (`bilinear_type`). */
  bilinearType: string;
  /** SENET reduction ratio: r = max(1, ⌊F / ratio⌋) (`reduction_ratio`). */
  reductionRatio: number;
}

/**
 * FiBiNET (Huang et al. 2019, Fig. 1): SENET re-weights the field embeddings e into v; one
 * bilinear layer crosses both, p = Bilinear(e), q = Bilinear(v) [B, P, D]; then
 *   logit = Σ_f w_{x_f} + DNN( flatten[p ‖ q] ).
 * Choices as FuxiCTR: the same bilinear weights serve p and q, the linear part has no
 * bias, the combination layer is the DNN's input (no separate shallow part).
 * Dense parameters: SENET 2·F·r, bilinear D² / F·D² / P·D², DNN with input 2·P·D:
 * Σ_l (h_{l−1}+1)·h_l + h_L + 1 (+2·h_l with BN); BARS Frappe (field_all, ratio 2,
 * [400, 400, 400] with BN): 11·V + 684,201.
 */
export class FiBiNET extends SingleTaskModel {
  readonly modelName = 'fibinet';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;
  private readonly senet: SENet;
  private readonly bilinear: BilinearInteraction;
  private readonly dnn: MLP;

  constructor(ctx: ModelContext, opts: FiBiNETOptions) {
    super(ctx);
    this.linear = this.child(
      'linear',
      new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false, owner: "model 'fibinet'" }),
    );
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'fibinet', { sameDim: true }));
    const F = this.embedding.numFields,
      D = this.embedding.dim;
    if (!(BILINEAR_TYPES as readonly string[]).includes(opts.bilinearType)) {
      throw new Error(`model 'fibinet' option 'bilinear_type' must be one of ${BILINEAR_TYPES.join(', ')}, got '${opts.bilinearType}'`);
    }
    this.bilinear = this.child('bilinear', new BilinearInteraction(F, D, opts.bilinearType, ctx.rng));
    this.senet = this.child('senet', new SENet(F, opts.reductionRatio, ctx.rng));
    this.dnn = this.child('dnn', dnn(F * (F - 1) * D, opts, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch).stacked();
    const pq = concat([this.bilinear.forward(e), this.bilinear.forward(this.senet.forward(e))], 1);
    return add(this.linear.forward(batch), asLogit(this.dnn.forward(reshape(pq, [batch.size, pq.size / batch.size])), batch));
  }
}
