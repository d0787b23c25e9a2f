/**
 * Multi-head field attention (AutoInt's interacting layer; the ops are `headAttention` and
 * `headWeightedSum` in ops/attention.ts) as four fused kernels: native (native/attention.cc)
 * and TypeScript twins doing the same float64 operations in the same order (every sum a
 * double accumulated in index order, one float store per result, the exp `expD`), so both
 * backends give identical bits. Chosen like the engine's kernels: native when the engine
 * backend is native and the addon exports them.
 *
 * Also AFM's attention scores s = hᵀ ReLU(W v + b) per pair product (`scoreMlp`), without the
 * [rows, A] hidden layer in memory (recomputed in the backward).
 *
 * Layout: q, k, v and the weighted sum [B, F, H·d] row-major (head h in columns h·d …
 * h·d + d − 1, as the Linear projections write them: no head split or merge copies), the
 * attention weights p [B, H, F, F].
 */
import { expD } from './expd.js';
import { nativeKernelFamily } from './native-family.js';

/** The four head-attention kernels over [B, F, H·d] inputs and [B, H, F, F] weights. */
export interface AttentionKernels {
  readonly name: 'native' | 'typescript';
  /** p[b,h,i,:] = float(softmax_j(scale·Σ_t q[b,i,h,t]·k[b,j,h,t])) (written). */
  scores(q: Float32Array, k: Float32Array, B: number, F: number, H: number, d: number, scale: number, p: Float32Array): void;
  /**
   * With ds_ij = p_ij·(gp_ij − Σ_j' p_ij'·gp_ij')·scale: gq[b,i,h,:] += Σ_j ds_ij·k[b,j,h,:] and
   * gk[b,j,h,:] += Σ_i ds_ij·q[b,i,h,:] (accumulated).
   */
  scoresBackward(
    gp: Float32Array,
    p: Float32Array,
    q: Float32Array,
    k: Float32Array,
    B: number,
    F: number,
    H: number,
    d: number,
    scale: number,
    gq: Float32Array,
    gk: Float32Array,
  ): void;
  /** out[b,i,h,:] = float(Σ_j p[b,h,i,j]·v[b,j,h,:]) (written). */
  weightedSum(p: Float32Array, v: Float32Array, B: number, F: number, H: number, d: number, out: Float32Array): void;
  /** gp[b,h,i,j] = float(Σ_t g[b,i,h,t]·v[b,j,h,t]) (written); gv[b,j,h,:] += Σ_i p[b,h,i,j]·g[b,i,h,:] (accumulated). */
  weightedSumBackward(
    g: Float32Array,
    p: Float32Array,
    v: Float32Array,
    B: number,
    F: number,
    H: number,
    d: number,
    gp: Float32Array,
    gv: Float32Array,
  ): void;
  /**
   * s[r] = float(Σ_a h_a·max(0, z_a)), z_a = b_a + Σ_d v[r,d]·W[d,a], for v [R, D], W [D, A], b [A]
   * (or null: 0), h [A]; the sum over a as four interleaved partial sums (see `dot4`).
   */
  scoreMlp(v: Float32Array, W: Float32Array, b: Float32Array | null, h: Float32Array, R: number, D: number, A: number, s: Float32Array): void;
  /**
   * With gz_a = gs_r·h_a·[z_a > 0] (z recomputed): gv[r,d] += Σ_a gz_a·W[d,a], gW[d,a] += Σ_r v[r,d]·gz_a,
   * gb_a += Σ_r gz_a (gb may be null), gh_a += Σ_r gs_r·max(0, z_a) (all accumulated).
   */
  scoreMlpBackward(
    gs: Float32Array,
    v: Float32Array,
    W: Float32Array,
    b: Float32Array | null,
    h: Float32Array,
    R: number,
    D: number,
    A: number,
    gv: Float32Array,
    gW: Float32Array,
    gb: Float32Array | null,
    gh: Float32Array,
  ): void;
}

