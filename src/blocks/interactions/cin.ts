import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { add, cinDots, cinOuter, concat, linear, reshape, scale, slice, sum, type CinMapLayout } from '../../engine/ops/index.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';

/**
 * xDeepFM's Compressed Interaction Network (Lian et al. 2018, eq. 6–8), as FuxiCTR's
 * CompressedInteractionNet: with X⁰ = e [B, F, D] and X^k [B, H_k, D],
 *   X^{k+1}_{h,·} = Σ_{i<F} Σ_{j<H_k} W^{k,h}_{i,j} (X⁰_{i,·} ⊙ X^k_{j,·}) + b^k_h,
 * (a 1×1 convolution over the F·H_k Hadamard products, channel i·H_k + j, with bias), and
 * the output fc( [Σ_d X¹ ‖ … ‖ Σ_d X^L] ) [B, outDim]. By default every layer feeds both
 * the next layer and the output (direct connections, FuxiCTR's CIN). With `splitHalf` (the
 * paper's §3.2 variant, DeepCTR's `split_half`): each layer but the last sends its first
 * H_k/2 feature maps to the next layer and pools the other H_k/2 into the output (H_k even).
 * Parameters: Σ_k (F·H'_{k−1} + 1)·H_k with H'₀ = F and H'_k = H_k (direct) or H_k/2
 * (split), plus (Σ_k pooled_k + 1)·outDim.
 *
 * Computation (same values up to float rounding): a layer whose maps feed the next layer
 * builds its Hadamard products as one [B·D, F·H_k] array (`cinOuter`, straight from the
 * [B, F, D] embeddings and the previous layer's [B, D, H_k] output, no transposes) and runs
 * the convolution as one GEMM. The last layer's maps are only sum-pooled, and the pooling is
 * linear: Σ_d (z_d·W + b) = (Σ_d z_d)·W + D·b, so it computes Σ_d z [B, F·H] directly
 * (`cinDots`) and a GEMM D times smaller, never storing its [B·D, F·H] products.
 */
export class CIN extends Module {
  private readonly layers: Linear[] = [];
  private readonly fc: Linear;
  private readonly numFields: number;

  private readonly splitHalf: boolean;

  constructor(numFields: number, layerUnits: number[], rng: Rng, outDim = 1, splitHalf = false) {
    super();
    if (layerUnits.length === 0) throw new Error('CIN: needs at least one layer (cin_layer_units)');
    const L = layerUnits.length;
    if (splitHalf && layerUnits.slice(0, -1).some((u) => u % 2 !== 0)) {
      throw new Error(
        `CIN: with split_half every layer but the last needs an even number of feature maps, got cin_layer_units [${layerUnits.join(', ')}]`,
      );
    }
    this.numFields = numFields;
    this.splitHalf = splitHalf;
    let prev = numFields,
      pooled = 0;
    layerUnits.forEach((units, k) => {
      this.layers.push(this.child(`layer${k}`, new Linear(numFields * prev, units, { rng })));
      const half = splitHalf && k < L - 1;
      prev = half ? units / 2 : units;
      pooled += half ? units / 2 : units;
    });
    this.fc = this.child('fc', new Linear(pooled, outDim, { rng }));
  }

  /** e [B, F, D] → [B, outDim]. */
  forward(e: Tensor): Tensor {
    const [B, F, D] = e.shape as [number, number, number];
    if (e.rank !== 3 || F !== this.numFields) throw new Error(`CIN: expected [B, ${this.numFields}, D], got [${e.shape}]`);
    let xk = e; // layer 0: X⁰ itself, [B, F, D]
    let layout: CinMapLayout = 'fields';
    const pooled: Tensor[] = [];
    const L = this.layers.length;
    this.layers.forEach((layer, k) => {
      const units = layer.outDim;
      if (k === L - 1) {
        // Only pooled: (Σ_d z)·W + D·b, channel i·H + j as in z.
        const zsum = cinDots(e, xk, layout);
        pooled.push(add(linear(zsum, layer.weight, null), scale(layer.bias!, D)));
        return;
      }
      const out = reshape(layer.forward(cinOuter(e, xk, layout)), [B, D, units]); // [B, D, H_{k+1}]
      layout = 'dims';
      if (this.splitHalf) {
        const half = units / 2;
        xk = slice(out, 2, 0, half); // first half: the next layer's input
        pooled.push(sum(slice(out, 2, half), 1)); // second half: sum-pooled into the output
      } else {
        xk = out;
        pooled.push(sum(out, 1)); // sum pooling over the embedding dimension: [B, H_{k+1}]
      }
    });
    return this.fc.forward(pooled.length === 1 ? pooled[0]! : concat(pooled, 1));
  }
}
