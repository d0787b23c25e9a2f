/** ONNX exports of the shallow models: LR, FM (first-order logit + FM term). */
import { LinearLogit } from '../../../blocks/embeddings/linear-logit.js';
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { LR } from '../../../models/lr.js';
import { FM } from '../../../models/fm.js';
import { childOf } from '../context.js';
import { modelExport } from '../model-export.js';
import { emitFeatureInputs } from '../blocks/feature-inputs.js';
import { emitFmSecondOrder, emitLinearLogit } from '../blocks/interactions.js';
import * as op from '../ops.js';

/** LR: the linear logit. */
export const lrExport = modelExport('lr', LR, (cx, m) => emitLinearLogit(cx, childOf(m, 'linear', LinearLogit)));

/** FM: linear logit + FM second order over the embeddings. */
export const fmExport = modelExport('fm', FM, (cx, m) =>
  op.add(
    cx.g,
    emitLinearLogit(cx, childOf(m, 'linear', LinearLogit)),
    emitFmSecondOrder(cx, emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).stacked()),
  ),
);
