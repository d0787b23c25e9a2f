import { Tensor, fromOp, allocFloat32, assertSameShape } from '../../engine/tensor.js';

/** log σ(z) = −log(1 + e^−z), stable for every z. */
function logSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}

/** log(1 − e^x) for x ≤ 0, stable on both sides of −ln 2 (Mächler 2012). */
function log1mExp(x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/**
 * The logit of a product of probabilities: with p = σ(a)·σ(b) (ESMM: pCTCVR = pCTR·pCVR),
 * returns logit(p) = log p − log(1 − p), computed in float64 from log p = log σ(a) + log σ(b)
 * and log(1 − p) = log1mexp(log p), so that BCE-with-logits on it is the probability-space
 * BCE of the product without rounding p near 0 or 1. Backward (closed form):
 * ∂z/∂a = σ(−a)/(1 − p), ∂z/∂b = σ(−b)/(1 − p). 1 − p stays accurate when p is within
 * 1e-16 of 1 (log1mexp of a tiny negative log p); it is floored at e^−690.8 ≈ 1e-300 (a and b
 * both above ~690) so that the logit stays finite.
 */
export function productLogit(a: Tensor, b: Tensor): Tensor {
  assertSameShape('productLogit', a.shape, b.shape);
  const ad = a.data,
    bd = b.data,
    n = ad.length;
  const out = allocFloat32(n);
  const inv1mp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const logP = logSigmoid(ad[i]!) + logSigmoid(bd[i]!);
    const log1mP = Math.max(log1mExp(logP), -690.8);
    out[i] = logP - log1mP;
    inv1mp[i] = Math.exp(-log1mP);
  }
  return fromOp(out, a.shape, [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = a.gradBuffer();
      for (let i = 0; i < n; i++) ga[i]! += (g[i]! * inv1mp[i]!) / (1 + Math.exp(ad[i]!));
    }
    if (b.requiresGrad) {
      const gb = b.gradBuffer();
      for (let i = 0; i < n; i++) gb[i]! += (g[i]! * inv1mp[i]!) / (1 + Math.exp(bd[i]!));
    }
  });
}
