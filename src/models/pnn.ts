import { Tensor } from '../engine/tensor.js';
import { concat } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { KernelOuterProduct, innerProducts } from '../blocks/interactions/product.js';
import { dnn, type DnnOptions } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** The product layers PNN supports (`product_type`). */
export const PNN_PRODUCT_TYPES = ['inner', 'outer', 'both'] as const;

/** Options of PNN. */
export interface PNNOptions extends EmbeddingOptions, DnnOptions {
  /** `inner` (IPNN), `outer` (OPNN, kernel product) or `both` (PNN*). */
  productType: string;
}

/**
 * Product-based Neural Network (Qu et al. 2016, Fig. 1): the product layer feeds the DNN
 *   l₁ input = [ e_1 ‖ … ‖ e_F  (linear signal z),  p  (product signal) ],
 * with p the F(F−1)/2 inner products ⟨e_f, e_g⟩ (IPNN), the kernel outer products
 * e_fᵀ K_{fg} e_g (OPNN), or both concatenated (PNN*, inner first). Choices, as FuxiCTR's
 * PNN: the first DNN layer's weights on [z ‖ p] are the paper's W_z and W_p (one Linear,
 * bias b₁), no separate first-order term. FuxiCTR implements only `inner`; the outer layer
 * follows DeepCTR's OutterProductLayer with `kernel_type='mat'` (one D×D kernel per pair;
 * the paper's sum-pooled outer product f_Σ f_Σᵀ is not offered). Dense parameters, with
 * P = F(F−1)/2 and DNN input F·D + P (inner) / + P (outer) / + 2P (both): the DNN's
 * Σ_l (h_{l−1}+1)·h_l + h_L + 1 plus P·D² for the outer kernel; BARS Frappe IPNN
 * (F 10, D 10, [400, 400, 400], no BN): 10·V + 379,601.
 */
export class PNN extends SingleTaskModel {
  readonly modelName = 'pnn';
  private readonly embedding: FeatureInputs;
  private readonly inner: boolean;
  private readonly outer: KernelOuterProduct | null;
  private readonly dnn: MLP;

  constructor(ctx: ModelContext, opts: PNNOptions) {
    super(ctx);
    if (!(PNN_PRODUCT_TYPES as readonly string[]).includes(opts.productType)) {
      throw new Error(`model 'pnn' option 'product_type' must be one of ${PNN_PRODUCT_TYPES.join(', ')}, got '${opts.productType}'`);
    }
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'pnn', { sameDim: true }));
    const F = this.embedding.numFields,
      D = this.embedding.dim,
      P = (F * (F - 1)) / 2;
    this.inner = opts.productType !== 'outer';
    this.outer = opts.productType !== 'inner' ? this.child('outer_product', new KernelOuterProduct(F, D, ctx.rng)) : null;
    const width = this.embedding.flatWidth + (this.inner ? P : 0) + (this.outer !== null ? P : 0);
    this.dnn = this.child('dnn', dnn(width, opts, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const parts = [e.flat()];
    if (this.inner) parts.push(innerProducts(e.stacked()));
    if (this.outer !== null) parts.push(this.outer.forward(e.stacked()));
    return asLogit(this.dnn.forward(concat(parts, 1)), batch);
  }
}
