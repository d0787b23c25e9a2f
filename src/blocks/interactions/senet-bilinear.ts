import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { gather, hadamardPairs, linear, matmul, mean, mul, relu, reshape, transpose, unsqueeze } from '../../engine/ops/index.js';
import { xavierNormal } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { fieldPairs, type FieldPairs } from './pairs.js';

/**
 * FiBiNET's SENET layer (Huang et al. 2019, §3.3), as FuxiCTR's SqueezeExcitationLayer:
 *   z_f = mean_d e_{fd} (squeeze),  a = ReLU(W₂ ReLU(W₁ z)) (excitation),  v_f = a_f·e_f (re-weight),
 * W₁ [F → r], W₂ [r → F] without biases, r = max(1, ⌊F / reduction_ratio⌋).
 * Parameters: 2·F·r.
 */
export class SENet extends Module {
  private readonly squeeze: Linear;
  private readonly excite: Linear;

  constructor(numFields: number, reductionRatio: number, rng: Rng) {
    super();
    if (!(reductionRatio > 0)) throw new Error(`SENet: reduction ratio must be positive, got ${reductionRatio}`);
    const reduced = Math.max(1, Math.floor(numFields / reductionRatio));
    this.squeeze = this.child('w1', new Linear(numFields, reduced, { bias: false, rng }));
    this.excite = this.child('w2', new Linear(reduced, numFields, { bias: false, rng }));
  }

  /** The field weights a [B, F] of e [B, F, D]. */
  weights(e: Tensor): Tensor {
    return relu(this.excite.forward(relu(this.squeeze.forward(mean(e, 2)))));
  }

  /** e [B, F, D] → re-weighted [B, F, D]. */
  forward(e: Tensor): Tensor {
    return mul(e, unsqueeze(this.weights(e), 2));
  }
}

/** FiBiNET's bilinear types (`bilinear_type`): one W for all pairs, one per field, one per pair. */
export const BILINEAR_TYPES = ['field_all', 'field_each', 'field_interaction'] as const;

/**
 * FiBiNET's bilinear interaction (Huang et al. 2019, §3.4), as FuxiCTR's
 * BilinearInteractionLayer: for every pair f < g,
 *   p_{fg} = (e_f · W) ⊙ e_g,   W shared (field_all), W_f (field_each) or W_{fg} (field_interaction),
 * each W [D, D] without bias (Xavier-normal); output [B, F(F−1)/2, D] in `fieldPairs` order.
 * Parameters: D², F·D² or P·D². The transforms are one GEMM (field_all) or batched GEMMs, the
 * pair products one fused op (`hadamardPairs`: no gathered copies of either side).
 */
export class BilinearInteraction extends Module {
  readonly type: (typeof BILINEAR_TYPES)[number];
  private readonly pairs: FieldPairs;
  private readonly weight: Tensor;
  /** 0 … P − 1: field_interaction's per-pair transforms are already in pair order. */
  private readonly pairIndex: Int32Array;

  constructor(numFields: number, dim: number, type: string, rng: Rng) {
    super();
    if (!(BILINEAR_TYPES as readonly string[]).includes(type))
      throw new Error(`bilinear_type must be one of ${BILINEAR_TYPES.join(', ')}, got '${type}'`);
    this.type = type as (typeof BILINEAR_TYPES)[number];
    this.pairs = fieldPairs(numFields);
    this.pairIndex = Int32Array.from({ length: this.pairs.count }, (_, p) => p);
    const count = this.type === 'field_all' ? 1 : this.type === 'field_each' ? numFields : this.pairs.count;
    const w = Tensor.zeros([count, dim, dim]);
    xavierNormal(w, rng, dim, dim);
    this.weight = this.param('weight', w);
  }

  /** e [B, F, D] → [B, P, D]. */
  forward(e: Tensor): Tensor {
    const [B, F, D] = e.shape as [number, number, number];
    const { left, right } = this.pairs;
    if (this.type === 'field_all') {
      // Transform every field once (one GEMM, B·F·D² work), then the fused pair products.
      return hadamardPairs(reshape(linear(reshape(e, [B * F, D]), reshape(this.weight, [D, D]), null), [B, F, D]), left, e, right);
    }
    if (this.type === 'field_each') {
      const transformed = transpose(matmul(transpose(e, [1, 0, 2]), this.weight), [1, 0, 2]); // e_f·W_f per field, [B, F, D]
      return hadamardPairs(transformed, left, e, right);
    }
    const perPair = transpose(matmul(transpose(gather(e, left, 1), [1, 0, 2]), this.weight), [1, 0, 2]); // e_f·W_fg per pair, [B, P, D]
    return hadamardPairs(perPair, this.pairIndex, e, right);
  }
}
