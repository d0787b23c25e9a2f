/**
 * Dice's two fused kernels (DIN's activation; the op is `dice` in ops/norm.ts): native
 * (native/dice.cc) and TypeScript twins doing the same float64 operations in the same order
 * (σ from `sigmoidD`), so both backends give identical bits. Chosen like the engine's
 * kernels: native when the engine backend is native and the addon exports them.
 */
import { sigmoidD } from './expd.js';
import { nativeKernelFamily } from './native-family.js';

/** Dice kernels over a row-major [rows, c] array (channels last). */
export interface DiceKernels {
  readonly name: 'native' | 'typescript';
  /** p = float32(σ((x − mean_j)·invStd_j)), out = x·(α_j + (1 − α_j)·p). */
  forward(
    x: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    invStd: Float32Array,
    alpha: Float32Array,
    p: Float32Array,
    out: Float32Array,
  ): void;
  /**
   * ga_j += Σ_i g·x·(1 − p) (ga may be null); d = g·x·(1 − α)·p·(1 − p); gx += g·(α + (1 − α)·p)
   * + d·invStd; in training also gx −= k_j·(x − mean_j) + b_j with k_j = invStd²·Σ_i d·(x − mean)·invStd / rows
   * and b_j = invStd·Σ_i d / rows (float64 sums; k, b rounded to float32).
   */
  backward(
    g: Float32Array,
    x: Float32Array,
    p: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    invStd: Float32Array,
    alpha: Float32Array,
    training: boolean,
    gx: Float32Array,
    ga: Float32Array | null,
  ): void;
}

/** The TypeScript twins of native/dice.cc. */
export const typescriptDiceKernels: DiceKernels = {
  name: 'typescript',
  forward(x, rows, c, mean, invStd, alpha, p, out) {
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) {
        const xv = x[o + j]!;
        const pv = Math.fround(sigmoidD((xv - mean[j]!) * invStd[j]!));
        p[o + j] = pv;
        const a = alpha[j]!;
        out[o + j] = xv * (a + (1 - a) * pv);
      }
    }
  },
  backward(g, x, p, rows, c, mean, invStd, alpha, training, gx, ga) {
    const sumD = new Float64Array(c),
      sumDX = new Float64Array(c);
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) {
        const xv = x[o + j]!,
          pv = p[o + j]!,
          gv = g[o + j]!,
          a = alpha[j]!,
          s = invStd[j]!;
        if (ga !== null) ga[j] = ga[j]! + gv * xv * (1 - pv);
        const d = gv * xv * (1 - a) * pv * (1 - pv);
        gx[o + j] = gx[o + j]! + (gv * (a + (1 - a) * pv) + d * s);
        if (training) {
          sumD[j]! += d;
          sumDX[j]! += d * (xv - mean[j]!) * s;
        }
      }
    }
    if (!training) return;
    const k = new Float32Array(c),
      b = new Float32Array(c);
    for (let j = 0; j < c; j++) {
      const s = invStd[j]!;
      k[j] = s * s * (sumDX[j]! / rows);
      b[j] = s * (sumD[j]! / rows);
    }
    for (let i = 0, o = 0; i < rows; i++, o += c) {
      for (let j = 0; j < c; j++) gx[o + j] = gx[o + j]! - (k[j]! * (x[o + j]! - mean[j]!) + b[j]!);
    }
  },
};

const family = nativeKernelFamily<DiceKernels>({ forward: 'diceForward', backward: 'diceBackward' }, typescriptDiceKernels);

/** The native Dice kernels, or why they are unavailable. Loaded once. */
export const loadNativeDiceKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const diceKernels = family.active;
