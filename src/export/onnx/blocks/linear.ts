/**
 * ONNX of the nn layers: Linear (MatMul + Add), activations (Relu, Sigmoid, Tanh,
 * LeakyRelu, PRelu, Dice as its eval formula), BatchNorm and LayerNorm in eval mode, and
 * the MLP with each hidden layer's batch norm folded into its Linear (W' = W·diag(s),
 * b' = (b − μ)·s + β with s = γ/√(σ² + eps), the same folding as `MLPLayer.foldForInference`).
 * Dropout is the identity at inference.
 */
import { Tensor } from '../../../engine/tensor.js';
import { Linear } from '../../../nn/linear.js';
import { BatchNorm } from '../../../nn/batchnorm.js';
import { LayerNorm } from '../../../nn/layernorm.js';
import { MLP } from '../../../nn/mlp.js';
import { Dice, Identity, LeakyReLU, PReLU, ReLU, Sigmoid, Tanh, type Layer } from '../../../nn/activations.js';
import type { ExportContext } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';

/** x [..., in] · W + b. */
export function emitLinear(cx: ExportContext, m: Linear, x: Value): Value {
  return op.linear(cx.g, x, cx.weight('linear_w', m.weight), m.bias === null ? null : cx.weight('linear_b', m.bias));
}

/** One activation layer; an unknown class is refused by name. */
export function emitActivation(cx: ExportContext, act: Layer, x: Value): Value {
  const g = cx.g;
  if (act instanceof ReLU) return op.relu(g, x);
  if (act instanceof Sigmoid) return op.sigmoid(g, x);
  if (act instanceof Tanh) return op.tanh(g, x);
  if (act instanceof LeakyReLU) return op.leakyRelu(g, x, act.slope);
  if (act instanceof Identity) return x;
  if (act instanceof PReLU) return op.prelu(g, x, cx.weight('prelu_alpha', act.alpha));
  if (act instanceof Dice) {
    // eval: p = sigmoid((x − μ)·invStd), y = x·(α + (1 − α)·p), running statistics as constants.
    const invStd = Float32Array.from(act.runningVar.data, (v) => 1 / Math.sqrt(v + act.eps));
    const z = op.mul(g, op.sub(g, x, cx.weight('dice_mean', act.runningMean)), g.floats('dice_inv_std', invStd));
    const p = op.sigmoid(g, z);
    const alpha = cx.weight('dice_alpha', act.alpha);
    const oneMinus = g.floats(
      'dice_one_minus_alpha',
      Float32Array.from(act.alpha.data, (a) => 1 - a),
    );
    return op.mul(g, x, op.add(g, alpha, op.mul(g, oneMinus, p)));
  }
  throw new Error(
    `ONNX export: activation ${act.constructor.name} has no ONNX emitter (supported: relu, sigmoid, tanh, leaky_relu, prelu, dice, linear)`,
  );
}

/** An activation chosen by name as the engine's `activation(x, name)`: relu, sigmoid, tanh, leaky_relu (slope 0.01), linear / identity / none. */
export function emitNamedActivation(cx: ExportContext, name: string, x: Value): Value {
  const g = cx.g;
  switch (name.toLowerCase()) {
    case 'relu':
      return op.relu(g, x);
    case 'sigmoid':
      return op.sigmoid(g, x);
    case 'tanh':
      return op.tanh(g, x);
    case 'leaky_relu':
    case 'leakyrelu':
      return op.leakyRelu(g, x, 0.01);
    case 'linear':
    case 'identity':
    case 'none':
      return x;
    default:
      throw new Error(`ONNX export: activation '${name}' has no ONNX emitter (supported: relu, sigmoid, tanh, leaky_relu, linear, identity)`);
  }
}

/** BatchNorm in eval mode: x·s + (β − μ·s), s = γ/√(σ² + eps), as constants. */
export function emitBatchNorm(cx: ExportContext, bn: BatchNorm, x: Value): Value {
  const C = bn.channels;
  const s = new Float32Array(C),
    t = new Float32Array(C);
  for (let j = 0; j < C; j++) {
    const sj = (bn.gamma?.data[j] ?? 1) / Math.sqrt(bn.runningVar.data[j]! + bn.eps);
    s[j] = sj;
    t[j] = (bn.beta?.data[j] ?? 0) - bn.runningMean.data[j]! * sj;
  }
  return op.add(cx.g, op.mul(cx.g, x, cx.g.floats('bn_scale', s)), cx.g.floats('bn_shift', t));
}

/** LayerNorm over the last axis (ONNX LayerNormalization, opset 17). */
export function emitLayerNorm(cx: ExportContext, ln: LayerNorm, x: Value): Value {
  const C = ln.channels;
  const gamma = ln.gamma ?? Tensor.full([C], 1);
  const beta = ln.beta ?? Tensor.zeros([C]);
  return cx.g.node(
    'LayerNormalization',
    [x, cx.weight('ln_gamma', gamma), cx.weight('ln_beta', beta)],
    { type: 'float', shape: x.shape },
    {
      axis: -1,
      epsilon: { float: ln.eps },
    },
  );
}

/** Linear weights with the following batch norm folded in. */
function folded(lin: Linear, bn: BatchNorm | null): { w: Float32Array; b: Float32Array | null } {
  if (bn === null) return { w: lin.weight.data, b: lin.bias?.data ?? null };
  const inDim = lin.inDim,
    outDim = lin.outDim;
  const w = lin.weight.data,
    b = lin.bias?.data;
  const fw = new Float32Array(inDim * outDim),
    fb = new Float32Array(outDim);
  const s = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    s[j] = (bn.gamma?.data[j] ?? 1) / Math.sqrt(bn.runningVar.data[j]! + bn.eps);
    fb[j] = ((b?.[j] ?? 0) - bn.runningMean.data[j]!) * s[j]! + (bn.beta?.data[j] ?? 0);
  }
  for (let i = 0; i < inDim; i++) for (let j = 0; j < outDim; j++) fw[i * outDim + j] = w[i * outDim + j]! * s[j]!;
  return { w: fw, b: fb };
}

/** The MLP: hidden layers (Linear with BN folded → activation), then the output Linear. */
export function emitMLP(cx: ExportContext, mlp: MLP, x: Value): Value {
  const g = cx.g;
  let h = x;
  for (const layer of mlp.layers) {
    const { w, b } = folded(layer.linear, layer.bn);
    const wv = g.weight('mlp_w', w, [layer.linear.inDim, layer.linear.outDim]);
    h = op.linear(g, h, wv, b === null ? null : g.weight('mlp_b', b, [layer.linear.outDim]));
    h = emitActivation(cx, layer.act, h);
  }
  return mlp.out === null ? h : emitLinear(cx, mlp.out, h);
}
