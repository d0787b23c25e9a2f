import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { Module } from '../nn/module.js';
import type { Batch } from '../features/batch.js';
import type { FeatureSpec } from '../features/fields.js';
import type { TaskDef } from '../features/tasks.js';
import { reshape } from '../engine/ops/index.js';
import { FeatureInputs, type FieldSelector } from '../blocks/embeddings/feature-inputs.js';

/** A model's logits by task name, each [B]. */
export type TaskLogits = Record<string, Tensor>;

/**
 * An output a model predicts besides its trained tasks (ESMM's pCVR): it enters no loss,
 * but is predicted and judged like a task — against the label of task `labelOf`, on the
 * rows where the label of task `whereOf` is 1 (null: every row); indices into the model's tasks.
 */
export interface ExtraOutput {
  name: string;
  labelOf: number;
  whereOf: number | null;
}

/** Everything a model constructor receives. */
export interface ModelContext {
  /** The input fields (one definition each, from the feature map) and the label names. */
  spec: FeatureSpec;
  /** Drives initialization and, afterwards, dropout masks (saved in checkpoints). */
  rng: Rng;
  /** Names of the tasks to predict, in order. Default: one task named after the first label. */
  tasks?: string[];
}

/** The task names of a context (its `tasks`, else the first label's name). */
export function contextTasks(ctx: ModelContext): string[] {
  if (ctx.tasks !== undefined && ctx.tasks.length > 0) return ctx.tasks.slice();
  return [ctx.spec.labels[0] ?? 'label'];
}

/**
 * A ranking model: maps a batch to one logit per row and task; the probability of a task
 * is sigmoid(logit). Models know nothing of epochs, files, losses or optimizers.
 */
export abstract class RankingModel extends Module {
  /** Registry name of the model ('deepfm', …). */
  abstract readonly modelName: string;
  /** The tasks the model predicts, in order (the keys of `forwardTasks`). */
  readonly tasks: readonly string[];

  constructor(ctx: ModelContext) {
    super();
    this.tasks = contextTasks(ctx);
  }

  /** The [B] logits of every task. */
  abstract forwardTasks(batch: Batch): TaskLogits;

  /**
   * A loss term the model's own structure defines (DIEN's auxiliary loss on the interest
   * extractor), computed by the last training-mode `forwardTasks`; the trainer adds it to the
   * task losses. Null for most models, and after an eval-mode forward.
   */
  extraLoss(): Tensor | null {
    return null;
  }

  /** Outputs besides the tasks, predicted and judged but never trained (none unless a model declares some). */
  get extraOutputs(): readonly ExtraOutput[] {
    return [];
  }

  /** The [B] logits of every task and every extra output (what predict and eval report). */
  forwardOutputs(batch: Batch): TaskLogits {
    return this.forwardTasks(batch);
  }

  /** Refuses task definitions the model cannot train as configured (ESMM: no `where`); called by the trainer. */
  validateTasks(_tasks: readonly TaskDef[]): void {}

  /** Names of everything `forwardOutputs` returns: the tasks, then the extra outputs. */
  outputNames(): string[] {
    return [...this.tasks, ...this.extraOutputs.map((e) => e.name)];
  }
}

/** The task definitions every output of a model is judged by: the tasks, then one per extra output (weight 0: never trained). */
export function outputTaskDefs(model: RankingModel, tasks: readonly TaskDef[]): TaskDef[] {
  return [
    ...tasks,
    ...model.extraOutputs.map((e) => {
      const label = tasks[e.labelOf];
      const where = e.whereOf === null ? null : tasks[e.whereOf];
      if (label === undefined || where === undefined)
        throw new Error(`model '${model.modelName}': extra output '${e.name}' refers to a task it does not have`);
      return { name: e.name, label: label.label, weight: 0, where: where === null ? null : where.label };
    }),
  ];
}

/** One output of a model as it is predicted and judged: a trained task or an extra output. */
export interface OutputDef {
  /** The column name in `finerank predict`, the key in eval reports, serving responses and ONNX outputs. */
  name: string;
  /** 'task': trained by a loss (weight > 0 or not); 'extra': predicted and judged only (ESMM's cvr). */
  kind: 'task' | 'extra';
  /** The label column it is judged (and, for a task, trained) against. */
  label: string;
  /** The label that must be 1 for a row to count; null: every row. */
  where: string | null;
}

/** Every output of a model, in column order: its tasks, then its extra outputs (see `outputTaskDefs`). */
export function modelOutputs(model: RankingModel, tasks: readonly TaskDef[]): OutputDef[] {
  return outputTaskDefs(model, tasks).map((t, i) => ({ name: t.name, kind: i < tasks.length ? 'task' : 'extra', label: t.label, where: t.where }));
}

/** A model with one task: `forward` gives its [B] logits. */
export abstract class SingleTaskModel extends RankingModel {
  constructor(ctx: ModelContext) {
    super(ctx);
    if (this.tasks.length !== 1) {
      throw new Error(
        `this model predicts one task, but ${this.tasks.length} are configured (${this.tasks.join(', ')}); use a multi-task model (see 'finerank info')`,
      );
    }
  }

  /** The [B] logits of the model's one task. */
  abstract forward(batch: Batch): Tensor;

  override forwardTasks(batch: Batch): TaskLogits {
    return { [this.tasks[0]!]: this.forward(batch) };
  }
}

/** Embedding options shared by all embedding-based models. */
export interface EmbeddingOptions {
  /** Embedding dimension of fields without their own `embeddingDim`. Default 16. */
  embeddingDim: number;
  /** Std of the N(0, std²) embedding initialization. Default 1e-4 (FuxiCTR / BARS). */
  embeddingInitStd: number;
  /** Numeric fields become fields (value × learned vector) instead of raw DNN / linear inputs. Default false. */
  embedDense: boolean;
  /** Project fields with their own embeddingDim onto embeddingDim where the model needs one size. Default false: refuse. */
  embeddingProjection: boolean;
}

/** Defaults of EmbeddingOptions. */
export const EMBEDDING_DEFAULTS: EmbeddingOptions = { embeddingDim: 16, embeddingInitStd: 1e-4, embedDense: false, embeddingProjection: false };

/**
 * The input layer of a model's embedding part (the deep fields), configured from its
 * embedding options. `sameDim`: the model's math needs one dimension for all fields (FM,
 * products, attention): mixed `embeddingDim`s are refused naming the fields, or projected
 * when `embeddingProjection` is set.
 */
export function embeddingInputs(
  ctx: ModelContext,
  opts: EmbeddingOptions,
  model: string,
  extra: { sameDim?: boolean; select?: FieldSelector; sequences?: string[]; prefix?: string } = {},
): FeatureInputs {
  return new FeatureInputs(ctx.spec, {
    embeddingDim: opts.embeddingDim,
    initStd: opts.embeddingInitStd,
    rng: ctx.rng,
    embedDense: opts.embedDense,
    sameDim: extra.sameDim ? (opts.embeddingProjection ? 'project' : 'require') : 'any',
    owner: `model '${model}'`,
    ...(extra.select !== undefined ? { select: extra.select } : {}),
    ...(extra.sequences !== undefined ? { sequences: extra.sequences } : {}),
    ...(extra.prefix !== undefined ? { prefix: extra.prefix } : {}),
  });
}

/** A [B, 1] tower output as the [B] logit. */
export function asLogit(x: Tensor, batch: Batch): Tensor {
  return reshape(x, [batch.size]);
}
