import { Tensor } from '../engine/tensor.js';
import { concat } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureSpec } from '../features/fields.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { TargetAttention } from '../blocks/attention/target-attention.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of DIN (FuxiCTR's DIN config names). */
export interface DINOptions extends EmbeddingOptions {
  /** Candidate fields (`din_target_field`); [] = the `historyOf` target of each attended sequence. */
  dinTargetField: string[];
  /** Behaviour sequences (`din_sequence_field`), aligned with the targets; [] = every sequence field with `pooling: attention`. */
  dinSequenceField: string[];
  /** Activation unit hidden layers (`attention_hidden_units`). */
  attentionHiddenUnits: number[];
  /** Activation unit activation (`attention_hidden_activations`). */
  attentionHiddenActivations: string;
  attentionDropout: number;
  /** Softmax over the valid positions (`din_use_softmax`); false as in the paper. */
  dinUseSoftmax: boolean;
  dnnHiddenUnits: number[];
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * The (target, sequence) pairs a sequence model attends with: given by its options
 * (`<prefix>_target_field`, `<prefix>_sequence_field`), or read off the field definitions
 * (the sequences with `pooling: attention`, each with its `shareWith` target).
 */
export function sequencePairs(spec: FeatureSpec, targets: string[], sequences: string[], model: string): Array<[string, string]> {
  if (sequences.length === 0) {
    const attended = spec.fields.filter((f) => f.kind === 'sequence' && f.pooling === 'attention');
    if (attended.length === 0)
      throw new Error(
        `model '${model}' needs a behaviour sequence: declare a sequence column with pooling: attention and shareWith its target, or set ${model}_sequence_field`,
      );
    sequences = attended.map((f) => f.name);
  }
  if (targets.length === 0) {
    targets = sequences.map((s) => {
      const f = spec.fields.find((x) => x.name === s);
      if (f?.historyOf === undefined)
        throw new Error(`model '${model}': sequence '${s}' has no target (declare shareWith on it, or set ${model}_target_field)`);
      return f.historyOf;
    });
  }
  if (targets.length !== sequences.length)
    throw new Error(
      `model '${model}': ${model}_target_field (${targets.join(', ')}) and ${model}_sequence_field (${sequences.join(', ')}) must pair up one to one`,
    );
  for (const s of sequences)
    if (!spec.fields.some((f) => f.name === s && f.kind === 'sequence')) throw new Error(`model '${model}': '${s}' is not a sequence field`);
  for (const t of targets)
    if (!spec.fields.some((f) => f.name === t && f.kind === 'sparse')) throw new Error(`model '${model}': target '${t}' is not a single-id field`);
  return targets.map((t, i) => [t, sequences[i]!]);
}

/**
 * Deep Interest Network (Zhou et al. 2018, Fig. 2 right): the candidate's embedding
 * (the concatenation of its target fields, e.g. goods and category ids, as in the paper)
 * queries the user's behaviour sequence (the aligned histories concatenated the same way)
 * through the local activation unit; the attention-pooled interest joins every other field
 * embedding in one flat vector, and a DNN (Dice or ReLU) gives the logit. All pairs share
 * one attention unit over concatenated embeddings (FuxiCTR's grouped-tuple setting); each
 * history uses its target's table. Empty histories pool to zeros.
 */
export class DIN extends SingleTaskModel {
  readonly modelName = 'din';
  private readonly embedding: FeatureInputs;
  private readonly attention: TargetAttention;
  private readonly dnn: MLP;
  private readonly pairs: Array<[string, string]>;

  constructor(ctx: ModelContext, opts: DINOptions) {
    super(ctx);
    this.pairs = sequencePairs(ctx.spec, opts.dinTargetField, opts.dinSequenceField, 'din');
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'din', { sameDim: true, sequences: this.pairs.map(([, s]) => s) }));
    const d = this.embedding.dim * this.pairs.length;
    this.attention = this.child(
      'attention',
      new TargetAttention(d, {
        hiddenUnits: opts.attentionHiddenUnits,
        activation: opts.attentionHiddenActivations,
        dropout: opts.attentionDropout,
        useSoftmax: opts.dinUseSoftmax,
        rng: ctx.rng,
      }),
    );
    const tower = {
      hiddenUnits: opts.dnnHiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
    };
    this.dnn = this.child('dnn', dnn(this.embedding.flatWidth + d, tower, ctx.rng));
  }

  override forward(batch: Batch): Tensor {
    const { e, query, keys, padding } = this.attentionInputs(batch);
    const interest = this.attention.forward(query, keys, padding);
    return asLogit(this.dnn.forward(concat([e.flat(), interest], 1)), batch);
  }

  /** The local activation unit's weights a(q, k_l) [B, L] for a batch (0 at padding positions): what DIN attends to. */
  attentionWeights(batch: Batch): Tensor {
    const { query, keys, padding } = this.attentionInputs(batch);
    return this.attention.weights(query, keys, padding);
  }

  private attentionInputs(batch: Batch) {
    const e = this.embedding.forward(batch);
    const seqs = this.pairs.map(([, s]) => this.embedding.sequence(batch, s));
    const query = concatLast(this.pairs.map(([t]) => e.field(t)));
    const keys = concatLast(seqs.map((s) => s.values));
    return { e, query, keys, padding: seqs[0]!.padding };
  }
}

/** Tensors joined along their last axis (one is returned as is). */
export function concatLast(xs: Tensor[]): Tensor {
  return xs.length === 1 ? xs[0]! : concat(xs, xs[0]!.rank - 1);
}
