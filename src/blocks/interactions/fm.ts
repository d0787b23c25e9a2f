import { Tensor, fromOp } from '../../engine/tensor.js';

/**
 * FM second-order term of Rendle (2010) on field embeddings e [B, F, D]:
 *   y_b = ½ Σ_d [ (Σ_f e_{bfd})² − Σ_f e_{bfd}² ]  = Σ_{f<g} ⟨e_f, e_g⟩,   output [B].
 * Fused in one pass; backward: ∂y_b/∂e_{bfd} = S_{bd} − e_{bfd} with S = Σ_f e.
 */
export function fmSecondOrder(e: Tensor): Tensor {
  if (e.rank !== 3) throw new Error(`fmSecondOrder: expected [B, F, D], got [${e.shape}]`);
  const [B, F, D] = e.shape as [number, number, number];
  const x = e.data;
  const out = new Float32Array(B);
  const s = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    const base = b * F * D,
      sb = b * D;
    let sq = 0;
    for (let f = 0; f < F; f++) {
      const o = base + f * D;
      for (let d = 0; d < D; d++) {
        const v = x[o + d]!;
        s[sb + d]! += v;
        sq += v * v;
      }
    }
    let ss = 0;
    for (let d = 0; d < D; d++) ss += s[sb + d]! * s[sb + d]!;
    out[b] = 0.5 * (ss - sq);
  }
  return fromOp(out, [B], [e], (g) => {
    const ge = e.gradBuffer();
    for (let b = 0; b < B; b++) {
      const gb = g[b]!;
      if (gb === 0) continue;
      const base = b * F * D,
        sb = b * D;
      for (let f = 0; f < F; f++) {
        const o = base + f * D;
        for (let d = 0; d < D; d++) ge[o + d]! += gb * (s[sb + d]! - x[o + d]!);
      }
    }
  });
}
