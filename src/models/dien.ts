import { Tensor } from '../engine/tensor.js';
import { bceWithLogits, broadcastTo, concat, mul, reshape, scale, slice, softmax, sum } from '../engine/ops/index.js';
import { Linear } from '../nn/linear.js';
import { MLP } from '../nn/mlp.js';
import type { Batch, PaddedIds } from '../features/batch.js';
import { embedSequence } from '../embedding/lookup.js';
import type { EmbeddingTable } from '../embedding/table.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { GRU, type GruMode } from '../blocks/sequence/gru.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';
import { concatLast, sequencePairs } from './din.js';

/** Options of DIEN (FuxiCTR's DIEN config names). */
export interface DIENOptions extends EmbeddingOptions {
  /** Candidate fields (`dien_target_field`); [] = the targets of the attended sequences. */
  dienTargetField: string[];
  /** Behaviour sequences (`dien_sequence_field`); [] = the sequence fields with `pooling: attention`. */
  dienSequenceField: string[];
  /** Negative behaviour sequences aligned with the sequences (`dien_neg_seq_field`); [] = negatives drawn uniformly from each history's vocabulary. */
  dienNegSeqField: string[];
  /** Interest evolving layer (`gru_type`): AUGRU (the paper's best), AGRU, AIGRU or GRU (no attention). */
  gruType: string;
  /** Softmax over the valid positions for the attention scores (`use_attention_softmax`). */
  useAttentionSoftmax: boolean;
  /** Weight α of the auxiliary loss (`aux_loss_alpha`); 0 disables it. */
  auxLossAlpha: number;
  /**
   * `enable_sum_pooling` (FuxiCTR; the paper's code): the DNN also reads the masked sum of the
   * behaviours s = Σ_{t<length} e_t and its product with the candidate, e_a ⊙ s.
   */
  enableSumPooling: boolean;
  /**
   * Hidden layers of the auxiliary network (`aux_hidden_units`): [] = the paper's inner product
   * ⟨h_t, e_{t+1}⟩ as the logit; FuxiCTR's [100, 50] = an MLP over [h_t ‖ e_{t+1}] → 1 logit.
   */
  auxHiddenUnits: number[];
  /** Activation of the auxiliary MLP's hidden layers (`aux_activation`). */
  auxActivation: string;
  dnnHiddenUnits: number[];
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * The attention's bilinear form W [D, D] (a_t ∝ exp(h_t·W·e_a)), initialized to the identity as
 * FuxiCTR's `bilinear_attention` (`nn.Parameter(torch.eye(model_dim))`): training starts from
 * the inner product ⟨h_t, e_a⟩ instead of a random bilinear form. The Xavier draw is still
 * made (and overwritten) so that every later parameter gets the same initial values as before.
 */
export function identityBilinear(d: number, ctx: ModelContext): Linear {
  const w = new Linear(d, d, { rng: ctx.rng, bias: false });
  w.weight.data.fill(0);
  for (let i = 0; i < d; i++) w.weight.data[i * d + i] = 1;
  return w;
}

/** The interest-evolution GRU of each `gru_type`: step mode, AIGRU input scaling, whether it attends. */
export const GRU_TYPES: Record<string, { mode: GruMode; scaleInput: boolean; attention: boolean }> = {
  augru: { mode: 'augru', scaleInput: false, attention: true },
  agru: { mode: 'agru', scaleInput: false, attention: true },
  aigru: { mode: 'gru', scaleInput: true, attention: true },
  gru: { mode: 'gru', scaleInput: false, attention: false },
};

/**
 * Deep Interest Evolution Network (Zhou et al. 2019, Fig. 1). The behaviour sequence
 * e_b [B, L, D] (aligned histories concatenated, as the candidate's fields are) runs
 * through the interest extractor GRU (hidden size D); the auxiliary loss makes each state
 * h_t predict the next behaviour: −log σ(⟨h_t, e_{t+1}⟩) − log(1 − σ(⟨h_t, ê_{t+1}⟩)) averaged
 * over the valid steps, ê a negative behaviour (from `dien_neg_seq_field`, else a uniform
 * draw from each history's vocabulary), weighted by α. Attention of the candidate over the
 * states is the paper's bilinear form a_t = softmax_t(h_t·W·e_a) (eq. 3) over the valid steps;
 * the interest evolving GRU (AUGRU by default; AGRU, AIGRU, or a plain GRU) gives the final
 * interest, which joins every other field embedding in one flat vector before the DNN.
 * W starts at the identity, as FuxiCTR's (see `identityBilinear`).
 * With `enable_sum_pooling` (FuxiCTR's option, after the paper's code) the DNN input also holds
 * s = Σ_t e_t, the sum of the behaviours over the valid steps, and e_a ⊙ s: DNN([flat e ‖ h_L ‖
 * s ‖ e_a ⊙ s]) instead of DNN([flat e ‖ h_L]). Off by default, as in FuxiCTR.
 * The auxiliary network is the paper's inner product by default; `aux_hidden_units` (FuxiCTR's
 * default [100, 50], ReLU, dropout `net_dropout`) scores MLP([h_t ‖ e_{t+1}]) instead, with the same
 * loss and masks. Empty histories end in the zero state (and a zero sum).
 */
export class DIEN extends SingleTaskModel {
  readonly modelName = 'dien';
  private readonly embedding: FeatureInputs;
  private readonly extractor: GRU;
  private readonly evolution: GRU;
  private readonly bilinear: Linear | null;
  private readonly dnn: MLP;
  /** FuxiCTR's auxiliary MLP over [h_t ‖ e_{t+1}], or null for the inner product. */
  private readonly auxNet: MLP | null;
  private readonly pairs: Array<[string, string]>;
  private readonly negatives: string[];
  private readonly gru: { mode: GruMode; scaleInput: boolean; attention: boolean };
  private readonly ctx: ModelContext;
  /** Each history's embedding table (its target's, when shared), looked up once for the negative draws. */
  private readonly historyTables: EmbeddingTable[];
  private readonly opts: DIENOptions;
  private aux: Tensor | null = null;

