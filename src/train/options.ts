/** Dense optimizer choice. */
export interface DenseOptimizerConfig {
  type: 'adam' | 'adamw' | 'sgd' | 'adagrad';
  lr: number;
  weightDecay?: number;
  momentum?: number;
}

/** Embedding-table optimizer choice ('table_adam' = dense Adam over whole tables). */
export interface SparseOptimizerConfig {
  type: 'table_adam' | 'lazy_adam' | 'adagrad' | 'sgd' | 'ftrl';
  /** Defaults to the dense optimizer's learning rate. */
  lr?: number;
}

/** Everything the trainer needs to know (see `TRAIN_DEFAULTS` and the 'bars' preset). */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: DenseOptimizerConfig;
  embeddingOptimizer: SparseOptimizerConfig;
  /** λ of the L2 penalty λ/2·‖W‖² on embedding tables. */
  embeddingL2: number;
  /** 'table': the penalty covers whole tables (the published protocol); 'batch': rows of the batch. */
  embeddingL2Mode: 'table' | 'batch';
  /** λ of the L2 penalty λ/2·‖W‖² on dense weights (biases excluded). */
  denseL2: number;
  /** Global gradient-norm clipping threshold; 0 disables. */
  clipNorm: number;
  /** Validation metric watched for the schedule, early stopping and the best weights. */
  monitor: 'auc' | 'logloss' | 'gauc';
  /** Which task's metric is monitored: '' = the first task, a task name, several names joined by ',' or 'mean' (all tasks): their mean. */
  monitorTask: string;
  /** Multiply the learning rate by this factor when the monitor does not improve. 1 disables. */
  lrDecayFactor: number;
  /** Learning-rate floor of the plateau decay. */
  minLr: number;
  /** Stop after this many evaluations without improvement; 0 disables early stopping. */
  patience: number;
  /** Improvement smaller than this counts as none. */
  minDelta: number;
  /** Evaluate every N steps (0 = once per epoch). */
  evalEverySteps: number;
  /** Linear warm-up of the learning rate over this many steps (0 = none). */
  warmupSteps: number;
  /** Restore the best weights at the end. */
  restoreBest: boolean;
  /** Folder for checkpoints (resume); empty = no checkpoints. */
  checkpointDir: string;
  /** Write a checkpoint every N steps (and at each evaluation). 0 = only at evaluations. */
  checkpointEverySteps: number;
  /** Show a progress bar when stderr is a TTY. */
  progress: boolean;
  /** Negative downsampling rate used when the data was built (predictions recalibrated). 1 = none. */
  negativeSampleRate: number;
  /**
   * Threads computing each batch (data-parallel, src/train/parallel/): 1 = the training
   * thread alone; N > 1 splits every batch into N shards over shared weights, one optimizer
   * step per batch (docs/streaming.md, "Data-parallel training").
   */
  threads: number;
  /**
   * Recalibration after training: 'intercept' fits one logit shift per task on the validation
   * split so its mean prediction equals its observed rate (src/train/recalibrate.ts; stored in
   * the artifact as `logitOffset`); 'none' leaves the model as trained.
   */
  recalibrate: 'none' | 'intercept';
}

/** General-purpose defaults: Adam 1e-3 everywhere, lazy Adam on tables. */
export const TRAIN_DEFAULTS: TrainOptions = {
  epochs: 10,
  batchSize: 1024,
  seed: 2019,
  optimizer: { type: 'adam', lr: 1e-3 },
  embeddingOptimizer: { type: 'lazy_adam' },
  embeddingL2: 0,
  embeddingL2Mode: 'batch',
  denseL2: 0,
  clipNorm: 10,
  monitor: 'auc',
  monitorTask: '',
  lrDecayFactor: 0.1,
  minLr: 1e-6,
  patience: 2,
  minDelta: 1e-6,
  evalEverySteps: 0,
  warmupSteps: 0,
  restoreBest: true,
  checkpointDir: '',
  checkpointEverySteps: 0,
  progress: true,
  negativeSampleRate: 1,
  threads: 1,
  recalibrate: 'none',
};

/**
 * The published-benchmark protocol (BARS / FuxiCTR, DESIGN.md §5): Adam 1e-3 on all
 * weights including the embedding tables (dense Adam, as torch.optim.Adam does), batch 4096,
 * embedding L2 λ/2·‖W‖² over whole tables (λ = 0.05 unless overridden) added to the mean
 * BCE, grad-norm clipping at 10, validation AUC after every epoch, learning rate ×0.1 on
 * plateau (floor 1e-6), stop after 2 epochs without improvement, restore the best weights.
 * Model-side: embedding dim 10, MLP [400,400,400] with batch norm and dropout 0.2,
 * N(0, 1e-4) embeddings, Xavier-normal dense layers (see BARS_MODEL_OPTIONS).
 */
export const BARS_PRESET: TrainOptions = {
  ...TRAIN_DEFAULTS, // Adam 1e-3, clip 10, monitor AUC, ×0.1 on plateau (floor 1e-6), patience 2, restore best
  epochs: 100,
  batchSize: 4096,
  embeddingOptimizer: { type: 'table_adam' },
  embeddingL2: 0.05,
  embeddingL2Mode: 'table',
};

/**
 * Model options of the published-benchmark preset (merged under user model options), under
 * FuxiCTR's names; each applies to the models that have the option under this name or an alias
 * (DCN's `dnn_hidden_units` receives `hidden_units`).
 */
export const BARS_MODEL_OPTIONS: Record<string, unknown> = {
  embeddingDim: 10,
  embeddingInitStd: 1e-4,
  hiddenUnits: [400, 400, 400],
  hiddenActivations: 'relu',
  netDropout: 0.2,
  batchNorm: true,
};

/** Named presets: 'default' and 'bars' (alias 'fuxictr'). */
export const PRESETS: Record<string, { train: TrainOptions; model: Record<string, unknown> }> = {
  default: { train: TRAIN_DEFAULTS, model: {} },
  bars: { train: BARS_PRESET, model: BARS_MODEL_OPTIONS },
  fuxictr: { train: BARS_PRESET, model: BARS_MODEL_OPTIONS },
};
