import { Tensor, fromOp } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { linear, reshape, slice, transpose } from '../../engine/ops/index.js';
import { denseKernels, kernels } from '../../engine/kernels/index.js';
import { gruKernels, type GruModeCode } from './gru-kernels.js';
import { Module } from '../../nn/module.js';

/**
 * How a step combines the candidate state with the previous one (DIEN §4.3):
 * - 'gru':   h = (1 − u) ⊙ h′ + u ⊙ ĥ                    (the update gate u)
 * - 'augru': h = (1 − a·u) ⊙ h′ + a·u ⊙ ĥ                 (the attention score a scales u)
 * - 'agru':  h = (1 − a) ⊙ h′ + a ⊙ ĥ                      (a replaces u)
 * ('aigru' scales the step's input by a and runs a plain GRU: see `GRU.forward`.)
 */
export type GruMode = 'gru' | 'augru' | 'agru';

const MODE_CODE: Record<GruMode, GruModeCode> = { gru: 0, augru: 1, agru: 2 };

/**
 * The whole recurrence as one op over time-major projections: gx = x·W_ih + b_ih [L, B, 3H]
 * (gates laid out [u | r | n]) gives the states [L, B, H] of DIEN eq. (1)–(4) from a zero
 * state, h_t from h_{t−1} by `mode` (see `GruMode`), att [B, L] the scores of AUGRU / AGRU.
 * Positions t ≥ lengths[b] carry the state. Each step is one [B, H]·[H, 3H] GEMM (gh = h·W_hh)
 * and one fused kernel (`gruKernels().stepForward`: gates, σ, tanh, the combination), which
 * keeps [u | r | n | gh_n + b_n] for backward. Backward runs back through time with the fused
 * step kernel and one [B, 3H]·[3H, H] GEMM per step for the recurrent path; the gradient of
 * W_hh is one GEMM over all steps and that of b_hh one column sum.
 */
