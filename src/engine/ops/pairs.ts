import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { pairKernels } from '../kernels/pairs.js';

/**
 * Pair Hadamard products of two field tensors: for a [B, FA, D], c [B, FC, D] and index lists
 * li, ri of length P,
 *   out[b, p, :] = a[b, li[p], :] ⊙ c[b, ri[p], :]      (out [B, P, D]),
 * fused (no gathered [B, P, D] copies of either side): FiBiNET's bilinear interaction with a
 * = the transformed fields e·W and c = e. Backward: ∂a[li[p]] += g_p ⊙ c[ri[p]], ∂c[ri[p]] +=
 * g_p ⊙ a[li[p]] (the `hadamardPairs` kernels of ../kernels/pairs.ts, native or TypeScript).
 */
export function hadamardPairs(a: Tensor, li: Int32Array, c: Tensor, ri: Int32Array): Tensor {
  if (a.rank !== 3 || c.rank !== 3 || a.shape[0] !== c.shape[0] || a.shape[2] !== c.shape[2]) {
    throw new Error(`hadamardPairs: expected a [B, FA, D] and c [B, FC, D], got [${a.shape}] and [${c.shape}]`);
  }
  if (li.length !== ri.length) throw new Error(`hadamardPairs: ${li.length} left and ${ri.length} right indices`);
  const [B, FA, D] = a.shape as [number, number, number];
  const FC = c.shape[1]!,
    P = li.length;
  const K = pairKernels();
  const out = allocFloat32(B * P * D);
  K.hadamardPairs(a.data, FA, li, c.data, FC, ri, B, P, D, out);
  return fromOp(out, [B, P, D], [a, c], (g) =>
    K.hadamardPairsBackward(
      a.data,
      FA,
      li,
      c.data,
      FC,
      ri,
      B,
      P,
      D,
      g,
      a.requiresGrad ? a.gradBuffer() : null,
      c.requiresGrad ? c.gradBuffer() : null,
    ),
  );
}
