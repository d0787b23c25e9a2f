/**
 * ONNX exports of the models that generate or select feature interactions: FGCNN (CNN-generated
 * fields + IPNN) and AutoFIS (gated FM / DeepFM pairs), each its model's forward block by block.
 */
import { LinearLogit } from '../../../blocks/embeddings/linear-logit.js';
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { FeatureGeneration } from '../../../blocks/interactions/feature-generation.js';
import { BatchNorm } from '../../../nn/batchnorm.js';
import { MLP } from '../../../nn/mlp.js';
import { FGCNN } from '../../../models/fgcnn.js';
import { AutoFIS } from '../../../models/autofis.js';
import { childOf, maybeChild } from '../context.js';
import { modelExport } from '../model-export.js';
import { emitFeatureInputs } from '../blocks/feature-inputs.js';
import { emitInnerProducts } from '../blocks/crossing.js';
import { emitFeatureGeneration } from '../blocks/feature-generation.js';
import { emitGatedInnerProducts, pairIndices } from '../blocks/gated-pairs.js';
import { emitLinearLogit } from '../blocks/interactions.js';
import { emitMLP } from '../blocks/linear.js';
import * as op from '../ops.js';

/** FGCNN: E = [e ‖ generated(e or the generator's own embeddings)], DNN([flat e ‖ flat new fields ‖ inner products of E]). */
export const fgcnnExport = modelExport('fgcnn', FGCNN, (cx, m) => {
  const g = cx.g;
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs));
  const raw = e.stacked();
  const own = maybeChild(m, 'fg_embedding', FeatureInputs);
  const generated = emitFeatureGeneration(cx, childOf(m, 'fgcnn', FeatureGeneration), own === null ? raw : emitFeatureInputs(cx, own).stacked(), {
    kernelHeights: cx.optionIntegers('kernelHeights'),
    poolingSizes: cx.optionIntegers('poolingSizes'),
    activation: cx.option<string>('convActivation', 'string'),
  });
  const all = op.concat(g, [raw, generated], 1);
  const newFlat = op.reshape(g, generated, [-1, generated.shape[1]! * generated.shape[2]!]);
  return emitMLP(cx, childOf(m, 'dnn', MLP), op.concat(g, [e.flat(), newFlat, emitInnerProducts(cx, all)], 1));
});

/** AutoFIS: linear + Σ_kept α·BN(⟨e_i, e_j⟩) (when a pair is gated) + DNN?(flat e). */
export const autoFisExport = modelExport('autofis', AutoFIS, (cx, m) => {
  const g = cx.g;
  const embedding = childOf(m, 'embedding', FeatureInputs);
  const e = emitFeatureInputs(cx, embedding);
  let y = emitLinearLogit(cx, childOf(m, 'linear', LinearLogit));
  if (m.gates !== null) {
    const index = pairIndices(
      embedding.fields.map((f) => f.name),
      m.pairNames,
    );
    y = op.add(g, y, emitGatedInnerProducts(cx, e.stacked(), index, childOf(m, 'interaction_bn', BatchNorm), m.gates));
  }
  const dnn = maybeChild(m, 'dnn', MLP);
  return dnn === null ? y : op.add(g, y, op.reshape(g, emitMLP(cx, dnn, e.flat()), [-1]));
});
