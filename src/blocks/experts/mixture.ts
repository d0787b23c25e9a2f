import type { Tensor } from '../../engine/tensor.js';
import type { Rng } from '../../engine/random.js';
import { blockLinearRelu, concat, linearConcat, mul, softmax, stack, sum, unsqueeze } from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import type { MLP } from '../../nn/mlp.js';
import type { Linear } from '../../nn/linear.js';
import { ReLU } from '../../nn/activations.js';
import { dnn, type DnnOptions } from '../towers/dnn-tower.js';

/**
 * The fused expert path (`fusedExperts`) is opt-in: measured (session 4, CPU time per
 * forward + backward at batch 1024) it was no faster than the module-by-module path with
 * `gateMix` (MMoE 25.0 vs 22.0 ms, PLE 45.6 vs 34.4 ms; docs/native.md), so the layers use it
 * only after `setExpertFusion(true)` (no environment switch: this module also runs in the
 * browser bundle of `finerank export --format web`).
 */
let expertFusion = false;

/** Turns the fused expert path on or off (default off). For A/B measurements and tests. */
export function setExpertFusion(on: boolean): void {
  expertFusion = on;
}

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

  /** The experts' MLPs (for the fused path, `fusedExperts`). */
  get mlps(): readonly MLP[] {
    return this.experts;
  }

  /**
   * Whether every expert layer is Linear → ReLU (no batch norm, no dropout): what
   * `fusedExperts` computes; false everywhere unless the fused path is switched on
   * (`setExpertFusion`).
   */
  get fusable(): boolean {
    return (
      expertFusion && this.experts.every((m) => m.out === null && m.layers.every((l) => l.bn === null && l.dropout === null && l.act instanceof ReLU))
    );
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

  /** The gate's one Linear when it has no hidden layers (`gate_hidden_units: []`), else null. */
  get linearOnly(): Linear | null {
    return this.net.layers.length === 0 ? this.net.out : null;
  }

  /** x [B, in] → the K gate logits [B, K] (before the softmax). */
  logits(x: Tensor): Tensor {
    return this.net.forward(x);
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

/** One input with the expert banks and gates that read it (see `fusedExperts`). */
export interface ExpertGroup {
  x: Tensor;
  banks: readonly ExpertBank[];
  gates: readonly SoftmaxGate[];
}

/** Where `fusedExperts` put each bank's experts and each gate's logits. */
export interface FusedExperts {
  /** Every bank's expert outputs side by side (plus columns to skip): [B, W]. */
  experts: Tensor;
  /** Width H of each expert output. */
  h: number;
  /** Column offset of each expert of a bank in `experts`. */
  cols: Map<ExpertBank, number[]>;
  /** Each gate's logits: the tensor and the column of its first logit. */
  gates: Map<SoftmaxGate, { logits: Tensor; off: number }>;
}

/**
 * The fused forward of expert banks (all `fusable`, all with the same layer widths) and
 * softmax gates, grouped by the input they read: per group, the first layer of every expert
 * and every linear gate (`gate_hidden_units: []`) is ONE GEMM over the concatenated weights
 * (`linearConcat`; a gate with hidden layers runs its own MLP), each deeper expert layer one
 * `blockLinearRelu` over the column blocks; groups are then concatenated. Same values as the
 * experts' and gates' own forward (to float32 rounding); mix with `gateMix`.
 */
export function fusedExperts(groups: readonly ExpertGroup[]): FusedExperts {
  const cols = new Map<ExpertBank, number[]>();
  const gates = new Map<SoftmaxGate, { logits: Tensor; off: number }>();
  const parts: Tensor[] = [];
  let base = 0,
    h = 0;
  for (const grp of groups) {
    const mlps = grp.banks.flatMap((b) => [...b.mlps]);
    const first = mlps.map((m) => m.layers[0]!.linear);
    const h1 = first[0]!.outDim;
    const linearGates = grp.gates.filter((g) => g.linearOnly !== null);
    const gl = linearGates.map((g) => g.linearOnly!);
    const z = linearConcat(
      grp.x,
      [...first.map((l) => l.weight), ...gl.map((l) => l.weight)],
      [...first.map((l) => l.bias), ...gl.map((l) => l.bias)],
      mlps.length * h1,
    );
    let off = mlps.length * h1;
    for (const g of linearGates) {
      gates.set(g, { logits: z, off });
      off += g.count;
    }
    for (const g of grp.gates) if (g.linearOnly === null) gates.set(g, { logits: g.logits(grp.x), off: 0 });
    let e = z;
    const depth = mlps[0]!.layers.length;
    for (let l = 1; l < depth; l++) {
      e = blockLinearRelu(
        e,
        mlps.map((m) => m.layers[l]!.linear.weight),
        mlps.map((m) => m.layers[l]!.linear.bias),
      );
    }
    h = mlps[0]!.outputDim;
    let q = 0;
    for (const b of grp.banks) {
      cols.set(
        b,
        Array.from({ length: b.count }, (_, i) => base + (q + i) * h),
      );
      q += b.count;
    }
    parts.push(e);
    base += e.shape[1]!;
  }
  return { experts: parts.length === 1 ? parts[0]! : concat(parts, 1), h, cols, gates };
}
