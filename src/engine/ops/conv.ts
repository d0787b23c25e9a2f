import { Tensor, fromOp, allocFloat32, releaseFloat32 } from '../tensor.js';
import { rowKernels } from '../kernels/rows.js';
import { denseKernels, kernels } from '../kernels/index.js';
import { fillRows } from './matmul.js';

function checkRows(op: string, x: Tensor): [number, number, number] {
  if (x.rank !== 3) throw new Error(`${op}: expected [N, H, C] (rows × positions × channels), got [${x.shape}]`);
  return x.shape as [number, number, number];
}

/** Output rows H + 2·pad − k + 1 of a stride-1 convolution, checking k ≥ 1, pad ≥ 0 and at least one row. */
function outputRows(op: string, H: number, k: number, pad: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${op}: kernel height must be a positive integer, got ${k}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: padding must be a non-negative integer, got ${pad}`);
  const Ho = H + 2 * pad - k + 1;
  if (Ho < 1) throw new Error(`${op}: kernel height ${k} with padding ${pad} leaves no output row for ${H} input rows`);
  return Ho;
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
  const Ho = outputRows('unfoldRows', H, k, pad);
  const W = k * C;
  const K = rowKernels();
  const out = allocFloat32(N * Ho * W);
  K.unfoldRows(x.data, N, H, C, k, pad, out);
  return fromOp(out, [N, Ho, W], [x], (g) => K.foldRowsAdd(g, N, H, C, k, pad, x.gradBuffer()));
}

/**
 * Default size (elements) of `convRows`' im2col scratch: 2^18 floats (1 MiB), a chunk of rows
 * whose unfolded copy stays in cache between the copy and the GEMM that reads it.
 */
export const CONV_ROWS_CHUNK_ELEMENTS = 1 << 18;

/**
 * Convolution along the position axis with kernel height `k`, zero padding `pad` and stride 1,
 * x [N, H, C] → [N, H_out, C'] (H_out = H + 2·pad − k + 1):
 *   out[n, h, c′] = b[c′] + Σ_t Σ_c x[n, h + t − pad, c] · W[t·C + c, c′],
 * the same values as `linear(unfoldRows(x, k, pad), W, b)` (torch's Conv2d with kernel (k, 1),
 * see `unfoldRows`) without the full im2col matrix: the rows n are taken in chunks whose
 * unfolded copy fills a scratch array of about `chunkElements` floats, each chunk one GEMM
 * into its slice of the result. Backward, chunk by chunk: dW += unfold(x_chunk)ᵀ·dY_chunk (the
 * chunk is unfolded again instead of kept), dx += col2im(dY_chunk·Wᵀ), db = column sums of dY.
 * Nothing of size N·H_out·k·C outlives a chunk (FGCNN's second layer at 4,096 rows: 80 MB of
 * im2col and as much again for its gradient per step, before).
 */
export function convRows(x: Tensor, w: Tensor, b: Tensor | null, k: number, pad: number, chunkElements = CONV_ROWS_CHUNK_ELEMENTS): Tensor {
  const [N, H, C] = checkRows('convRows', x);
  const Ho = outputRows('convRows', H, k, pad);
  const W = k * C;
  if (w.rank !== 2 || w.shape[0] !== W)
    throw new Error(`convRows: weight must be [${W}, out] (kernel height ${k} × ${C} channels), got [${w.shape}]`);
  const Co = w.shape[1]!;
  if (b !== null && (b.rank !== 1 || b.shape[0] !== Co)) throw new Error(`convRows: bias must be [${Co}], got [${b.shape}]`);
  if (!Number.isInteger(chunkElements) || chunkElements < 1)
    throw new Error(`convRows: chunkElements must be a positive integer, got ${chunkElements}`);
  const R = rowKernels(),
    K = kernels();
  const perRow = Ho * W;
  const chunk = Math.max(1, Math.min(N, Math.floor(chunkElements / perRow)));
  /** Calls fn(n0, rows) for consecutive chunks of at most `chunk` rows n. */
  const eachChunk = (fn: (n0: number, rows: number) => void): void => {
    for (let n0 = 0; n0 < N; n0 += chunk) fn(n0, Math.min(chunk, N - n0));
  };
  /** Unfolds rows [n0, n0 + rows) of x into the scratch array. */
  const unfoldChunk = (scratch: Float32Array, n0: number, rows: number): Float32Array => {
    const part = scratch.subarray(0, rows * perRow);
    R.unfoldRows(x.data.subarray(n0 * H * C, (n0 + rows) * H * C), rows, H, C, k, pad, part);
    return part;
  };
  const out = allocFloat32(N * Ho * Co);
  if (b !== null) fillRows(out, b.data, N * Ho, Co);
  else out.fill(0);
  const scratch = allocFloat32(chunk * perRow);
  eachChunk((n0, rows) => {
    const u = unfoldChunk(scratch, n0, rows);
    K.sgemm(false, false, rows * Ho, Co, W, 1, u, 0, W, w.data, 0, Co, 1, out, n0 * Ho * Co, Co);
  });
  releaseFloat32(scratch);
  const parents = b !== null ? [x, w, b] : [x, w];
  return fromOp(
    out,
    [N, Ho, Co],
    parents,
    (g) => {
      if (b !== null && b.requiresGrad) denseKernels().addColumnSums(g, N * Ho, Co, b.gradBuffer());
      const gw = w.requiresGrad ? w.gradBuffer() : null;
      const gx = x.requiresGrad ? x.gradBuffer() : null;
      if (gw === null && gx === null) return;
      const s = allocFloat32(chunk * perRow);
      eachChunk((n0, rows) => {
        if (gw !== null) {
          const u = unfoldChunk(s, n0, rows);
          K.sgemm(true, false, W, Co, rows * Ho, 1, u, 0, W, g, n0 * Ho * Co, Co, 1, gw, 0, Co);
        }
        if (gx !== null) {
          const gu = s.subarray(0, rows * perRow);
          K.sgemm(false, true, rows * Ho, W, Co, 1, g, n0 * Ho * Co, Co, w.data, 0, Co, 0, gu, 0, W);
          R.foldRowsAdd(gu, rows, H, C, k, pad, gx.subarray(n0 * H * C, (n0 + rows) * H * C));
        }
      });
      releaseFloat32(s);
    },
    { releasesGrad: true },
  );
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
  // The argmax indices live in pooled float memory read as int32 (no fresh zero-filled array
  // per call), handed back once the backward has used them, or at once when there is none.
  const argMemory = allocFloat32(N * Ho * C);
  const arg = new Int32Array(argMemory.buffer, argMemory.byteOffset, argMemory.length);
  const K = rowKernels();
  K.maxPoolRows(x.data, N, H, C, k, pad, Ho, out, arg);
  const y = fromOp(out, [N, Ho, C], [x], (g) => {
    K.maxPoolRowsBackward(g, arg, arg.length, x.gradBuffer(), x.size);
    releaseFloat32(argMemory);
  });
  if (!y.requiresGrad) releaseFloat32(argMemory);
  return y;
}
