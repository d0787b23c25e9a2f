/**
 * Field-pair kernels: IPNN's inner products (`innerProducts` in blocks/interactions/product.ts:
 * FGCNN, PNN) and the pair Hadamard products of FiBiNET's bilinear interaction
 * (`hadamardPairs` in ops/pairs.ts), native (native/pairs.cc) and TypeScript twins giving
 * identical bits (every sum a float64 accumulated in the same order, one float store per
 * result). Chosen like the engine's kernels: native when the engine backend is native and
 * the addon exports them.
 */
import { nativeKernelFamily } from './native-family.js';

/** Pair kernels over row-major [B, F, D] field embeddings; pairs (i, j), i < j, in row-major order. */
export interface PairKernels {
  readonly name: 'native' | 'typescript';
  /** out[b, p] = float(Σ_d x[b,i,d]·x[b,j,d]) for p = (i, j), d ascending (out [B, F(F−1)/2], written). */
  innerProducts(x: Float32Array, B: number, F: number, D: number, out: Float32Array): void;
  /**
   * gx[b,f,d] = float(gx[b,f,d] + Σ_{m≠f} g[b, pair(f, m)]·x[b,m,d]), the sum a float64 over m
   * ascending (the pair of f and m is (min, max)).
   */
  innerProductsBackward(x: Float32Array, g: Float32Array, B: number, F: number, D: number, gx: Float32Array): void;
  /** out[b,p,d] = a[b,li[p],d]·c[b,ri[p],d] for a [B, FA, D], c [B, FC, D], out [B, P, D] (written). */
  hadamardPairs(
    a: Float32Array,
    FA: number,
    li: Int32Array,
    c: Float32Array,
    FC: number,
    ri: Int32Array,
    B: number,
    P: number,
    D: number,
    out: Float32Array,
  ): void;
  /**
   * ga[b,li[p],d] += g[b,p,d]·c[b,ri[p],d] and gc[b,ri[p],d] += g[b,p,d]·a[b,li[p],d], b then p
   * ascending, each update one float64 sum stored as float (ga or gc null: not computed).
   */
  hadamardPairsBackward(
    a: Float32Array,
    FA: number,
    li: Int32Array,
    c: Float32Array,
    FC: number,
    ri: Int32Array,
    B: number,
    P: number,
    D: number,
    g: Float32Array,
    ga: Float32Array | null,
    gc: Float32Array | null,
  ): void;
}

function checkIndices(fn: string, name: string, idx: Int32Array, P: number, bound: number): void {
  if (idx.length < P) throw new RangeError(`${fn}: ${name} has ${idx.length} elements, needs ${P}`);
  for (let p = 0; p < P; p++) {
    if (idx[p]! < 0 || idx[p]! >= bound) throw new RangeError(`${fn}: ${name}[${p}] = ${idx[p]} is outside [0, ${bound})`);
  }
}

/** The TypeScript twins of native/pairs.cc. */
export const typescriptPairKernels: PairKernels = {
  name: 'typescript',
  innerProducts(x, B, F, D, out) {
    const P = (F * (F - 1)) / 2;
    for (let b = 0; b < B; b++) {
      const base = b * F * D;
      let p = b * P;
      for (let i = 0; i < F; i++) {
        for (let j = i + 1; j < F; j++, p++) {
          const oi = base + i * D,
            oj = base + j * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += x[oi + d]! * x[oj + d]!;
          out[p] = s;
        }
      }
    }
  },
  innerProductsBackward(x, g, B, F, D, gx) {
    const P = (F * (F - 1)) / 2;
    const acc = new Float64Array(D);
    for (let b = 0; b < B; b++) {
      const base = b * F * D;
      for (let f = 0; f < F; f++) {
        acc.fill(0);
        for (let m = 0; m < F; m++) {
          if (m === f) continue;
          const i = Math.min(f, m),
            j = Math.max(f, m);
          const w = g[b * P + (i * (2 * F - i - 1)) / 2 + (j - i - 1)]!;
          const om = base + m * D;
          for (let d = 0; d < D; d++) acc[d]! += w * x[om + d]!;
        }
        const of = base + f * D;
        for (let d = 0; d < D; d++) gx[of + d]! += acc[d]!;
      }
    }
  },
  hadamardPairs(a, FA, li, c, FC, ri, B, P, D, out) {
    checkIndices('hadamardPairs', 'li', li, P, FA);
    checkIndices('hadamardPairs', 'ri', ri, P, FC);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < P; p++) {
        const oa = (b * FA + li[p]!) * D,
          oc = (b * FC + ri[p]!) * D,
          o = (b * P + p) * D;
        for (let d = 0; d < D; d++) out[o + d] = a[oa + d]! * c[oc + d]!;
      }
    }
  },
  hadamardPairsBackward(a, FA, li, c, FC, ri, B, P, D, g, ga, gc) {
    checkIndices('hadamardPairsBackward', 'li', li, P, FA);
    checkIndices('hadamardPairsBackward', 'ri', ri, P, FC);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < P; p++) {
        const oa = (b * FA + li[p]!) * D,
          oc = (b * FC + ri[p]!) * D,
          o = (b * P + p) * D;
        if (ga !== null) for (let d = 0; d < D; d++) ga[oa + d]! += g[o + d]! * c[oc + d]!;
        if (gc !== null) for (let d = 0; d < D; d++) gc[oc + d]! += g[o + d]! * a[oa + d]!;
      }
    }
  },
};

const family = nativeKernelFamily<PairKernels>(
  {
    innerProducts: 'innerProducts',
    innerProductsBackward: 'innerProductsBackward',
    hadamardPairs: 'hadamardPairs',
    hadamardPairsBackward: 'hadamardPairsBackward',
  },
  typescriptPairKernels,
);

/** The native pair kernels, or why they are unavailable. Loaded once. */
export const loadNativePairKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const pairKernels = family.active;

/** Forces a kernel set (tests compare backends); null restores the automatic choice. */
export const forcePairKernels = family.force;
