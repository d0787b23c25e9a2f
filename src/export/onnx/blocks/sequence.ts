/**
 * ONNX of the sequence blocks: DIN's target attention (activation unit on
 * [q, k, q − k, q ⊙ k], scores zeroed at padding or a softmax over the valid positions,
 * a fully padded row giving zeros) and the GRU unrolled step by step (ONNX's GRU op
 * weighs the previous state by its update gate where DIEN's weighs the candidate, and has
 * no attentional update; the unrolled cell is exactly `gruStep`):
 *   u = σ(gx_u + gh_u), r = σ(gx_r + gh_r), ĥ = tanh(gx_n + r ⊙ gh_n),
 *   h = (1 − w) ⊙ h′ + w ⊙ ĥ  with w = u (GRU), a·u (AUGRU) or a (AGRU),
 * and a row past its length keeps h′ (Where on the length mask).
 */
import { TargetAttention } from '../../../blocks/attention/target-attention.js';
import { GRU, type GruMode } from '../../../blocks/sequence/gru.js';
import { MLP } from '../../../nn/mlp.js';
import { childOf, paramOf, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitMLP } from './linear.js';

/** Softmax over the last axis restricted to mask = 1 positions; rows with no valid position give zeros. */
export function emitMaskedSoftmax(cx: ExportContext, scores: Value, mask: Value): Value {
  const g = cx.g;
  const valid = op.cast(g, mask, 'bool');
  const s = op.softmax(g, op.where(g, valid, scores, g.scalar(-1e30)), scores.shape.length - 1);
  return op.mul(g, s, mask);
}

/** DIN attention pooling: q [B, D], keys [B, L, D], mask [B, L] → Σ_l a_l·k_l [B, D]. */
export function emitTargetAttention(cx: ExportContext, m: TargetAttention, query: Value, keys: Value, mask: Value, useSoftmax: boolean): Value {
  const g = cx.g;
  const [, L, D] = keys.shape as [number, number, number];
  const q = op.mul(g, op.unsqueeze(g, query, [1]), g.floats('ones', new Float32Array(L * D).fill(1), [1, L, D])); // broadcast to [B, L, D]
  const features = op.concat(g, [q, keys, op.sub(g, q, keys), op.mul(g, q, keys)], 2);
  const unit = childOf(m, 'unit', MLP);
  const scores = op.reshape(g, emitMLP(cx, unit, op.reshape(g, features, [-1, 4 * D])), [-1, L]);
  const w = useSoftmax ? emitMaskedSoftmax(cx, scores, mask) : op.mul(g, scores, mask);
  return op.reshape(g, op.matmul(g, op.unsqueeze(g, w, [1]), keys), [-1, D]);
}

/** A GRU over x [B, L, I] with the [B, L] length mask; returns every step's state [B, L, H] and the last [B, H]. */
export function emitGRU(
  cx: ExportContext,
  gru: GRU,
  x: Value,
  mask: Value,
  opts: { mode?: GruMode; att?: Value; scaleInput?: boolean } = {},
): { states: Value; last: Value } {
  const g = cx.g;
  const [, L, I] = x.shape as [number, number, number];
  const H = gru.hiddenDim;
  const mode = opts.mode ?? 'gru';
  let input = x;
  if (opts.scaleInput) input = op.mul(g, x, op.unsqueeze(g, opts.att!, [2]));
  const gxAll = op.linear(g, input, cx.weight('gru_w_ih', paramOf(gru, 'weight_ih')), cx.weight('gru_b_ih', paramOf(gru, 'bias_ih'))); // [B, L, 3H]
  const whh = cx.weight('gru_w_hh', paramOf(gru, 'weight_hh')),
    bhh = cx.weight('gru_b_hh', paramOf(gru, 'bias_hh'));
  const gate = (v: Value, k: number) => op.slice(g, v, 1, k * H, (k + 1) * H);
  let h = op.zerosLike(g, op.reshape(g, op.slice(g, mask, 1, 0, 1), [-1]), [H]);
  const states: Value[] = [];
  const one = g.scalar(1);
  for (let t = 0; t < L; t++) {
    const gx = op.reshape(g, op.slice(g, gxAll, 1, t, t + 1), [-1, 3 * H]);
    const gh = op.linear(g, h, whh, bhh);
    const u = op.sigmoid(g, op.add(g, gate(gx, 0), gate(gh, 0)));
    const r = op.sigmoid(g, op.add(g, gate(gx, 1), gate(gh, 1)));
    const n = op.tanh(g, op.add(g, gate(gx, 2), op.mul(g, r, gate(gh, 2))));
    const a = mode === 'gru' ? null : op.slice(g, opts.att!, 1, t, t + 1); // [B, 1]
    const w = mode === 'gru' ? u : mode === 'augru' ? op.mul(g, a!, u) : a!;
    const next = op.add(g, op.mul(g, op.sub(g, one, w), h), op.mul(g, w, n));
    const valid = op.cast(g, op.slice(g, mask, 1, t, t + 1), 'bool'); // [B, 1]
    h = op.where(g, valid, next, h);
    states.push(op.unsqueeze(g, h, [1]));
  }
  return { states: op.concat(g, states, 1), last: h };
}
