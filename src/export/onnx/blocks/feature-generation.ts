/**
 * ONNX of FGCNN's feature generation (`FeatureGeneration`), op for op as its forward on the
 * channels-last layout [B·D, H, C]:
 *   convolution (k × 1, padding (k−1)/2): Pad with zeros on the row axis, one Gather of the
 *     k-row windows ([H, k] row indices) → [B·D, H, k, C] → Reshape [B·D, H, k·C] (the
 *     engine's `unfoldRows`), then MatMul + Add with the (k·C → C') Linear;
 *   batch norm (eval) as a constant scale and shift, the named activation;
 *   max pooling (p × 1, stride p, −∞ padding H mod p on both sides, `maxPoolRows`): Pad with
 *     the float minimum to H_out·p rows (or Slice when the last window ends earlier),
 *     Reshape [B·D, H_out, p, C], ReduceMax over the window axis;
 *   recombination: Reshape [B, D·H·C], MatMul + Add, activation, Reshape [B, H·R, D];
 * and the new fields of all layers concatenated on the field axis. The window of a padded
 * position holds the padding value itself (0 for the convolution, −3.4e38 for pooling), so
 * the graph computes exactly the engine's values; the layer sizes come from the weights,
 * the kernel heights, pooling sizes and activation from the model options.
 */
import { FeatureGeneration } from '../../../blocks/interactions/feature-generation.js';
import { pooledRows } from '../../../engine/ops/conv.js';
import { BatchNorm } from '../../../nn/batchnorm.js';
import { Linear } from '../../../nn/linear.js';
import { childOf, maybeChild, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitBatchNorm, emitLinear, emitNamedActivation } from './linear.js';

/** The settings of a FeatureGeneration the weights do not show (FGCNN's option names). */
export interface FeatureGenerationSettings {
  kernelHeights: number[];
  poolingSizes: number[];
  activation: string;
}

/** Most negative float32 (the −∞ padding of max pooling, never the maximum of a window with a real row). */
const FLOAT_LOWEST = -3.4028234663852886e38;

/** im2col of x [N, H, C] for kernel height k and zero padding `pad` → [N, H_out, k·C] (`unfoldRows`). */
export function emitUnfoldRows(cx: ExportContext, x: Value, k: number, pad: number): Value {
  const g = cx.g;
  const [, H, C] = x.shape as [number, number, number];
  const Ho = H + 2 * pad - k + 1;
  if (Ho < 1) throw new Error(`ONNX export: unfoldRows: kernel height ${k} with padding ${pad} leaves no output row for ${H} rows`);
  const padded = op.pad(g, x, 1, pad, pad); // [N, H + 2·pad, C]
  const rows = Array.from({ length: Ho * k }, (_, i) => Math.floor(i / k) + (i % k)); // window h, offset t → row h + t
  const windows = op.gather(g, padded, g.ints('window_rows', rows, [Ho, k]), 1); // [N, Ho, k, C]
  return op.reshape(g, windows, [-1, Ho, k * C]);
}

/** Max pooling of x [N, H, C] with window and stride p and −∞ padding `pad` on both sides → [N, H_out, C] (`maxPoolRows`). */
export function emitMaxPoolRows(cx: ExportContext, x: Value, p: number, pad: number): Value {
  const g = cx.g;
  const [, H, C] = x.shape as [number, number, number];
  const Ho = pooledRows(H, p, pad);
  if (Ho < 1 || pad >= p || (Ho - 1) * p - pad >= H) {
    throw new Error(`ONNX export: maxPoolRows: pooling size ${p} with padding ${pad} over ${H} rows leaves a window with no row`);
  }
  if (p === 1) return x;
  const after = Ho * p - pad - H; // rows after the input covered by the last window (negative: rows no window covers)
  let padded = op.pad(g, x, 1, pad, Math.max(after, 0), FLOAT_LOWEST);
  if (after < 0) padded = op.slice(g, padded, 1, 0, Ho * p);
  return op.reduceMax(g, op.reshape(g, padded, [-1, Ho, p, C]), [2]);
}

/** The graph of `gen.forward(e)`: e [B, F, D] → new fields [B, Σ H_i·R_i, D]. */
export function emitFeatureGeneration(cx: ExportContext, gen: FeatureGeneration, e: Value, s: FeatureGenerationSettings): Value {
  const g = cx.g;
  const [, F, D] = e.shape as [number, number, number];
  let x = op.reshape(g, op.transpose(g, e, [0, 2, 1]), [-1, F, 1]); // [B·D, H, C] with one channel
  const generated: Value[] = [];
  for (let i = 0; maybeChild(gen, `conv${i}`, Linear) !== null; i++) {
    const k = s.kernelHeights[i],
      p = s.poolingSizes[i];
    if (k === undefined || p === undefined) throw new Error(`ONNX export: FGCNN layer ${i + 1} has no kernel height or pooling size in the options`);
    const H = x.shape[1]!;
    let y = emitLinear(cx, childOf(gen, `conv${i}`, Linear), emitUnfoldRows(cx, x, k, (k - 1) / 2)); // [B·D, H, C_i]
    const bn = maybeChild(gen, `conv_bn${i}`, BatchNorm);
    if (bn !== null) y = emitBatchNorm(cx, bn, y);
    x = emitMaxPoolRows(cx, emitNamedActivation(cx, s.activation, y), p, H % p); // [B·D, H_i, C_i]
    const flat = op.reshape(g, x, [-1, D * x.shape[1]! * x.shape[2]!]);
    const r = emitNamedActivation(cx, s.activation, emitLinear(cx, childOf(gen, `recombine${i}`, Linear), flat));
    generated.push(op.reshape(g, r, [-1, r.shape[1]! / D, D]));
  }
  if (generated.length === 0) throw new Error('ONNX export: FGCNN feature generation has no convolution layer');
  return op.concat(g, generated, 1);
}
