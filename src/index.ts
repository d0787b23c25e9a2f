/** finerank's public TypeScript API. */
export { Tensor, noGrad, tidy, bufferPoolStats } from './engine/tensor.js';
export { Rng } from './engine/random.js';
export { kernels } from './engine/kernels/index.js';
export * as ops from './engine/ops/index.js';
export { Module } from './nn/module.js';
export { EmbeddingTable } from './embedding/table.js';
export type { Batch, PaddedIds } from './data/batch.js';
export {
  defineSchema, loadSchema, parseSchema, sparse, dense, varlen, sequence, label, group, weight,
  type Schema, type SchemaInput,
} from './features/schema.js';
export { FeatureMap } from './features/featuremap.js';
export { readRaw } from './data/readers/index.js';
export { createModel, listModels, modelEntry, resolveModelOptions } from './models/registry.js';
export { RankingModel, type ModelContext } from './models/base.js';
export { sparseInput, denseInput, type InputSpec } from './models/input-spec.js';
export { Trainer, predict, evaluateModel, calibratedProbabilities, type TrainResult } from './train/trainer.js';
export { TRAIN_DEFAULTS, BARS_PRESET, BARS_MODEL_OPTIONS, PRESETS, type TrainOptions } from './train/options.js';
export { InMemoryDataSource, StreamingDataSource, type DataSource } from './train/data-source.js';
export { inputSpecFromFeatureMap, loadDataSource, encodeFile } from './train/pipeline.js';
export { fitFeatureMap, streamBatches } from './data/stream.js';
export { trainOnFiles } from './train/run.js';
export { evaluate, auc, logloss, gauc, avgAuc, calibration } from './metrics/index.js';
export { saveArtifact, loadArtifact } from './serve/artifact.js';
export { scoreFile, evaluateFile } from './serve/score.js';
