import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { Module } from '../../nn/module.js';
import { concat, gateMix } from '../../engine/ops/index.js';
import { ExpertBank, SoftmaxGate, fusedExperts, type ExpertLayerOptions } from './mixture.js';

/** Options of an MMoE layer (FuxiCTR's MMoE_Layer arguments, camelCased). */
export interface MMoELayerOptions extends ExpertLayerOptions {
  /** Number of shared experts (`num_experts`). */
  numExperts: number;
  /** Number of gates: one per task (MMoE), or 1 (MoE: every task reads the same mixture). */
  numGates: number;
  /** Each expert's MLP (`expert_hidden_units`). */
  expertHiddenUnits: number[];
  /** Each gate's hidden MLP before its K logits (`gate_hidden_units`; empty: linear gate). */
  gateHiddenUnits: number[];
}

/**
 * Mixture-of-experts layer (Ma et al. 2018, MMoE; one gate: the MoE baseline of the same
 * paper, Fig. 1b): K experts read the same input; gate g gives softmax weights over them
 * and its output is the weighted sum of the expert outputs, f_g(x) = Σ_k softmax(G_g x)_k · E_k(x).
 * Children: `experts`, `gate0`, `gate1`, ….
 */
export class MMoELayer extends Module {
  /** Width of each gate's output (the last expert width). */
  readonly outputDim: number;
  private readonly experts: ExpertBank;
  private readonly gates: SoftmaxGate[] = [];

  constructor(inputDim: number, opts: MMoELayerOptions, rng: Rng) {
    super();
    if (!Number.isInteger(opts.numGates) || opts.numGates < 1)
      throw new Error(`MMoE layer: numGates must be a positive integer, got ${opts.numGates}`);
    const layer = { hiddenActivations: opts.hiddenActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.experts = this.child('experts', new ExpertBank(opts.numExperts, inputDim, opts.expertHiddenUnits, layer, rng));
    for (let g = 0; g < opts.numGates; g++)
      this.gates.push(this.child(`gate${g}`, new SoftmaxGate(opts.numExperts, inputDim, opts.gateHiddenUnits, layer, rng)));
    this.outputDim = this.experts.outputDim;
  }

  /**
   * x [B, in] → one [B, H] mixture per gate: the experts and gates run one by one (the MLPs'
   * own fast paths) and each gate's softmax and weighted sum is one `gateMix`. In training,
   * with the opt-in fused path switched on (`setExpertFusion`) and Linear → ReLU experts,
   * `fusedExperts` runs instead (same values).
   */
  forward(x: Tensor): Tensor[] {
    if (this.training && this.experts.fusable) {
      const f = fusedExperts([{ x, banks: [this.experts], gates: this.gates }]);
      const cols = f.cols.get(this.experts)!;
      return this.gates.map((g) => {
        const { logits, off } = f.gates.get(g)!;
        return gateMix(logits, off, g.count, f.experts, cols, f.h);
      });
    }
    // Module by module; the experts side by side [B, K·H], each gate's softmax and sum one gateMix.
    const h = this.outputDim;
    const e = concat(this.experts.outputs(x), 1);
    const cols = Array.from({ length: this.experts.count }, (_, k) => k * h);
    return this.gates.map((g) => gateMix(g.logits(x), 0, g.count, e, cols, h));
  }
}
