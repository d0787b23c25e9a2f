/**
 * ONNX of the crossing blocks (src/blocks/interactions): bi-interaction pooling, field-pair
 * products (inner, kernel outer, element-wise), CIN, AFM's attentional pooling, FFM's
 * field-aware pair sum, SENET, the bilinear interaction, AutoInt's interacting layer and
 * the DCNv2 cross networks. Each mirrors its block's forward op by op, so the formulas are
 * the blocks' (see their doc comments); field pairs are `fieldPairs` order (f < g, row-major).
 */
import { fieldPairs } from '../../../blocks/interactions/pairs.js';
import { KernelOuterProduct } from '../../../blocks/interactions/product.js';
import { CIN } from '../../../blocks/interactions/cin.js';
import { AttentionalPooling } from '../../../blocks/interactions/attentional-pooling.js';
import { FieldAwareEmbeddings } from '../../../blocks/interactions/ffm.js';
import { BilinearInteraction, SENet } from '../../../blocks/interactions/senet-bilinear.js';
import { InteractingLayer } from '../../../blocks/interactions/self-attention.js';
import { CrossNetMix, FullRankCrossNet, LowRankCrossNet } from '../../../blocks/interactions/cross-v2.js';
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import { Linear } from '../../../nn/linear.js';
import { LayerNorm } from '../../../nn/layernorm.js';
import type { Module } from '../../../nn/module.js';
import { childOf, hasParam, maybeChild, paramOf, type ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitFeatureInputs } from './feature-inputs.js';
import { emitLayerNorm, emitLinear } from './linear.js';

/** NFM's bi-interaction pooling: ½[(Σ_f e)² − Σ_f e²] → [B, D]. */
export function emitBiInteraction(cx: ExportContext, e: Value): Value {
  const g = cx.g;
  const s = op.reduceSum(g, e, [1]);
  return op.mul(g, op.sub(g, op.mul(g, s, s), op.reduceSum(g, op.mul(g, e, e), [1])), g.scalar(0.5));
}

/** The left and right fields of every pair: two Gathers on axis 1, each [B, P, D]. */
export function emitPairSides(cx: ExportContext, e: Value): { left: Value; right: Value } {
  const { left, right } = fieldPairs(e.shape[1]!);
  return {
    left: op.gather(cx.g, e, cx.g.ints('pair_left', [...left]), 1),
    right: op.gather(cx.g, e, cx.g.ints('pair_right', [...right]), 1),
  };
}

/** Element-wise pair products e_f ⊙ e_g → [B, P, D]. */
export function emitPairwiseProducts(cx: ExportContext, e: Value): Value {
  const { left, right } = emitPairSides(cx, e);
  return op.mul(cx.g, left, right);
}

/** Inner products ⟨e_f, e_g⟩ → [B, P]. */
export function emitInnerProducts(cx: ExportContext, e: Value): Value {
  return op.reduceSum(cx.g, emitPairwiseProducts(cx, e), [2]);
}

/** Kernel outer products e_fᵀ K_p e_g → [B, P]: one batched MatMul over the pairs. */
export function emitKernelOuterProducts(cx: ExportContext, m: KernelOuterProduct, e: Value): Value {
  const g = cx.g;
  const { left, right } = emitPairSides(cx, e);
  const kT = op.transpose(g, cx.weight('outer_kernel', m.kernel), [0, 2, 1]); // [P, c, d]
  const t = op.transpose(g, op.matmul(g, op.transpose(g, right, [1, 0, 2]), kT), [1, 0, 2]); // [B, P, d] = Σ_c K[p,d,c] e_g[c]
  return op.reduceSum(g, op.mul(g, left, t), [2]);
}

/** CIN on e [B, F, D] → [B, outDim]: per layer the Hadamard products with X⁰, a Linear over F·H_k channels, sum pooling over D. */
export function emitCIN(cx: ExportContext, cin: CIN, e: Value): Value {
  const g = cx.g;
  const [, F, D] = e.shape as [number, number, number];
  const x0 = op.unsqueeze(g, op.transpose(g, e, [0, 2, 1]), [3]); // [B, D, F, 1]
  let xk = op.transpose(g, e, [0, 2, 1]); // [B, D, H]
  const pooled: Value[] = [];
  for (let k = 0; maybeChild(cin, `layer${k}`, Linear) !== null; k++) {
    const layer = childOf(cin, `layer${k}`, Linear);
    const H = xk.shape[2]!;
    const z = op.reshape(g, op.mul(g, x0, op.unsqueeze(g, xk, [2])), [-1, D, F * H]);
    xk = emitLinear(cx, layer, z); // [B, D, H_{k+1}]
    pooled.push(op.reduceSum(g, xk, [1]));
  }
  return emitLinear(cx, childOf(cin, 'fc', Linear), op.concat(g, pooled, 1));
}

