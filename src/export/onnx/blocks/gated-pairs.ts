/**
 * ONNX of AutoFIS's gated pair interactions (the middle term of `AutoFIS.forward`):
 *   Σ_{p kept} α_p·BN(⟨e_i, e_j⟩)_p → [B],
 * the inner products of all field pairs (`fieldPairs` order), a Gather of the kept pairs on
 * the pair axis when not all are kept, the BN without scale and shift in eval mode as a
 * constant scale and shift, and a MatMul with the gates α [P, 1].
 */
import { fieldPairs } from '../../../blocks/interactions/pairs.js';
import type { BatchNorm } from '../../../nn/batchnorm.js';
import type { Tensor } from '../../../engine/tensor.js';
import type { ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitInnerProducts } from './crossing.js';
import { emitBatchNorm } from './linear.js';

/** Indices among all `fieldPairs` of the pairs named 'a:b' over the fields `names` (an error naming an unknown pair). */
export function pairIndices(names: readonly string[], pairs: readonly string[]): number[] {
  const all = fieldPairs(names.length);
  const allNames = Array.from({ length: all.count }, (_, p) => `${names[all.left[p]!]!}:${names[all.right[p]!]!}`);
  return pairs.map((n) => {
    const p = allNames.indexOf(n);
    if (p < 0) throw new Error(`ONNX export: gated pair '${n}' is not a pair of the embedded fields ${names.join(', ')}`);
    return p;
  });
}

/** Σ_p α_p·BN(⟨e_i, e_j⟩)_p over the pairs `index` (in gate order) of e [B, F, D] → [B]. */
export function emitGatedInnerProducts(cx: ExportContext, e: Value, index: readonly number[], norm: BatchNorm, gates: Tensor): Value {
  const g = cx.g;
  if (index.length !== gates.size) throw new Error(`ONNX export: ${index.length} gated pairs but ${gates.size} gates`);
  let products = emitInnerProducts(cx, e); // [B, all pairs]
  if (index.length !== products.shape[1]) products = op.gather(g, products, g.ints('kept_pairs', [...index]), 1);
  const gated = op.matmul(g, emitBatchNorm(cx, norm, products), cx.g.weight('pair_gates', gates.data, [gates.size, 1])); // [B, 1]
  return op.reshape(g, gated, [-1]);
}
