/** ONNX exports of the crossing zoo: NFM, PNN, DCNv2, xDeepFM, AFM, FFM, FiBiNET, AutoInt (each its model's forward, block by block). */
import { LinearLogit } from '../../../blocks/embeddings/linear-logit.js';
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { KernelOuterProduct } from '../../../blocks/interactions/product.js';
import { CIN } from '../../../blocks/interactions/cin.js';
import { AttentionalPooling } from '../../../blocks/interactions/attentional-pooling.js';
import { FieldAwareEmbeddings } from '../../../blocks/interactions/ffm.js';
import { BilinearInteraction, SENet } from '../../../blocks/interactions/senet-bilinear.js';
import { InteractingLayer } from '../../../blocks/interactions/self-attention.js';
import { BatchNorm } from '../../../nn/batchnorm.js';
import { Linear } from '../../../nn/linear.js';
import { MLP } from '../../../nn/mlp.js';
import { Module } from '../../../nn/module.js';
import { NFM } from '../../../models/nfm.js';
import { PNN } from '../../../models/pnn.js';
import { DCNv2 } from '../../../models/dcnv2.js';
import { XDeepFM } from '../../../models/xdeepfm.js';
import { AFM } from '../../../models/afm.js';
import { FFM } from '../../../models/ffm.js';
import { FiBiNET } from '../../../models/fibinet.js';
import { AutoInt } from '../../../models/autoint.js';
import { childOf, maybeChild, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import { modelExport } from '../model-export.js';
import { emitFeatureInputs } from '../blocks/feature-inputs.js';
import { emitFmSecondOrder, emitLinearLogit } from '../blocks/interactions.js';
import { emitBatchNorm, emitLinear, emitMLP } from '../blocks/linear.js';
import {
  emitAttentionalPooling,
  emitBiInteraction,
  emitBilinear,
  emitCIN,
  emitCrossV2,
  emitFieldAware,
  emitInnerProducts,
  emitInteractingLayer,
  emitKernelOuterProducts,
  emitPairwiseProducts,
  emitSENet,
} from '../blocks/crossing.js';
import * as op from '../ops.js';

const flatLogit = (cx: ExportContext, v: Value) => op.reshape(cx.g, v, [-1]);
const linearPart = (cx: ExportContext, m: Module, name = 'linear') => emitLinearLogit(cx, childOf(m, name, LinearLogit));

/** NFM: linear + DNN(BN?(bi-interaction(e))). */
export const nfmExport = modelExport('nfm', NFM, (cx, m) => {
  let pooled = emitBiInteraction(cx, emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).stacked());
  const bn = maybeChild(m, 'bi_bn', BatchNorm);
  if (bn !== null) pooled = emitBatchNorm(cx, bn, pooled);
  return op.add(cx.g, linearPart(cx, m), flatLogit(cx, emitMLP(cx, childOf(m, 'dnn', MLP), pooled)));
});

/** PNN: DNN([flat e ‖ inner products? ‖ kernel outer products?]). */
export const pnnExport = modelExport('pnn', PNN, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs));
  const parts = [e.flat()];
  if (cx.option<string>('productType', 'string') !== 'outer') parts.push(emitInnerProducts(cx, e.stacked()));
  const outer = maybeChild(m, 'outer_product', KernelOuterProduct);
  if (outer !== null) parts.push(emitKernelOuterProducts(cx, outer, e.stacked()));
  return emitMLP(cx, childOf(m, 'dnn', MLP), op.concat(cx.g, parts, 1));
});

/** DCNv2: fc([stacked DNN?(cross(x₀)) ‖ parallel DNN?(x₀)]). */
export const dcnV2Export = modelExport('dcnv2', DCNv2, (cx, m) => {
  const x0 = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).flat();
  const cross = emitCrossV2(cx, childOf(m, 'cross', Module), x0);
  const stacked = maybeChild(m, 'stacked_dnn', MLP);
  const parallel = maybeChild(m, 'parallel_dnn', MLP);
  const left = stacked === null ? cross : emitMLP(cx, stacked, cross);
  const out = parallel === null ? left : op.concat(cx.g, [left, emitMLP(cx, parallel, x0)], 1);
  return emitLinear(cx, childOf(m, 'fc', Linear), out);
});

/** xDeepFM: linear + CIN(e) + DNN?(flat e). */
export const xDeepFmExport = modelExport('xdeepfm', XDeepFM, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs));
  const y = op.add(cx.g, linearPart(cx, m), flatLogit(cx, emitCIN(cx, childOf(m, 'cin', CIN), e.stacked())));
  const dnn = maybeChild(m, 'dnn', MLP);
  return dnn === null ? y : op.add(cx.g, y, flatLogit(cx, emitMLP(cx, dnn, e.flat())));
});

/** AFM: linear + attention-pooled pair products (FM's pair sum without attention). */
export const afmExport = modelExport('afm', AFM, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).stacked();
  const attention = maybeChild(m, 'afm', AttentionalPooling);
  const pairs = attention === null ? emitFmSecondOrder(cx, e) : flatLogit(cx, emitAttentionalPooling(cx, attention, emitPairwiseProducts(cx, e)));
  return op.add(cx.g, linearPart(cx, m), pairs);
});

/** FFM: linear + field-aware pair sum. */
export const ffmExport = modelExport('ffm', FFM, (cx, m) =>
  op.add(cx.g, linearPart(cx, m), emitFieldAware(cx, childOf(m, 'field_aware', FieldAwareEmbeddings))),
);

/** FiBiNET: linear + DNN(flat [bilinear(e) ‖ bilinear(SENET(e))]). */
export const fibinetExport = modelExport('fibinet', FiBiNET, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).stacked();
  const bilinear = childOf(m, 'bilinear', BilinearInteraction);
  const pq = op.concat(cx.g, [emitBilinear(cx, bilinear, e), emitBilinear(cx, bilinear, emitSENet(cx, childOf(m, 'senet', SENet), e))], 1);
  const flat = op.reshape(cx.g, pq, [-1, pq.shape[1]! * pq.shape[2]!]);
  return op.add(cx.g, linearPart(cx, m), flatLogit(cx, emitMLP(cx, childOf(m, 'dnn', MLP), flat)));
});

/** AutoInt: fc(flat(interacting layers(e))) + DNN?(flat e) + linear?. */
export const autoIntExport = modelExport('autoint', AutoInt, (cx, m) => {
  const e = emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs));
  let x = e.stacked();
  for (let l = 0; maybeChild(m, `attention${l}`, InteractingLayer) !== null; l++)
    x = emitInteractingLayer(cx, childOf(m, `attention${l}`, InteractingLayer), x);
  let y = flatLogit(cx, emitLinear(cx, childOf(m, 'fc', Linear), op.reshape(cx.g, x, [-1, x.shape[1]! * x.shape[2]!])));
  const dnn = maybeChild(m, 'dnn', MLP);
  if (dnn !== null) y = op.add(cx.g, y, flatLogit(cx, emitMLP(cx, dnn, e.flat())));
  const linear = maybeChild(m, 'linear', LinearLogit);
  return linear === null ? y : op.add(cx.g, y, emitLinearLogit(cx, linear));
});