/** AFM's attentional pooling of pair products v [B, P, D] → [B, 1]. */
export function emitAttentionalPooling(cx: ExportContext, m: AttentionalPooling, v: Value): Value {
  const g = cx.g;
  const P = v.shape[1]!;
  const h = op.relu(g, emitLinear(cx, childOf(m, 'attention', Linear), v));
  const scores = op.reshape(g, emitLinear(cx, childOf(m, 'attention_h', Linear), h), [-1, P]);
  const a = op.unsqueeze(g, op.softmax(g, scores, 1), [2]);
  return emitLinear(cx, childOf(m, 'weight_p', Linear), op.reduceSum(g, op.mul(g, a, v), [1]));
}

/** FFM's field-aware pair sum Σ_{f<g} ⟨copy[g−1]_f, copy[f]_g⟩ → [B]: the copies stacked, two Gathers, one ReduceSum. */
export function emitFieldAware(cx: ExportContext, m: FieldAwareEmbeddings): Value {
  const g = cx.g;
  const F = m.numFields;
  const copies: Value[] = [];
  for (let k = 0; k < F - 1; k++) copies.push(op.unsqueeze(g, emitFeatureInputs(cx, childOf(m, `copy${k}`, FeatureInputs)).stacked(), [1]));
  const D = copies[0]!.shape[3]!;
  const all = op.reshape(g, op.concat(g, copies, 1), [-1, (F - 1) * F, D]); // row k·F + f = copy k, field f
  const { left, right } = fieldPairs(F);
  const li = [...left].map((f, p) => (right[p]! - 1) * F + f);
  const ri = [...right].map((gg, p) => left[p]! * F + gg);
  const l = op.gather(g, all, g.ints('ffm_left', li), 1);
  const r = op.gather(g, all, g.ints('ffm_right', ri), 1);
  return op.reduceSum(g, op.mul(g, l, r), [1, 2]);
}

/** SENET re-weighting of e [B, F, D]: a = ReLU(W₂ ReLU(W₁ mean_d e)), v = a ⊙ e. */
export function emitSENet(cx: ExportContext, m: SENet, e: Value): Value {
  const g = cx.g;
  const z = op.reduceMean(g, e, [2]);
  const a = op.relu(g, emitLinear(cx, childOf(m, 'w2', Linear), op.relu(g, emitLinear(cx, childOf(m, 'w1', Linear), z))));
  return op.mul(g, e, op.unsqueeze(g, a, [2]));
}

/** FiBiNET's bilinear interaction (e_f·W) ⊙ e_g → [B, P, D] for the three weight sharings. */
export function emitBilinear(cx: ExportContext, m: BilinearInteraction, e: Value): Value {
  const g = cx.g;
  const [, F, D] = e.shape as [number, number, number];
  const { left: li, right: ri } = fieldPairs(F);
  const w = paramOf(m, 'weight');
  const right = op.gather(g, e, g.ints('pair_right', [...ri]), 1);
  let left: Value;
  if (m.type === 'field_all') {
    left = op.gather(g, op.matmul(g, e, g.weight('bilinear_w', w.data, [D, D])), g.ints('pair_left', [...li]), 1);
  } else if (m.type === 'field_each') {
    const t = op.transpose(g, op.matmul(g, op.transpose(g, e, [1, 0, 2]), cx.weight('bilinear_w', w)), [1, 0, 2]);
    left = op.gather(g, t, g.ints('pair_left', [...li]), 1);
  } else {
    const l = op.transpose(g, op.gather(g, e, g.ints('pair_left', [...li]), 1), [1, 0, 2]); // [P, B, D]
    left = op.transpose(g, op.matmul(g, l, cx.weight('bilinear_w', w)), [1, 0, 2]);
  }
  return op.mul(g, left, right);
}

