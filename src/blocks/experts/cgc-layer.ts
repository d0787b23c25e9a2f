import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { concat, gateMix } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import { ExpertBank, SoftmaxGate, fusedExperts, type ExpertGroup, type ExpertLayerOptions } from './mixture.js';

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
    if (this.training && this.shared.fusable && this.specific.every((b) => b.fusable)) return this.forwardFused(inputs);
    // Module by module: every expert output side by side [B, (T·m_s + m_sh)·H] (task 0's, …, then
    // the shared ones), each gate's softmax and weighted sum one gateMix over its columns.
    const h = this.outputDim;
    const specificOut = this.specific.map((bank, t) => bank.outputs(inputs[t]!));
    const all = concat([...specificOut.flat(), ...this.shared.outputs(sharedX)], 1);
    const ms = this.specific[0]!.count;
    const sharedCols = Array.from({ length: this.shared.count }, (_, k) => (this.numTasks * ms + k) * h);
    const out = this.specific.map((_, t) =>
      gateMix(
        this.gates[t]!.logits(inputs[t]!),
        0,
        this.gates[t]!.count,
        all,
        [...Array.from({ length: ms }, (_, k) => (t * ms + k) * h), ...sharedCols],
        h,
      ),
    );
    if (this.sharedGate !== null) {
      const cols = Array.from({ length: this.numTasks * ms + this.shared.count }, (_, k) => k * h);
      out.push(gateMix(this.sharedGate.logits(sharedX), 0, this.sharedGate.count, all, cols, h));
    }
    return out;
  }

  /**
   * The opt-in fused path (training, `setExpertFusion(true)`, Linear → ReLU experts): the branches reading the same input
   * tensor (all of them in a PLE's first layer) share one first-layer GEMM (`fusedExperts`),
   * and each gate's softmax and weighted sum is one `gateMix`. Same values as `forward`'s
   * module-by-module path.
   */
  private forwardFused(inputs: readonly Tensor[]): Tensor[] {
    const T = this.numTasks;
    const sharedX = inputs[T]!;
    const groups: ExpertGroup[] = [];
    const groupOf = (x: Tensor): ExpertGroup => {
      let g = groups.find((e) => e.x === x);
      if (g === undefined) groups.push((g = { x, banks: [], gates: [] }));
      return g;
    };
    for (let t = 0; t < T; t++) {
      const g = groupOf(inputs[t]!);
      (g.banks as ExpertBank[]).push(this.specific[t]!);
      (g.gates as SoftmaxGate[]).push(this.gates[t]!);
    }
    const sg = groupOf(sharedX);
    (sg.banks as ExpertBank[]).push(this.shared);
    if (this.sharedGate !== null) (sg.gates as SoftmaxGate[]).push(this.sharedGate);
    const f = fusedExperts(groups);
    const sharedCols = f.cols.get(this.shared)!;
    const mix = (gate: SoftmaxGate, cols: number[]) => {
      const { logits, off } = f.gates.get(gate)!;
      return gateMix(logits, off, gate.count, f.experts, cols, f.h);
    };
    const out = this.specific.map((bank, t) => mix(this.gates[t]!, [...f.cols.get(bank)!, ...sharedCols]));
    if (this.sharedGate !== null) out.push(mix(this.sharedGate, [...this.specific.flatMap((b) => f.cols.get(b)!), ...sharedCols]));
    return out;
  }
}
