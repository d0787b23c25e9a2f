import { Rng } from '../../engine/random.js';
import { MLP } from '../../nn/mlp.js';

/** Options of a DNN (FuxiCTR's MLP_Block arguments, camelCased). */
export interface DnnOptions {
  /** Hidden layer sizes (FuxiCTR `hidden_units`; DeepCTR `dnn_hidden_units`). */
  hiddenUnits: number[];
  /** Hidden activation (`hidden_activations`). */
  hiddenActivations: string;
  /** Dropout after each hidden layer (`net_dropout`). */
  netDropout: number;
  /** Batch normalization in each hidden layer (`batch_norm`). */
  batchNorm: boolean;
}

/**
 * A DNN: Linear → [BatchNorm] → activation → Dropout per hidden layer, then `outputDim`
 * units with no activation (1: a logit; 0: no output layer, the last hidden layer is the
 * output). Dropout masks come from `rng`, whose state checkpoints save.
 */
export function dnn(inputDim: number, opts: DnnOptions, rng: Rng, outputDim = 1): MLP {
  return new MLP({
    inputDim,
    hiddenUnits: opts.hiddenUnits,
    activation: opts.hiddenActivations.toLowerCase(),
    dropout: opts.netDropout,
    batchNorm: opts.batchNorm,
    ...(outputDim > 0 ? { outputDim } : {}),
    rng,
    dropoutRng: rng,
  });
}
