import { TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';

/**
 * The learnability benchmarks' training settings (bench/learn/run.ts, sequence-spec.ts): the
 * trainer's defaults with batch 2048, Adam at `lr`, L2 1e-4 on the embedding rows of each batch,
 * no progress bar.
 */
export function learnTrainOptions(epochs: number, lr: number, seed: number): TrainOptions {
  return {
    ...TRAIN_DEFAULTS,
    epochs,
    batchSize: 2048,
    optimizer: { type: 'adam', lr },
    embeddingL2: 1e-4,
    embeddingL2Mode: 'batch',
    seed,
    progress: false,
  };
}
