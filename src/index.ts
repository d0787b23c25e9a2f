/** finerank's public TypeScript API. */
export { Tensor, noGrad, tidy, bufferPoolStats } from './engine/tensor.js';
export { Rng } from './engine/random.js';
export { kernels } from './engine/kernels/index.js';
export * as ops from './engine/ops/index.js';
export { Module } from './nn/module.js';
export { EmbeddingTable } from './embedding/table.js';
export type { Batch, PaddedIds } from './features/batch.js';
export {
  defineSchema,
  loadSchema,
  parseSchema,
  sparse,
  dense,
  varlen,
  sequence,
  label,
  group,
  weight,
  type Schema,
  type SchemaInput,
} from './features/schema.js';
export { FeatureMap } from './features/featuremap.js';
export { readRaw } from './readers/index.js';
export { createModel, listModels, modelEntry, resolveModelOptions } from './models/registry.js';
export { RankingModel, SingleTaskModel, type ModelContext, type TaskLogits } from './models/base.js';
export { sparseField, denseField, varlenField, sequenceField, type FieldDef, type FeatureSpec } from './features/fields.js';
export { resolveTasks, singleTask, type TaskDef } from './features/tasks.js';
export { FeatureInputs, selectFields, type FieldSelector } from './blocks/embeddings/feature-inputs.js';
export { Trainer, predict, evaluateModel, evaluateTasks, type TrainResult } from './train/trainer.js';
export { TRAIN_DEFAULTS, BARS_PRESET, BARS_MODEL_OPTIONS, PRESETS, type TrainOptions } from './train/options.js';
export { InMemoryDataSource, type DataSource } from './data/data-source.js';
export { StreamingDataSource } from './data/streaming/source.js';
export { loadDataSource, encodeFile } from './data/load.js';
export { fitFeatureMap, streamBatches } from './data/stream.js';
export { trainOnFiles } from './train/run.js';
export { evaluate, auc, logloss, gauc, avgAuc, calibration, calibratedProbabilities } from './metrics/index.js';
export { saveArtifact, loadArtifact } from './serve/artifact.js';
export { scoreFile, evaluateFile } from './serve/score.js';
export { exportOnnx, onnxModelBytes, ONNX_OPSET } from './export/onnx/index.js';
export { Booster, type FeatureImportance, type FitReport } from './gbdt/booster.js';
export { BOOSTER_DEFAULTS, resolveBoosterOptions, type BoosterOptions } from './gbdt/options.js';
export type { FeatureMatrix } from './gbdt/matrix.js';
export { GbdtModel, GbdtLrModel } from './gbdt/model.js';
export { treeReport } from './gbdt/report.js';
