import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import { add, gather, matmul, reshape } from '../engine/ops/index.js';
import type { MLP } from '../nn/mlp.js';
import { BatchNorm } from '../nn/batchnorm.js';
import type { Batch } from '../features/batch.js';
import { LinearLogit } from '../blocks/embeddings/linear-logit.js';
import type { FeatureInputs } from '../blocks/embeddings/feature-inputs.js';
import { innerProducts } from '../blocks/interactions/product.js';
import { fieldPairs } from '../blocks/interactions/pairs.js';
import { dnn, type DnnOptions } from '../blocks/towers/dnn-tower.js';
import { SingleTaskModel, asLogit, embeddingInputs, type EmbeddingOptions, type ModelContext } from './base.js';

/** The stages of AutoFIS (`stage`). */
export const AUTOFIS_STAGES = ['search', 'retrain'] as const;

/** Options of AutoFIS (names of the authors' code where it has one). */
export interface AutoFISOptions extends EmbeddingOptions, DnnOptions {
  /** 'search' (every pair gated; `finerank train` then retrains) or 'retrain' (only `kept_pairs`). */
  stage: string;
  /** The pairs kept by the search, 'field_a:field_b' (retrain stage). */
  keptPairs: string[];
  /** Initial gate value: uniform in weight_base ± 0.001 (`weight_base`). */
  weightBase: number;
  /** GRDA's c, μ and learning rate for the gates in the search stage (`grda_c`, `grda_mu`, `grda_lr`: the code's learning_rate2). */
  grdaC: number;
  grdaMu: number;
  grdaLr: number;
  /** Epochs of the search stage (the retrain stage runs the training config's epochs). */
  searchEpochs: number;
}

/** The name of a field pair as `kept_pairs` and `finerank info` write it. */
export function pairName(a: string, b: string): string {
  return `${a}:${b}`;
}

/**
 * AutoFIS (Liu et al. 2020, Fig. 2) over DeepFM (AutoDeepFM; `hidden_units: []` = AutoFM):
 *   logit = Σ_f w_{x_f} + Σ_{(i,j) kept} α_{(i,j)}·BN(⟨e_i, e_j⟩) + DNN(e),
 * one gate α per field pair on the batch-normalized inner product (BN without scale and
 * shift, as the authors' code, so that α carries the pair's whole weight). Search stage:
 * every pair is gated, the gates are trained by GRDA (src/train/optim.ts), everything else by
 * the configured optimizer, and the pairs whose gate ends exactly 0 are dropped; retrain
 * stage: a fresh model over the kept pairs only, all parameters (gates too) trained by the
 * configured optimizer. As the authors' code: gates start uniform in weight_base ± 0.001
 * (0.6), GRDA c 0.0005, μ 0.8, lr 1.0, and the BN stays in the retrain stage. The linear
 * part has no bias when the DNN has one (its output layer's), and one otherwise. Dense
 * parameters: P gates, the DNN's Σ_l (h_{l−1}+1)·h_l + h_L + 1, with P the (kept) pairs.
 */
export class AutoFIS extends SingleTaskModel {
  readonly modelName = 'autofis';
  readonly stage: 'search' | 'retrain';
  /** Names of the gated pairs, in gate order. */
  readonly pairNames: string[];
  /** α [P] (null when no pair is kept). */
  readonly gates: Tensor | null;
  private readonly linear: LinearLogit;
  private readonly embedding: FeatureInputs;
  /** Indices of the gated pairs among all `fieldPairs(F)`. */
  private readonly pairIndex: Int32Array;
  private readonly norm: BatchNorm | null;
  private readonly dnn: MLP | null;

  constructor(ctx: ModelContext, opts: AutoFISOptions) {
    super(ctx);
    if (!(AUTOFIS_STAGES as readonly string[]).includes(opts.stage)) {
      throw new Error(`model 'autofis' option 'stage' must be one of ${AUTOFIS_STAGES.join(', ')}, got '${opts.stage}'`);
    }
    this.stage = opts.stage as 'search' | 'retrain';
    if (this.stage === 'search' && opts.keptPairs.length > 0) throw new Error("model 'autofis': 'kept_pairs' belongs to stage 'retrain'");
    if (!(opts.searchEpochs >= 1 && Number.isInteger(opts.searchEpochs)))
      throw new Error("model 'autofis' option 'search_epochs' must be a positive integer");
    this.embedding = this.child('embedding', embeddingInputs(ctx, opts, 'autofis', { sameDim: true }));
    const names = this.embedding.fields.map((f) => f.name);
    const all = fieldPairs(names.length);
    const allNames = Array.from({ length: all.count }, (_, p) => pairName(names[all.left[p]!]!, names[all.right[p]!]!));
    let index: number[];
    if (this.stage === 'search') index = allNames.map((_, p) => p);
    else {
      index = opts.keptPairs.map((n) => {
        const p = allNames.indexOf(n);
        if (p < 0)
          throw new Error(
            `model 'autofis': kept pair '${n}' is not a pair of embedded fields (pairs are 'a:b' with a before b in ${names.join(', ')})`,
          );
        return p;
      });
      if (new Set(index).size !== index.length) throw new Error("model 'autofis': 'kept_pairs' lists a pair twice");
      index.sort((a, b) => a - b);
    }
    this.pairIndex = Int32Array.from(index);
    this.pairNames = index.map((p) => allNames[p]!);
    const P = index.length;
    this.gates = P > 0 ? this.param('gates', initialGates(P, opts.weightBase, ctx.rng)) : null;
    this.norm = P > 0 ? this.child('interaction_bn', new BatchNorm(P, { affine: false })) : null;
    this.dnn = opts.hiddenUnits.length > 0 ? this.child('dnn', dnn(this.embedding.flatWidth, opts, ctx.rng)) : null;
    this.linear = this.child(
      'linear',
      new LinearLogit(ctx.spec, { initStd: opts.embeddingInitStd, rng: ctx.rng, bias: this.dnn === null, owner: "model 'autofis'" }),
    );
  }

  /** The pairs whose gate is not 0 (after a search: the pairs the retrain stage keeps). */
  keptPairs(): string[] {
    const g = this.gates?.data ?? new Float32Array(0);
    return this.pairNames.filter((_, p) => g[p] !== 0);
  }

  override forward(batch: Batch): Tensor {
    const e = this.embedding.forward(batch);
    let y = this.linear.forward(batch);
    if (this.gates !== null && this.norm !== null) {
      let products = innerProducts(e.stacked()); // [B, all pairs]
      if (this.pairIndex.length !== products.shape[1]) products = gather(products, this.pairIndex, 1);
      const gated = matmul(this.norm.forward(products), reshape(this.gates, [this.gates.size, 1]));
      y = add(y, asLogit(gated, batch));
    }
    return this.dnn === null ? y : add(y, asLogit(this.dnn.forward(e.flat()), batch));
  }
}

function initialGates(P: number, base: number, rng: Rng): Tensor {
  const t = Tensor.zeros([P]);
  for (let i = 0; i < P; i++) t.data[i] = rng.uniform(base - 0.001, base + 0.001);
  return t;
}
