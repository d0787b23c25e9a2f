/**
 * ONNX of the multi-task blocks: expert banks (one MLP per expert, stacked [B, K, H]),
 * softmax gates, the gated mixture Σ_k g_k·E_k, the MMoE layer and the CGC layer of PLE
 * (as their forwards: task t mixes its own experts then the shared ones; the shared gate,
 * when present, mixes every task's experts then the shared ones).
 */
import { ExpertBank, SoftmaxGate } from '../../../blocks/experts/mixture.js';
import { MMoELayer } from '../../../blocks/experts/mmoe-layer.js';
import { CGCLayer } from '../../../blocks/experts/cgc-layer.js';
import { MLP } from '../../../nn/mlp.js';
import { childOf, maybeChild, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitMLP } from './linear.js';

/** Each expert's output [B, H], in order. */
export function emitExpertOutputs(cx: ExportContext, bank: ExpertBank, x: Value): Value[] {
  return Array.from({ length: bank.count }, (_, k) => emitMLP(cx, childOf(bank, String(k), MLP), x));
}

/** Gate weights softmax(net(x)) [B, K]. */
export function emitGate(cx: ExportContext, gate: SoftmaxGate, x: Value): Value {
  return op.softmax(cx.g, emitMLP(cx, childOf(gate, 'net', MLP), x), 1);
}

/** Σ_k gate[b, k]·experts_k[b, :] → [B, H]. */
export function emitMix(cx: ExportContext, gate: Value, experts: Value[]): Value {
  const g = cx.g;
  const stacked = op.concat(
    g,
    experts.map((e) => op.unsqueeze(g, e, [1])),
    1,
  );
  return op.reduceSum(g, op.mul(g, op.unsqueeze(g, gate, [2]), stacked), [1]);
}

/** MMoE layer: one mixture [B, H] per gate. */
export function emitMMoELayer(cx: ExportContext, m: MMoELayer, x: Value): Value[] {
  const experts = emitExpertOutputs(cx, childOf(m, 'experts', ExpertBank), x);
  const out: Value[] = [];
  for (let i = 0; maybeChild(m, `gate${i}`, SoftmaxGate) !== null; i++)
    out.push(emitMix(cx, emitGate(cx, childOf(m, `gate${i}`, SoftmaxGate), x), experts));
  return out;
}

/** CGC layer: T task inputs then the shared input → T task outputs (then the shared output when the layer has a shared gate). */
export function emitCGCLayer(cx: ExportContext, m: CGCLayer, inputs: Value[]): Value[] {
  const T = m.numTasks;
  const sharedX = inputs[T]!;
  const sharedOut = emitExpertOutputs(cx, childOf(m, 'shared', ExpertBank), sharedX);
  const specificOut = Array.from({ length: T }, (_, t) => emitExpertOutputs(cx, childOf(m, `task${t}`, ExpertBank), inputs[t]!));
  const out = specificOut.map((own, t) => emitMix(cx, emitGate(cx, childOf(m, `gate${t}`, SoftmaxGate), inputs[t]!), [...own, ...sharedOut]));
  const sharedGate = maybeChild(m, 'sharedGate', SoftmaxGate);
  if (sharedGate !== null) out.push(emitMix(cx, emitGate(cx, sharedGate, sharedX), [...specificOut.flat(), ...sharedOut]));
  return out;
}
