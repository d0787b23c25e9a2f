/**
 * Fused residual sum + layer normalization (+ ReLU), the op `addLayerNorm` in
 * ops/norm-fused.ts (AutoInt's interacting-layer tail ReLU(LN(y + r))): native
 * (native/layer-norm.cc) and TypeScript twins doing the same float64 operations in the same
 * order (every sum a double in index order, one float store per result), so both backends
 * give identical bits. Chosen like the engine's kernels: native when the engine backend is
 * native and the addon exports them.
 */
import { nativeKernelFamily } from './native-family.js';

/** The two kernels over rows × C row-major arrays (r, γ, β may be null: no residual, γ = 1, β = 0). */
export interface LayerNormKernels {
  readonly name: 'native' | 'typescript';
  /**
   * Per row: s = float(y + r), μ = Σs/C, σ⁻¹ = 1/sqrt(Σ(s − μ)²/C + eps), v = γ·(s − μ)·σ⁻¹ + β,
   * out = float(relu && v < 0 ? 0 : v); writes out, mean[row] = μ, invStd[row] = σ⁻¹.
   */
  addLayerNorm(
    y: Float32Array,
    r: Float32Array | null,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    rows: number,
    C: number,
    eps: number,
    relu: boolean,
    out: Float32Array,
    mean: Float64Array,
    invStd: Float64Array,
  ): void;
  /**
   * Per row: dy = relu && !(out > 0) ? 0 : g, d = γ·dy, x̂ = (s − μ)·σ⁻¹,
   * ds = σ⁻¹/C·(C·d − Σd − x̂·Σd·x̂); gy += ds, gr += ds (one float store each); then
   * ggamma += Σ_rows dy·x̂, gbeta += Σ_rows dy (double sums, rows ascending). Null targets are skipped.
   */
  addLayerNormBackward(
    g: Float32Array,
    out: Float32Array,
    y: Float32Array,
    r: Float32Array | null,
    gamma: Float32Array | null,
    mean: Float64Array,
    invStd: Float64Array,
    rows: number,
    C: number,
    relu: boolean,
    gy: Float32Array | null,
    gr: Float32Array | null,
    ggamma: Float32Array | null,
    gbeta: Float32Array | null,
  ): void;
}

/** The TypeScript twins of native/layer-norm.cc. */
export const typescriptLayerNormKernels: LayerNormKernels = {
  name: 'typescript',
  addLayerNorm(y, r, gamma, beta, rows, C, eps, relu, out, mean, invStd) {
    const s = new Float32Array(C);
    for (let i = 0, o = 0; i < rows; i++, o += C) {
      if (r !== null) for (let j = 0; j < C; j++) s[j] = y[o + j]! + r[o + j]!;
      else for (let j = 0; j < C; j++) s[j] = y[o + j]!;
      let sum = 0;
      for (let j = 0; j < C; j++) sum += s[j]!;
      const mu = sum / C;
      let q = 0;
      for (let j = 0; j < C; j++) {
        const d = s[j]! - mu;
        q += d * d;
      }
      const inv = 1 / Math.sqrt(q / C + eps);
      mean[i] = mu;
      invStd[i] = inv;
      for (let j = 0; j < C; j++) {
        let v = (s[j]! - mu) * inv;
        if (gamma !== null) v = gamma[j]! * v;
        if (beta !== null) v = v + beta[j]!;
        out[o + j] = relu && v < 0 ? 0 : v;
      }
    }
  },
  addLayerNormBackward(g, out, y, r, gamma, mean, invStd, rows, C, relu, gy, gr, ggamma, gbeta) {
    const dy = new Float64Array(C),
      xh = new Float64Array(C),
      sg = new Float64Array(C),
      sb = new Float64Array(C);
    for (let i = 0, o = 0; i < rows; i++, o += C) {
      const mu = mean[i]!,
        inv = invStd[i]!;
      for (let j = 0; j < C; j++) {
        const s = r !== null ? Math.fround(y[o + j]! + r[o + j]!) : y[o + j]!;
        xh[j] = (s - mu) * inv;
        dy[j] = relu && !(out[o + j]! > 0) ? 0 : g[o + j]!;
      }
      let sd = 0,
        sdx = 0;
      for (let j = 0; j < C; j++) {
        const d = gamma !== null ? gamma[j]! * dy[j]! : dy[j]!;
        sd += d;
        sdx += d * xh[j]!;
      }
      for (let j = 0; j < C; j++) {
        const d = gamma !== null ? gamma[j]! * dy[j]! : dy[j]!;
        const ds = (inv / C) * (C * d - sd - xh[j]! * sdx);
        if (gy !== null) gy[o + j]! += ds;
        if (gr !== null) gr[o + j]! += ds;
        sg[j]! += dy[j]! * xh[j]!;
        sb[j]! += dy[j]!;
      }
    }
    for (let j = 0; j < C; j++) {
      if (ggamma !== null) ggamma[j]! += sg[j]!;
      if (gbeta !== null) gbeta[j]! += sb[j]!;
    }
  },
};

const family = nativeKernelFamily<LayerNormKernels>(
  { addLayerNorm: 'addLayerNorm', addLayerNormBackward: 'addLayerNormBackward' },
  typescriptLayerNormKernels,
);

/** The native kernels, or why they are unavailable. Loaded once. */
export const loadNativeLayerNormKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const layerNormKernels = family.active;
