import type { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { Module } from './module.js';
import { Linear, type LinearInit } from './linear.js';
import { BatchNorm } from './batchnorm.js';
import { Dropout } from './dropout.js';
import { makeActivation, ReLU, type Layer } from './activations.js';

/** Options of `MLP`. */
export interface MLPOptions {
  /** Width of the input's last axis. */
  inputDim: number;
  /** Widths of the hidden layers, in order (may be empty). */
  hiddenUnits: number[];
  /** Activation of every hidden layer (see `makeActivation`), default 'relu'. */
  activation?: string;
  /** Dropout probability after every hidden activation, default 0 (none). */
  dropout?: number;
  /** Batch norm between each hidden Linear and its activation, default false. */
  batchNorm?: boolean;
  /** Width of a final Linear without activation (e.g. 1 for a logit); none when omitted. */
  outputDim?: number;
  /** Bias in the Linear layers, default true. */
  bias?: boolean;
  /** Weight initialization of the Linear layers, default 'xavier_normal'. */
  init?: LinearInit;
  /** Source of the initial weights. */
  rng: Rng;
  /** Source of the dropout masks; default: a generator seeded from one draw of `rng`. */
  dropoutRng?: Rng;
}

/**
 * One hidden layer of an MLP: Linear → BatchNorm (optional) → activation → Dropout
 * (optional), FuxiCTR's MLP_Block order. Children: `linear`, `bn`, `act`, `dropout`.
 * BatchNorm followed by ReLU runs as one fused op (same values, fewer buffers).
 */
export class MLPLayer extends Module {
  readonly linear: Linear;
  readonly bn: BatchNorm | null;
  readonly act: Layer;
  readonly dropout: Dropout | null;

  constructor(inDim: number, outDim: number, opts: {
    activation: string; dropout: number; batchNorm: boolean; bias: boolean; init: LinearInit; rng: Rng; dropoutRng: Rng;
  }) {
    super();
    this.linear = this.child('linear', new Linear(inDim, outDim, { bias: opts.bias, init: opts.init, rng: opts.rng }));
    this.bn = opts.batchNorm ? this.child('bn', new BatchNorm(outDim)) : null;
    this.act = this.child('act', makeActivation(opts.activation, outDim, opts.rng));
    this.dropout = opts.dropout > 0 ? this.child('dropout', new Dropout(opts.dropout, opts.dropoutRng)) : null;
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    let h = this.linear.forward(x);
    if (this.bn !== null && this.act instanceof ReLU) {
      const d = this.dropout;
      if (d !== null && d.training && this.bn.training) return this.bn.forwardRelu(h, { p: d.p, rng: d.rng });
      h = this.bn.forwardRelu(h);
    } else {
      if (this.bn !== null) h = this.bn.forward(h);
      h = this.act.forward(h);
    }
    if (this.dropout !== null) h = this.dropout.forward(h);
    return h;
  }
}

/** An ordered list of hidden layers registered as children '0', '1', …. */
class LayerList extends Module {
  readonly items: MLPLayer[] = [];

  add(layer: MLPLayer): void {
    this.child(String(this.items.length), layer);
    this.items.push(layer);
  }
}

/**
 * Multi-layer perceptron (the DNN tower of Wide&Deep, DeepFM, DCN, …): hidden layers
 * Linear → BatchNorm? → activation → Dropout? (FuxiCTR's MLP_Block order: batch norm
 * before the activation, dropout after it), then an optional output Linear without
 * activation. Parameter names are stable: `layers.<i>.linear.weight`,
 * `layers.<i>.bn.gamma`, …, `out.weight`, `out.bias`.
 */
export class MLP extends Module {
  readonly inputDim: number;
  /** Width of the result's last axis: outputDim, else the last hidden width, else inputDim. */
  readonly outputDim: number;
  readonly layers: readonly MLPLayer[];
  readonly out: Linear | null;

  constructor(opts: MLPOptions) {
    super();
    const { inputDim, hiddenUnits } = opts;
    if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`MLP: inputDim must be a positive integer, got ${inputDim}`);
    if (!Array.isArray(hiddenUnits)) throw new Error('MLP: hiddenUnits must be an array of positive integers');
    hiddenUnits.forEach((u, i) => {
      if (!Number.isInteger(u) || u < 1) throw new Error(`MLP: hiddenUnits[${i}] must be a positive integer, got ${u}`);
    });
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`MLP: dropout must be in [0, 1), got ${dropout}`);
    if (opts.outputDim !== undefined && (!Number.isInteger(opts.outputDim) || opts.outputDim < 1)) {
      throw new Error(`MLP: outputDim must be a positive integer, got ${opts.outputDim}`);
    }
    const activation = opts.activation ?? 'relu';
    makeActivation(activation, 1); // validates the name before any layer is built
    const bias = opts.bias ?? true;
    const init = opts.init ?? 'xavier_normal';
    const dropoutRng = opts.dropoutRng ?? new Rng(opts.rng.nextUint32());
    this.inputDim = inputDim;
    const list = this.child('layers', new LayerList());
    let dim = inputDim;
    for (const units of hiddenUnits) {
      list.add(new MLPLayer(dim, units, { activation, dropout, batchNorm: opts.batchNorm ?? false, bias, init, rng: opts.rng, dropoutRng }));
      dim = units;
    }
    this.layers = list.items;
    this.out = opts.outputDim !== undefined ? this.child('out', new Linear(dim, opts.outputDim, { bias, init, rng: opts.rng })) : null;
    this.outputDim = opts.outputDim ?? dim;
  }

  /** x [..., inputDim] → [..., outputDim]. */
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inputDim) {
      throw new Error(`MLP: input must be [..., ${this.inputDim}], got [${x.shape}]`);
    }
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return this.out !== null ? this.out.forward(h) : h;
  }
}
