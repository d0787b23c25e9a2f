import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { stack } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import { ExpertBank, SoftmaxGate, mixExperts, type ExpertLayerOptions } from './mixture.js';

/** Options of a CGC layer (FuxiCTR's CGC_Layer arguments, camelCased). */
export interface CGCLayerOptions extends ExpertLayerOptions {
  /** Number of tasks T. */
  numTasks: number;
  /** Experts shared by all tasks (`num_shared_experts`). */
  numSharedExperts: number;
  /** Experts of each task (`num_specific_experts`). */
  numSpecificExperts: number;
  /** Each expert's MLP (`expert_hidden_units`). */
  expertHiddenUnits: number[];
  /** Each gate's hidden MLP (`gate_hidden_units`; empty: linear gate). */
  gateHiddenUnits: number[];
  /** Also compute the shared branch's output (a gate over the shared experts): needed when another CGC layer follows. */
  sharedOutput: boolean;
}

/**
 * Customized Gate Control layer (Tang et al. 2020, PLE §4.2–4.3). Inputs: one per task
 * plus the shared one (T + 1 tensors [B, in]; the first layer receives the same tensor
 * T + 1 times). Task t's experts read input t, the shared experts read the shared input;
 * task t's gate, on input t, weighs its own m_s experts and the m_sh shared ones:
 * out_t = Σ_k softmax(G_t x_t)_k · [E_t,1..m_s ; E_sh,1..m_sh]_k (x). With `sharedOutput`
 * (every level but the last of a PLE), a shared gate on the shared input weighs every
 * expert of the layer — all tasks' then the shared ones — as in the paper (§4.3; FuxiCTR's
 * CGC_Layer weighs the shared experts only). The result: T task outputs, then the shared
 * output when asked — each [B, H].
 * Children: `shared`, `task<t>` (expert banks), `gate<t>`, `sharedGate`.
 */
export class CGCLayer extends Module {
  /** Width of each output (the last expert width). */
  readonly outputDim: number;
  readonly numTasks: number;
  private readonly shared: ExpertBank;
  private readonly specific: ExpertBank[] = [];
  private readonly gates: SoftmaxGate[] = [];
  private readonly sharedGate: SoftmaxGate | null;

  constructor(inputDim: number, opts: CGCLayerOptions, rng: Rng) {
    super();
    if (!Number.isInteger(opts.numTasks) || opts.numTasks < 1)
      throw new Error(`CGC layer: numTasks must be a positive integer, got ${opts.numTasks}`);
    const layer = { hiddenActivations: opts.hiddenActivations, netDropout: opts.netDropout, batchNorm: opts.batchNorm };
    this.numTasks = opts.numTasks;
    this.shared = this.child('shared', new ExpertBank(opts.numSharedExperts, inputDim, opts.expertHiddenUnits, layer, rng));
    for (let t = 0; t < opts.numTasks; t++) {
      this.specific.push(this.child(`task${t}`, new ExpertBank(opts.numSpecificExperts, inputDim, opts.expertHiddenUnits, layer, rng)));
    }
    for (let t = 0; t < opts.numTasks; t++) {
      this.gates.push(
        this.child(`gate${t}`, new SoftmaxGate(opts.numSpecificExperts + opts.numSharedExperts, inputDim, opts.gateHiddenUnits, layer, rng)),
      );
    }
    this.sharedGate = opts.sharedOutput
      ? this.child(
          'sharedGate',
          new SoftmaxGate(opts.numTasks * opts.numSpecificExperts + opts.numSharedExperts, inputDim, opts.gateHiddenUnits, layer, rng),
        )
      : null;
    this.outputDim = this.shared.outputDim;
  }

  /** inputs: T task inputs then the shared input, each [B, in] → T task outputs (then the shared output with `sharedOutput`). */
  forward(inputs: readonly Tensor[]): Tensor[] {
    if (inputs.length !== this.numTasks + 1)
      throw new Error(`CGC layer: expects ${this.numTasks + 1} inputs (one per task, then the shared one), got ${inputs.length}`);
    const sharedX = inputs[this.numTasks]!;
    const sharedOut = this.shared.outputs(sharedX);
    const specificOut = this.specific.map((bank, t) => bank.outputs(inputs[t]!));
    const out = specificOut.map((own, t) => mixExperts(this.gates[t]!.forward(inputs[t]!), stack([...own, ...sharedOut], 1)));
    if (this.sharedGate !== null) out.push(mixExperts(this.sharedGate.forward(sharedX), stack([...specificOut.flat(), ...sharedOut], 1)));
    return out;
  }
}
