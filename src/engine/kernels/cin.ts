/**
 * Kernels of xDeepFM's Compressed Interaction Network (`CIN` in blocks/interactions/cin.ts,
 * ops `cinOuter` / `cinDots` in ops/cin.ts), native (native/cin.cc) and TypeScript twins
 * giving identical bits (every sum a float64 over its index ascending, one float store per
 * result). x0 is the field embeddings [B, F, D]; xk a layer's input maps, field-major
 * [B, H, D] (`dimMajor` false: layer 0, where xk = x0) or dim-major [B, D, H] (true: a
 * Linear's output); xk(b, j, d) names its element either way. Chosen like the engine's
 * kernels: native when the engine backend is native and the addon exports them.
 */
import { nativeKernelFamily } from './native-family.js';

/** CIN kernels; the backward ones add into gx0 / gxk (null: not computed; they may be the same array). */
export interface CinKernels {
  readonly name: 'native' | 'typescript';
  /** z[b·D + d, i·H + j] = x0[b,i,d]·xk(b,j,d) (z [B·D, F·H], written). */
  cinOuter(x0: Float32Array, xk: Float32Array, dimMajor: boolean, B: number, F: number, H: number, D: number, z: Float32Array): void;
  /**
   * Per sample b, first gx0[b,i,d] += Σ_j gz[b·D+d, i·H+j]·xk(b,j,d), then
   * gxk(b,j,d) += Σ_i gz[b·D+d, i·H+j]·x0[b,i,d] (float64 sums, one float store each).
   */
  cinOuterBackward(
    x0: Float32Array,
    xk: Float32Array,
    dimMajor: boolean,
    B: number,
    F: number,
    H: number,
    D: number,
    gz: Float32Array,
    gx0: Float32Array | null,
    gxk: Float32Array | null,
  ): void;
  /** out[b, i·H + j] = float(Σ_d x0[b,i,d]·xk(b,j,d)), d ascending (out [B, F·H], written). */
  cinDots(x0: Float32Array, xk: Float32Array, dimMajor: boolean, B: number, F: number, H: number, D: number, out: Float32Array): void;
  /**
   * Per sample b, first gx0[b,i,d] += Σ_j g[b, i·H+j]·xk(b,j,d), then
   * gxk(b,j,d) += Σ_i g[b, i·H+j]·x0[b,i,d] (float64 sums, one float store each).
   */
  cinDotsBackward(
    x0: Float32Array,
    xk: Float32Array,
    dimMajor: boolean,
    B: number,
    F: number,
    H: number,
    D: number,
    g: Float32Array,
    gx0: Float32Array | null,
    gxk: Float32Array | null,
  ): void;
}

function checkSizes(fn: string, B: number, F: number, H: number, D: number, arrays: Array<[string, Float32Array | null, number]>): void {
  for (const [n, v] of [
    ['B', B],
    ['F', F],
    ['H', H],
    ['D', D],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 31) throw new RangeError(`${fn}: ${n} must be an integer in [0, 2^31), got ${v}`);
  }
  if (B * D * F * Math.max(H, 1) >= 2 ** 31) throw new RangeError(`${fn}: B·D·F·H must be below 2^31`);
  for (const [name, a, need] of arrays) {
    if (a !== null && a.length < need) throw new RangeError(`${fn}: ${name} has ${a.length} elements, needs ${need}`);
  }
}

/** Offset of xk(b, j, d) and the strides of j and d. */
function xkLayout(dimMajor: boolean, H: number, D: number): [number, number] {
  return dimMajor ? [1, H] : [D, 1];
}

