import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import { linear } from '../engine/ops/matmul.js';
import { reshape } from '../engine/ops/shape.js';
import { Module } from './module.js';
import { xavierNormal, xavierUniform } from './init.js';

/** Weight initializations of `Linear`. */
export type LinearInit = 'xavier_normal' | 'xavier_uniform';

/** Options of `Linear`. */
export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Source of the initial weights. */
  rng: Rng;
  /** Weight initialization (default 'xavier_normal'). */
  init?: LinearInit;
}

/**
 * Fully connected layer y = x·W + b, with W [in, out] and b [out]. The weight is
 * Xavier/Glorot-normal (std √(2/(in+out))) and the bias zero by default: the
 * published-benchmark protocol (BARS/FuxiCTR, DESIGN.md §5), not torch's Kaiming-uniform
 * default. Inputs [..., in] of rank > 2 are flattened to rows and the result reshaped back.
 */
export class Linear extends Module {
  readonly inDim: number;
  readonly outDim: number;
  /** [in, out] */
  readonly weight: Tensor;
  /** [out], or null without bias. */
  readonly bias: Tensor | null;

  constructor(inDim: number, outDim: number, opts: LinearOptions) {
    super();
    for (const [n, v] of [
      ['inDim', inDim],
      ['outDim', outDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${n} must be a positive integer, got ${v}`);
    }
    this.inDim = inDim;
    this.outDim = outDim;
    const init = opts.init ?? 'xavier_normal';
    const w = Tensor.zeros([inDim, outDim]);
    if (init === 'xavier_normal') xavierNormal(w, opts.rng, inDim, outDim);
    else if (init === 'xavier_uniform') xavierUniform(w, opts.rng, inDim, outDim);
    else throw new Error(`Linear: unknown init '${String(init)}' (expected 'xavier_normal' or 'xavier_uniform')`);
    this.weight = this.param('weight', w);
    this.bias = (opts.bias ?? true) ? this.param('bias', Tensor.zeros([outDim])) : null;
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inDim) {
      throw new Error(`Linear: input must be [..., ${this.inDim}], got [${x.shape}]`);
    }
    if (x.rank === 2) return linear(x, this.weight, this.bias);
    const lead = x.shape.slice(0, -1);
    const rows = x.size / this.inDim;
    const y = linear(reshape(x, [rows, this.inDim]), this.weight, this.bias);
    return reshape(y, [...lead, this.outDim]);
  }
}
