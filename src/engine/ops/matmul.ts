import { Tensor, fromOp, allocFloat32, allocZeroedFloat32 } from '../tensor.js';
import { kernels, denseKernels } from '../kernels/index.js';

/** Options of `matmul`: which operand enters transposed (its last two axes swapped). */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Matrix product op(A)·op(B) on the last two axes. Rank-2 operands give a plain GEMM.
 * Rank-3 operands [batch, r, c] give a batched product (attention); a rank-3 A with a
 * rank-2 B multiplies every batch by the same B (done as one GEMM when A is not transposed).
 * Backward: dA = dC·op(B)ᵀ, dB = op(A)ᵀ·dC (transposes folded into the GEMM flags).
 * The result may be a recycled array (see `allocFloat32`); the backward keeps no reference
 * to its gradient, which is recycled after it ran.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new Error(`matmul: operands must be rank 2 or 3, got [${a.shape}] and [${b.shape}]`);
  }
  if (a.rank === 2 && b.rank === 3) throw new Error(`matmul: rank-2 A with rank-3 B is not supported ([${a.shape}]·[${b.shape}])`);
  const batch = a.rank === 3 ? a.shape[0]! : 1;
  if (b.rank === 3 && b.shape[0] !== batch) throw new Error(`matmul: batch sizes differ ([${a.shape}]·[${b.shape}])`);
  const ar = a.shape[a.rank - 2]!,
    ac = a.shape[a.rank - 1]!;
  const br = b.shape[b.rank - 2]!,
    bc = b.shape[b.rank - 1]!;
  const m = transA ? ac : ar,
    k = transA ? ar : ac;
  const kb = transB ? bc : br,
    n = transB ? br : bc;
  if (k !== kb) throw new Error(`matmul: inner dimensions differ: [${a.shape}]${transA ? 'ᵀ' : ''}·[${b.shape}]${transB ? 'ᵀ' : ''}`);
  const K = kernels();
  const aStride = ar * ac,
    bStride = b.rank === 3 ? br * bc : 0,
    cStride = m * n;
  // sgemm with beta = 0 writes every element of C (k = 0 included, but zeroed anyway).
  const out = k === 0 ? allocZeroedFloat32(batch * m * n) : allocFloat32(batch * m * n);
  // A shared B with untransposed rank-3 A is one tall GEMM.
  const flat = a.rank === 3 && b.rank === 2 && !transA;
  if (flat) {
    K.sgemm(false, transB, batch * m, n, k, 1, a.data, 0, ac, b.data, 0, bc, 0, out, 0, n);
  } else {
    for (let s = 0; s < batch; s++) {
      K.sgemm(transA, transB, m, n, k, 1, a.data, s * aStride, ac, b.data, s * bStride, bc, 0, out, s * cStride, n);
    }
  }
  const shape = a.rank === 3 ? [batch, m, n] : [m, n];
  return fromOp(
    out,
    shape,
    [a, b],
    (g) => {
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        if (flat) {
          // dA (batch·m × k) = dC · op(B)ᵀ
          K.sgemm(false, !transB, batch * m, k, n, 1, g, 0, n, b.data, 0, bc, 1, ga, 0, ac);
        } else {
          for (let s = 0; s < batch; s++) {
            if (!transA) {
              // dA (m×k) = dC · op(B)ᵀ
              K.sgemm(false, !transB, m, k, n, 1, g, s * cStride, n, b.data, s * bStride, bc, 1, ga, s * aStride, ac);
            } else {
              // A is k×m; dA = op(B) · dCᵀ
              K.sgemm(transB, true, k, m, n, 1, b.data, s * bStride, bc, g, s * cStride, n, 1, ga, s * aStride, ac);
            }
          }
        }
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        if (flat) {
          if (!transB) K.sgemm(true, false, k, n, batch * m, 1, a.data, 0, ac, g, 0, n, 1, gb, 0, bc);
          else K.sgemm(true, false, n, k, batch * m, 1, g, 0, n, a.data, 0, ac, 1, gb, 0, bc);
        } else {
          for (let s = 0; s < batch; s++) {
            if (!transB) {
              // dB (k×n) = op(A)ᵀ · dC
              K.sgemm(!transA, false, k, n, m, 1, a.data, s * aStride, ac, g, s * cStride, n, 1, gb, s * bStride, bc);
            } else {
              // B is n×k; dB = dCᵀ · op(A)
              K.sgemm(true, transA, n, k, m, 1, g, s * cStride, n, a.data, s * aStride, ac, 1, gb, s * bStride, bc);
            }
          }
        }
      }
    },
    { releasesGrad: true },
  );
}

