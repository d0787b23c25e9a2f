import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { kernels } from '../kernels/index.js';

/**
 * The first Linear of DIN's local activation unit over [q, k_l, q − k_l, q ⊙ k_l] for every
 * history position, fused and factored: with W = [W_q; W_k; W_d; W_p] (row blocks of D) and
 * bias b, row (b, l) of the result [B·L, H] is
 *   q_b·(W_q + W_d) + b  +  k_bl·(W_k − W_d)  +  (q_b ⊙ k_bl)·W_p,
 * the first term computed once per batch row and copied into the output, the other two as
 * GEMMs accumulating into it (no [B·L, 4D] feature tensor). Backward, with G = dY and
 * Ḡ_b = Σ_l G_bl, P = q ⊙ k and dP = G·W_pᵀ:
 *   dk = G·(W_k − W_d)ᵀ + dP ⊙ q,   dq_b = Ḡ_b·(W_q + W_d)ᵀ + Σ_l dP_bl ⊙ k_bl,
 *   dW_q = qᵀḠ,  dW_k = kᵀG,  dW_d = qᵀḠ − kᵀG,  dW_p = PᵀG,  db = Σ G.
 * query [B, D], keys [B, L, D], weight [4D, H], bias [H] or null.
 */
export function activationUnitFirstLayer(query: Tensor, keys: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  if (keys.rank !== 3 || query.rank !== 2)
    throw new Error(`activationUnitFirstLayer: expected query [B, D] and keys [B, L, D], got [${query.shape}] and [${keys.shape}]`);
  const [B, L, D] = keys.shape as [number, number, number];
  if (query.shape[0] !== B || query.shape[1] !== D)
    throw new Error(`activationUnitFirstLayer: query [${query.shape}] does not match keys [${keys.shape}]`);
  if (weight.rank !== 2 || weight.shape[0] !== 4 * D)
    throw new Error(`activationUnitFirstLayer: weight must be [${4 * D}, H], got [${weight.shape}]`);
  const H = weight.shape[1]!;
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== H))
    throw new Error(`activationUnitFirstLayer: bias must be [${H}], got [${bias.shape}]`);
  const K = kernels();
  const q = query.data,
    k = keys.data,
    w = weight.data;
  const DH = D * H;
  // W_q + W_d and W_k − W_d, [D, H] each.
  const wqd = new Float32Array(DH),
    wkd = new Float32Array(DH);
  for (let i = 0; i < DH; i++) {
    wqd[i] = w[i]! + w[2 * DH + i]!;
    wkd[i] = w[DH + i]! - w[2 * DH + i]!;
  }
  // Per batch row: q·(W_q + W_d) + b.
  const perRow = new Float32Array(B * H);
  if (bias !== null) for (let r = 0; r < B; r++) perRow.set(bias.data, r * H);
  K.sgemm(false, false, B, H, D, 1, q, 0, D, wqd, 0, H, bias !== null ? 1 : 0, perRow, 0, H);
  const rows = B * L;
  const out = allocFloat32(rows * H);
  for (let r = 0; r < B; r++) {
    const row = perRow.subarray(r * H, (r + 1) * H);
    for (let l = 0; l < L; l++) out.set(row, (r * L + l) * H);
  }
  // P = q ⊙ k [B·L, D].
  const prod = new Float32Array(rows * D);
  for (let r = 0; r < B; r++) {
    const qo = r * D;
    for (let l = 0; l < L; l++) {
      const o = (r * L + l) * D;
      for (let d = 0; d < D; d++) prod[o + d] = q[qo + d]! * k[o + d]!;
    }
  }
  K.sgemm(false, false, rows, H, D, 1, k, 0, D, wkd, 0, H, 1, out, 0, H);
  K.sgemm(false, false, rows, H, D, 1, prod, 0, D, w, 3 * DH, H, 1, out, 0, H);
  const parents = bias !== null ? [query, keys, weight, bias] : [query, keys, weight];
  return fromOp(
    out,
    [rows, H],
    parents,
    (g) => {
      // Ḡ [B, H]: the gradient summed over positions.
      const gRow = new Float32Array(B * H);
      for (let r = 0; r < B; r++) {
        const o = r * H;
        for (let l = 0; l < L; l++) {
          const go = (r * L + l) * H;
          for (let j = 0; j < H; j++) gRow[o + j]! += g[go + j]!;
        }
      }
      if (query.requiresGrad || keys.requiresGrad) {
        const dP = new Float32Array(rows * D);
        K.sgemm(false, true, rows, D, H, 1, g, 0, H, w, 3 * DH, H, 0, dP, 0, D);
        if (keys.requiresGrad) {
          const gk = keys.gradBuffer();
          K.sgemm(false, true, rows, D, H, 1, g, 0, H, wkd, 0, H, 1, gk, 0, D);
          for (let r = 0; r < B; r++) {
            const qo = r * D;
            for (let l = 0; l < L; l++) {
              const o = (r * L + l) * D;
              for (let d = 0; d < D; d++) gk[o + d]! += dP[o + d]! * q[qo + d]!;
            }
          }
        }
        if (query.requiresGrad) {
          const gq = query.gradBuffer();
          K.sgemm(false, true, B, D, H, 1, gRow, 0, H, wqd, 0, H, 1, gq, 0, D);
          for (let r = 0; r < B; r++) {
            const qo = r * D;
            for (let l = 0; l < L; l++) {
              const o = (r * L + l) * D;
              for (let d = 0; d < D; d++) gq[qo + d]! += dP[o + d]! * k[o + d]!;
            }
          }
        }
      }
      if (weight.requiresGrad) {
        const gw = weight.gradBuffer();
        const qtG = new Float32Array(DH),
          ktG = new Float32Array(DH);
        K.sgemm(true, false, D, H, B, 1, q, 0, D, gRow, 0, H, 0, qtG, 0, H);
        K.sgemm(true, false, D, H, rows, 1, k, 0, D, g, 0, H, 0, ktG, 0, H);
        for (let i = 0; i < DH; i++) {
          gw[i]! += qtG[i]!;
          gw[DH + i]! += ktG[i]!;
          gw[2 * DH + i]! += qtG[i]! - ktG[i]!;
        }
        K.sgemm(true, false, D, H, rows, 1, prod, 0, D, g, 0, H, 1, gw, 3 * DH, H);
      }
      if (bias !== null && bias.requiresGrad) {
        const gb = bias.gradBuffer();
        for (let r = 0; r < B; r++) for (let j = 0; j < H; j++) gb[j]! += gRow[r * H + j]!;
      }
    },
    { releasesGrad: true },
  );
}
