import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { add, linear, matmul, mul, reshape, softmax, sum, tanh, transpose, unsqueeze } from '../../engine/ops/index.js';
import { fillXavierNormal } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';

/**
 * DCNv2's full-rank cross network (Wang et al. 2021, eq. 1), FuxiCTR's CrossNetV2:
 *   x_{l+1} = x₀ ⊙ (W_l x_l + b_l) + x_l,   W_l [n, n], b_l [n],
 * one nn.Linear(n, n) per layer (Xavier-normal weight, zero bias: FuxiCTR's Linear init).
 * Composed of engine ops (GEMM, broadcast multiply, add), so backward comes from them.
 */
export class FullRankCrossNet extends Module {
  private readonly layers: Linear[] = [];

  constructor(inputDim: number, numLayers: number, rng: Rng) {
    super();
    for (let l = 0; l < numLayers; l++) this.layers.push(this.child(`layer${l}`, new Linear(inputDim, inputDim, { rng })));
  }

  /** x_L for x₀ [B, n]. */
  forward(x0: Tensor): Tensor {
    let x = x0;
    for (const layer of this.layers) x = add(mul(x0, layer.forward(x)), x);
    return x;
  }
}

/**
 * DCNv2's low-rank cross network (Wang et al. 2021, eq. 2, W_l = U_l V_lᵀ):
 *   x_{l+1} = x₀ ⊙ (U_l (V_lᵀ x_l) + b_l) + x_l,   U_l, V_l [n, r],
 * as two Linear maps n → r (no bias) → n (bias). FuxiCTR has no such layer (its only
 * low-rank form is the mixture, `CrossNetMix`); this is the paper's formula.
 */
export class LowRankCrossNet extends Module {
  private readonly down: Linear[] = [];
  private readonly up: Linear[] = [];

  constructor(inputDim: number, numLayers: number, rank: number, rng: Rng) {
    super();
    for (let l = 0; l < numLayers; l++) {
      this.down.push(this.child(`v${l}`, new Linear(inputDim, rank, { bias: false, rng })));
      this.up.push(this.child(`u${l}`, new Linear(rank, inputDim, { rng })));
    }
  }

  /** x_L for x₀ [B, n]. */
  forward(x0: Tensor): Tensor {
    let x = x0;
    for (let l = 0; l < this.down.length; l++) x = add(mul(x0, this.up[l]!.forward(this.down[l]!.forward(x))), x);
    return x;
  }
}

/** A tensor filled Xavier-normal with torch's fans for a ≥3-d shape: fan_in = s₁·Πs₂…, fan_out = s₀·Πs₂…. */
function torchXavier(shape: number[], rng: Rng): Tensor {
  const t = Tensor.zeros(shape);
  const rest = shape.slice(2).reduce((a, b) => a * b, 1);
  fillXavierNormal(t.data, shape[1]! * rest, shape[0]! * rest, rng);
  return t;
}

/**
 * DCN-Mix, the mixture of low-rank cross experts (Wang et al. 2021, eq. 3–4), FuxiCTR's
 * CrossNetMix (from DeepCTR-Torch): per layer l and expert k,
 *   E_k(x_l) = x₀ ⊙ (U_k tanh(C_k tanh(V_kᵀ x_l)) + b_l),   G_k(x_l) = g_kᵀ x_l,
 *   x_{l+1} = Σ_k softmax_k(G(x_l)) · E_k(x_l) + x_l,
 * U_k, V_k [n, r], C_k [r, r], gate g_k [n] (no bias), b_l [n] shared by the experts.
 * Parameters per layer: 2·K·n·r + K·r² + K·n + n (FuxiCTR's shapes: U, V [K, n, r],
 * C [K, r, r] with torch's Xavier fans for 3-d tensors; gates Linear(n, 1) Xavier-normal;
 * b zero). All experts run at once as batched GEMMs over [K, B, ·].
 */
export class CrossNetMix extends Module {
  private readonly U: Tensor[] = [];
  private readonly V: Tensor[] = [];
  private readonly C: Tensor[] = [];
  private readonly gates: Tensor[] = [];
  private readonly biases: Tensor[] = [];
  private readonly numExperts: number;
  private readonly rank: number;

  constructor(inputDim: number, numLayers: number, rank: number, numExperts: number, rng: Rng) {
    super();
    this.numExperts = numExperts;
    this.rank = rank;
    for (let l = 0; l < numLayers; l++) {
      this.U.push(this.param(`U${l}`, torchXavier([numExperts, inputDim, rank], rng)));
      this.V.push(this.param(`V${l}`, torchXavier([numExperts, inputDim, rank], rng)));
      this.C.push(this.param(`C${l}`, torchXavier([numExperts, rank, rank], rng)));
      const g = Tensor.zeros([inputDim, numExperts]);
      fillXavierNormal(g.data, inputDim, 1, rng); // K separate Linear(n, 1): fans (n, 1) each
      this.gates.push(this.param(`gate${l}`, g));
      this.biases.push(this.param(`b${l}`, Tensor.zeros([inputDim])));
    }
  }

  /** x_L for x₀ [B, n]. */
  forward(x0: Tensor): Tensor {
    const [B, n] = x0.shape as [number, number];
    const K = this.numExperts,
      r = this.rank;
    let x = x0;
    for (let l = 0; l < this.U.length; l++) {
      const gate = softmax(linear(x, this.gates[l]!, null), 1); // [B, K]
      const vAll = reshape(transpose(this.V[l]!, [1, 0, 2]), [n, K * r]); // [n, K·r]: every V_k side by side
      let v = tanh(transpose(reshape(linear(x, vAll, null), [B, K, r]), [1, 0, 2])); // [K, B, r]
      v = tanh(matmul(v, this.C[l]!, { transB: true })); // [K, B, r]: row form of C_k v
      const u = matmul(v, this.U[l]!, { transB: true }); // [K, B, n]: row form of U_k v
      const experts = mul(unsqueeze(x0, 0), add(u, this.biases[l]!)); // [K, B, n]
      const mixed = sum(mul(experts, unsqueeze(transpose(gate), 2)), 0); // Σ_k gate [K, B, 1] · E_k
      x = add(mixed, x);
    }
    return x;
  }
}