  constructor(ctx: ModelContext, opts: DIENOptions) {
    super(ctx);
    this.ctx = ctx;
    this.opts = opts;
    const gru = GRU_TYPES[opts.gruType.toLowerCase()];
    if (gru === undefined) throw new Error(`model 'dien': gru_type '${opts.gruType}' is not one of AUGRU, AGRU, AIGRU, GRU`);
    this.gru = gru;
    this.pairs = sequencePairs(ctx.spec, opts.dienTargetField, opts.dienSequenceField, 'dien');
    this.negatives = opts.dienNegSeqField;
    if (this.negatives.length > 0 && this.negatives.length !== this.pairs.length) {
      throw new Error(
        `model 'dien': dien_neg_seq_field (${this.negatives.join(', ')}) must align with the sequences (${this.pairs.map(([, s]) => s).join(', ')})`,
      );
    }
    const sequences = [...this.pairs.map(([, s]) => s), ...this.negatives];
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'dien', { sameDim: true, sequences }));
    const d = this.embedding.dim * this.pairs.length;
    this.historyTables = this.pairs.map(([, s]) => {
      const f = ctx.spec.fields.find((x) => x.name === s)!;
      return this.embedding.tableNamed(f.table ?? f.name);
    });
    this.extractor = this.child('extractor', new GRU(d, d, ctx.rng));
    this.bilinear = gru.attention ? this.child('attention', identityBilinear(d, ctx)) : null;
    this.evolution = this.child('evolution', new GRU(d, d, ctx.rng));
    const tower = {
      hiddenUnits: opts.dnnHiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
    };
    this.dnn = this.child('dnn', dnn(this.embedding.flatWidth + (opts.enableSumPooling ? 3 * d : d), tower, ctx.rng));
    // Built last, so every other parameter draws the same initial values with or without it.
    this.auxNet =
      opts.auxHiddenUnits.length > 0 && opts.auxLossAlpha > 0
        ? this.child(
            'aux',
            new MLP({
              inputDim: 2 * d,
              hiddenUnits: opts.auxHiddenUnits,
              activation: opts.auxActivation.toLowerCase(),
              dropout: opts.netDropout,
              outputDim: 1,
              rng: ctx.rng,
            }),
          )
        : null;
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const seqs = this.pairs.map(([, s]) => this.embedding.sequence(batch, s));
    const ids = seqs[0]!.ids;
    for (const s of seqs)
      if (s.ids.lengths.some((n, b) => n !== ids.lengths[b]))
        throw new Error("model 'dien': the aligned histories have different lengths in one row");
    const behaviour = concatLast(seqs.map((s) => s.values));
    const { states } = this.extractor.forward(behaviour, ids.lengths);
    this.aux =
      this.training && this.opts.auxLossAlpha > 0
        ? scale(this.auxiliaryLoss(states, behaviour, this.negativeBehaviour(batch), ids.lengths), this.opts.auxLossAlpha)
        : null;
    const query = concatLast(this.pairs.map(([t]) => e.field(t)));
    let att: Tensor | undefined;
    if (this.bilinear !== null) {
      const [B, L, D] = states.shape as [number, number, number];
      const hw = reshape(this.bilinear.forward(reshape(states, [B * L, D])), [B, L, D]);
      const logits = sum(mul(hw, broadcastTo(reshape(query, [B, 1, D]), [B, L, D])), 2);
      att = this.opts.useAttentionSoftmax ? softmax(logits, -1, seqs[0]!.padding) : logits;
    }
    const { last } = this.evolution.forward(states, ids.lengths, { mode: this.gru.mode, ...(att ? { att } : {}), scaleInput: this.gru.scaleInput });
    const parts = [e.flat(), last];
    if (this.opts.enableSumPooling) {
      const pooled = sum(behaviour, 1); // padded steps hold zero vectors
      parts.push(pooled, mul(query, pooled));
    }
    return asLogit(this.dnn.forward(concat(parts, 1)), batch);
  }

  override extraLoss(): Tensor | null {
    return this.aux;
  }

  /** Negative behaviours [B, L, D]: the negative-history columns, or uniform draws from each history's table. */
  private negativeBehaviour(batch: Batch): Tensor {
    if (this.negatives.length > 0) return concatLast(this.negatives.map((n) => this.embedding.sequence(batch, n).values));
    return concatLast(
      this.pairs.map(([, s], i) => {
        const table = this.historyTables[i]!;
        const real = batch.varlen[s]!;
        const drawn: PaddedIds = { ids: new Int32Array(real.ids.length), lengths: real.lengths, maxLen: real.maxLen };
        const known = table.rows - 2; // ids 0 (padding) and 1 (OOV) are never drawn
        for (let b = 0; b < batch.size; b++)
          for (let t = 0; t < real.lengths[b]!; t++) drawn.ids[b * real.maxLen + t] = 2 + this.ctx.rng.int(Math.max(1, known));
        return embedSequence(table, drawn);
      }),
    );
  }

  /** Mean over valid steps t (t + 1 < length) of the next-behaviour losses, positive and negative. */
  private auxiliaryLoss(states: Tensor, positive: Tensor, negative: Tensor, lengths: Int32Array): Tensor {
    const [B, L] = states.shape as [number, number, number];
    if (L < 2) return Tensor.zeros([]);
    const h = slice(states, 1, 0, L - 1);
    const D = states.shape[2]!;
    const auxNet = this.auxNet;
    const dot =
      auxNet === null
        ? (x: Tensor) => reshape(sum(mul(h, slice(x, 1, 1, L)), 2), [B * (L - 1)])
        : (x: Tensor) => reshape(auxNet.forward(reshape(concat([h, slice(x, 1, 1, L)], 2), [B * (L - 1), 2 * D])), [B * (L - 1)]);
    const w = new Float32Array(2 * B * (L - 1));
    const y = new Float32Array(2 * B * (L - 1));
    for (let b = 0; b < B; b++) {
      for (let t = 0; t + 1 < L; t++) {
        const valid = t + 1 < lengths[b]! ? 1 : 0;
        w[b * (L - 1) + t] = valid;
        w[B * (L - 1) + b * (L - 1) + t] = valid;
        y[b * (L - 1) + t] = 1;
      }
    }
    // Weighted mean over 2·steps; ×2 gives the mean over steps of (positive + negative) losses.
    return scale(bceWithLogits(concat([dot(positive), dot(negative)], 0), y, w), 2);
  }
}
