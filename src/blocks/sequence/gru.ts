import { Tensor, fromOp } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { linear, reshape, slice, stack } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';

/**
 * How a step combines the candidate state with the previous one (DIEN §4.3):
 * - 'gru':   h = (1 − u) ⊙ h′ + u ⊙ ĥ                    (the update gate u)
 * - 'augru': h = (1 − a·u) ⊙ h′ + a·u ⊙ ĥ                 (the attention score a scales u)
 * - 'agru':  h = (1 − a) ⊙ h′ + a ⊙ ĥ                      (a replaces u)
 * ('aigru' scales the step's input by a and runs a plain GRU: see `GRU.forward`.)
 */
export type GruMode = 'gru' | 'augru' | 'agru';

/**
 * One fused GRU step on precomputed projections, gates (u, r, ĥ) as in DIEN eq. (1)–(4):
 *   u = σ(gx_u + gh_u),  r = σ(gx_r + gh_r),  ĥ = tanh(gx_n + r ⊙ gh_n),
 * with gx = x·W_ih + b_ih and gh = h′·W_hh + b_hh, both [B, 3H] laid out [u | r | n];
 * h from `mode`. Rows with `valid[b] = 0` (past the sequence's end) carry h′ unchanged.
 * Backward: dĥ, du (or da) from the combination; dpre_n = dĥ(1 − ĥ²) → gx_n and r ⊙ · → gh_n;
 * dr = dpre_n ⊙ gh_n → σ′; du → σ′; h′ receives the direct (1 − u) path (its path through
 * gh = h′·W_hh is the caller's matmul).
 */
export function gruStep(gx: Tensor, gh: Tensor, hPrev: Tensor, mode: GruMode, att: Tensor | null, valid: Uint8Array | null): Tensor {
  const [B, H] = hPrev.shape as [number, number];
  if (gx.size !== B * 3 * H || gh.size !== B * 3 * H) throw new Error(`gruStep: gx [${gx.shape}] and gh [${gh.shape}] must be [${B}, ${3 * H}]`);
  if (mode !== 'gru' && (att === null || att.size !== B)) throw new Error(`gruStep: mode '${mode}' needs one attention score per row ([${B}])`);
  const X = gx.data,
    G = gh.data,
    P = hPrev.data,
    A = att?.data ?? null;
  const out = new Float32Array(B * H);
  const U = new Float32Array(B * H),
    R = new Float32Array(B * H),
    N = new Float32Array(B * H);
  for (let b = 0; b < B; b++) {
    const o = b * H,
      g = b * 3 * H;
    if (valid !== null && valid[b] === 0) {
      for (let j = 0; j < H; j++) out[o + j] = P[o + j]!;
      continue;
    }
    const a = A === null ? 1 : A[b]!;
    for (let j = 0; j < H; j++) {
      const u = 1 / (1 + Math.exp(-(X[g + j]! + G[g + j]!)));
      const r = 1 / (1 + Math.exp(-(X[g + H + j]! + G[g + H + j]!)));
      const n = Math.tanh(X[g + 2 * H + j]! + r * G[g + 2 * H + j]!);
      U[o + j] = u;
      R[o + j] = r;
      N[o + j] = n;
      const w = mode === 'gru' ? u : mode === 'augru' ? a * u : a;
      out[o + j] = (1 - w) * P[o + j]! + w * n;
    }
  }
  const parents = att === null ? [gx, gh, hPrev] : [gx, gh, hPrev, att];
  return fromOp(out, [B, H], parents, (g) => {
    const dgx = gx.requiresGrad ? gx.gradBuffer() : null;
    const dgh = gh.requiresGrad ? gh.gradBuffer() : null;
    const dhp = hPrev.requiresGrad ? hPrev.gradBuffer() : null;
    const da = att !== null && att.requiresGrad ? att.gradBuffer() : null;
    for (let b = 0; b < B; b++) {
      const o = b * H,
        q = b * 3 * H;
      if (valid !== null && valid[b] === 0) {
        if (dhp !== null) for (let j = 0; j < H; j++) dhp[o + j]! += g[o + j]!;
        continue;
      }
      const a = A === null ? 1 : A[b]!;
      let daSum = 0;
      for (let j = 0; j < H; j++) {
        const gj = g[o + j]!,
          u = U[o + j]!,
          r = R[o + j]!,
          n = N[o + j]!,
          hp = P[o + j]!;
        const w = mode === 'gru' ? u : mode === 'augru' ? a * u : a;
        const dn = gj * w;
        const dw = gj * (n - hp);
        if (dhp !== null) dhp[o + j]! += gj * (1 - w);
        let du = 0;
        if (mode === 'gru') du = dw;
        else if (mode === 'augru') {
          du = dw * a;
          daSum += dw * u;
        } else daSum += dw;
        const dpn = dn * (1 - n * n);
        const dpr = dpn * G[q + 2 * H + j]! * r * (1 - r);
        const dpu = du * u * (1 - u);
        if (dgx !== null) {
          dgx[q + j]! += dpu;
          dgx[q + H + j]! += dpr;
          dgx[q + 2 * H + j]! += dpn;
        }
        if (dgh !== null) {
          dgh[q + j]! += dpu;
          dgh[q + H + j]! += dpr;
          dgh[q + 2 * H + j]! += dpn * r;
        }
      }
      if (da !== null) da[b]! += daSum;
    }
  });
}

