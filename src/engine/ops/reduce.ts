/**
 * Reductions over axes: sum, mean, max. `axes` is one axis, a list of axes (negative
 * values count from the end), or undefined for all axes (result shape [], or all ones with
 * keepDims). Reduced axes are iterated through the collapsed row layout of elementwise.ts,
 * so reducing the last axis, the first axis, or a middle axis of [B, F, D] (pooling over
 * fields) are each one tight loop. Sums accumulate in float64.
 */
import { Tensor, fromOp, shapeSize } from '../tensor.js';
import { contiguousStrides, forEachRow, rowLayout, type RowLayout } from './elementwise.js';

/** Axes of a reduction: one axis, several, or undefined for all. */
export type Axes = number | readonly number[] | undefined;

/** Normalizes axes to sorted, distinct, non-negative axes of a rank-`rank` tensor. */
export function normalizeAxes(op: string, shape: readonly number[], axes: Axes): number[] {
  const rank = shape.length;
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const seen = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new Error(`${op}: axis ${a} is out of range for shape [${shape.join(', ')}] (rank ${rank})`);
    }
    const k = a < 0 ? a + rank : a;
    if (seen.has(k)) throw new Error(`${op}: axis ${a} listed twice for shape [${shape.join(', ')}]`);
    seen.add(k);
  }
  return [...seen].sort((p, q) => p - q);
}

/** The layout of a reduction: x contiguous (operand 0), the result with stride 0 on reduced axes (operand 1). */
interface ReducePlan {
  outShape: number[];
  layout: RowLayout;
  /** Elements per output value. */
  count: number;
}

function plan(op: string, x: Tensor, axes: Axes, keepDims: boolean): ReducePlan {
  const red = normalizeAxes(op, x.shape, axes);
  const keptShape = x.shape.map((d, i) => (red.includes(i) ? 1 : d));
  const outStrides = contiguousStrides(keptShape).map((s, i) => (red.includes(i) ? 0 : s));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !red.includes(i));
  let count = 1;
  for (const a of red) count *= x.shape[a]!;
  return { outShape, layout: rowLayout(x.shape, [contiguousStrides(x.shape), outStrides]), count };
}

/** Sum over rows of the plan into a float64 accumulator (one value per output element). */
function sumInto(p: ReducePlan, xd: Float32Array, outSize: number): Float64Array {
  const acc = new Float64Array(outSize);
  const { layout } = p;
  const last = layout.dims.length - 1;
  const n = layout.dims[last]!,
    sx = layout.strides[0]![last]!,
    so = layout.strides[1]![last]!;
  if (so === 0) {
    forEachRow(layout, (ox, oo) => {
      let s = 0;
      for (let j = 0; j < n; j++, ox += sx) s += xd[ox]!;
      acc[oo]! += s;
    });
  } else {
    forEachRow(layout, (ox, oo) => {
      for (let j = 0; j < n; j++, ox += sx, oo += so) acc[oo]! += xd[ox]!;
    });
  }
  return acc;
}

/** Adds alpha·g (one value per output element) to every x element it was reduced from. */
function spreadBack(p: ReducePlan, g: Float32Array, gx: Float32Array, alpha: number): void {
  const { layout } = p;
  const last = layout.dims.length - 1;
  const n = layout.dims[last]!,
    sx = layout.strides[0]![last]!,
    so = layout.strides[1]![last]!;
  if (so === 0) {
    forEachRow(layout, (ox, oo) => {
      const v = alpha * g[oo]!;
      for (let j = 0; j < n; j++, ox += sx) gx[ox]! += v;
    });
  } else {
    forEachRow(layout, (ox, oo) => {
      for (let j = 0; j < n; j++, ox += sx, oo += so) gx[ox]! += alpha * g[oo]!;
    });
  }
}

function sumOrMean(op: string, x: Tensor, axes: Axes, keepDims: boolean, isMean: boolean): Tensor {
  const p = plan(op, x, axes, keepDims);
  const size = shapeSize(p.outShape);
  const scale = isMean ? 1 / p.count : 1;
  const acc = sumInto(p, x.data, size);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = acc[i]! * scale;
  return fromOp(out, p.outShape, [x], (g) => spreadBack(p, g, x.gradBuffer(), scale));
}

/** Σ of x over `axes` (all when undefined; negative axes count from the end). Backward: g repeated over the reduced axes. */
export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return sumOrMean('sum', x, axes, keepDims, false);
}

/** Mean of x over `axes` (all when undefined; NaN over an empty axis). Backward: g / count repeated over the reduced axes. */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return sumOrMean('mean', x, axes, keepDims, true);
}

/**
 * Maximum of x over `axes` (all when undefined). Backward: the whole gradient of each
 * output goes to its arg-max, the first one in row-major order on ties. Reducing an empty
 * axis throws.
 */
export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const p = plan('max', x, axes, keepDims);
  const size = shapeSize(p.outShape);
  if (p.count === 0 && size > 0) throw new Error(`max: cannot reduce an empty axis of shape [${x.shape.join(', ')}]`);
  const out = new Float32Array(size);
  const arg = new Int32Array(size).fill(-1);
  const xd = x.data;
  const { layout } = p;
  const last = layout.dims.length - 1;
  const n = layout.dims[last]!,
    sx = layout.strides[0]![last]!,
    so = layout.strides[1]![last]!;
  if (so === 0) {
    forEachRow(layout, (ox, oo) => {
      let best = out[oo]!,
        bi = arg[oo]!;
      for (let j = 0; j < n; j++, ox += sx) {
        const v = xd[ox]!;
        if (bi < 0 || v > best) {
          best = v;
          bi = ox;
        }
      }
      out[oo] = best;
      arg[oo] = bi;
    });
  } else {
    forEachRow(layout, (ox, oo) => {
      for (let j = 0; j < n; j++, ox += sx, oo += so) {
        const v = xd[ox]!;
        if (arg[oo]! < 0 || v > out[oo]!) {
          out[oo] = v;
          arg[oo] = ox;
        }
      }
    });
  }
  return fromOp(out, p.outShape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let i = 0; i < size; i++) gx[arg[i]!]! += g[i]!;
  });
}
