import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { TaskDef } from '../features/tasks.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { productLogit } from '../blocks/heads/product-logit.js';
import { RankingModel, asLogit, embeddingInputs, type EmbeddingOptions, type ExtraOutput, type ModelContext, type TaskLogits } from './base.js';

/** Options of ESMM. */
export interface ESMMOptions extends EmbeddingOptions {
  /** The CTR tower's and the CVR tower's MLP before their logits (`tower_hidden_units`; DeepCTR: `tower_dnn_hidden_units`). */
  towerHiddenUnits: number[];
  hiddenActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/** Name of ESMM's extra output, the conversion probability given a click. */
export const ESMM_CVR_OUTPUT = 'cvr';

/**
 * Entire Space Multi-task Model (Ma et al. 2018). A CTR tower and a CVR tower read the same
 * embedded fields (flattened); pCTR = σ(a), pCVR = σ(b), pCTCVR = pCTR·pCVR. Tasks, in this
 * order: the CTR task (clicks over all impressions) and the CTCVR task (conversions over all
 * impressions) — both without `where`: there is no loss on pCVR over clicked rows, which is
 * the point (pCVR is learnt over the entire impression space through the product). The
 * CTCVR task's logit is logit(σ(a)·σ(b)) (productLogit), so the trainer's BCE on it is the
 * BCE of the product. pCVR is the extra output `cvr`: predicted, and judged against the
 * CTCVR task's label on rows where the CTR task's label is 1 (CVR AUC on clicked rows).
 */
export class ESMM extends RankingModel {
  readonly modelName = 'esmm';
  private readonly embedding: FeatureInputs;
  private readonly ctrTower: MLP;
  private readonly cvrTower: MLP;

  constructor(ctx: ModelContext, opts: ESMMOptions) {
    super(ctx);
    if (this.tasks.length !== 2) {
      throw new Error(
        `model 'esmm' predicts two tasks, the CTR task then the CTCVR task (e.g. tasks: [{name: ctr, label: click}, {name: ctcvr, label: conversion}]), got ${this.tasks.length} (${this.tasks.join(', ')})`,
      );
    }
    if (this.tasks.includes(ESMM_CVR_OUTPUT)) {
      throw new Error(
        `model 'esmm': no task may be named '${ESMM_CVR_OUTPUT}', the name of its pCVR output (it is not trained as a task); name the tasks e.g. ctr and ctcvr`,
      );
    }
    const layer = {
      hiddenActivations: opts.hiddenActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
      hiddenUnits: opts.towerHiddenUnits,
    };
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'esmm'));
    this.ctrTower = this.child('ctrTower', dnn(this.embedding.flatWidth, layer, ctx.rng, 1));
    this.cvrTower = this.child('cvrTower', dnn(this.embedding.flatWidth, layer, ctx.rng, 1));
  }

  override get extraOutputs(): readonly ExtraOutput[] {
    return [{ name: ESMM_CVR_OUTPUT, labelOf: 1, whereOf: 0 }];
  }

  override validateTasks(tasks: readonly TaskDef[]): void {
    const bad = tasks.find((t) => t.where !== null);
    if (bad !== undefined) {
      throw new Error(
        `model 'esmm': task '${bad.name}' has where: ${bad.where}, but ESMM trains both its tasks over all impressions (CTR on the click label, CTCVR on the conversion label); remove where (pCVR on clicked rows is its output '${ESMM_CVR_OUTPUT}')`,
      );
    }
    if (tasks.length === 2 && tasks[0]!.label === tasks[1]!.label)
      throw new Error(`model 'esmm': the CTR and CTCVR tasks must learn different labels, both are '${tasks[0]!.label}'`);
  }

  override forwardOutputs(batch: Batch): TaskLogits {
    const x = this.embedding.forward(batch).flat();
    const ctr = asLogit(this.ctrTower.forward(x), batch);
    const cvr = asLogit(this.cvrTower.forward(x), batch);
    return { [this.tasks[0]!]: ctr, [this.tasks[1]!]: productLogit(ctr, cvr), [ESMM_CVR_OUTPUT]: cvr };
  }

  override forwardTasks(batch: Batch): TaskLogits {
    const all = this.forwardOutputs(batch);
    return { [this.tasks[0]!]: all[this.tasks[0]!]!, [this.tasks[1]!]: all[this.tasks[1]!]! };
  }
}
