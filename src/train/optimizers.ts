import type { Tensor } from '../engine/tensor.js';
import type { EmbeddingTable } from '../embedding/table.js';
import { FTRL, LazyAdam, SparseAdagrad, SparseSGD, TableAdam, type SparseOptimizer } from '../embedding/sparse-optim.js';
import { Adagrad, Adam, AdamW, SGD, type Optimizer } from './optim.js';
import { clipGradNorm } from './clip.js';
import { denseL2, embeddingL2 } from './regularization.js';
import type { TrainOptions } from './options.js';

/**
 * The trainer's view of its optimizers: the dense optimizer over module parameters and the
 * row-wise (or whole-table) optimizer over embedding tables, driven together: penalties,
 * clipping, one step, one learning-rate scale.
 */
export interface OptimizerPair {
  /** The optimizer of the embedding tables (data-parallel training splits LazyAdam's row updates). */
  readonly sparse: SparseOptimizer;
  /** Adds the L2 penalties' gradients (the penalty values themselves are not computed). */
  applyPenalties(): void;
  /** Global gradient-norm clipping over dense and table gradients; returns the norm. */
  clip(maxNorm: number): number;
  step(): void;
  zeroGrad(): void;
  /** Sets both learning rates to their base value times `scale` (schedules). */
  setLrScale(scale: number): void;
  stateDict(): unknown;
  loadStateDict(s: unknown): void;
}

/** Weight matrices get the dense L2 penalty; biases and 1-d parameters do not. */
function isWeightMatrix(p: Tensor): boolean {
  return p.rank >= 2;
}

/** Builds the optimizer pair of a training configuration. */
export function buildOptimizers(params: Tensor[], tables: EmbeddingTable[], o: TrainOptions): OptimizerPair {
  const baseLr = o.optimizer.lr;
  const dense: Optimizer = (() => {
    const c = o.optimizer;
    switch (c.type) {
      case 'adam':
        return new Adam(params, { lr: c.lr, weightDecay: c.weightDecay ?? 0 });
      case 'adamw':
        return new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay ?? 0.01 });
      case 'sgd':
        return new SGD(params, { lr: c.lr, momentum: c.momentum ?? 0, weightDecay: c.weightDecay ?? 0 });
      case 'adagrad':
        return new Adagrad(params, { lr: c.lr });
      default:
        throw new Error(`unknown optimizer '${(c as { type: string }).type}' (adam, adamw, sgd, adagrad)`);
    }
  })();
  const sparseBaseLr = o.embeddingOptimizer.lr ?? baseLr;
  const sparse: SparseOptimizer = (() => {
    const t = o.embeddingOptimizer.type;
    switch (t) {
      case 'table_adam':
        return new TableAdam({ lr: sparseBaseLr });
      case 'lazy_adam':
        return new LazyAdam({ lr: sparseBaseLr });
      case 'adagrad':
        return new SparseAdagrad({ lr: sparseBaseLr });
      case 'sgd':
        return new SparseSGD({ lr: sparseBaseLr });
      case 'ftrl':
        return new FTRL({ alpha: sparseBaseLr });
      default:
        throw new Error(`unknown embedding optimizer '${t as string}' (table_adam, lazy_adam, adagrad, sgd, ftrl)`);
    }
  })();
  if (o.embeddingL2 > 0 && o.embeddingL2Mode === 'table' && o.embeddingOptimizer.type !== 'table_adam') {
    throw new Error(
      `embeddingL2Mode 'table' penalizes every row each step and needs embeddingOptimizer 'table_adam' (got '${o.embeddingOptimizer.type}'); use embeddingL2Mode 'batch' with row-wise optimizers`,
    );
  }
  const weights = params.filter(isWeightMatrix);
  return {
    sparse,
    applyPenalties: () => {
      if (o.embeddingL2 > 0) embeddingL2(tables, o.embeddingL2, o.embeddingL2Mode, { penalty: false });
      if (o.denseL2 > 0) denseL2(weights, o.denseL2);
    },
    clip: (maxNorm) => clipGradNorm(params, tables, maxNorm),
    // Tables first: data-parallel training's split LazyAdam step (src/train/parallel/) leaves
    // the workers' rows running while the dense step runs here. The two touch disjoint arrays,
    // so the order changes no value.
    step: () => {
      sparse.step(tables);
      dense.step();
    },
    zeroGrad: () => {
      for (const p of params) p.grad = null;
      for (const t of tables) t.zeroGrad();
    },
    setLrScale: (scale) => {
      dense.lr = baseLr * scale;
      sparse.lr = sparseBaseLr * scale;
    },
    stateDict: () => ({ dense: dense.stateDict(), sparse: sparse.stateDict(), denseLr: dense.lr, sparseLr: sparse.lr }),
    loadStateDict: (s) => {
      const st = s as { dense: unknown; sparse: unknown; denseLr: number; sparseLr: number };
      dense.loadStateDict(st.dense as never);
      sparse.loadStateDict(st.sparse as never);
      dense.lr = st.denseLr;
      sparse.lr = st.sparseLr;
    },
  };
}
