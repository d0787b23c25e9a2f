/**
 * CPU time of one forward + backward of the mixture-of-experts layers at the bench:train:mtl
 * shapes (batch 1024, 97 input columns, experts [128, 64], linear gates; MMoE with 4 experts
 * and 2 gates; PLE with 2 CGC levels of 2 shared + 1 specific expert per task), three ways:
 *
 * - `session3`: experts stacked to [B, K, H], softmax gates, `mixExperts` (unsqueeze · mul · sum),
 *   the path before session 4 (its MLPs use the current Linear → ReLU op);
 * - `gate_mix`: the layers' default — experts and gates module by module, each gate's softmax
 *   and weighted sum one `gateMix` kernel;
 * - `fused`: the opt-in `fusedExperts` path (`setExpertFusion(true)`): one first-layer GEMM
 *   over every expert and gate reading an input, `blockLinearRelu`, `gateMix`.
 *
 * Process CPU time (process.cpuUsage), median of 4 interleaved rounds of 20 steps each, so a
 * loaded machine affects the three alike. Ends with one JSON line.
 *
 *   node dist/bench/train/mtl-layers.js
 */
import { Rng } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/tensor.js';
import { add, mul, stack, sum } from '../../src/engine/ops/index.js';
import { MMoELayer } from '../../src/blocks/experts/mmoe-layer.js';
import { CGCLayer } from '../../src/blocks/experts/cgc-layer.js';
import { mixExperts, setExpertFusion, type ExpertBank, type SoftmaxGate } from '../../src/blocks/experts/mixture.js';
import type { Module } from '../../src/nn/module.js';
import { machineInfo } from '../common/machine.js';

const B = 1024,
  IN = 97;
const LAYER = { hiddenActivations: 'relu', netDropout: 0, batchNorm: false };
const rng = new Rng(1);
const x = Tensor.zeros([B, IN], true);
for (let i = 0; i < x.size; i++) x.data[i] = rng.uniform(-1, 1);
const mmoe = new MMoELayer(IN, { ...LAYER, numExperts: 4, numGates: 2, expertHiddenUnits: [128, 64], gateHiddenUnits: [] }, new Rng(2));
const cgc = { numTasks: 2, numSharedExperts: 2, numSpecificExperts: 1, expertHiddenUnits: [128, 64], gateHiddenUnits: [] };
const c1 = new CGCLayer(IN, { ...LAYER, ...cgc, sharedOutput: true }, new Rng(3));
const c2 = new CGCLayer(64, { ...LAYER, ...cgc, sharedOutput: false }, new Rng(4));

// The session-3 forward, rebuilt from the layers' own children.
type MMoEParts = { experts: ExpertBank; gates: SoftmaxGate[] };
type CGCParts = { numTasks: number; shared: ExpertBank; specific: ExpertBank[]; gates: SoftmaxGate[]; sharedGate: SoftmaxGate | null };
function session3Mmoe(): Tensor[] {
  const m = mmoe as unknown as MMoEParts;
  const e = m.experts.forward(x);
  return m.gates.map((g) => mixExperts(g.forward(x), e));
}
function session3Cgc(layer: CGCLayer, inputs: Tensor[]): Tensor[] {
  const c = layer as unknown as CGCParts;
  const T = c.numTasks;
  const sh = c.shared.outputs(inputs[T]!);
  const sp = c.specific.map((b, t) => b.outputs(inputs[t]!));
  const out = sp.map((own, t) => mixExperts(c.gates[t]!.forward(inputs[t]!), stack([...own, ...sh], 1)));
  if (c.sharedGate !== null) out.push(mixExperts(c.sharedGate.forward(inputs[T]!), stack([...sp.flat(), ...sh], 1)));
  return out;
}

const VARIANTS = ['session3', 'gate_mix', 'fused'] as const;
type Variant = (typeof VARIANTS)[number];
const MODELS: Record<string, { modules: Module[]; forward: (v: Variant) => Tensor[] }> = {
  mmoe: { modules: [mmoe], forward: (v) => (v === 'session3' ? session3Mmoe() : mmoe.forward(x)) },
  ple: {
    modules: [c1, c2],
    forward: (v) => (v === 'session3' ? session3Cgc(c2, session3Cgc(c1, [x, x, x])) : c2.forward(c1.forward([x, x, x]))),
  },
};

function msPerStep(name: string, v: Variant, steps: number): number {
  const m = MODELS[name]!;
  setExpertFusion(v === 'fused');
  const t0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    for (const mod of m.modules) for (const p of mod.parameters()) p.grad = null;
    x.grad = null;
    m.forward(v)
      .map((o) => sum(mul(o, o)))
      .reduce((a, b) => add(a, b))
      .backward();
  }
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000 / steps;
}

const median = (a: number[]) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const results: Record<string, Record<Variant, number>> = {};
for (const name of Object.keys(MODELS)) {
  const runs: Record<Variant, number[]> = { session3: [], gate_mix: [], fused: [] };
  for (let round = 0; round < 4; round++) {
    for (const v of VARIANTS) {
      msPerStep(name, v, 3); // warm-up
      runs[v].push(msPerStep(name, v, 20));
    }
  }
  results[name] = { session3: median(runs.session3), gate_mix: median(runs.gate_mix), fused: median(runs.fused) };
  const r = results[name]!;
  console.log(
    `${name}: CPU ms per forward + backward (batch ${B}): session-3 path ${r.session3.toFixed(2)}, gateMix (default) ${r.gate_mix.toFixed(2)}, fused ${r.fused.toFixed(2)}`,
  );
}
setExpertFusion(false);
const machine = machineInfo();
console.log(`load average ${machine.load_avg_1m} on ${machine.cores} cores (CPU time, not wall)`);
console.log(JSON.stringify({ bench: 'mtl_layers', batch: B, ...machine, cpu_ms_per_step: results }));
