import { Tensor, noGrad } from '../engine/tensor.js';
import { add, bceWithLogits, concat, reshape, scale } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch, PaddedIds } from '../features/batch.js';
import type { FeatureSpec, FieldDef } from '../features/fields.js';
import type { TaskDef } from '../features/tasks.js';
import { embedSequence } from '../embedding/lookup.js';
import type { EmbeddedInputs, FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { TanhTower, TwoTowerMatch } from '../blocks/matching/two-tower.js';
import { skipGramLoss } from '../blocks/matching/skip-gram.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** Options of DeepMCP (no FuxiCTR config exists; names follow its style). */
export interface DeepMCPOptions extends EmbeddingOptions {
  /** Prediction subnet MLP (`dnn_hidden_units`). */
  dnnHiddenUnits: number[];
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
  /** Matching subnet: each tower's hidden layers (`match_hidden_units`) and output size (`match_dim`). */
  matchHiddenUnits: number[];
  matchDim: number;
  /** User-side and item-side fields of the matching subnet; [] = the fields tagged `user` / `item`. */
  matchUserFields: string[];
  matchItemFields: string[];
  /** Weight α of the matching loss (`match_loss_alpha`); 0 disables the subnet's loss. */
  matchLossAlpha: number;
  /** Correlation subnet: the item tower's hidden layers (`corr_hidden_units`) and output size (`corr_dim`). */
  corrHiddenUnits: number[];
  corrDim: number;
  /** The user's item sequence (`corr_sequence_field`); '' = the first sequence field that is a history of an item-id field. */
  corrSequenceField: string;
  /** Skip-gram window (`corr_window`) and negatives per target position (`num_negatives`). */
  corrWindow: number;
  numNegatives: number;
  /** Weight β of the correlation loss (`corr_loss_beta`); 0 disables the subnet's loss. */
  corrLossBeta: number;
}

/**
 * Deep Matching, Correlation and Prediction (Ouyang et al. 2019, "Representation
 * Learning-Assisted Click-Through Rate Prediction", Fig. 2). One embedding set feeds three subnets:
 *
 * - prediction subnet (what is served): every embedded field, flattened (pooled histories and
 *   raw numeric fields included) → MLP → the CTR logit;
 * - matching subnet: the user-side fields (`match_user_fields`, default: tagged `user`) and the
 *   item-side fields (`match_item_fields`, default: tagged `item`) each through a tanh tower;
 *   r(u, a) = σ(⟨v_u, v_a⟩) is trained with log loss on the task's click label (context fields
 *   are left out, as in the paper);
 * - correlation subnet: the user's item sequence (`corr_sequence_field`, embedded with its
 *   item table) through a tanh tower; skip-gram with negative sampling over it (skipGramLoss):
 *   pairs within `corr_window` positions are positives, `num_negatives` negatives per target
 *   position are drawn uniformly from the item table's known ids (never padding or OOV) with
 *   the model's seeded rng, as the paper draws them at random.
 *
 * Joint loss L = L_pred + α·L_match + β·L_corr: the trainer computes L_pred; α·L_match + β·L_corr
 * is the model's `extraLoss()` from the last training-mode forward. Choices where the paper is
 * open: the correlation subnet sees only the history's item ids (the sequence carries no other ad
 * features); one set of negatives per target position serves all its context pairs; the match
 * label is the task's label (read in `validateTasks`; before it, the label named like the task).
 * Serving and eval-mode forwards run the prediction subnet only.
 */
export class DeepMCP extends SingleTaskModel {
  readonly modelName = 'deepmcp';
  private readonly embedding: FeatureInputs;
  private readonly dnn: MLP;
  private readonly matching: TwoTowerMatch;
  private readonly correlation: TanhTower;
  private readonly userFields: string[];
  private readonly itemFields: string[];
  private readonly sequence: FieldDef;
  private matchLabel: string;
  private aux: Tensor | null = null;

  constructor(
    private readonly ctx: ModelContext,
    private readonly opts: DeepMCPOptions,
  ) {
    super(ctx);
    this.matchLabel = this.tasks[0]!;
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'deepmcp'));
    const layer = { hiddenActivations: opts.dnnActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.dnn = this.child('dnn', dnn(this.embedding.flatWidth, { ...layer, hiddenUnits: opts.dnnHiddenUnits }, ctx.rng));
    this.userFields = this.sideFields(opts.matchUserFields, 'user');
    this.itemFields = this.sideFields(opts.matchItemFields, 'item');
    const width = (names: string[]) => names.reduce((s, n) => s + this.embedding.dims[this.embedding.fields.findIndex((f) => f.name === n)]!, 0);
    this.matching = this.child(
      'matching',
      new TwoTowerMatch(width(this.userFields), width(this.itemFields), { ...layer, hiddenUnits: opts.matchHiddenUnits }, opts.matchDim, ctx.rng),
    );
    this.sequence = correlationSequence(ctx.spec, opts.corrSequenceField);
    const table = this.embedding.tableNamed(this.sequence.table ?? this.sequence.name);
    this.correlation = this.child('correlation', new TanhTower(table.dim, { ...layer, hiddenUnits: opts.corrHiddenUnits }, opts.corrDim, ctx.rng));
    if (!Number.isInteger(opts.numNegatives) || opts.numNegatives < 1)
      throw new Error(`model 'deepmcp': num_negatives must be a positive integer, got ${opts.numNegatives}`);
    if (!Number.isInteger(opts.corrWindow) || opts.corrWindow < 1)
      throw new Error(`model 'deepmcp': corr_window must be a positive integer, got ${opts.corrWindow}`);
  }

  /** Records the task's label: the matching subnet learns it too. */
  override validateTasks(tasks: readonly TaskDef[]): void {
    if (tasks[0]?.where !== null && tasks[0]?.where !== undefined)
      throw new Error(
        `model 'deepmcp': its task is trained on every row (the matching subnet learns the same label); remove where: ${tasks[0].where}`,
      );
    if (tasks[0] !== undefined) this.matchLabel = tasks[0].label;
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    const logit = asLogit(this.dnn.forward(e.flat()), batch);
    this.aux = this.training ? this.auxiliaryLoss(batch, e) : null;
    return logit;
  }

  override extraLoss(): Tensor | null {
    return this.aux;
  }

  /** Both auxiliary losses on a batch, unweighted and without gradient (to inspect the subnets; negatives drawn from the model's rng). */
  subnetLosses(batch: Batch): { match: number; correlation: number } {
    return noGrad(() => ({ match: this.matchLoss(batch, this.embedding.forward(batch)).item(), correlation: this.correlationLoss(batch).item() }));
  }

  /** The matching subnet's score logits ⟨v_u, v_a⟩ per row, without gradient. */
  matchLogits(batch: Batch): Float32Array {
    const e = noGrad(() => this.embedding.forward(batch));
    const side = (names: string[]) =>
      names.length === 1
        ? e.field(names[0]!)
        : concat(
            names.map((n) => e.field(n)),
            1,
          );
    return noGrad(() => this.matching.forward(side(this.userFields), side(this.itemFields))).data.slice();
  }

  /** α·L_match + β·L_corr (null when both weights are 0). */
  private auxiliaryLoss(batch: Batch, e: EmbeddedInputs): Tensor | null {
    const terms: Tensor[] = [];
    if (this.opts.matchLossAlpha > 0) terms.push(scale(this.matchLoss(batch, e), this.opts.matchLossAlpha));
    if (this.opts.corrLossBeta > 0) terms.push(scale(this.correlationLoss(batch), this.opts.corrLossBeta));
    return terms.length === 0 ? null : terms.length === 1 ? terms[0]! : add(terms[0]!, terms[1]!);
  }

  /** The matching subnet's log loss on the click label. */
  matchLoss(batch: Batch, e: EmbeddedInputs): Tensor {
    const y = batch.labels[this.matchLabel];
    if (y === undefined) throw new Error(`model 'deepmcp': the training batch has no label '${this.matchLabel}' for the matching subnet`);
    const side = (names: string[]) =>
      names.length === 1
        ? e.field(names[0]!)
        : concat(
            names.map((n) => e.field(n)),
            1,
          );
    return bceWithLogits(this.matching.forward(side(this.userFields), side(this.itemFields)), y);
  }

  /** The correlation subnet's skip-gram loss over the batch's item sequences (negatives drawn now). */
  correlationLoss(batch: Batch): Tensor {
    const ids = batch.varlen[this.sequence.name];
    if (ids === undefined) throw new Error(`model 'deepmcp': the batch has no sequence '${this.sequence.name}'`);
    const table = this.embedding.tableNamed(this.sequence.table ?? this.sequence.name);
    const B = batch.size,
      L = ids.maxLen,
      Q = this.opts.numNegatives,
      D = this.opts.corrDim;
    const reps = (p: PaddedIds, len: number) =>
      reshape(this.correlation.forward(reshape(embedSequence(table, p), [B * len, table.dim])), [B, len, D]);
    const known = Math.max(1, table.rows - 2); // ids 0 (padding) and 1 (OOV) are never drawn
    const drawn: PaddedIds = { ids: new Int32Array(B * L * Q), lengths: new Int32Array(B).fill(L * Q), maxLen: L * Q };
    for (let i = 0; i < drawn.ids.length; i++) drawn.ids[i] = 2 + this.ctx.rng.int(known);
    return skipGramLoss(reps(ids, L), reshape(reps(drawn, L * Q), [B, L, Q, D]), ids.lengths, this.opts.corrWindow);
  }

  private sideFields(given: string[], tag: string): string[] {
    const embedded = this.embedding.fields;
    const names = given.length > 0 ? given : embedded.filter((f) => f.tag === tag).map((f) => f.name);
    if (names.length === 0)
      throw new Error(
        `model 'deepmcp': the matching subnet needs ${tag}-side fields: tag some columns '${tag}' in the schema, or list them in match_${tag}_fields`,
      );
    for (const n of names)
      if (!embedded.some((f) => f.name === n))
        throw new Error(
          `model 'deepmcp': match_${tag}_fields names '${n}', which is not an embedded field (embedded: ${embedded.map((f) => f.name).join(', ')})`,
        );
    return names;
  }
}

/** The correlation subnet's item sequence: the named one, or the first sequence that is a history of another field. */
function correlationSequence(spec: FeatureSpec, name: string): FieldDef {
  const seqs = spec.fields.filter((f) => f.kind === 'sequence');
  const f = name === '' ? seqs.find((s) => s.historyOf !== undefined) : seqs.find((s) => s.name === name);
  if (f === undefined)
    throw new Error(
      name === ''
        ? "model 'deepmcp': the correlation subnet needs the user's item sequence: declare a sequence column with shareWith its item field, or set corr_sequence_field"
        : `model 'deepmcp': corr_sequence_field '${name}' is not a sequence field (sequences: ${seqs.map((s) => s.name).join(', ') || 'none'})`,
    );
  return f;
}