/**
 * Writes `row` (length n) into each of the `rows` rows of out (the `fillRows` dense kernel:
 * natively one memcpy per row from a row that stays in L1, write-only traffic; the
 * TypeScript twin uses doubling `copyWithin`s).
 */
export function fillRows(out: Float32Array, row: Float32Array, rows: number, n: number): void {
  if (rows === 0 || n === 0) return;
  denseKernels().fillRows(row, rows, n, out);
}

/**
 * Fully connected layer y = x·W + b for x [rows, in], W [in, out], b [out] (or null),
 * fused: one GEMM with the bias pre-filled in C; backward dx = dy·Wᵀ, dW = xᵀ·dy (GEMMs
 * accumulating into the gradients) and db = column sums of dy (float64 sums, the
 * `addColumnSums` kernel). The result may be a recycled array; its gradient is recycled
 * after the backward ran.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  return linearOp(x, w, b, false);
}

/**
 * Fused fully connected layer with ReLU, y = max(0, x·W + b) for x [rows, in], W [in, out],
 * b [out] (or null): one GEMM with the bias pre-filled in C, then the ReLU in place over
 * the GEMM's output (no second result buffer). Same values as `relu(linear(x, W, b))`.
 * Backward: the gradient masked by y > 0 in place and the bias gradient summed in the same
 * pass (`reluBackwardColumnSums`; the incoming gradient is this op's own, recycled after),
 * then the two GEMMs of `linear`; the same bits as relu's backward followed by linear's.
 */
export function linearRelu(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  return linearOp(x, w, b, true);
}

/** `linear`, or `linearRelu` when `withRelu`. */
function linearOp(x: Tensor, w: Tensor, b: Tensor | null, withRelu: boolean): Tensor {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0]) {
    throw new Error(`linear: expected x [rows, in] and W [in, out], got [${x.shape}] and [${w.shape}]`);
  }
  const rows = x.shape[0]!,
    inDim = x.shape[1]!,
    outDim = w.shape[1]!;
  if (b !== null && (b.rank !== 1 || b.shape[0] !== outDim)) throw new Error(`linear: bias must be [${outDim}], got [${b.shape}]`);
  const K = kernels();
  const out = inDim === 0 && b === null ? allocZeroedFloat32(rows * outDim) : allocFloat32(rows * outDim);
  if (b !== null) fillRows(out, b.data, rows, outDim);
  K.sgemm(false, false, rows, outDim, inDim, 1, x.data, 0, inDim, w.data, 0, outDim, b !== null ? 1 : 0, out, 0, outDim);
  if (withRelu) denseKernels().relu(out, out.length, out);
  const parents = b !== null ? [x, w, b] : [x, w];
  return fromOp(
    out,
    [rows, outDim],
    parents,
    (g) => {
      const biasGrad = b !== null && b.requiresGrad;
      if (withRelu) {
        // g is this op's gradient, read by nobody after this closure: masked in place.
        const sums = biasGrad ? b.gradBuffer() : new Float32Array(outDim);
        denseKernels().reluBackwardColumnSums(out, g, rows, outDim, g, sums);
      }
      // A fresh gradient is written by the GEMM with beta = 0 (no zero-fill, no read).
      if (x.requiresGrad) {
        const { grad, overwrite } = x.gradForWrite();
        K.sgemm(false, true, rows, inDim, outDim, 1, g, 0, outDim, w.data, 0, outDim, overwrite ? 0 : 1, grad, 0, inDim);
      }
      if (w.requiresGrad) {
        const { grad, overwrite } = w.gradForWrite();
        K.sgemm(true, false, inDim, outDim, rows, 1, x.data, 0, inDim, g, 0, outDim, overwrite ? 0 : 1, grad, 0, outDim);
      }
      if (biasGrad && !withRelu) denseKernels().addColumnSums(g, rows, outDim, b.gradBuffer());
    },
    { releasesGrad: true },
  );
}
