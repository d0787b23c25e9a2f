import { Tensor } from '../engine/tensor.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { RankingModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext, type TaskLogits } from './base.js';

/** Options of Shared-Bottom (FuxiCTR's multitask SharedBottom config names). */
export interface SharedBottomOptions extends EmbeddingOptions {
  /** Shared bottom MLP (`bottom_hidden_units`). */
  bottomHiddenUnits: number[];
  /** Each task's tower before its logit (`tower_hidden_units`). */
  towerHiddenUnits: number[];
  hiddenActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * Shared-Bottom multi-task model (Caruana 1997; the baseline of the MMoE paper, Fig. 1a):
 * the embedded fields, flattened, go through one shared MLP; each task has its own tower
 * MLP ending in one logit. Tasks differ only in their towers.
 */
export class SharedBottom extends RankingModel {
  readonly modelName = 'shared_bottom';
  private readonly embedding: FeatureInputs;
  private readonly bottom: MLP;
  private readonly towers: MLP[];

  constructor(ctx: ModelContext, opts: SharedBottomOptions) {
    super(ctx);
    const layer = { hiddenActivations: opts.hiddenActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'shared_bottom'));
    this.bottom = this.child('bottom', dnn(this.embedding.flatWidth, { ...layer, hiddenUnits: opts.bottomHiddenUnits }, ctx.rng, 0));
    this.towers = this.tasks.map((t, i) =>
      this.child(`tower${i}`, dnn(this.bottom.outputDim, { ...layer, hiddenUnits: opts.towerHiddenUnits }, ctx.rng, 1)),
    );
  }

  override forwardTasks(batch: Batch): TaskLogits {
    const shared: Tensor = this.bottom.forward(this.embedding.forward(batch).flat());
    const out: TaskLogits = {};
    this.tasks.forEach((t, i) => (out[t] = asLogit(this.towers[i]!.forward(shared), batch)));
    return out;
  }
}
