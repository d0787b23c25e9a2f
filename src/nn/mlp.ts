import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearSharedRows } from '../engine/ops/linear-shared.js';
import { linearRelu } from '../engine/ops/matmul.js';
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

  constructor(
    inDim: number,
    outDim: number,
    opts: {
      activation: string;
      dropout: number;
      batchNorm: boolean;
      bias: boolean;
      init: LinearInit;
      rng: Rng;
      dropoutRng: Rng;
    },
  ) {
    super();
    this.linear = this.child('linear', new Linear(inDim, outDim, { bias: opts.bias, init: opts.init, rng: opts.rng }));
    this.bn = opts.batchNorm ? this.child('bn', new BatchNorm(outDim)) : null;
    this.act = this.child('act', makeActivation(opts.activation, outDim, opts.rng));
    this.dropout = opts.dropout > 0 ? this.child('dropout', new Dropout(opts.dropout, opts.dropoutRng)) : null;
  }

  /** Inference weights with the batch norm folded in (see `foldForInference`); dropped by `train()`. */
  private folded: { weight: Tensor; bias: Tensor } | null = null;

  /**
   * Folds the batch norm into the Linear for inference (eval mode only): with
   * s = γ/√(running var + eps), W' = W·diag(s) and b' = (b − running mean)·s + β, so that
   * eval-mode forward runs one GEMM (+ fused ReLU) instead of Linear → BatchNorm → ReLU.
   * The module's own weights and state dict are untouched; `train()` drops the folded
   * copy, and it must be folded again after the weights change. No-op without batch norm.
   */
  foldForInference(): void {
    if (this.training) throw new Error('MLPLayer.foldForInference: call it in eval mode (model.eval())');
    const bn = this.bn;
    if (bn === null) {
      this.folded = null;
      return;
    }
    const inDim = this.linear.inDim,
      outDim = this.linear.outDim;
    const w = this.linear.weight.data,
      b = this.linear.bias?.data;
    const mean = bn.runningMean.data,
      variance = bn.runningVar.data;
    const fw = new Float32Array(inDim * outDim),
      fb = new Float32Array(outDim);
    const s = new Float64Array(outDim);
    for (let j = 0; j < outDim; j++) {
      s[j] = (bn.gamma?.data[j] ?? 1) / Math.sqrt(variance[j]! + bn.eps);
      fb[j] = ((b?.[j] ?? 0) - mean[j]!) * s[j]! + (bn.beta?.data[j] ?? 0);
    }
    for (let i = 0; i < inDim; i++) {
      const o = i * outDim;
      for (let j = 0; j < outDim; j++) fw[o + j] = w[o + j]! * s[j]!;
    }
    this.folded = { weight: new Tensor(fw, [inDim, outDim]), bias: new Tensor(fb, [outDim]) };
  }

  /** Sets the mode; leaving eval mode drops the folded inference weights. */
  override train(on = true): this {
    if (on) this.folded = null;
    return super.train(on);
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    if (!this.training && x.rank === 2 && (this.folded !== null || this.bn === null)) {
      // Eval fast path: one GEMM with the bias (and the folded batch norm), ReLU fused in; dropout is off.
      const wt = this.folded?.weight ?? this.linear.weight;
      const bs = this.folded !== null ? this.folded.bias : this.linear.bias;
      // Without autograd, columns shared by every row (a rank request's context) are multiplied once.
      return this.act instanceof ReLU ? linearSharedRows(x, wt, bs, true) : this.act.forward(linearSharedRows(x, wt, bs, false));
    }
    if (this.bn === null && this.act instanceof ReLU && x.rank === 2 && x.shape[1] === this.linear.inDim) {
      // Training without batch norm: Linear and ReLU fused (one result buffer, the mask-and-GEMM backward).
      const h = linearRelu(x, this.linear.weight, this.linear.bias);
      return this.dropout !== null ? this.dropout.forward(h) : h;
    }
    return this.activate(this.linear.forward(x));
  }

  /** The layer after its Linear: h (= x·W + b, [..., out]) → batch norm? → activation → dropout?. */
  activate(h: Tensor): Tensor {
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

  /** Folds every hidden layer's batch norm into its Linear for inference (see `MLPLayer.foldForInference`). */
  foldForInference(): void {
    for (const layer of this.layers) layer.foldForInference();
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

  /** The first Linear (of the first hidden layer, else the output layer); null for an MLP with neither. */
  firstLinear(): Linear | null {
    return this.layers[0]?.linear ?? this.out;
  }

  /**
   * The rest of the MLP given the first Linear's result h (= x·W + b, computed by the caller,
   * e.g. from a factored input): the first layer's activation onward. Same result as `forward(x)`.
   */
  forwardAfterFirstLinear(h: Tensor): Tensor {
    if (this.layers.length === 0) return h;
    h = this.layers[0]!.activate(h);
    for (let i = 1; i < this.layers.length; i++) h = this.layers[i]!.forward(h);
    return this.out !== null ? this.out.forward(h) : h;
  }
}
