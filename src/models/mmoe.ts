import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { MMoELayer } from '../blocks/experts/mmoe-layer.js';
import { RankingModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext, type TaskLogits } from './base.js';

/** Options of MMoE and MoE (FuxiCTR's multitask MMoE config names). */
export interface MMoEOptions extends EmbeddingOptions {
  /** Number of shared experts (`num_experts`). */
  numExperts: number;
  /** Each expert's MLP (`expert_hidden_units`); every layer activated. */
  expertHiddenUnits: number[];
  /** Each gate's hidden MLP before its softmax over the experts (`gate_hidden_units`; [] = linear gate). */
  gateHiddenUnits: number[];
  /** Each task's tower before its logit (`tower_hidden_units`). */
  towerHiddenUnits: number[];
  hiddenActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * Mixture-of-experts multi-task model (Ma et al. 2018). The embedded fields, flattened, feed
 * `num_experts` expert MLPs; with `gates: 'per_task'` (MMoE, Fig. 1c) each task has its own
 * softmax gate over the experts, with `gates: 'one'` (MoE, the one-gate baseline of Fig. 1b)
 * all tasks read the same mixture; each task's tower then ends in its logit.
 */
export class MMoE extends RankingModel {
  readonly modelName: string;
  private readonly embedding: FeatureInputs;
  private readonly mixture: MMoELayer;
  private readonly towers: MLP[];

  constructor(ctx: ModelContext, opts: MMoEOptions, gates: 'per_task' | 'one') {
    super(ctx);
    this.modelName = gates === 'one' ? 'moe' : 'mmoe';
    const layer = { hiddenActivations: opts.hiddenActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, this.modelName));
    this.mixture = this.child(
      'mixture',
      new MMoELayer(
        this.embedding.flatWidth,
        {
          ...layer,
          numExperts: opts.numExperts,
          numGates: gates === 'one' ? 1 : this.tasks.length,
          expertHiddenUnits: opts.expertHiddenUnits,
          gateHiddenUnits: opts.gateHiddenUnits,
        },
        ctx.rng,
      ),
    );
    this.towers = this.tasks.map((_, i) =>
      this.child(`tower${i}`, dnn(this.mixture.outputDim, { ...layer, hiddenUnits: opts.towerHiddenUnits }, ctx.rng, 1)),
    );
  }

  override forwardTasks(batch: Batch): TaskLogits {
    const mixed = this.mixture.forward(this.embedding.forward(batch).flat());
    const out: TaskLogits = {};
    this.tasks.forEach((t, i) => (out[t] = asLogit(this.towers[i]!.forward(mixed[mixed.length === 1 ? 0 : i]!), batch)));
    return out;
  }
}
