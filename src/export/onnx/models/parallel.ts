/** ONNX exports of the parallel "wide + deep" models: Wide&Deep, DeepFM, DCN (each the sum or concatenation of its parts, as its forward). */
import { LinearLogit } from '../../../blocks/embeddings/linear-logit.js';
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { CrossNet } from '../../../blocks/interactions/cross.js';
import { MLP } from '../../../nn/mlp.js';
import { Linear } from '../../../nn/linear.js';
import { WideDeep } from '../../../models/wide-deep.js';
import { DeepFM } from '../../../models/deepfm.js';
import { DCN } from '../../../models/dcn.js';
import { childOf, maybeChild } from '../context.js';
import { modelExport } from '../model-export.js';
import { emitFeatureInputs } from '../blocks/feature-inputs.js';
import { emitCrossNet, emitFmSecondOrder, emitLinearLogit } from '../blocks/interactions.js';
import { emitLinear, emitMLP } from '../blocks/linear.js';
import * as op from '../ops.js';

/** Wide&Deep: wide logit + DNN(flat embeddings). */
export const wideDeepExport = modelExport('widedeep', WideDeep, (cx, m) => {
  const deep = emitMLP(cx, childOf(m, 'dnn', MLP), emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).flat());
  return op.add(cx.g, emitLinearLogit(cx, childOf(m, 'wide', LinearLogit)), op.reshape(cx.g, deep, [-1]));
});

/** DeepFM: linear + FM(e) + DNN(flat e). */
export const deepFmExport = modelExport('deepfm', DeepFM, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs));
  const fm = op.add(cx.g, emitLinearLogit(cx, childOf(m, 'linear', LinearLogit)), emitFmSecondOrder(cx, e.stacked()));
  return op.add(cx.g, fm, op.reshape(cx.g, emitMLP(cx, childOf(m, 'dnn', MLP), e.flat()), [-1]));
});

/** DCN: fc([cross(x₀) ‖ DNN(x₀)]). */
export const dcnExport = modelExport('dcn', DCN, (cx, m) => {
  const x0 = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).flat();
  const cross = emitCrossNet(cx, childOf(m, 'cross', CrossNet), x0);
  const dnn = maybeChild(m, 'dnn', MLP);
  const combined = dnn === null ? cross : op.concat(cx.g, [cross, emitMLP(cx, dnn, x0)], 1);
  return emitLinear(cx, childOf(m, 'fc', Linear), combined);
});
