import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { mul, softmax, stack, sum, unsqueeze } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import type { MLP } from '../../nn/mlp.js';
import { dnn, type DnnOptions } from '../towers/dnn-tower.js';

/** Layer options shared by experts and gates (FuxiCTR's `hidden_activations`, `net_dropout`, `batch_norm`). */
export type ExpertLayerOptions = Omit<DnnOptions, 'hiddenUnits'>;

/**
 * A bank of K experts over one input: each expert is an MLP with `expertHiddenUnits`
 * (FuxiCTR `expert_hidden_units`), every layer activated, no output layer; the K outputs
 * are stacked to [B, K, H] with H the last expert width. Children `0`, `1`, ….
 */
export class ExpertBank extends Module {
  /** Number of experts K. */
  readonly count: number;
  /** Width H of each expert's output. */
  readonly outputDim: number;
  private readonly experts: MLP[] = [];

  constructor(count: number, inputDim: number, expertHiddenUnits: number[], layer: ExpertLayerOptions, rng: Rng) {
    super();
    if (!Number.isInteger(count) || count < 1) throw new Error(`experts: the number of experts must be a positive integer, got ${count}`);
    if (expertHiddenUnits.length === 0)
      throw new Error('experts: expert_hidden_units must list at least one layer width (an expert without layers would be the identity)');
    this.count = count;
    for (let k = 0; k < count; k++) this.experts.push(this.child(String(k), dnn(inputDim, { ...layer, hiddenUnits: expertHiddenUnits }, rng, 0)));
    this.outputDim = this.experts[0]!.outputDim;
  }

  /** The outputs of every expert as a list, each [B, H]. */
  outputs(x: Tensor): Tensor[] {
    return this.experts.map((e) => e.forward(x));
  }

  /** x [B, in] → [B, K, H]. */
  forward(x: Tensor): Tensor {
    return stack(this.outputs(x), 1);
  }
}

/**
 * A softmax gate over K experts: an MLP with `gateHiddenUnits` (FuxiCTR `gate_hidden_units`;
 * empty: one linear map, the MMoE paper's gate softmax(W·x)) ending in K units, then a
 * softmax over them: [B, in] → weights [B, K] summing to 1 per row.
 */
export class SoftmaxGate extends Module {
  /** Number of experts weighed. */
  readonly count: number;
  private readonly net: MLP;

  constructor(count: number, inputDim: number, gateHiddenUnits: number[], layer: ExpertLayerOptions, rng: Rng) {
    super();
    if (!Number.isInteger(count) || count < 1) throw new Error(`gate: the number of experts must be a positive integer, got ${count}`);
    this.count = count;
    this.net = this.child('net', dnn(inputDim, { ...layer, hiddenUnits: gateHiddenUnits }, rng, count));
  }

  /** x [B, in] → gate weights [B, K]. */
  forward(x: Tensor): Tensor {
    return softmax(this.net.forward(x), -1);
  }
}

/** Σ_k gate[b, k] · experts[b, k, :]: gate [B, K], experts [B, K, H] → [B, H]. */
export function mixExperts(gate: Tensor, experts: Tensor): Tensor {
  if (gate.rank !== 2 || experts.rank !== 3 || gate.shape[0] !== experts.shape[0] || gate.shape[1] !== experts.shape[1]) {
    throw new Error(`mixExperts: expects gate [B, K] and experts [B, K, H], got [${gate.shape}] and [${experts.shape}]`);
  }
  return sum(mul(unsqueeze(gate, 2), experts), 1);
}
