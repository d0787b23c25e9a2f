import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { rowKernels } from '../kernels/rows.js';

function checkRows(op: string, x: Tensor): [number, number, number] {
  if (x.rank !== 3) throw new Error(`${op}: expected [N, H, C] (rows × positions × channels), got [${x.shape}]`);
  return x.shape as [number, number, number];
}

/**
 * im2col along the position axis, the input of a convolution with kernel height `k` and zero
 * padding `pad` on both sides written as one GEMM: x [N, H, C] → [N, H_out, k·C] with
 *   out[n, h, t·C + c] = x[n, h + t − pad, c]   (0 outside 0 ≤ h + t − pad < H),
 * H_out = H + 2·pad − k + 1. A convolution of C → C' channels is then out · W [k·C, C'] + b
 * (torch's Conv2d with kernel (k, 1) over [N, C, H, ·], its weight W'[c', c, t] = W[t·C + c, c']).
 * Backward: each output gradient added back to the input position it was copied from (col2im).
 * Kernels: ../kernels/rows.ts (native memcpy runs, TypeScript twin).
 */
export function unfoldRows(x: Tensor, k: number, pad: number): Tensor {
  const [N, H, C] = checkRows('unfoldRows', x);
  if (!Number.isInteger(k) || k < 1) throw new Error(`unfoldRows: kernel height must be a positive integer, got ${k}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`unfoldRows: padding must be a non-negative integer, got ${pad}`);
  const Ho = H + 2 * pad - k + 1;
  if (Ho < 1) throw new Error(`unfoldRows: kernel height ${k} with padding ${pad} leaves no output row for ${H} input rows`);
  const W = k * C;
  const K = rowKernels();
  const out = allocFloat32(N * Ho * W);
  K.unfoldRows(x.data, N, H, C, k, pad, out);
  return fromOp(out, [N, Ho, W], [x], (g) => K.foldRowsAdd(g, N, H, C, k, pad, x.gradBuffer()));
}

/** Output height of `maxPoolRows`: ⌊(H + 2·pad − k)/k⌋ + 1 (torch's MaxPool2d, stride = kernel). */
export function pooledRows(H: number, k: number, pad: number): number {
  return Math.floor((H + 2 * pad - k) / k) + 1;
}

/**
 * Max pooling along the position axis with window and stride `k` and implicit −∞ padding
 * `pad` on both sides (torch's MaxPool2d((k, 1), padding=(pad, 0))): x [N, H, C] →
 * [N, H_out, C], H_out = pooledRows(H, k, pad), window i covering positions
 * [i·k − pad, i·k − pad + k) ∩ [0, H). A window with no real position is refused.
 * Backward: the gradient goes to the window's maximum (the first one on ties).
 */
export function maxPoolRows(x: Tensor, k: number, pad: number): Tensor {
  const [N, H, C] = checkRows('maxPoolRows', x);
  if (!Number.isInteger(k) || k < 1) throw new Error(`maxPoolRows: pooling size must be a positive integer, got ${k}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`maxPoolRows: padding must be a non-negative integer, got ${pad}`);
  const Ho = pooledRows(H, k, pad);
  if (Ho < 1 || pad >= k || (Ho - 1) * k - pad >= H) {
    throw new Error(`maxPoolRows: pooling size ${k} with padding ${pad} over ${H} rows leaves a window with no row`);
  }
  const out = allocFloat32(N * Ho * C);
  const arg = new Int32Array(N * Ho * C);
  const K = rowKernels();
  K.maxPoolRows(x.data, N, H, C, k, pad, Ho, out, arg);
  return fromOp(out, [N, Ho, C], [x], (g) => K.maxPoolRowsBackward(g, arg, arg.length, x.gradBuffer(), x.size));
}
