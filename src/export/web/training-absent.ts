/**
 * Stands in for src/engine/kernels/typescript-training.ts and src/embedding/kernels-ts-training.ts
 * in the browser bundle (substituted by the bundler, see ./bundle.ts): the web scorer only
 * scores, so the TypeScript twins of the training-only kernels (batch statistics, dropout,
 * backward passes, the Adam step; the sparse-gradient accumulator and the row optimizers) stay
 * out of it. Each entry throws if it is ever called.
 */
import type { DenseTrainingKernelName } from '../../engine/kernels/typescript-training.js';
import type { DenseKernels } from '../../engine/kernels/types.js';
import type { EmbeddingTrainingKernelName } from '../../embedding/kernels-ts-training.js';
import type { EmbeddingKernels } from '../../embedding/kernels.js';

/**
 * One function that throws per key of `names` (a record with every kernel name as a key, so
 * that the compiler refuses a list missing one).
 */
function absent<N extends string>(names: Record<N, true>): Record<N, () => never> {
  return Object.fromEntries(
    Object.keys(names).map((name) => [
      name,
      () => {
        throw new Error(`${name}: a training kernel, left out of the web scorer (it only scores; train with the finerank CLI)`);
      },
    ]),
  ) as Record<N, () => never>;
}

/** Every training-only dense kernel, as a function that throws. */
export const denseTrainingKernelsTS = absent<DenseTrainingKernelName>({
  bnStats: true,
  bnGradSums: true,
  bnInputGrad: true,
  dropoutForward: true,
  dropoutBackward: true,
  addColumnSums: true,
  reluBackwardColumnSums: true,
  adamUpdate: true,
  reluBackward: true,
  fmSecondOrderBackward: true,
}) as unknown as Pick<DenseKernels, DenseTrainingKernelName>;

/** Every training-only embedding kernel, as a function that throws. */
export const typescriptEmbeddingTrainingKernels = absent<EmbeddingTrainingKernelName>({
  accumulate: true,
  sgd: true,
  adagrad: true,
  lazyAdam: true,
  ftrl: true,
  tableAdam: true,
}) as unknown as Pick<EmbeddingKernels, EmbeddingTrainingKernelName>;
