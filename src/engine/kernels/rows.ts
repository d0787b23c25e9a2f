/**
 * Kernels of FGCNN's convolution over fields (ops `tanh` in ops/activation.ts, `unfoldRows` and
 * `maxPoolRows` in ops/conv.ts): the tanh activation (`tanhD`), the im2col / col2im and the
 * max pooling along the position axis, native (native/rows.cc) and TypeScript twins giving identical bits (copies, single
 * float additions in the same order, the same tanhD). Chosen like the engine's kernels:
 * native when the engine backend is native and the addon exports them.
 */
import { tanhD } from './expd.js';
import { nativeKernelFamily } from './native-family.js';

/** Row kernels over row-major arrays. */
export interface RowKernels {
  readonly name: 'native' | 'typescript';
  /** out[i] = float32(tanhD(x[i])) (out may be x). */
  tanhForward(x: Float32Array, n: number, out: Float32Array): void;
  /** gx[i] = float32(gx[i] + g[i]·(1 − t[i]²)), the tanh backward from its output t (in float64). */
  tanhBackward(t: Float32Array, g: Float32Array, n: number, gx: Float32Array): void;
  /**
   * im2col: out[n, h, t·C + c] = x[n, h + t − pad, c] (0 outside [0, H)) for x [N, H, C],
   * out [N, Ho, k·C], Ho = H + 2·pad − k + 1 (written).
   */
  unfoldRows(x: Float32Array, N: number, H: number, C: number, k: number, pad: number, out: Float32Array): void;
  /** col2im: gx[n, h + t − pad, c] += g[n, h, t·C + c] (h, then t·C + c ascending). */
  foldRowsAdd(g: Float32Array, N: number, H: number, C: number, k: number, pad: number, gx: Float32Array): void;
  /**
   * Max pooling along the positions, window i = rows [i·k − pad, i·k − pad + k) ∩ [0, H) (each
   * must hold a row): out[n, i, c] = its maximum, arg[n, i, c] = the flat x index of the first
   * maximum (rows ascending), for i < Ho.
   */
  maxPoolRows(x: Float32Array, N: number, H: number, C: number, k: number, pad: number, Ho: number, out: Float32Array, arg: Int32Array): void;
  /** The max-pooling backward: gx[arg[j]] += g[j] for j < n, ascending (every arg[j] in [0, nx)). */
  maxPoolRowsBackward(g: Float32Array, arg: Int32Array, n: number, gx: Float32Array, nx: number): void;
}

/** Kernel offsets [t0, t1) of output row h that fall inside the H input rows. */
function window(h: number, H: number, k: number, pad: number): [number, number] {
  const t0 = Math.max(0, pad - h);
  return [t0, Math.max(t0, Math.min(k, H + pad - h))];
}

/** The TypeScript twins of native/rows.cc. */
export const typescriptRowKernels: RowKernels = {
  name: 'typescript',
  tanhForward(x, n, out) {
    for (let i = 0; i < n; i++) out[i] = tanhD(x[i]!);
  },
  tanhBackward(t, g, n, gx) {
    for (let i = 0; i < n; i++) {
      const ti = t[i]!;
      gx[i]! += g[i]! * (1 - ti * ti);
    }
  },
  unfoldRows(x, N, H, C, k, pad, out) {
    const Ho = H + 2 * pad - k + 1,
      W = k * C;
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < Ho; h++) {
        const o = (n * Ho + h) * W;
        const [t0, t1] = window(h, H, k, pad);
        const src = (n * H + h - pad) * C; // x index of out[o + j] is src + j inside the window
        for (let j = 0; j < t0 * C; j++) out[o + j] = 0;
        for (let j = t0 * C; j < t1 * C; j++) out[o + j] = x[src + j]!;
        for (let j = t1 * C; j < W; j++) out[o + j] = 0;
      }
    }
  },
  foldRowsAdd(g, N, H, C, k, pad, gx) {
    const Ho = H + 2 * pad - k + 1,
      W = k * C;
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < Ho; h++) {
        const o = (n * Ho + h) * W;
        const [t0, t1] = window(h, H, k, pad);
        const dst = (n * H + h - pad) * C;
        for (let j = t0 * C; j < t1 * C; j++) gx[dst + j]! += g[o + j]!;
      }
    }
  },
  maxPoolRows(x, N, H, C, k, pad, Ho, out, arg) {
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < Ho; i++) {
        const r0 = Math.max(0, i * k - pad),
          r1 = Math.min(H, i * k - pad + k);
        const o = (n * Ho + i) * C,
          first = (n * H + r0) * C;
        for (let c = 0; c < C; c++) {
          out[o + c] = x[first + c]!;
          arg[o + c] = first + c;
        }
        for (let r = r0 + 1; r < r1; r++) {
          const row = (n * H + r) * C;
          for (let c = 0; c < C; c++) {
            if (x[row + c]! > out[o + c]!) {
              out[o + c] = x[row + c]!;
              arg[o + c] = row + c;
            }
          }
        }
      }
    }
  },
  maxPoolRowsBackward(g, arg, n, gx, nx) {
    for (let j = 0; j < n; j++) {
      const a = arg[j]!;
      if (a < 0 || a >= nx) throw new RangeError(`maxPoolRowsBackward: arg[${j}] = ${a} is outside [0, ${nx})`);
      gx[a]! += g[j]!;
    }
  },
};

const family = nativeKernelFamily<RowKernels>(
  {
    tanhForward: 'tanhForward',
    tanhBackward: 'tanhBackward',
    unfoldRows: 'unfoldRows',
    foldRowsAdd: 'foldRowsAdd',
    maxPoolRows: 'maxPoolRows',
    maxPoolRowsBackward: 'maxPoolRowsBackward',
  },
  typescriptRowKernels,
);

/** The native row kernels, or why they are unavailable. Loaded once. */
export const loadNativeRowKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const rowKernels = family.active;