/**
 * Σ_a x[xo + a]·y[yo + a] for a < n as four interleaved partial sums (a ≡ 0, 1, 2, 3 mod 4,
 * each ascending) combined as (p0 + p1) + (p2 + p3): Dot4 in native/attention.cc.
 */
function dot4(x: ArrayLike<number>, xo: number, y: ArrayLike<number>, yo: number, n: number): number {
  let p0 = 0,
    p1 = 0,
    p2 = 0,
    p3 = 0,
    a = 0;
  for (; a + 4 <= n; a += 4) {
    p0 += x[xo + a]! * y[yo + a]!;
    p1 += x[xo + a + 1]! * y[yo + a + 1]!;
    p2 += x[xo + a + 2]! * y[yo + a + 2]!;
    p3 += x[xo + a + 3]! * y[yo + a + 3]!;
  }
  if (a < n) p0 += x[xo + a]! * y[yo + a]!;
  if (a + 1 < n) p1 += x[xo + a + 1]! * y[yo + a + 1]!;
  if (a + 2 < n) p2 += x[xo + a + 2]! * y[yo + a + 2]!;
  return p0 + p1 + (p2 + p3);
}

/** z[a] = b_a + Σ_d v[vo + d]·W[d, a] (d ascending). */
function hidden(v: Float32Array, vo: number, W: Float32Array, b: Float32Array | null, D: number, A: number, z: Float64Array): void {
  for (let a = 0; a < A; a++) z[a] = b === null ? 0 : b[a]!;
  for (let d = 0; d < D; d++) {
    const vd = v[vo + d]!,
      w = d * A;
    for (let a = 0; a < A; a++) z[a] = z[a]! + vd * W[w + a]!;
  }
}

