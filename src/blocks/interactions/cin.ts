import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { concat, mul, reshape, sum, transpose, unsqueeze } from '../../engine/ops/index.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';

/**
 * xDeepFM's Compressed Interaction Network (Lian et al. 2018, eq. 6–8), as FuxiCTR's
 * CompressedInteractionNet: with X⁰ = e [B, F, D] and X^k [B, H_k, D],
 *   X^{k+1}_{h,·} = Σ_{i<F} Σ_{j<H_k} W^{k,h}_{i,j} (X⁰_{i,·} ⊙ X^k_{j,·}) + b^k_h,
 * (a 1×1 convolution over the F·H_k Hadamard products, channel i·H_k + j, with bias), and
 * the output fc( [Σ_d X¹ ‖ … ‖ Σ_d X^L] ) [B, outDim]. Every layer feeds both the next
 * layer and the output (the paper's direct connections; the split-half variant is not
 * offered, FuxiCTR has none). Parameters: Σ_k (F·H_{k−1} + 1)·H_k with H₀ = F, plus
 * (Σ_k H_k + 1)·outDim. Works in a [B, D, ·] layout so each layer is one GEMM.
 */
export class CIN extends Module {
  private readonly layers: Linear[] = [];
  private readonly fc: Linear;
  private readonly numFields: number;

  constructor(numFields: number, layerUnits: number[], rng: Rng, outDim = 1) {
    super();
    if (layerUnits.length === 0) throw new Error('CIN: needs at least one layer (cin_layer_units)');
    this.numFields = numFields;
    let prev = numFields;
    layerUnits.forEach((units, k) => {
      this.layers.push(this.child(`layer${k}`, new Linear(numFields * prev, units, { rng })));
      prev = units;
    });
    this.fc = this.child(
      'fc',
      new Linear(
        layerUnits.reduce((s, u) => s + u, 0),
        outDim,
        { rng },
      ),
    );
  }

  /** e [B, F, D] → [B, outDim]. */
  forward(e: Tensor): Tensor {
    const [B, F, D] = e.shape as [number, number, number];
    if (e.rank !== 3 || F !== this.numFields) throw new Error(`CIN: expected [B, ${this.numFields}, D], got [${e.shape}]`);
    const x0 = unsqueeze(transpose(e, [0, 2, 1]), 3); // [B, D, F, 1]
    let xk = transpose(e, [0, 2, 1]); // [B, D, H_k]
    const pooled: Tensor[] = [];
    for (const layer of this.layers) {
      const H = xk.shape[2]!;
      const z = reshape(mul(x0, unsqueeze(xk, 2)), [B * D, F * H]); // Hadamard products, channel i·H + j
      xk = reshape(layer.forward(z), [B, D, layer.outDim]);
      pooled.push(sum(xk, 1)); // sum pooling over the embedding dimension: [B, H_{k+1}]
    }
    return this.fc.forward(pooled.length === 1 ? pooled[0]! : concat(pooled, 1));
  }
}
