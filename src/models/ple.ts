import type { Tensor } from '../engine/tensor.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { CGCLayer } from '../blocks/experts/cgc-layer.js';
import { RankingModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext, type TaskLogits } from './base.js';

/** Options of PLE (FuxiCTR's multitask PLE config names). */
export interface PLEOptions extends EmbeddingOptions {
  /** Number of stacked CGC layers, the extraction levels (`num_layers`; 1 = CGC alone). */
  numLayers: number;
  /** Experts shared by all tasks in each layer (`num_shared_experts`). */
  numSharedExperts: number;
  /** Experts of each task in each layer (`num_specific_experts`). */
  numSpecificExperts: number;
  /** Each expert's MLP (`expert_hidden_units`). */
  expertHiddenUnits: number[];
  /** Each gate's hidden MLP (`gate_hidden_units`; [] = linear gate). */
  gateHiddenUnits: number[];
  /** Each task's tower before its logit (`tower_hidden_units`). */
  towerHiddenUnits: number[];
  hiddenActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * Progressive Layered Extraction (Tang et al. 2020): `num_layers` CGC layers (see
 * CGCLayer) over the flattened embedded fields. The first layer gives every branch (each
 * task and the shared one) the same input; each later layer reads the previous layer's
 * per-task and shared outputs; the last layer has no shared branch, and task t's output
 * goes through task t's tower to its logit.
 */
export class PLE extends RankingModel {
  readonly modelName = 'ple';
  private readonly embedding: FeatureInputs;
  private readonly levels: CGCLayer[] = [];
  private readonly towers: MLP[];

  constructor(ctx: ModelContext, opts: PLEOptions) {
    super(ctx);
    if (!Number.isInteger(opts.numLayers) || opts.numLayers < 1)
      throw new Error(`model 'ple': num_layers must be a positive integer, got ${opts.numLayers}`);
    const layer = { hiddenActivations: opts.hiddenActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'ple'));
    let width = this.embedding.flatWidth;
    for (let l = 0; l < opts.numLayers; l++) {
      const cgc = this.child(
        `cgc${l}`,
        new CGCLayer(
          width,
          {
            ...layer,
            numTasks: this.tasks.length,
            numSharedExperts: opts.numSharedExperts,
            numSpecificExperts: opts.numSpecificExperts,
            expertHiddenUnits: opts.expertHiddenUnits,
            gateHiddenUnits: opts.gateHiddenUnits,
            sharedOutput: l < opts.numLayers - 1,
          },
          ctx.rng,
        ),
      );
      this.levels.push(cgc);
      width = cgc.outputDim;
    }
    this.towers = this.tasks.map((_, i) => this.child(`tower${i}`, dnn(width, { ...layer, hiddenUnits: opts.towerHiddenUnits }, ctx.rng, 1)));
  }

  override forwardTasks(batch: Batch): TaskLogits {
    const x = this.embedding.forward(batch).flat();
    let h: Tensor[] = Array.from({ length: this.tasks.length + 1 }, () => x);
    for (const cgc of this.levels) h = cgc.forward(h);
    const out: TaskLogits = {};
    this.tasks.forEach((t, i) => (out[t] = asLogit(this.towers[i]!.forward(h[i]!), batch)));
    return out;
  }
}
