import { Tensor } from '../engine/tensor.js';
import { concat } from '../engine/ops/index.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import type { MLP } from '../nn/mlp.js';
import type { Batch } from '../features/batch.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { CrossNetMix, FullRankCrossNet, LowRankCrossNet } from '../blocks/interactions/cross-v2.js';
import { dnn } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** DCNv2's ways of combining the cross network and the DNN (`model_structure`). */
export const DCNV2_STRUCTURES = ['crossnet_only', 'stacked', 'parallel', 'stacked_parallel'] as const;

/** Options of DCNv2 (FuxiCTR's DCNv2 names). */
export interface DCNv2Options extends EmbeddingOptions {
  /** `crossnet_only`, `stacked` (cross → DNN), `parallel` (cross ‖ DNN) or `stacked_parallel` (cross → DNN ‖ DNN). */
  modelStructure: string;
  /** Mixture of low-rank cross experts (DCN-Mix) instead of the full-rank cross (`use_low_rank_mixture`). */
  useLowRankMixture: boolean;
  /** The paper's single low-rank cross W = UVᵀ (`low_rank_cross`, finerank's; FuxiCTR has none). */
  lowRankCross: boolean;
  /** Rank r of the low-rank crosses (`low_rank`). */
  lowRank: number;
  /** Number of experts K of DCN-Mix (`num_experts`). */
  numExperts: number;
  /** Number of cross layers (`num_cross_layers`). */
  numCrossLayers: number;
  /** DNN after the cross network in `stacked` / `stacked_parallel` (`stacked_dnn_hidden_units`). */
  stackedDnnHiddenUnits: number[];
  /** DNN beside the cross network in `parallel` / `stacked_parallel` (`parallel_dnn_hidden_units`). */
  parallelDnnHiddenUnits: number[];
  dnnActivations: string;
  netDropout: number;
  batchNorm: boolean;
}

/**
 * DCN-V2 (Wang et al. 2021, Fig. 1–2): x₀ = [e_1 ‖ … ‖ e_F ‖ dense]; a cross network
 *   x_{l+1} = x₀ ⊙ (W_l x_l + b_l) + x_l  (full rank; low rank W = UVᵀ; or DCN-Mix,
 *   a softmax-gated mixture of low-rank experts U_k tanh(C_k tanh(V_kᵀ x_l)))
 * combined with a DNN as `model_structure` says: crossnet_only (x_L), stacked (DNN(x_L)),
 * parallel ([x_L ‖ DNN(x₀)]) or stacked_parallel ([DNN_s(x_L) ‖ DNN_p(x₀)]), then one
 * Linear to the logit. As FuxiCTR: no first-order term, DNNs end at their last hidden
 * layer, `low_rank` / `num_experts` are used only with `use_low_rank_mixture`, and the DNN
 * not used by a structure is not built. Defaults as FuxiCTR's constructor (parallel, full
 * rank, 3 layers, r 32, K 4) except the DNN widths, [400, 400, 400] as finerank's other
 * models (FuxiCTR's default [] cannot build a parallel or stacked model).
 * Dense parameters, n = F·D (+ raw numeric fields): L·(n² + n) full rank, L·(2nr + n)
 * low rank, L·(2Knr + Kr² + Kn + n) mixture; the DNNs Σ_l (h_{l−1}+1)·h_l (+2·h_l with
 * BN); the output (final width + 1). BARS Frappe (parallel, 4 layers, [400, 400, 400],
 * BN): 10·V + 404,501.
 */
export class DCNv2 extends SingleTaskModel {
  readonly modelName = 'dcnv2';
  private readonly embedding: FeatureInputs;
  private readonly cross: Module & { forward(x0: Tensor): Tensor };
  private readonly stackedDnn: MLP | null;
  private readonly parallelDnn: MLP | null;
  private readonly fc: Linear;

  constructor(ctx: ModelContext, opts: DCNv2Options) {
    super(ctx);
    const structure = opts.modelStructure;
    if (!(DCNV2_STRUCTURES as readonly string[]).includes(structure)) {
      throw new Error(`model 'dcnv2' option 'model_structure' must be one of ${DCNV2_STRUCTURES.join(', ')}, got '${structure}'`);
    }
    if (opts.useLowRankMixture && opts.lowRankCross) {
      throw new Error("model 'dcnv2': 'use_low_rank_mixture' and 'low_rank_cross' are two different cross networks; set one of them");
    }
    for (const [name, v] of [
      ['num_cross_layers', opts.numCrossLayers],
      ['low_rank', opts.lowRank],
      ['num_experts', opts.numExperts],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`model 'dcnv2' option '${name}' must be a positive integer, got ${v}`);
    }
    const stacked = structure === 'stacked' || structure === 'stacked_parallel';
    const parallel = structure === 'parallel' || structure === 'stacked_parallel';
    for (const [on, name, units] of [
      [stacked, 'stacked_dnn_hidden_units', opts.stackedDnnHiddenUnits],
      [parallel, 'parallel_dnn_hidden_units', opts.parallelDnnHiddenUnits],
    ] as const) {
      if (on && units.length === 0) throw new Error(`model 'dcnv2' with model_structure '${structure}' needs a non-empty '${name}'`);
    }
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'dcnv2'));
    const n = this.embedding.flatWidth;
    this.cross = this.child(
      'cross',
      opts.useLowRankMixture
        ? new CrossNetMix(n, opts.numCrossLayers, opts.lowRank, opts.numExperts, ctx.rng)
        : opts.lowRankCross
          ? new LowRankCrossNet(n, opts.numCrossLayers, opts.lowRank, ctx.rng)
          : new FullRankCrossNet(n, opts.numCrossLayers, ctx.rng),
    );
    const tower = (hiddenUnits: number[]) => ({
      hiddenUnits,
      hiddenActivations: opts.dnnActivations,
      netDropout: opts.netDropout,
      batchNorm: opts.batchNorm,
    });
    this.stackedDnn = stacked ? this.child('stacked_dnn', dnn(n, tower(opts.stackedDnnHiddenUnits), ctx.rng, 0)) : null;
    this.parallelDnn = parallel ? this.child('parallel_dnn', dnn(n, tower(opts.parallelDnnHiddenUnits), ctx.rng, 0)) : null;
    const width = (this.stackedDnn?.outputDim ?? n) + (this.parallelDnn?.outputDim ?? 0);
    this.fc = this.child('fc', new Linear(width, 1, { rng: ctx.rng }));
  }

  override forward(batch: Batch): Tensor {
    const x0 = this.embedding.forward(batch).flat();
    const crossOut = this.cross.forward(x0);
    const left = this.stackedDnn === null ? crossOut : this.stackedDnn.forward(crossOut);
    const out = this.parallelDnn === null ? left : concat([left, this.parallelDnn.forward(x0)], 1);
    return asLogit(this.fc.forward(out), batch);
  }
}
