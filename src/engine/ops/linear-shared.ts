import { Tensor, fromOp, allocFloat32, releaseFloat32, isGradEnabled } from '../tensor.js';
import { kernels, denseKernels } from '../kernels/index.js';
import { fillRows, linear, linearRelu } from './matmul.js';

/**
 * Fewest rows for which the split pays: below it the gathers and the extra GEMM call cost
 * more than the products saved (measured on the BARS Frappe DeepFM: 1,000 candidates −4 %
 * CPU with the split, 100 candidates +10 %).
 */
const MIN_ROWS = 256;

/** Per marked tensor: 1 for each column whose value is the same on every row. */
const sharedColumnMasks = new WeakMap<Tensor, Uint8Array>();
/** Per marked [B, F, D] tensor: 1 for each field whose embedding is the same on every row. */
const sharedFieldMasks = new WeakMap<Tensor, Uint8Array>();

/**
 * Marks the fields of the stacked field embeddings `e` [B, F, D] that are the same on every
 * row (a rank request's context fields; see `markSharedColumns` for the flat view). The caller
 * vouches for it: `fmSecondOrder` sums those fields from row 0 only.
 */
export function markSharedFields(e: Tensor, mask: Uint8Array): void {
  if (e.rank !== 3 || mask.length !== e.shape[1]) throw new Error(`markSharedFields: mask of ${mask.length} fields for a tensor [${e.shape}]`);
  sharedFieldMasks.set(e, mask);
}

/** The shared-field mask of `e` (`markSharedFields`), or undefined when unmarked. */
export function sharedFieldsOf(e: Tensor): Uint8Array | undefined {
  return sharedFieldMasks.get(e);
}

/**
 * Marks the columns of the [rows, cols] tensor `x` that hold the same value on every row
 * (the input layer does it for the fields a rank request's context broadcasts over its
 * candidates; see `Batch.sharedFields`). The caller vouches for it: `linearSharedRows` reads
 * those columns from row 0 only.
 */
export function markSharedColumns(x: Tensor, mask: Uint8Array): void {
  if (x.rank !== 2 || mask.length !== x.shape[1]) throw new Error(`markSharedColumns: mask of ${mask.length} columns for a tensor [${x.shape}]`);
  sharedColumnMasks.set(x, mask);
}

/** The shared-column mask of `x` (`markSharedColumns`), or undefined when unmarked. */
export function sharedColumnsOf(x: Tensor): Uint8Array | undefined {
  return sharedColumnMasks.get(x);
}

/**
 * Fully connected layer for inference, y = x·W + b (then max(0, ·) when `relu`), that
 * multiplies the columns marked shared by every row (`markSharedColumns`) only once: with S
 * those columns and V the others, c = b + x[0, S]·W[S, :] is one row, and
 * y = x[:, V]·W[V, :] + c is a GEMM over the varying columns only (x[:, V] and W[V, :]
 * gathered into compact copies). Same values as `linear` / `linearRelu` up to float rounding
 * (the shared part is summed apart).
 *
 * Used only without autograd (`noGrad`: serving and file scoring) on a marked input of at
 * least `MIN_ROWS` rows; otherwise it is `linear` / `linearRelu`.
 */
export function linearSharedRows(x: Tensor, w: Tensor, b: Tensor | null, relu: boolean): Tensor {
  const shared = sharedColumnMasks.get(x);
  const plain = shared === undefined || isGradEnabled() || w.rank !== 2 || x.shape[1] !== w.shape[0] || x.shape[0]! < MIN_ROWS;
  if (plain) return relu ? linearRelu(x, w, b) : linear(x, w, b);
  const rows = x.shape[0]!,
    inDim = x.shape[1]!,
    outDim = w.shape[1]!;
  const K = kernels();
  const sharedIdx: number[] = [],
    varying: number[] = [];
  for (let j = 0; j < inDim; j++) (shared[j] === 1 ? sharedIdx : varying).push(j);
  const xd = x.data;
  // Gathers rows `idx` of W into a compact [idx.length, outDim] copy.
  const gatherW = (idx: readonly number[]): Float32Array => {
    const g = allocFloat32(idx.length * outDim);
    for (let q = 0; q < idx.length; q++) g.set(w.data.subarray(idx[q]! * outDim, (idx[q]! + 1) * outDim), q * outDim);
    return g;
  };
  // c = b + x[0, S]·W[S, :] (one row), then copied into every row of the output.
  const c = new Float32Array(outDim);
  if (b !== null) c.set(b.data.subarray(0, outDim));
  const ns = sharedIdx.length;
  if (ns > 0) {
    const x0 = Float32Array.from(sharedIdx, (j) => xd[j]!);
    const ws = gatherW(sharedIdx);
    K.sgemm(false, false, 1, outDim, ns, 1, x0, 0, ns, ws, 0, outDim, 1, c, 0, outDim);
    releaseFloat32(ws);
  }
  const out = allocFloat32(rows * outDim);
  fillRows(out, c, rows, outDim);
  const nv = varying.length;
  if (nv > 0) {
    const xv = allocFloat32(rows * nv);
    for (let r = 0; r < rows; r++) {
      const src = r * inDim,
        dst = r * nv;
      for (let q = 0; q < nv; q++) xv[dst + q] = xd[src + varying[q]!]!;
    }
    const wv = gatherW(varying);
    K.sgemm(false, false, rows, outDim, nv, 1, xv, 0, nv, wv, 0, outDim, 1, out, 0, outDim);
    releaseFloat32(xv);
    releaseFloat32(wv);
  }
  if (relu) denseKernels().relu(out, out.length, out);
  return fromOp(out, [rows, outDim], [], () => {
    throw new Error('linearSharedRows has no backward (inference only)');
  });
}
