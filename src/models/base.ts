import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { concat, reshape } from '../engine/ops/index.js';
import { Module } from '../nn/module.js';
import type { Batch } from '../data/batch.js';
import type { InputSpec } from './input-spec.js';
import { FeatureEmbedding, denseInputs } from '../blocks/feature-embedding.js';

/**
 * A single-task ranking model: maps a batch to one logit per row, [B]; the probability is
 * sigmoid(logit). Models know nothing of epochs, files or optimizers.
 */
export abstract class RankingModel extends Module {
  /** Registry name of the model ('deepfm', …). */
  abstract readonly modelName: string;
  /** The [B] logits of a batch. */
  abstract forward(batch: Batch): Tensor;
}

/** Everything a model constructor receives. */
export interface ModelContext {
  spec: InputSpec;
  /** Drives initialization and, afterwards, dropout masks (saved in checkpoints). */
  rng: Rng;
}

/** Embedding options shared by all embedding-based models. */
export interface EmbeddingOptions {
  /** Embedding dimension of every field. Default 16. */
  embeddingDim: number;
  /** Std of the N(0, std²) embedding initialization. Default 1e-4 (FuxiCTR / BARS). */
  embeddingInitStd: number;
}

/** Options of a DNN tower. */
export interface DnnOptions {
  /** Hidden layer sizes. Default [400, 400, 400]. */
  dnnHiddenUnits: number[];
  /** Hidden activation. Default 'relu'. */
  dnnActivation: string;
  /** Dropout rate after each hidden layer. Default 0. */
  dnnDropout: number;
  /** Batch normalization in each hidden layer. Default false. */
  batchNorm: boolean;
}

/** Defaults of EmbeddingOptions. */
export const EMBEDDING_DEFAULTS: EmbeddingOptions = { embeddingDim: 16, embeddingInitStd: 1e-4 };
/** Defaults of DnnOptions. */
export const DNN_DEFAULTS: DnnOptions = { dnnHiddenUnits: [400, 400, 400], dnnActivation: 'relu', dnnDropout: 0, batchNorm: false };

/**
 * The flat DNN input of a batch: field embeddings [B, F, D] flattened to [B, F·D], followed
 * by the deep dense fields, [B, F·D + nDense].
 */
export function flatDeepInput(emb: Tensor, batch: Batch, spec: InputSpec): Tensor {
  const flat = reshape(emb, [batch.size, emb.shape[1]! * emb.shape[2]!]);
  const dense = denseInputs(batch, spec, 'deep');
  return dense === null ? flat : concat([flat, dense], 1);
}

/** Width of `flatDeepInput` for an embedding block. */
export function flatDeepInputDim(emb: FeatureEmbedding, spec: InputSpec): number {
  return emb.numFields * emb.dim + spec.dense.filter((f) => f.deep).length;
}
