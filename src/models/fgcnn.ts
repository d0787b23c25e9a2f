import { Tensor } from '../engine/tensor.js';
import { concat, reshape } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { FeatureGeneration } from '../blocks/interactions/feature-generation.js';
import { innerProducts } from '../blocks/interactions/product.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of FGCNN (FuxiCTR's names and defaults). */
export interface FGCNNOptions extends EmbeddingOptions {
  /** One embedding set for the generator and the IPNN (`share_embedding`); false: two. */
  shareEmbedding: boolean;
  channels: number[];
  kernelHeights: number[];
  poolingSizes: number[];
  recombinedChannels: number[];
  convActivation: string;
  convBatchNorm: boolean;
  dnnHiddenUnits: number[];
  dnnActivations: string;
  dnnBatchNorm: boolean;
  netDropout: number;
}

/**
 * FGCNN (Liu et al. 2019, Fig. 2): a CNN generates new fields from the raw field
 * embeddings (`FeatureGeneration`: convolution → pooling → recombination per layer), then an
 * IPNN runs over raw + new fields E = [e_1 … e_F ‖ n_1 … n_N] [B, T, D]:
 *   logit = DNN( [ flatten(E) ‖ ⟨E_i, E_j⟩ for i < j ] ).
 * As FuxiCTR: the generator has its own embedding tables unless `share_embedding` (the
 * paper shares none either: Fig. 2 has two embedding layers), the IPNN has no separate
 * first-order term, and raw numeric fields (without `embed_dense`) join the DNN input only.
 * Dense parameters: FeatureGeneration's Σ_i [C_i·C_{i−1}·k_i + C_i (+2·C_i BN) +
 * (H_i·D·C_i + 1)·H_i·D·R_i], plus the DNN's Σ_l (h_{l−1}+1)·h_l + h_L + 1 with
 * h_0 = T(T−1)/2 + T·D, T = F + Σ_i H_i·R_i (FuxiCTR's compute_input_dim). No BARS Frappe
 * entry exists; frappe-like (F 10, D 10) with FuxiCTR's defaults and DNN [64, 64, 64] has
 * 184,499 (the PyTorch twin of bench/train/torch_zoo.py counts the same).
 */
export class FGCNN extends SingleTaskModel {
  readonly modelName = 'fgcnn';
  private readonly embedding: FeatureInputs;
  private readonly generatorEmbedding: FeatureInputs | null;
  private readonly generator: FeatureGeneration;
  private readonly dnn: MLP;

  constructor(ctx: ModelContext, opts: FGCNNOptions) {
    super(ctx);
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'fgcnn', { sameDim: true }));
    this.generatorEmbedding = opts.shareEmbedding
      ? null
      : this.child('fg_embedding', embeddingInputs(ctx, opts, 'fgcnn', { sameDim: true, prefix: 'fg_' }));
    const F = this.embedding.numFields,
      D = this.embedding.dim;
    this.generator = this.child(
      'fgcnn',
      new FeatureGeneration(
        F,
        D,
        {
          channels: opts.channels,
          kernelHeights: opts.kernelHeights,
          poolingSizes: opts.poolingSizes,
          recombinedChannels: opts.recombinedChannels,
          activation: opts.convActivation,
          batchNorm: opts.convBatchNorm,
        },
        ctx.rng,
      ),
    );
    const T = F + this.generator.numNewFields;
    const tower = {
      hiddenUnits: opts.dnnHiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.dnnBatchNorm,
    };
    this.dnn = this.child('dnn', dnn(this.embedding.flatWidth + this.generator.numNewFields * D + (T * (T - 1)) / 2, tower, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const raw = e.stacked();
    const generated = this.generator.forward(this.generatorEmbedding === null ? raw : this.generatorEmbedding.forward(batch).stacked());
    const all = concat([raw, generated], 1);
    const newFlat = reshape(generated, [batch.size, generated.shape[1]! * generated.shape[2]!]);
    return asLogit(this.dnn.forward(concat([e.flat(), newFlat, innerProducts(all)], 1)), batch);
  }
}
