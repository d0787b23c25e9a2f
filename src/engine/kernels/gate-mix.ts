/**
 * The gate–mixture kernels of the mixture-of-experts layers (MMoE, MoE, PLE's CGC; the op is
 * `gateMix` in ops/gate-mix.ts): native (native/gate-mix.cc) and TypeScript twins doing the
 * same float64 operations in the same order (exp from `expD`), so both backends give
 * identical bits. Chosen like the Dice kernels: native when the engine backend is native and
 * the addon exports them.
 *
 * Layout: `logits` is a row-major [rows, lw] array whose columns loff … loff + k − 1 are one
 * gate's k logits; `experts` a row-major [rows, ew] array in which expert e's h outputs start
 * at column cols[e] (so the experts of one gate may be any blocks of a wider array).
 */
import { expD } from './expd.js';
import { nativeKernelFamily } from './native-family.js';

/** Softmax-gated sums of expert outputs, forward and backward. */
export interface GateMixKernels {
  readonly name: 'native' | 'typescript';
  /**
   * w[r, e] = float32(softmax_e(logits[r, loff + e])) (max subtracted, float64 sums), and
   * out[r, j] = float32(Σ_e w[r, e]·experts[r, cols[e] + j]) (float64 sum over e in order).
   */
  forward(
    logits: Float32Array,
    rows: number,
    lw: number,
    loff: number,
    k: number,
    experts: Float32Array,
    ew: number,
    cols: Int32Array,
    h: number,
    w: Float32Array,
    out: Float32Array,
  ): void;
  /**
   * With g = ∂L/∂out [rows, h]: gExperts[r, cols[e] + j] += w[r, e]·g[r, j]; d_e = Σ_j g[r, j]·
   * experts[r, cols[e] + j]; gLogits[r, loff + e] += w_e·(d_e − Σ_f w_f·d_f) (float64, one
   * rounding per store). Either gradient may be null (not wanted).
   */
  backward(
    g: Float32Array,
    w: Float32Array,
    rows: number,
    k: number,
    h: number,
    experts: Float32Array,
    ew: number,
    cols: Int32Array,
    gExperts: Float32Array | null,
    lw: number,
    loff: number,
    gLogits: Float32Array | null,
  ): void;
}

/** The TypeScript twins of native/gate-mix.cc. */
export const typescriptGateMixKernels: GateMixKernels = {
  name: 'typescript',
  forward(logits, rows, lw, loff, k, experts, ew, cols, h, w, out) {
    const e = new Float64Array(k),
      acc = new Float64Array(h);
    for (let r = 0; r < rows; r++) {
      const lo = r * lw + loff;
      let m = -Infinity;
      for (let q = 0; q < k; q++) if (logits[lo + q]! > m) m = logits[lo + q]!;
      let s = 0;
      for (let q = 0; q < k; q++) s += e[q] = expD(logits[lo + q]! - m);
      for (let q = 0; q < k; q++) w[r * k + q] = e[q]! / s;
      acc.fill(0);
      const eo = r * ew;
      for (let q = 0; q < k; q++) {
        const wq = w[r * k + q]!,
          c = eo + cols[q]!;
        for (let j = 0; j < h; j++) acc[j]! += wq * experts[c + j]!;
      }
      out.set(acc, r * h);
    }
  },
  backward(g, w, rows, k, h, experts, ew, cols, gExperts, lw, loff, gLogits) {
    const d = new Float64Array(k);
    for (let r = 0; r < rows; r++) {
      const go = r * h,
        eo = r * ew;
      let s = 0;
      for (let q = 0; q < k; q++) {
        const wq = w[r * k + q]!,
          c = eo + cols[q]!;
        let dq = 0;
        for (let j = 0; j < h; j++) {
          const gv = g[go + j]!;
          dq += gv * experts[c + j]!;
          if (gExperts !== null) gExperts[c + j] = gExperts[c + j]! + wq * gv;
        }
        d[q] = dq;
        s += wq * dq;
      }
      if (gLogits !== null) {
        const lo = r * lw + loff;
        for (let q = 0; q < k; q++) gLogits[lo + q] = gLogits[lo + q]! + w[r * k + q]! * (d[q]! - s);
      }
    }
  },
};

const family = nativeKernelFamily<GateMixKernels>({ forward: 'gateMixForward', backward: 'gateMixBackward' }, typescriptGateMixKernels);

/** The native gate–mixture kernels, or why they are unavailable. Loaded once. */
export const loadNativeGateMixKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const gateMixKernels = family.active;
