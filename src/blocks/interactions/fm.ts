import { Tensor, fromOp, isGradEnabled, allocFloat32, releaseFloat32 } from '../../engine/tensor.js';
import { sharedFieldsOf } from '../../engine/ops/linear-shared.js';
import { denseKernels } from '../../engine/kernels/index.js';

/**
 * FM second-order term of Rendle (2010) on field embeddings e [B, F, D]:
 *   y_b = ½ Σ_d [ (Σ_f e_{bfd})² − Σ_f e_{bfd}² ]  = Σ_{f<g} ⟨e_f, e_g⟩,   output [B].
 * Fused in one pass (the `fmSecondOrder` dense kernel, native or TypeScript); backward:
 * ∂y_b/∂e_{bfd} = S_{bd} − e_{bfd} with S = Σ_f e (`fmSecondOrderBackward`).
 * Without autograd (serving), when fields are marked the same on every row
 * (`markSharedFields`: a rank request's context), those are summed once, from row 0, by a
 * path that keeps no gradient state; otherwise the kernel runs (no graph is recorded).
 */
export function fmSecondOrder(e: Tensor): Tensor {
  if (e.rank !== 3) throw new Error(`fmSecondOrder: expected [B, F, D], got [${e.shape}]`);
  if (!isGradEnabled()) {
    const shared = sharedFieldsOf(e);
    if (shared !== undefined) return fmSecondOrderInference(e, shared);
  }
  const [B, F, D] = e.shape as [number, number, number];
  const x = e.data;
  // Pooled arrays (the kernel writes every element): inside a `tidy` scope the result's is
  // recycled, and S goes straight back to the pool when no backward will read it.
  const out = allocFloat32(B);
  const s = allocFloat32(B * D);
  denseKernels().fmSecondOrder(x, B, F, D, out, s);
  if (!(isGradEnabled() && e.requiresGrad)) {
    releaseFloat32(s);
    return fromOp(out, [B], [e], () => {});
  }
  return fromOp(out, [B], [e], (g) => {
    const { grad, overwrite } = e.gradForWrite();
    denseKernels().fmSecondOrderBackward(x, s, g, B, F, D, !overwrite, grad);
    // A backward closure runs once (backward() drops it): S goes back to the pool.
    releaseFloat32(s);
  });
}

/**
 * `fmSecondOrder` over the leading F·D columns of each row of x [B, W] (W ≥ F·D): the field
 * embeddings of a wider input row, as `embedFieldsConcat` writes them, read in place (the
 * kernels' row stride) instead of from a [B, F, D] copy. The same values and gradient as
 * `fmSecondOrder(reshape(slice(x, 1, 0, F·D), [B, F, D]))`; the gradient lands in x's first
 * F·D columns (the others get nothing: zeros when this writes x's gradient first).
 */
export function fmSecondOrderLeading(x: Tensor, fields: number, dim: number): Tensor {
  const lead = fields * dim;
  if (x.rank !== 2 || !(Number.isInteger(lead) && lead >= 0 && lead <= x.shape[1]!)) {
    throw new Error(`fmSecondOrderLeading: expected x [B, W] with W ≥ fields·dim = ${lead}, got [${x.shape}]`);
  }
  const B = x.shape[0]!,
    W = x.shape[1]!;
  const xd = x.data;
  const out = allocFloat32(B);
  const s = allocFloat32(B * dim);
  denseKernels().fmSecondOrder(xd, B, fields, dim, out, s, W);
  if (!(isGradEnabled() && x.requiresGrad)) {
    releaseFloat32(s);
    return fromOp(out, [B], [x], () => {});
  }
  return fromOp(out, [B], [x], (g) => {
    const { grad, overwrite } = x.gradForWrite();
    if (overwrite && W > lead) for (let b = 0; b < B; b++) grad.fill(0, b * W + lead, (b + 1) * W);
    denseKernels().fmSecondOrderBackward(xd, s, g, B, fields, dim, !overwrite, grad, W);
    releaseFloat32(s);
  });
}

/**
 * The FM term without autograd: per row, s = S₀ + Σ_{f ∉ shared} e_f and
 * q = Q₀ + Σ_{f ∉ shared} ‖e_f‖², y = ½(‖s‖² − q), with S₀ = Σ_{f ∈ shared} e_{0f} and
 * Q₀ = Σ_{f ∈ shared} ‖e_{0f}‖² computed once (all fields varying when `shared` is undefined).
 */
function fmSecondOrderInference(e: Tensor, shared: Uint8Array | undefined): Tensor {
  const [B, F, D] = e.shape as [number, number, number];
  const x = e.data;
  const s0 = new Float32Array(D);
  let q0 = 0;
  const varying: number[] = [];
  for (let f = 0; f < F; f++) {
    if (shared === undefined || shared[f] !== 1 || B === 0) {
      varying.push(f * D);
      continue;
    }
    for (let d = 0; d < D; d++) {
      const v = x[f * D + d]!;
      s0[d]! += v;
      q0 += v * v;
    }
  }
  const out = new Float32Array(B);
  const s = new Float32Array(D);
  const nv = varying.length;
  for (let b = 0; b < B; b++) {
    const base = b * F * D;
    s.set(s0);
    let sq = q0;
    for (let k = 0; k < nv; k++) {
      const o = base + varying[k]!;
      for (let d = 0; d < D; d++) {
        const v = x[o + d]!;
        s[d]! += v;
        sq += v * v;
      }
    }
    let ss = 0;
    for (let d = 0; d < D; d++) ss += s[d]! * s[d]!;
    out[b] = 0.5 * (ss - sq);
  }
  return fromOp(out, [B], [], () => {
    throw new Error('fmSecondOrder: no backward without autograd');
  });
}