export function gruSequence(gx: Tensor, whh: Tensor, bhh: Tensor, lengths: Int32Array, mode: GruMode, att: Tensor | null): Tensor {
  const [L, B, G] = gx.shape as [number, number, number];
  const H = whh.shape[0]!;
  if (gx.rank !== 3 || G !== 3 * H || whh.rank !== 2 || whh.shape[1] !== 3 * H || bhh.size !== 3 * H)
    throw new Error(`gruSequence: gx [${gx.shape}] must be [L, B, 3H] with W_hh [H, 3H] = [${whh.shape}] and b_hh [3H] = [${bhh.shape}]`);
  if (lengths.length !== B) throw new Error(`gruSequence: ${lengths.length} lengths for a batch of ${B}`);
  if (mode !== 'gru' && (att === null || att.size !== B * L)) throw new Error(`gruSequence: mode '${mode}' needs attention scores [${B}, ${L}]`);
  const k = gruKernels(),
    blas = kernels(),
    code = MODE_CODE[mode];
  const a = mode === 'gru' ? null : att!;
  // Time-major copies of the scores and of the validity mask (valid[t·B + b] = t < length).
  const attT = a === null ? null : new Float32Array(L * B);
  if (attT !== null) for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) attT[t * B + b] = a!.data[b * L + t]!;
  const valid = new Uint8Array(L * B);
  for (let t = 0; t < L; t++) for (let b = 0; b < B; b++) valid[t * B + b] = t < lengths[b]! ? 1 : 0;
  const BH = B * H;
  const states = new Float32Array(L * BH);
  const gates = new Float32Array(L * 4 * BH);
  const zero = new Float32Array(BH);
  const gh = new Float32Array(3 * BH);
  const W = whh.data;
  for (let t = 0; t < L; t++) {
    if (t > 0) blas.sgemm(false, false, B, 3 * H, H, 1, states, (t - 1) * BH, H, W, 0, 3 * H, 0, gh, 0, 3 * H);
    k.stepForward(
      B,
      H,
      code,
      gx.data.subarray(t * 3 * BH, (t + 1) * 3 * BH),
      gh,
      bhh.data,
      t === 0 ? zero : states.subarray((t - 1) * BH, t * BH),
      attT === null ? null : attT.subarray(t * B, (t + 1) * B),
      valid.subarray(t * B, (t + 1) * B),
      states.subarray(t * BH, (t + 1) * BH),
      gates.subarray(t * 4 * BH, (t + 1) * 4 * BH),
    );
  }
  const parents = a === null ? [gx, whh, bhh] : [gx, whh, bhh, a];
  return fromOp(states, [L, B, H], parents, (g) => {
    const dgx = gx.requiresGrad ? gx.gradBuffer() : null;
    const dAttT = a !== null && a.requiresGrad ? new Float32Array(L * B) : null;
    const dgh = new Float32Array(L * 3 * BH);
    const dh = new Float32Array(BH);
    const dhPrev = new Float32Array(BH);
    for (let i = 0; i < BH; i++) dh[i] = g[(L - 1) * BH + i]!;
    for (let t = L - 1; t >= 0; t--) {
      const ghT = dgh.subarray(t * 3 * BH, (t + 1) * 3 * BH);
      k.stepBackward(
        B,
        H,
        code,
        dh,
        gates.subarray(t * 4 * BH, (t + 1) * 4 * BH),
        t === 0 ? zero : states.subarray((t - 1) * BH, t * BH),
        attT === null ? null : attT.subarray(t * B, (t + 1) * B),
        valid.subarray(t * B, (t + 1) * B),
        dgx === null ? null : dgx.subarray(t * 3 * BH, (t + 1) * 3 * BH),
        ghT,
        dhPrev,
        dAttT === null ? null : dAttT.subarray(t * B, (t + 1) * B),
      );
      if (t === 0) break;
      // ∂L/∂h_{t−1} = its own output gradient + the direct path + dgh_t·W_hhᵀ.
      for (let i = 0; i < BH; i++) dh[i] = dhPrev[i]! + g[(t - 1) * BH + i]!;
      blas.sgemm(false, true, B, H, 3 * H, 1, ghT, 0, 3 * H, W, 0, 3 * H, 1, dh, 0, H);
    }
    if (whh.requiresGrad && L > 1) blas.sgemm(true, false, H, 3 * H, (L - 1) * B, 1, states, 0, H, dgh, 3 * BH, 3 * H, 1, whh.gradBuffer(), 0, 3 * H);
    if (bhh.requiresGrad) denseKernels().addColumnSums(dgh, L * B, 3 * H, bhh.gradBuffer());
    if (dAttT !== null) {
      const da = a!.gradBuffer();
      for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) da[b * L + t]! += dAttT[t * B + b]!;
    }
  });
}

/**
 * A GRU over padded sequences (DIEN's interest extractor and, with attention scores, its
 * interest evolving layer). Weights W_ih [I, 3H], W_hh [H, 3H] and biases [3H], gates laid
 * out [u | r | n]; initialized U(−1/√H, 1/√H) as torch.nn.GRU (FuxiCTR's DIEN uses it).
 * The input projection of all steps is one GEMM; the recurrence is the fused `gruSequence`
 * (per step one [B, H]·[H, 3H] GEMM and one native step kernel).
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
    if (L === 0) return { states: Tensor.zeros([B, 0, H]), last: Tensor.zeros([B, H]) };
    let input = x;
    if (opts.scaleInput) input = scaleRows(x, att!);
    // Time-major: the input projection of all steps is one GEMM whose rows are already ordered by step.
    const gx = reshape(linear(reshape(transpose(input, [1, 0, 2]), [L * B, I]), this.wih, this.bih), [L, B, 3 * H]);
    const statesT = gruSequence(gx, this.whh, this.bhh, lengths, mode, mode === 'gru' ? null : att);
    return { states: transpose(statesT, [1, 0, 2]), last: reshape(slice(statesT, 0, L - 1, L), [B, H]) };
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