/**
 * A GRU over padded sequences (DIEN's interest extractor and, with attention scores, its
 * interest evolving layer). Weights W_ih [I, 3H], W_hh [H, 3H] and biases [3H], gates laid
 * out [u | r | n]; initialized U(−1/√H, 1/√H) as torch.nn.GRU (FuxiCTR's DIEN uses it).
 * The input projection of all steps is one GEMM; each step is one [B, H]·[H, 3H] GEMM and
 * the fused `gruStep`.
 */
export class GRU extends Module {
  readonly inputDim: number;
  readonly hiddenDim: number;
  private readonly wih: Tensor;
  private readonly whh: Tensor;
  private readonly bih: Tensor;
  private readonly bhh: Tensor;

  constructor(inputDim: number, hiddenDim: number, rng: Rng) {
    super();
    this.inputDim = inputDim;
    this.hiddenDim = hiddenDim;
    const k = 1 / Math.sqrt(hiddenDim);
    const init = (shape: number[]) => {
      const t = Tensor.zeros(shape);
      for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-k, k);
      return t;
    };
    this.wih = this.param('weight_ih', init([inputDim, 3 * hiddenDim]));
    this.whh = this.param('weight_hh', init([hiddenDim, 3 * hiddenDim]));
    this.bih = this.param('bias_ih', init([3 * hiddenDim]));
    this.bhh = this.param('bias_hh', init([3 * hiddenDim]));
  }

  /**
   * Runs over x [B, L, I] with true lengths (positions ≥ length carry the state), from a
   * zero state. `mode` and `att` [B, L] select AUGRU / AGRU; with `scaleInput` the input
   * of step t is multiplied by att[:, t] first (AIGRU). Returns every step's state
   * [B, L, H] (a padded position repeats the last valid state) and the final state [B, H].
   */
  forward(x: Tensor, lengths: Int32Array, opts: { mode?: GruMode; att?: Tensor; scaleInput?: boolean } = {}): { states: Tensor; last: Tensor } {
    const [B, L, I] = x.shape as [number, number, number];
    if (I !== this.inputDim) throw new Error(`GRU: input width ${I}, expected ${this.inputDim}`);
    const H = this.hiddenDim,
      mode = opts.mode ?? 'gru';
    const att = opts.att ?? null;
    if ((mode !== 'gru' || opts.scaleInput) && (att === null || att.size !== B * L))
      throw new Error(`GRU: mode '${mode}'${opts.scaleInput ? ' (AIGRU)' : ''} needs attention scores [${B}, ${L}]`);
    let input = x;
    if (opts.scaleInput) input = scaleRows(x, att!);
    const gxAll = reshape(linear(reshape(input, [B * L, I]), this.wih, this.bih), [B, L, 3 * H]);
    let h = Tensor.zeros([B, H]);
    const states: Tensor[] = [];
    const valid = new Uint8Array(B);
    for (let t = 0; t < L; t++) {
      for (let b = 0; b < B; b++) valid[b] = t < lengths[b]! ? 1 : 0;
      const gx = reshape(slice(gxAll, 1, t, t + 1), [B, 3 * H]);
      const gh = linear(h, this.whh, this.bhh);
      const a = mode === 'gru' ? null : reshape(slice(att!, 1, t, t + 1), [B]);
      h = gruStep(gx, gh, h, mode, a, valid.slice());
      states.push(h);
    }
    return { states: stack(states, 1), last: h };
  }
}

/** x [B, L, I] with row (b, t) scaled by s[b, t] (AIGRU's attentional input). */
function scaleRows(x: Tensor, s: Tensor): Tensor {
  const [B, L, I] = x.shape as [number, number, number];
  const out = new Float32Array(x.size);
  for (let r = 0; r < B * L; r++) for (let i = 0; i < I; i++) out[r * I + i] = x.data[r * I + i]! * s.data[r]!;
  return fromOp(out, [B, L, I], [x, s], (g) => {
    const dx = x.requiresGrad ? x.gradBuffer() : null;
    const ds = s.requiresGrad ? s.gradBuffer() : null;
    for (let r = 0; r < B * L; r++) {
      let acc = 0;
      for (let i = 0; i < I; i++) {
        if (dx !== null) dx[r * I + i]! += g[r * I + i]! * s.data[r]!;
        acc += g[r * I + i]! * x.data[r * I + i]!;
      }
      if (ds !== null) ds[r]! += acc;
    }
  });
}
