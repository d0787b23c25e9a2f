/** ONNX exports of the multi-task models: Shared-Bottom, MMoE / MoE, PLE, ESMM (one output per task; ESMM's cvr too). */
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { MMoELayer } from '../../../blocks/experts/mmoe-layer.js';
import { CGCLayer } from '../../../blocks/experts/cgc-layer.js';
import { MLP } from '../../../nn/mlp.js';
import type { RankingModel } from '../../../models/base.js';
import { SharedBottom } from '../../../models/shared-bottom.js';
import { MMoE } from '../../../models/mmoe.js';
import { PLE } from '../../../models/ple.js';
import { ESMM } from '../../../models/esmm.js';
import { childOf, maybeChild, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import { modelExport, type Probability } from '../model-export.js';
import { emitFeatureInputs } from '../blocks/feature-inputs.js';
import { emitMLP } from '../blocks/linear.js';
import { emitCGCLayer, emitMMoELayer } from '../blocks/experts.js';
import * as op from '../ops.js';

/** Task t's logit: tower t on its input. */
function towers(cx: ExportContext, m: RankingModel, inputs: (t: number) => Value): Record<string, Value> {
  return Object.fromEntries(m.tasks.map((name, t) => [name, op.reshape(cx.g, emitMLP(cx, childOf(m, `tower${t}`, MLP), inputs(t)), [-1])]));
}

const flatInputs = (cx: ExportContext, m: RankingModel) => emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).flat();

/** Shared-Bottom: tower_t(bottom(flat e)). */
export const sharedBottomExport = modelExport('shared_bottom', SharedBottom, (cx, m) => {
  const shared = emitMLP(cx, childOf(m, 'bottom', MLP), flatInputs(cx, m));
  return towers(cx, m, () => shared);
});

/** MMoE / MoE: tower_t(mixture_t (or the one mixture)). */
const mmoeEmit = (cx: ExportContext, m: MMoE) => {
  const mixed = emitMMoELayer(cx, childOf(m, 'mixture', MMoELayer), flatInputs(cx, m));
  return towers(cx, m, (t) => mixed[mixed.length === 1 ? 0 : t]!);
};
/** MMoE: one gate per task. */
export const mmoeExport = modelExport('mmoe', MMoE, mmoeEmit);
/** MoE: one gate shared by the tasks. */
export const moeExport = modelExport('moe', MMoE, mmoeEmit);

/** PLE: stacked CGC layers, then tower_t on task t's output. */
export const pleExport = modelExport('ple', PLE, (cx, m) => {
  const x = flatInputs(cx, m);
  let h: Value[] = Array.from({ length: m.tasks.length + 1 }, () => x);
  for (let l = 0; maybeChild(m, `cgc${l}`, CGCLayer) !== null; l++) h = emitCGCLayer(cx, childOf(m, `cgc${l}`, CGCLayer), h);
  return towers(cx, m, (t) => h[t]!);
});

/** ESMM: pCTR = σ(ctr tower), pCVR = σ(cvr tower), pCTCVR = pCTR·pCVR (the product of the probabilities, not of a logit). */
export const esmmExport = modelExport('esmm', ESMM, (cx, m) => {
  const x = flatInputs(cx, m);
  const ctr = op.reshape(cx.g, emitMLP(cx, childOf(m, 'ctrTower', MLP), x), [-1]);
  const cvr = op.reshape(cx.g, emitMLP(cx, childOf(m, 'cvrTower', MLP), x), [-1]);
  const [ctrName, ctcvrName] = m.tasks as [string, string];
  const cvrName = m.outputNames()[2]!;
  const ctcvr: Probability = { probability: op.mul(cx.g, op.sigmoid(cx.g, ctr), op.sigmoid(cx.g, cvr)) };
  return { [ctrName]: ctr, [ctcvrName]: ctcvr, [cvrName]: cvr };
});
