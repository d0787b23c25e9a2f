/** ONNX exports of the sequence models: DIN (target attention), DIEN (GRU extractor, attentional GRU evolution) and DeepMCP (its prediction subnet). */
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { TargetAttention } from '../../../blocks/attention/target-attention.js';
import { GRU } from '../../../blocks/sequence/gru.js';
import { Linear } from '../../../nn/linear.js';
import { MLP } from '../../../nn/mlp.js';
import { DIN, sequencePairs } from '../../../models/din.js';
import { DIEN, GRU_TYPES } from '../../../models/dien.js';
import { DeepMCP } from '../../../models/deepmcp.js';
import { childOf, maybeChild, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import { modelExport } from '../model-export.js';
import { emitFeatureInputs, emitSequence, type EmittedInputs } from '../blocks/feature-inputs.js';
import { emitMLP } from '../blocks/linear.js';
import { emitGRU, emitMaskedSoftmax, emitTargetAttention } from '../blocks/sequence.js';
import * as op from '../ops.js';

/** The candidate query [B, Σd] and the behaviour keys [B, L, Σd] of the (target, sequence) pairs, with the first sequence's mask. */
function queryAndKeys(cx: ExportContext, fi: FeatureInputs, e: EmittedInputs, pairs: Array<[string, string]>) {
  const seqs = pairs.map(([, s]) => emitSequence(cx, fi, s));
  const query = op.concat(
    cx.g,
    pairs.map(([t]) => e.field(t)),
    1,
  );
  const keys = op.concat(
    cx.g,
    seqs.map((s) => s.values),
    2,
  );
  return { query, keys, mask: seqs[0]!.mask };
}

/** DIN: DNN([flat e ‖ attention(candidate, history)]). */
export const dinExport = modelExport('din', DIN, (cx, m) => {
  const fi = childOf(m, 'embedding', FeatureInputs);
  const e = emitFeatureInputs(cx, fi);
  const pairs = sequencePairs(cx.spec, cx.optionNames('dinTargetField'), cx.optionNames('dinSequenceField'), 'din');
  const { query, keys, mask } = queryAndKeys(cx, fi, e, pairs);
  const useSoftmax = cx.option<boolean>('dinUseSoftmax', 'boolean');
  const interest = emitTargetAttention(cx, childOf(m, 'attention', TargetAttention), query, keys, mask, useSoftmax);
  return emitMLP(cx, childOf(m, 'dnn', MLP), op.concat(cx.g, [e.flat(), interest], 1));
});

/** DIEN: extractor GRU over the behaviours; bilinear attention with the candidate; AUGRU / AGRU / AIGRU / GRU evolution; DNN([flat e ‖ last state]), with `enable_sum_pooling` DNN([flat e ‖ last ‖ s ‖ e_a ⊙ s]), s the masked sum of the behaviours. */
export const dienExport = modelExport('dien', DIEN, (cx, m) => {
  const g = cx.g;
  const fi = childOf(m, 'embedding', FeatureInputs);
  const e = emitFeatureInputs(cx, fi);
  const pairs = sequencePairs(cx.spec, cx.optionNames('dienTargetField'), cx.optionNames('dienSequenceField'), 'dien');
  const { query, keys, mask } = queryAndKeys(cx, fi, e, pairs);
  const type = GRU_TYPES[cx.option<string>('gruType', 'string').toLowerCase()];
  if (type === undefined) throw new Error(`ONNX export: unknown DIEN gru_type '${String(cx.options.gruType)}'`);
  const { states } = emitGRU(cx, childOf(m, 'extractor', GRU), keys, mask);
  let att: Value | undefined;
  const bilinear = maybeChild(m, 'attention', Linear);
  if (bilinear !== null) {
    const hw = op.linear(g, states, cx.weight('dien_att_w', bilinear.weight), null); // [B, L, D]
    const logits = op.reduceSum(g, op.mul(g, hw, op.unsqueeze(g, query, [1])), [2]); // [B, L]
    att = cx.option<boolean>('useAttentionSoftmax', 'boolean') ? emitMaskedSoftmax(cx, logits, mask) : logits;
  }
  const { last } = emitGRU(cx, childOf(m, 'evolution', GRU), states, mask, { mode: type.mode, ...(att ? { att } : {}), scaleInput: type.scaleInput });
  const parts = [e.flat(), last];
  if (cx.options.enableSumPooling === true) {
    // artifacts saved before the option existed lack it: off
    const pooled = op.reduceSum(g, keys, [1], false); // padded steps are masked to zero vectors
    parts.push(pooled, op.mul(g, query, pooled));
  }
  return emitMLP(cx, childOf(m, 'dnn', MLP), op.concat(g, parts, 1));
});

/** DeepMCP: only the prediction subnet is served, DNN(flat e); the matching and correlation subnets are training losses. */
export const deepMcpExport = modelExport('deepmcp', DeepMCP, (cx, m) =>
  emitMLP(cx, childOf(m, 'dnn', MLP), emitFeatureInputs(cx, childOf(m, 'embedding', FeatureInputs)).flat()),
);
