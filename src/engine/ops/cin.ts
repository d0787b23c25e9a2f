import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { cinKernels } from '../kernels/cin.js';

/** Layout of a CIN layer's input maps xk: 'fields' = [B, H, D] (layer 0: the embeddings), 'dims' = [B, D, H] (a Linear's output). */
export type CinMapLayout = 'fields' | 'dims';

function checkCin(op: string, x0: Tensor, xk: Tensor, layout: CinMapLayout): [number, number, number, number] {
  if (x0.rank !== 3 || xk.rank !== 3 || xk.shape[0] !== x0.shape[0]) {
    throw new Error(`${op}: expected x0 [B, F, D] and xk of the same batch, got [${x0.shape}] and [${xk.shape}]`);
  }
  const [B, F, D] = x0.shape as [number, number, number];
  const H = layout === 'fields' ? xk.shape[1]! : xk.shape[2]!;
  const kd = layout === 'fields' ? xk.shape[2]! : xk.shape[1]!;
  if (kd !== D) throw new Error(`${op}: xk [${xk.shape}] (${layout === 'fields' ? '[B, H, D]' : '[B, D, H]'}) does not match x0's D = ${D}`);
  return [B, F, H, D];
}

function cinOp(kind: 'outer' | 'dots', x0: Tensor, xk: Tensor, layout: CinMapLayout): Tensor {
  const op = kind === 'outer' ? 'cinOuter' : 'cinDots';
  const [B, F, H, D] = checkCin(op, x0, xk, layout);
  const dimMajor = layout === 'dims';
  const K = cinKernels();
  const shape = kind === 'outer' ? [B * D, F * H] : [B, F * H];
  const out = allocFloat32(shape[0]! * shape[1]!);
  if (kind === 'outer') K.cinOuter(x0.data, xk.data, dimMajor, B, F, H, D, out);
  else K.cinDots(x0.data, xk.data, dimMajor, B, F, H, D, out);
  const same = x0 === xk;
  return fromOp(
    out,
    shape,
    same ? [x0] : [x0, xk],
    (g) => {
      const gx0 = x0.requiresGrad ? x0.gradBuffer() : null;
      const gxk = same ? gx0 : xk.requiresGrad ? xk.gradBuffer() : null;
      if (kind === 'outer') K.cinOuterBackward(x0.data, xk.data, dimMajor, B, F, H, D, g, gx0, gxk);
      else K.cinDotsBackward(x0.data, xk.data, dimMajor, B, F, H, D, g, gx0, gxk);
    },
    { releasesGrad: true },
  );
}

/**
 * The Hadamard products of a CIN layer (Lian et al. 2018, eq. 6) as one array:
 *   z[b·D + d, i·H + j] = x0[b,i,d]·xk(b,j,d)      (z [B·D, F·H]),
 * for x0 [B, F, D] and xk [B, H, D] (`layout` 'fields') or [B, D, H] ('dims'), so the
 * layer's 1×1 convolution is one GEMM z·W. No broadcast or transposed copies of either
 * operand; x0 and xk may be the same tensor (layer 0). Backward: ∂x0[b,i,d] += Σ_j
 * gz·xk(b,j,d), ∂xk(b,j,d) += Σ_i gz·x0[b,i,d] (the `cinOuter` kernels of ../kernels/cin.ts).
 */
export function cinOuter(x0: Tensor, xk: Tensor, layout: CinMapLayout): Tensor {
  return cinOp('outer', x0, xk, layout);
}

/**
 * The Hadamard products of a CIN layer summed over the embedding dimension:
 *   out[b, i·H + j] = Σ_d x0[b,i,d]·xk(b,j,d)     (out [B, F·H]),
 * i.e. Σ_d of `cinOuter`'s rows of sample b. Since a layer's sum pooling is linear,
 * Σ_d (z·W + b) = (Σ_d z)·W + D·b: a layer whose maps are only pooled (CIN's last layer)
 * needs this [B, F·H] array and a GEMM D times smaller instead of z. Backward: ∂x0[b,i,d] +=
 * Σ_j g[b,i·H+j]·xk(b,j,d), ∂xk(b,j,d) += Σ_i g[b,i·H+j]·x0[b,i,d] (the `cinDots` kernels).
 */
export function cinDots(x0: Tensor, xk: Tensor, layout: CinMapLayout): Tensor {
  return cinOp('dots', x0, xk, layout);
}
