import { Tensor, fromOp } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { xavierNormal } from '../../nn/init.js';
import { Module } from '../../nn/module.js';

/**
 * One DCN cross layer (Wang et al. 2017, eq. 3), fused:
 *   x_{l+1} = x₀ · (x_lᵀ w) + b + x_l,  x₀, x_l [B, n], w [n], b [n].
 * Backward with s_b = x_l·w:  ∂x₀ = g·s,  ∂s_b = Σ_i g_bi x₀_bi,  ∂x_l = g + ∂s·wᵀ,
 * ∂w = Σ_b ∂s_b x_l_b,  ∂b = Σ_b g_b.
 */
export function crossLayer(x0: Tensor, xl: Tensor, w: Tensor, b: Tensor): Tensor {
  if (x0.rank !== 2 || xl.rank !== 2 || x0.shape[0] !== xl.shape[0] || x0.shape[1] !== xl.shape[1]) {
    throw new Error(`crossLayer: x0 [${x0.shape}] and xl [${xl.shape}] must both be [B, n]`);
  }
  const [B, n] = x0.shape as [number, number];
  if (w.size !== n || b.size !== n) throw new Error(`crossLayer: w and b must have ${n} values, got ${w.size} and ${b.size}`);
  const X0 = x0.data,
    XL = xl.data,
    W = w.data,
    Bv = b.data;
  const out = new Float32Array(B * n);
  const s = new Float32Array(B);
  for (let r = 0; r < B; r++) {
    const o = r * n;
    let acc = 0;
    for (let i = 0; i < n; i++) acc += XL[o + i]! * W[i]!;
    s[r] = acc;
    for (let i = 0; i < n; i++) out[o + i] = X0[o + i]! * acc + Bv[i]! + XL[o + i]!;
  }
  return fromOp(out, [B, n], [x0, xl, w, b], (g) => {
    const gx0 = x0.requiresGrad ? x0.gradBuffer() : null;
    const gxl = xl.requiresGrad ? xl.gradBuffer() : null;
    const gw = w.requiresGrad ? w.gradBuffer() : null;
    const gb = b.requiresGrad ? b.gradBuffer() : null;
    for (let r = 0; r < B; r++) {
      const o = r * n;
      const sr = s[r]!;
      let ds = 0;
      for (let i = 0; i < n; i++) ds += g[o + i]! * X0[o + i]!;
      if (gx0 !== null) for (let i = 0; i < n; i++) gx0[o + i]! += g[o + i]! * sr;
      if (gxl !== null) for (let i = 0; i < n; i++) gxl[o + i]! += g[o + i]! + ds * W[i]!;
      if (gw !== null) for (let i = 0; i < n; i++) gw[i]! += ds * XL[o + i]!;
      if (gb !== null) for (let i = 0; i < n; i++) gb[i]! += g[o + i]!;
    }
  });
}

/**
 * The cross network: L stacked cross layers on x₀ (DCN's explicit bounded-degree feature
 * crossing). Weights Xavier-normal as an n×1 linear map (FuxiCTR's CrossInteraction uses
 * nn.Linear(n, 1, bias=False)), biases zero.
 */
export class CrossNet extends Module {
  private readonly weights: Tensor[] = [];
  private readonly biases: Tensor[] = [];

  constructor(inputDim: number, numLayers: number, rng: Rng) {
    super();
    for (let l = 0; l < numLayers; l++) {
      const w = Tensor.zeros([inputDim, 1]);
      xavierNormal(w, rng, inputDim, 1);
      this.weights.push(this.param(`w${l}`, w));
      this.biases.push(this.param(`b${l}`, Tensor.zeros([inputDim])));
    }
  }

  /** x_L for input x₀ [B, n]. */
  forward(x0: Tensor): Tensor {
    let x = x0;
    for (let l = 0; l < this.weights.length; l++) x = crossLayer(x0, x, this.weights[l]!, this.biases[l]!);
    return x;
  }
}
