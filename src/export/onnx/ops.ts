/**
 * The ONNX operators the exporter emits, as functions over graph values that compute the
 * output shape (-1 = batch axis) and check their inputs. Each is one standard opset-17
 * node unless its doc comment says otherwise.
 */
import type { GraphBuilder, Value } from './graph.js';

function fail(op: string, msg: string): never {
  throw new Error(`ONNX export: ${op}: ${msg}`);
}

/** Numpy broadcasting of two static shapes (-1 broadcasts with 1 and with -1). */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1,
      y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else fail(op, `shapes [${a}] and [${b}] do not broadcast`);
  }
  return out;
}

function binary(g: GraphBuilder, op: string, a: Value, b: Value): Value {
  return g.node(op, [a, b], { type: a.type, shape: broadcastShape(op, a.shape, b.shape) });
}

/** a + b (broadcasting). */
export const add = (g: GraphBuilder, a: Value, b: Value) => binary(g, 'Add', a, b);
/** a − b (broadcasting). */
export const sub = (g: GraphBuilder, a: Value, b: Value) => binary(g, 'Sub', a, b);
/** a · b element-wise (broadcasting). */
export const mul = (g: GraphBuilder, a: Value, b: Value) => binary(g, 'Mul', a, b);
/** a / b element-wise (broadcasting). */
export const div = (g: GraphBuilder, a: Value, b: Value) => binary(g, 'Div', a, b);
/** max(a, b) element-wise (broadcasting). */
export const max2 = (g: GraphBuilder, a: Value, b: Value) => binary(g, 'Max', a, b);

/** Σ of several values (a chain of Adds). */
export function addAll(g: GraphBuilder, xs: Value[]): Value {
  if (xs.length === 0) fail('addAll', 'nothing to add');
  return xs.slice(1).reduce((s, x) => add(g, s, x), xs[0]!);
}

function unary(g: GraphBuilder, op: string, x: Value, attrs = {}): Value {
  return g.node(op, [x], { type: x.type, shape: x.shape }, attrs);
}

/** max(0, x). */
export const relu = (g: GraphBuilder, x: Value) => unary(g, 'Relu', x);
/** 1 / (1 + e^−x). */
export const sigmoid = (g: GraphBuilder, x: Value) => unary(g, 'Sigmoid', x);
/** tanh(x). */
export const tanh = (g: GraphBuilder, x: Value) => unary(g, 'Tanh', x);
/** x for x > 0, slope·x otherwise. */
export const leakyRelu = (g: GraphBuilder, x: Value, slope: number) => unary(g, 'LeakyRelu', x, { alpha: { float: slope } });
/** Softmax over `axis`. */
export const softmax = (g: GraphBuilder, x: Value, axis: number) => unary(g, 'Softmax', x, { axis });
/** PRelu(x, slope) with `slope` broadcast to x. */
export const prelu = (g: GraphBuilder, x: Value, slope: Value) => g.node('PRelu', [x, slope], { type: 'float', shape: x.shape });

/** a [..., n, k] · b [k, m] or [..., k, m] → [..., n, m] (MatMul). */
export function matmul(g: GraphBuilder, a: Value, b: Value): Value {
  const k = a.shape.at(-1)!;
  if (b.shape.length < 2 || b.shape.at(-2) !== k) fail('MatMul', `[${a.shape}] · [${b.shape}]: inner sizes differ`);
  if (b.shape.length === 2) return g.node('MatMul', [a, b], { type: 'float', shape: [...a.shape.slice(0, -1), b.shape[1]!] });
  const lead = broadcastShape('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return g.node('MatMul', [a, b], { type: 'float', shape: [...lead, a.shape.at(-2)!, b.shape.at(-1)!] });
}

/** x [..., in] · W [in, out] + b [out] (MatMul + Add; bias optional). */
export function linear(g: GraphBuilder, x: Value, w: Value, b: Value | null): Value {
  const y = matmul(g, x, w);
  return b === null ? y : add(g, y, b);
}

/** Reshape to `shape` (at most one -1, the batch axis or an inferred one). */
export function reshape(g: GraphBuilder, x: Value, shape: number[]): Value {
  if (shape.filter((d) => d < 0).length > 1) fail('Reshape', `target [${shape}] has more than one -1`);
  if (shape.join(',') === x.shape.join(',')) return x;
  const target = g.ints('shape', shape);
  return g.node('Reshape', [x, target], { type: x.type, shape });
}

/** Concatenation along `axis`. */
export function concat(g: GraphBuilder, xs: Value[], axis: number): Value {
  if (xs.length === 0) fail('Concat', 'nothing to concatenate');
  if (xs.length === 1) return xs[0]!;
  const rank = xs[0]!.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const shape = xs[0]!.shape.slice();
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax]!, 0);
  if (xs.some((x) => x.shape[ax]! < 0)) fail('Concat', 'cannot concatenate along the batch axis');
  return g.node('Concat', xs, { type: xs[0]!.type, shape }, { axis: ax });
}

