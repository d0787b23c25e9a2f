/**
 * Embedding tables with row-sparse gradients, the lookup ops over them, and the optimizers
 * that update them (DESIGN.md §3, "Embeddings are not dense tensors"); their inner loops are
 * the embedding kernels (native addon or bit-identical TypeScript twins, ./kernels.ts).
 */
export { EmbeddingTable } from './table.js';
export type { EmbeddingInit, EmbeddingTableOptions, SparseRowGrad } from './table.js';
export { embeddingLookup, embedFields, embedFieldsConcat, embedFieldsSum, embedPooled, embedSequence } from './lookup.js';
export type { PoolingMode } from './lookup.js';
export { SparseSGD, SparseAdagrad, LazyAdam, TableAdam, FTRL } from './sparse-optim.js';
export { embeddingKernels, setEmbeddingKernels, loadNativeEmbeddingKernels, typescriptEmbeddingKernels } from './kernels.js';
export type { EmbeddingKernels, AccumulatorArrays, PoolMode, RowMode } from './kernels.js';
export type {
  SparseOptimizer,
  SparseOptimizerState,
  TableSlotState,
  SparseSGDOptions,
  SparseAdagradOptions,
  RowAdamOptions,
  FTRLOptions,
} from './sparse-optim.js';