/** The TypeScript twins of native/cin.cc. */
export const typescriptCinKernels: CinKernels = {
  name: 'typescript',
  cinOuter(x0, xk, dimMajor, B, F, H, D, z) {
    checkSizes('cinOuter', B, F, H, D, [
      ['x0', x0, B * F * D],
      ['xk', xk, B * H * D],
      ['z', z, B * D * F * H],
    ]);
    const [sj, sd] = xkLayout(dimMajor, H, D);
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        const kb = b * H * D + d * sd;
        let o = (b * D + d) * F * H;
        for (let i = 0; i < F; i++) {
          const a = x0[(b * F + i) * D + d]!;
          for (let j = 0; j < H; j++) z[o++] = a * xk[kb + j * sj]!;
        }
      }
    }
  },
  cinOuterBackward(x0, xk, dimMajor, B, F, H, D, gz, gx0, gxk) {
    checkSizes('cinOuterBackward', B, F, H, D, [
      ['x0', x0, B * F * D],
      ['xk', xk, B * H * D],
      ['gz', gz, B * D * F * H],
      ['gx0', gx0, B * F * D],
      ['gxk', gxk, B * H * D],
    ]);
    const [sj, sd] = xkLayout(dimMajor, H, D);
    for (let b = 0; b < B; b++) {
      if (gx0 !== null) {
        for (let i = 0; i < F; i++) {
          for (let d = 0; d < D; d++) {
            const go = (b * D + d) * F * H + i * H,
              kb = b * H * D + d * sd;
            let s = 0;
            for (let j = 0; j < H; j++) s += gz[go + j]! * xk[kb + j * sj]!;
            gx0[(b * F + i) * D + d]! += s;
          }
        }
      }
      if (gxk !== null) {
        for (let j = 0; j < H; j++) {
          for (let d = 0; d < D; d++) {
            const go = (b * D + d) * F * H + j;
            let s = 0;
            for (let i = 0; i < F; i++) s += gz[go + i * H]! * x0[(b * F + i) * D + d]!;
            gxk[b * H * D + j * sj + d * sd]! += s;
          }
        }
      }
    }
  },
  cinDots(x0, xk, dimMajor, B, F, H, D, out) {
    checkSizes('cinDots', B, F, H, D, [
      ['x0', x0, B * F * D],
      ['xk', xk, B * H * D],
      ['out', out, B * F * H],
    ]);
    const [sj, sd] = xkLayout(dimMajor, H, D);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < F; i++) {
        const xb = (b * F + i) * D;
        for (let j = 0; j < H; j++) {
          const kb = b * H * D + j * sj;
          let s = 0;
          for (let d = 0; d < D; d++) s += x0[xb + d]! * xk[kb + d * sd]!;
          out[(b * F + i) * H + j] = s;
        }
      }
    }
  },
  cinDotsBackward(x0, xk, dimMajor, B, F, H, D, g, gx0, gxk) {
    checkSizes('cinDotsBackward', B, F, H, D, [
      ['x0', x0, B * F * D],
      ['xk', xk, B * H * D],
      ['g', g, B * F * H],
      ['gx0', gx0, B * F * D],
      ['gxk', gxk, B * H * D],
    ]);
    const [sj, sd] = xkLayout(dimMajor, H, D);
    for (let b = 0; b < B; b++) {
      const gb = b * F * H;
      if (gx0 !== null) {
        for (let i = 0; i < F; i++) {
          for (let d = 0; d < D; d++) {
            let s = 0;
            for (let j = 0; j < H; j++) s += g[gb + i * H + j]! * xk[b * H * D + j * sj + d * sd]!;
            gx0[(b * F + i) * D + d]! += s;
          }
        }
      }
      if (gxk !== null) {
        for (let j = 0; j < H; j++) {
          for (let d = 0; d < D; d++) {
            let s = 0;
            for (let i = 0; i < F; i++) s += g[gb + i * H + j]! * x0[(b * F + i) * D + d]!;
            gxk[b * H * D + j * sj + d * sd]! += s;
          }
        }
      }
    }
  },
};

const family = nativeKernelFamily<CinKernels>(
  { cinOuter: 'cinOuter', cinOuterBackward: 'cinOuterBackward', cinDots: 'cinDots', cinDotsBackward: 'cinDotsBackward' },
  typescriptCinKernels,
);

/** The native CIN kernels, or why they are unavailable. Loaded once. */
export const loadNativeCinKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const cinKernels = family.active;

/** Forces a kernel set (tests compare backends); null restores the automatic choice. */
export const forceCinKernels = family.force;