/** The TypeScript twins of native/attention.cc. */
export const typescriptAttentionKernels: AttentionKernels = {
  name: 'typescript',
  scores(q, k, B, F, H, d, scale, p) {
    const A = H * d,
      s = new Float64Array(F);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const off = b * F * A + h * d;
        for (let i = 0; i < F; i++) {
          const qi = off + i * A;
          for (let j = 0; j < F; j++) {
            const kj = off + j * A;
            let acc = 0;
            for (let t = 0; t < d; t++) acc += q[qi + t]! * k[kj + t]!;
            s[j] = acc;
          }
          let m = s[0]! * scale;
          for (let j = 0; j < F; j++) {
            s[j] = s[j]! * scale;
            if (s[j]! > m) m = s[j]!;
          }
          let sum = 0;
          for (let j = 0; j < F; j++) {
            s[j] = expD(s[j]! - m);
            sum += s[j]!;
          }
          const pr = ((b * H + h) * F + i) * F;
          for (let j = 0; j < F; j++) p[pr + j] = s[j]! / sum;
        }
      }
    }
  },
  scoresBackward(gp, p, q, k, B, F, H, d, scale, gq, gk) {
    const A = H * d,
      ds = new Float64Array(F * F),
      acc = new Float64Array(d);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const base = (b * H + h) * F * F,
          off = b * F * A + h * d;
        for (let i = 0; i < F; i++) {
          const r = base + i * F;
          let dot = 0;
          for (let j = 0; j < F; j++) dot += p[r + j]! * gp[r + j]!;
          for (let j = 0; j < F; j++) ds[i * F + j] = p[r + j]! * (gp[r + j]! - dot) * scale;
        }
        for (let i = 0; i < F; i++) {
          acc.fill(0);
          for (let j = 0; j < F; j++) {
            const w = ds[i * F + j]!,
              kj = off + j * A;
            for (let t = 0; t < d; t++) acc[t]! += w * k[kj + t]!;
          }
          const o = off + i * A;
          for (let t = 0; t < d; t++) gq[o + t] = gq[o + t]! + acc[t]!;
        }
        for (let j = 0; j < F; j++) {
          acc.fill(0);
          for (let i = 0; i < F; i++) {
            const w = ds[i * F + j]!,
              qi = off + i * A;
            for (let t = 0; t < d; t++) acc[t]! += w * q[qi + t]!;
          }
          const o = off + j * A;
          for (let t = 0; t < d; t++) gk[o + t] = gk[o + t]! + acc[t]!;
        }
      }
    }
  },
  weightedSum(p, v, B, F, H, d, out) {
    const A = H * d,
      acc = new Float64Array(d);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const off = b * F * A + h * d;
        for (let i = 0; i < F; i++) {
          const pr = ((b * H + h) * F + i) * F;
          acc.fill(0);
          for (let j = 0; j < F; j++) {
            const w = p[pr + j]!,
              vj = off + j * A;
            for (let t = 0; t < d; t++) acc[t]! += w * v[vj + t]!;
          }
          const o = off + i * A;
          for (let t = 0; t < d; t++) out[o + t] = acc[t]!;
        }
      }
    }
  },
  weightedSumBackward(g, p, v, B, F, H, d, gp, gv) {
    const A = H * d,
      acc = new Float64Array(d);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const base = (b * H + h) * F * F,
          off = b * F * A + h * d;
        for (let i = 0; i < F; i++) {
          const gi = off + i * A;
          for (let j = 0; j < F; j++) {
            const vj = off + j * A;
            let s = 0;
            for (let t = 0; t < d; t++) s += g[gi + t]! * v[vj + t]!;
            gp[base + i * F + j] = s;
          }
        }
        for (let j = 0; j < F; j++) {
          acc.fill(0);
          for (let i = 0; i < F; i++) {
            const w = p[base + i * F + j]!,
              gi = off + i * A;
            for (let t = 0; t < d; t++) acc[t]! += w * g[gi + t]!;
          }
          const o = off + j * A;
          for (let t = 0; t < d; t++) gv[o + t] = gv[o + t]! + acc[t]!;
        }
      }
    }
  },
  scoreMlp(v, W, b, h, R, D, A, s) {
    const z = new Float64Array(A);
    for (let r = 0; r < R; r++) {
      hidden(v, r * D, W, b, D, A, z);
      for (let a = 0; a < A; a++) z[a] = z[a]! > 0 ? z[a]! : 0;
      s[r] = dot4(h, 0, z, 0, A);
    }
  },
  scoreMlpBackward(gs, v, W, b, h, R, D, A, gv, gW, gb, gh) {
    const z = new Float64Array(A),
      gz = new Float64Array(A),
      aW = new Float64Array(D * A),
      ab = new Float64Array(A),
      ah = new Float64Array(A);
    for (let r = 0; r < R; r++) {
      hidden(v, r * D, W, b, D, A, z);
      const g = gs[r]!;
      for (let a = 0; a < A; a++) {
        const on = z[a]! > 0;
        ah[a] = ah[a]! + g * (on ? z[a]! : 0);
        gz[a] = on ? g * h[a]! : 0;
        ab[a] = ab[a]! + gz[a]!;
      }
      for (let d = 0; d < D; d++) {
        const vd = v[r * D + d]!,
          w = d * A;
        for (let a = 0; a < A; a++) aW[w + a] = aW[w + a]! + vd * gz[a]!;
        gv[r * D + d] = gv[r * D + d]! + dot4(gz, 0, W, w, A);
      }
    }
    for (let i = 0; i < D * A; i++) gW[i] = gW[i]! + aW[i]!;
    if (gb !== null) for (let a = 0; a < A; a++) gb[a] = gb[a]! + ab[a]!;
    for (let a = 0; a < A; a++) gh[a] = gh[a]! + ah[a]!;
  },
};

const family = nativeKernelFamily<AttentionKernels>(
  {
    scores: 'headScores',
    scoresBackward: 'headScoresBackward',
    weightedSum: 'headWeightedSum',
    weightedSumBackward: 'headWeightedSumBackward',
    scoreMlp: 'scoreMlp',
    scoreMlpBackward: 'scoreMlpBackward',
  },
  typescriptAttentionKernels,
);

/** The native attention kernels, or why they are unavailable. Loaded once. */
export const loadNativeAttentionKernels = family.load;

/** The active kernels: native with the native engine backend (when the addon has them), else TypeScript. */
export const attentionKernels = family.active;