/** AutoInt's interacting layer on x [B, F, In] → [B, F, A] (heads as a [B, H, F, d] axis). */
export function emitInteractingLayer(cx: ExportContext, m: InteractingLayer, x: Value): Value {
  const g = cx.g;
  const F = x.shape[1]!;
  const heads = cx.option<number>('numHeads', 'number');
  const wq = childOf(m, 'W_q', Linear);
  const A = wq.outDim,
    d = A / heads;
  const split = (v: Value) => op.transpose(g, op.reshape(g, v, [-1, F, heads, d]), [0, 2, 1, 3]); // [B, H, F, d]
  const q = split(emitLinear(cx, wq, x));
  const k = split(emitLinear(cx, childOf(m, 'W_k', Linear), x));
  const v = split(emitLinear(cx, childOf(m, 'W_v', Linear), x));
  let scores = op.matmul(g, q, op.transpose(g, k, [0, 1, 3, 2])); // [B, H, F, F]
  if (cx.option<boolean>('useScale', 'boolean')) scores = op.mul(g, scores, g.scalar(1 / Math.sqrt(d)));
  const alpha = op.softmax(g, scores, 3);
  let y = op.reshape(g, op.transpose(g, op.matmul(g, alpha, v), [0, 2, 1, 3]), [-1, F, A]);
  if (cx.option<boolean>('useResidual', 'boolean')) {
    const wres = maybeChild(m, 'W_res', Linear);
    y = op.add(g, y, wres === null ? x : emitLinear(cx, wres, x));
  }
  const norm = maybeChild(m, 'layer_norm', LayerNorm);
  if (norm !== null) y = emitLayerNorm(cx, norm, y);
  return op.relu(g, y);
}

/** A DCNv2 cross network (full-rank, low-rank or the mixture of low-rank experts) on x₀ [B, n]. */
export function emitCrossV2(cx: ExportContext, net: Module, x0: Value): Value {
  const g = cx.g;
  let x = x0;
  if (net instanceof FullRankCrossNet) {
    for (let l = 0; maybeChild(net, `layer${l}`, Linear) !== null; l++) {
      x = op.add(g, op.mul(g, x0, emitLinear(cx, childOf(net, `layer${l}`, Linear), x)), x);
    }
    return x;
  }
  if (net instanceof LowRankCrossNet) {
    for (let l = 0; maybeChild(net, `v${l}`, Linear) !== null; l++) {
      const low = emitLinear(cx, childOf(net, `u${l}`, Linear), emitLinear(cx, childOf(net, `v${l}`, Linear), x));
      x = op.add(g, op.mul(g, x0, low), x);
    }
    return x;
  }
  if (net instanceof CrossNetMix) {
    for (let l = 0; hasParam(net, `U${l}`); l++) {
      const U = paramOf(net, `U${l}`),
        V = paramOf(net, `V${l}`),
        C = paramOf(net, `C${l}`);
      const [K, n, r] = U.shape as [number, number, number];
      const gate = op.softmax(g, op.matmul(g, x, cx.weight('mix_gate', paramOf(net, `gate${l}`))), 1); // [B, K]
      const vAll = op.reshape(g, op.transpose(g, cx.weight('mix_V', V), [1, 0, 2]), [n, K * r]);
      let v = op.tanh(g, op.transpose(g, op.reshape(g, op.matmul(g, x, vAll), [-1, K, r]), [1, 0, 2])); // [K, B, r]
      v = op.tanh(g, op.matmul(g, v, op.transpose(g, cx.weight('mix_C', C), [0, 2, 1])));
      const u = op.matmul(g, v, op.transpose(g, cx.weight('mix_U', U), [0, 2, 1])); // [K, B, n]
      const experts = op.mul(g, op.unsqueeze(g, x0, [0]), op.add(g, u, cx.weight('mix_b', paramOf(net, `b${l}`))));
      const mixed = op.reduceSum(g, op.mul(g, experts, op.unsqueeze(g, op.transpose(g, gate, [1, 0]), [2])), [0]);
      x = op.add(g, mixed, x);
    }
    return x;
  }
  throw new Error(`ONNX export: cross network ${net.constructor.name} has no ONNX emitter`);
}
