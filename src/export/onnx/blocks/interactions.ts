/**
 * ONNX of the interaction blocks over field embeddings: the FM second-order term, the DCN
 * cross network and the first-order (linear) logit.
 */
import { LinearLogit } from '../../../blocks/embeddings/linear-logit.js';
import { FeatureInputs, selectFields } from '../../../blocks/embeddings/feature-inputs.js';
import { CrossNet } from '../../../blocks/interactions/cross.js';
import { ExportContext, hasParam, maybeChild, paramOf } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { denseMatrix, emitFeatureInputs } from './feature-inputs.js';

/** FM second order on e [B, F, D]: ½ Σ_d [(Σ_f e)² − Σ_f e²] → [B] (ReduceSum twice). */
export function emitFmSecondOrder(cx: ExportContext, e: Value): Value {
  const g = cx.g;
  const s = op.reduceSum(g, e, [1]); // [B, D]
  const sumSq = op.reduceSum(g, op.mul(g, s, s), [1]); // [B]
  const sqSum = op.reduceSum(g, op.mul(g, e, e), [1, 2]); // [B]
  return op.mul(g, op.sub(g, sumSq, sqSum), g.scalar(0.5));
}

/** Cross network: x_{l+1} = x₀·(x_l·w_l) + b_l + x_l for each layer (params w0, b0, w1, …). */
export function emitCrossNet(cx: ExportContext, net: CrossNet, x0: Value): Value {
  const g = cx.g;
  let x = x0;
  for (let l = 0; hasParam(net, `w${l}`); l++) {
    const s = op.matmul(g, x, cx.weight('cross_w', paramOf(net, `w${l}`))); // [B, 1]
    x = op.add(g, op.add(g, op.mul(g, x0, s), cx.weight('cross_b', paramOf(net, `b${l}`))), x);
  }
  return x;
}

/** First-order logit [B]: Σ of the 1-d embeddings + dense·u + w₀ (each part when present). */
export function emitLinearLogit(cx: ExportContext, m: LinearLogit): Value {
  const g = cx.g;
  const terms: Value[] = [];
  const emb = maybeChild(m, 'embedding', FeatureInputs);
  if (emb !== null) terms.push(op.reduceSum(g, emitFeatureInputs(cx, emb).stacked(), [1, 2]));
  if (hasParam(m, 'dense_weight')) {
    const dense = selectFields(cx.spec, { use: 'linear' }).filter((f) => f.kind === 'dense');
    const w = paramOf(m, 'dense_weight');
    terms.push(op.reshape(g, op.matmul(g, denseMatrix(cx, dense), cx.weight('linear_dense_w', w)), [-1]));
  }
  if (terms.length === 0) terms.push(op.mul(g, op.cast(g, cx.sparse(firstSparse(cx)), 'float'), g.scalar(0)));
  let out = op.addAll(g, terms);
  if (hasParam(m, 'bias')) out = op.add(g, out, cx.weight('linear_bias', paramOf(m, 'bias')));
  return out;
}

function firstSparse(cx: ExportContext): string {
  const f = cx.spec.fields.find((x) => x.kind === 'sparse');
  if (f === undefined) throw new Error('ONNX export: a linear part with no field needs a sparse input to size its batch');
  return f.name;
}
