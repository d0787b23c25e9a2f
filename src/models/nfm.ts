import { Tensor } from '../engine/tensor.js';
import { add } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import { BatchNorm } from '../nn/batchnorm.js';
import { Dropout } from '../nn/dropout.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { biInteraction } from '../blocks/interactions/bi-interaction.js';
import { dnn, type DnnOptions } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of NFM. */
export interface NFMOptions extends EmbeddingOptions, DnnOptions {
  /** Dropout on the pooled vector (`bi_dropout`, DeepCTR's name; the paper's dropout on the Bi-Interaction layer). */
  biDropout: number;
  /** Batch normalization of the pooled vector (`bi_batch_norm`; the paper's BN on the Bi-Interaction layer). */
  biBatchNorm: boolean;
}

/**
 * Neural Factorization Machine (He & Chua 2017, Fig. 2):
 *   logit = Σ_f w_{x_f} + DNN( [BN, dropout]( ½[(Σ_f e_f)² − Σ_f e_f²] ) ),
 * bi-interaction pooling keeps FM's pair sum as a D-vector and the DNN models its
 * higher-order structure. Choices the paper leaves open, as FuxiCTR: the first-order part
 * has no bias (the DNN output layer's is the model's only one) and BN/dropout on the pooled
 * vector are off by default (FuxiCTR has neither; the paper uses both: `bi_batch_norm`,
 * `bi_dropout`). Dense parameters (FuxiCTR's count minus the embedding rows), with hidden
 * units h_1…h_L: Σ_l (h_{l−1}+1)·h_l + h_L + 1 with h_0 = D (+2·h_l per layer with BN, +2·D
 * with `bi_batch_norm`); BARS Frappe (D 10, [400, 400, 400], no BN): 11·V + 325,601.
 */
export class NFM extends SingleTaskModel {
  readonly modelName = 'nfm';
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;
  private readonly biNorm: BatchNorm | null;
  private readonly biDrop: Dropout | null;
  private readonly dnn: MLP;

  constructor(ctx: ModelContext, opts: NFMOptions) {
    super(ctx);
    this.linear = this.child(
      'linear',
      new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: false, owner: "model 'nfm'" }),
    );
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'nfm', { sameDim: true }));
    const D = this.embedding.dim;
    this.biNorm = opts.biBatchNorm ? this.child('bi_bn', new BatchNorm(D)) : null;
    this.biDrop = opts.biDropout > 0 ? this.child('bi_dropout', new Dropout(opts.biDropout, ctx.rng)) : null;
    this.dnn = this.child('dnn', dnn(D, opts, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    let pooled = biInteraction(this.embedding.forward(batch).stacked());
    if (this.biNorm !== null) pooled = this.biNorm.forward(pooled);
    if (this.biDrop !== null) pooled = this.biDrop.forward(pooled);
    return add(this.linear.forward(batch), asLogit(this.dnn.forward(pooled), batch));
  }
}
