import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { layerNormKernels } from '../kernels/layer-norm.js';

/** Options of `addLayerNorm`. */
export interface AddLayerNormOptions {
  /** Added to the variance (default 1e-5, as torch). */
  eps?: number;
  /** max(0, ·) after the normalization (default false). */
  relu?: boolean;
}

/**
 * Residual sum, layer normalization over the last axis and optional ReLU in one op: for y, r
 * [..., C] (r may be null),
 *   out = [ReLU](γ·(s − μ)/sqrt(σ² + eps) + β),  s = y + r,  μ, σ² the mean and biased variance of each row of s,
 * equal to relu(layerNorm(add(y, r), γ, β, eps)) without the sum and the normalized tensor in
 * memory (AutoInt's interacting layer). Backward per row with d = γ·dy (dy masked where the
 * ReLU output is 0): ds = (1/σ)/C·(C·d − Σd − x̂·Σ(d·x̂)) to both y and r; dγ = Σ_rows dy·x̂,
 * dβ = Σ_rows dy. Kernels: ../kernels/layer-norm.ts (native or TypeScript, identical bits).
 */
export function addLayerNorm(y: Tensor, r: Tensor | null, gamma: Tensor | null, beta: Tensor | null, opts: AddLayerNormOptions = {}): Tensor {
  const C = y.rank === 0 ? 0 : y.shape[y.rank - 1]!;
  if (y.rank === 0 || C === 0) throw new Error(`addLayerNorm: expected y [..., C] with C ≥ 1, got [${y.shape}]`);
  if (r !== null && (r.rank !== y.rank || r.shape.some((s, i) => s !== y.shape[i]))) {
    throw new Error(`addLayerNorm: the residual must have y's shape [${y.shape}], got [${r.shape}]`);
  }
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t !== null && (t.rank !== 1 || t.shape[0] !== C)) throw new Error(`addLayerNorm: ${name} must be [${C}], got [${t.shape}]`);
  }
  const eps = opts.eps ?? 1e-5,
    relu = opts.relu ?? false;
  const rows = y.size / C;
  const K = layerNormKernels();
  const out = allocFloat32(y.size);
  const mean = new Float64Array(rows),
    invStd = new Float64Array(rows);
  K.addLayerNorm(y.data, r?.data ?? null, gamma?.data ?? null, beta?.data ?? null, rows, C, eps, relu, out, mean, invStd);
  const parents = [y, r, gamma, beta].filter((t): t is Tensor => t !== null);
  const want = (t: Tensor | null) => (t !== null && t.requiresGrad ? t.gradBuffer() : null);
  return fromOp(out, y.shape, parents, (g) =>
    K.addLayerNormBackward(
      g,
      out,
      y.data,
      r?.data ?? null,
      gamma?.data ?? null,
      mean,
      invStd,
      rows,
      C,
      relu,
      want(y),
      want(r),
      want(gamma),
      want(beta),
    ),
  );
}
