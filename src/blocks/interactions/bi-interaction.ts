import { Tensor, fromOp } from '../../engine/tensor.js';

/**
 * NFM's bi-interaction pooling (He & Chua 2017, eq. 4) on field embeddings e [B, F, D]:
 *   y_{bd} = ½ [ (Σ_f e_{bfd})² − Σ_f e_{bfd}² ]  = Σ_{f<g} e_{bfd}·e_{bgd},   output [B, D]:
 * the FM pair sum kept as a vector (summing it over d gives the FM second-order term).
 * Fused in one pass; backward: ∂y_{bd}/∂e_{bfd} = S_{bd} − e_{bfd} with S = Σ_f e.
 */
export function biInteraction(e: Tensor): Tensor {
  if (e.rank !== 3) throw new Error(`biInteraction: expected [B, F, D], got [${e.shape}]`);
  const [B, F, D] = e.shape as [number, number, number];
  const x = e.data;
  const out = new Float32Array(B * D);
  const s = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    const base = b * F * D,
      sb = b * D;
    for (let f = 0; f < F; f++) {
      const o = base + f * D;
      for (let d = 0; d < D; d++) {
        const v = x[o + d]!;
        s[sb + d]! += v;
        out[sb + d]! -= v * v;
      }
    }
    for (let d = 0; d < D; d++) out[sb + d] = 0.5 * (s[sb + d]! * s[sb + d]! + out[sb + d]!);
  }
  return fromOp(out, [B, D], [e], (g) => {
    const ge = e.gradBuffer();
    for (let b = 0; b < B; b++) {
      const base = b * F * D,
        sb = b * D;
      for (let f = 0; f < F; f++) {
        const o = base + f * D;
        for (let d = 0; d < D; d++) ge[o + d]! += g[sb + d]! * (s[sb + d]! - x[o + d]!);
      }
    }
  });
}