/** Rows `ids` of `table` (Gather on axis 0): ids [...] → [..., dim]. */
export function gather(g: GraphBuilder, table: Value, ids: Value, axis = 0): Value {
  const shape = [...table.shape.slice(0, axis), ...ids.shape, ...table.shape.slice(axis + 1)];
  return g.node('Gather', [table, ids], { type: table.type, shape }, { axis });
}

/** Permutes axes. */
export function transpose(g: GraphBuilder, x: Value, perm: number[]): Value {
  return g.node('Transpose', [x], { type: x.type, shape: perm.map((p) => x.shape[p]!) }, { perm });
}

function reduce(g: GraphBuilder, op: string, x: Value, axes: number[], keepdims: boolean, axesAsInput: boolean): Value {
  const rank = x.shape.length;
  const ax = axes.map((a) => (a < 0 ? a + rank : a));
  const shape = keepdims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
  const k = keepdims ? 1 : 0;
  if (axesAsInput) return g.node(op, [x, g.ints('axes', ax)], { type: x.type, shape }, { keepdims: k });
  return g.node(op, [x], { type: x.type, shape }, { axes: ax, keepdims: k });
}

/** Σ over `axes` (ReduceSum, axes as an input since opset 13). */
export const reduceSum = (g: GraphBuilder, x: Value, axes: number[], keepdims = false) => reduce(g, 'ReduceSum', x, axes, keepdims, true);
/** Mean over `axes` (ReduceMean; attribute axes until opset 18). */
export const reduceMean = (g: GraphBuilder, x: Value, axes: number[], keepdims = false) => reduce(g, 'ReduceMean', x, axes, keepdims, false);
/** Max over `axes` (ReduceMax; attribute axes until opset 18). */
export const reduceMax = (g: GraphBuilder, x: Value, axes: number[], keepdims = false) => reduce(g, 'ReduceMax', x, axes, keepdims, false);

/** Inserts size-1 axes (Unsqueeze, axes as an input). */
export function unsqueeze(g: GraphBuilder, x: Value, axes: number[]): Value {
  const rank = x.shape.length + axes.length;
  const ax = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]!);
  return g.node('Unsqueeze', [x, g.ints('axes', ax)], { type: x.type, shape });
}

/** x[..., start:end, ...] along `axis` (Slice). */
export function slice(g: GraphBuilder, x: Value, axis: number, start: number, end: number): Value {
  const rank = x.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const shape = x.shape.slice();
  shape[ax] = end - start;
  return g.node('Slice', [x, g.ints('starts', [start]), g.ints('ends', [end]), g.ints('axes', [ax])], { type: x.type, shape });
}

/**
 * Constant padding along one axis: `before` values at the start and `after` at the end
 * (Pad, mode constant); `value` is the padding value (0 by default).
 */
export function pad(g: GraphBuilder, x: Value, axis: number, before: number, after: number, value = 0): Value {
  const rank = x.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (x.shape[ax]! < 0) fail('Pad', 'cannot pad the batch axis');
  if (before === 0 && after === 0) return x;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[ax] = before;
  pads[rank + ax] = after;
  const shape = x.shape.slice();
  shape[ax] = x.shape[ax]! + before + after;
  if (shape[ax]! < 1) fail('Pad', `padding (${before}, ${after}) leaves no row of axis ${ax}`);
  return g.node('Pad', [x, g.ints('pads', pads), g.scalar(value)], { type: x.type, shape }, { mode: 'constant' });
}

/** Casts to another element type. */
export function cast(g: GraphBuilder, x: Value, to: 'float' | 'int64' | 'bool'): Value {
  const code = { float: 1, int64: 7, bool: 9 }[to];
  return g.node('Cast', [x], { type: to, shape: x.shape }, { to: code });
}

/** cond ? a : b element-wise (Where, broadcasting). */
export function where(g: GraphBuilder, cond: Value, a: Value, b: Value): Value {
  const shape = broadcastShape('Where', cond.shape, broadcastShape('Where', a.shape, b.shape));
  return g.node('Where', [cond, a, b], { type: a.type, shape });
}

/** a < b element-wise (Less, broadcasting) → bool. */
export function less(g: GraphBuilder, a: Value, b: Value): Value {
  return g.node('Less', [a, b], { type: 'bool', shape: broadcastShape('Less', a.shape, b.shape) });
}

/**
 * The [B, L] validity mask of padded rows: mask[b, j] = 1 when j < lengths[b] else 0,
 * as floats (Range-free: compares a constant [L] position vector with the lengths).
 */
export function lengthMask(g: GraphBuilder, lengths: Value, maxLen: number): Value {
  const positions = g.ints(
    'positions',
    Array.from({ length: maxLen }, (_, i) => i),
    [1, maxLen],
  );
  return cast(g, less(g, positions, unsqueeze(g, lengths, [1])), 'float');
}

/** Float zeros [B, ...rest] with the batch size of `like` (a [B, ...] value): Shape → Slice → Concat → ConstantOfShape. */
export function zerosLike(g: GraphBuilder, like: Value, rest: number[]): Value {
  const batch = g.node('Shape', [like], { type: 'int64', shape: [1] }, { start: 0, end: 1 });
  const shape = concat(g, [batch, g.ints('rest', rest)], 0);
  return g.node('ConstantOfShape', [shape], { type: 'float', shape: [-1, ...rest] });
}
