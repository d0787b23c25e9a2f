/**
 * Attention in fused ops: multi-head attention over a few fields (AutoInt's interacting
 * layer) as the per-head weights from q and k and the per-head weighted sum of v, and AFM's
 * attention-network score hᵀ ReLU(W v + b) of every pair product. Heads stay in the
 * columns of the [B, F, H·d] projections (head h in columns h·d … h·d + d − 1), so no head
 * split or merge copies exist; the weights are [B·H, F, F] (sample-major, then head), so a
 * dropout on them is the plain `dropout` op. Kernels: ../kernels/attention.ts.
 */
import { Tensor, fromOp, allocFloat32, allocZeroedFloat32, releaseFloat32 } from '../tensor.js';
import { attentionKernels } from '../kernels/attention.js';

/** The buffer a kernel accumulates t's gradient into: t's own, or a zeroed scratch when t needs none. */
function accumulator(t: Tensor): Float32Array {
  return t.requiresGrad ? t.gradBuffer() : allocZeroedFloat32(t.size);
}

/** Returns a scratch from `accumulator` to the pool. */
function done(t: Tensor, buf: Float32Array): void {
  if (!t.requiresGrad) releaseFloat32(buf);
}

function headShape(op: string, x: Tensor, heads: number): [number, number, number] {
  if (x.rank !== 3) throw new Error(`${op}: expected [B, F, H·d], got [${x.shape}]`);
  const [B, F, A] = x.shape as [number, number, number];
  if (!Number.isInteger(heads) || heads < 1 || A % heads !== 0) throw new Error(`${op}: width ${A} is not a multiple of heads (${heads})`);
  return [B, F, A / heads];
}

/**
 * α[b·H + h, i, j] = softmax_j( scale · q[b, i, h·d:(h+1)·d] · k[b, j, h·d:(h+1)·d] ) for q, k
 * [B, F, H·d]: per sample and head the row-wise softmax of scale·Q_h K_hᵀ (sums in float64,
 * max-shifted). Backward: dS = α ⊙ (dα − rowsum(dα ⊙ α))·scale, dQ_h = dS K_h, dK_h = dSᵀ Q_h.
 */
export function headAttention(q: Tensor, k: Tensor, heads: number, scale: number): Tensor {
  const [B, F, d] = headShape('headAttention', q, heads);
  if (k.shape.join() !== q.shape.join()) throw new Error(`headAttention: q [${q.shape}] and k [${k.shape}] differ`);
  const K = attentionKernels();
  const p = allocFloat32(B * heads * F * F);
  K.scores(q.data, k.data, B, F, heads, d, scale, p);
  return fromOp(
    p,
    [B * heads, F, F],
    [q, k],
    (g) => {
      const gq = accumulator(q),
        gk = accumulator(k);
      K.scoresBackward(g, p, q.data, k.data, B, F, heads, d, scale, gq, gk);
      done(q, gq);
      done(k, gk);
    },
    { releasesGrad: true },
  );
}

/**
 * out[b, i, h·d:(h+1)·d] = Σ_j α[b·H + h, i, j] · v[b, j, h·d:(h+1)·d] for α [B·H, F, F] and v
 * [B, F, H·d]: per sample and head α_h V_h, written straight into the merged-heads layout.
 * Backward: dα_h = dO_h V_hᵀ, dV_h = α_hᵀ dO_h.
 */
export function headWeightedSum(alpha: Tensor, v: Tensor, heads: number): Tensor {
  const [B, F, d] = headShape('headWeightedSum', v, heads);
  if (alpha.shape.join() !== [B * heads, F, F].join()) {
    throw new Error(`headWeightedSum: weights must be [${B * heads}, ${F}, ${F}] for v [${v.shape}] and ${heads} heads, got [${alpha.shape}]`);
  }
  const K = attentionKernels();
  const out = allocFloat32(v.size);
  K.weightedSum(alpha.data, v.data, B, F, heads, d, out);
  return fromOp(
    out,
    v.shape,
    [alpha, v],
    (g) => {
      // The kernel writes dα (into α's fresh gradient, else a scratch) and accumulates dV.
      const ga = alpha.requiresGrad ? alpha.gradForWrite() : null;
      const target = ga?.overwrite === true ? ga.grad : allocFloat32(alpha.size);
      const gv = accumulator(v);
      K.weightedSumBackward(g, alpha.data, v.data, B, F, heads, d, target, gv);
      done(v, gv);
      if (ga !== null && !ga.overwrite) for (let i = 0; i < target.length; i++) ga.grad[i]! += target[i]!;
      if (target !== ga?.grad) releaseFloat32(target);
    },
    { releasesGrad: true },
  );
}

/**
 * AFM's attention score of every row of v [..., D]: s = hᵀ ReLU(v·W + b) for W [D, A], b [A]
 * (or null), h [A] or [A, 1]; result v's shape without its last axis. Fused: the [rows, A]
 * hidden layer is never stored (the backward recomputes it), sums in float64. Same values as
 * `linear(relu(linear(v, W, b)), h, null)` up to float rounding. Backward: gz = g·h·[z > 0],
 * dv = gz·Wᵀ, dW = vᵀ·gz, db = Σ gz, dh = Σ g·ReLU(z).
 */
export function reluMlpScore(v: Tensor, w: Tensor, b: Tensor | null, h: Tensor): Tensor {
  const D = v.shape[v.rank - 1] ?? 0;
  if (v.rank < 1 || w.rank !== 2 || w.shape[0] !== D)
    throw new Error(`reluMlpScore: expected v [..., D] and W [D, A], got [${v.shape}] and [${w.shape}]`);
  const A = w.shape[1]!;
  if (b !== null && (b.rank !== 1 || b.shape[0] !== A)) throw new Error(`reluMlpScore: bias must be [${A}], got [${b.shape}]`);
  if (h.size !== A || h.shape[0] !== A) throw new Error(`reluMlpScore: h must be [${A}] or [${A}, 1], got [${h.shape}]`);
  const R = v.shape.slice(0, -1).reduce((a, c) => a * c, 1);
  const K = attentionKernels();
  const s = allocFloat32(R);
  K.scoreMlp(v.data, w.data, b?.data ?? null, h.data, R, D, A, s);
  return fromOp(
    s,
    v.shape.slice(0, -1),
    b !== null ? [v, w, b, h] : [v, w, h],
    (g) => {
      const gv = accumulator(v),
        gw = accumulator(w),
        gb = b === null ? null : accumulator(b),
        gh = accumulator(h);
      K.scoreMlpBackward(g, v.data, w.data, b?.data ?? null, h.data, R, D, A, gv, gw, gb, gh);
      done(v, gv);
      done(w, gw);
      if (b !== null) done(b, gb!);
      done(h, gh);
    },
    { releasesGrad: true },
  );
}
