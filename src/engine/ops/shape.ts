/**
 * Shape ops: reshape, squeeze/unsqueeze, transpose (permute), broadcastTo, concat, stack,
 * split, slice, gather. Tensors are never mutated after creation, so reshape shares the
 * input's data (copy-free); every other op writes a fresh array.
 */
import { Tensor, fromOp, shapeSize, allocFloat32 } from '../tensor.js';
import { denseKernels } from '../kernels/index.js';
import { broadcastInto, broadcastShapes, contiguousStrides, forEachRow, rowLayout, sumToShape } from './elementwise.js';

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Normalizes an axis (negative counts from the end) for a tensor of rank `rank`. */
export function normalizeAxis(op: string, axis: number, rank: number, shape?: readonly number[]): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}${shape ? ` (shape ${fmt(shape)})` : ''}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Sizes before, along and after an axis: the tensor seen as [outer, dim, inner]. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1,
    inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis]!, inner];
}

/**
 * The same values under a new shape with the same element count; one entry may be −1
 * (inferred). Shares x's data. Backward: the gradient passes through unchanged (handed over
 * as x's gradient when x has none yet, else added to it).
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = shape.slice();
  let infer = -1,
    known = 1;
  for (let i = 0; i < target.length; i++) {
    const d = target[i]!;
    if (d === -1) {
      if (infer >= 0) throw new Error(`reshape: only one -1 allowed, got ${fmt(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`reshape: invalid dimension ${d} in ${fmt(shape)}`);
    } else known *= d;
  }
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
    target[infer] = x.size / known;
  }
  if (shapeSize(target) !== x.size) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  return fromOp(x.data, target, [x], (g) => {
    // The result's gradient is not read again once this ran (backward() drops it, and
    // reshape does not recycle it): when x has none yet, x takes over the array itself.
    if (x.grad === null) x.grad = g;
    else {
      const grad = x.grad;
      for (let i = 0; i < g.length; i++) grad[i]! += g[i]!;
    }
  });
}

/** Inserts an axis of size 1 at `axis` (−1 appends). A reshape. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1, x.shape);
  const s = x.shape.slice();
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes the size-1 axis `axis`, or every size-1 axis when omitted. A reshape. */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis('squeeze', axis, x.rank, x.shape);
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} of shape ${fmt(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

/** Copies src (strides `srcStrides` read along `shape`) into dst laid out contiguously as `shape`, adding when `accumulate`. */
function permuteCopy(src: Float32Array, dst: Float32Array, shape: readonly number[], srcStrides: readonly number[], accumulate: boolean): void {
  const layout = rowLayout(shape, [contiguousStrides(shape), srcStrides]);
  const nd = layout.dims.length;
  // Plain 2-D transpose: copy in tiles so both sides stay in cache.
  if (nd === 2 && layout.strides[1]![1] !== 1 && layout.strides[1]![0] === 1) {
    const rows = layout.dims[0]!,
      cols = layout.dims[1]!,
      ss = layout.strides[1]![1]!;
    const T = 32;
    for (let r0 = 0; r0 < rows; r0 += T) {
      const r1 = Math.min(rows, r0 + T);
      for (let c0 = 0; c0 < cols; c0 += T) {
        const c1 = Math.min(cols, c0 + T);
        for (let r = r0; r < r1; r++) {
          let o = r * cols + c0,
            s = r + c0 * ss;
          if (accumulate) for (let c = c0; c < c1; c++, o++, s += ss) dst[o]! += src[s]!;
          else for (let c = c0; c < c1; c++, o++, s += ss) dst[o] = src[s]!;
        }
      }
    }
    return;
  }
  const n = layout.dims[nd - 1]!,
    sd = layout.strides[0]![nd - 1]!,
    ss = layout.strides[1]![nd - 1]!;
  if (accumulate) {
    forEachRow(layout, (od, os) => {
      for (let j = 0; j < n; j++, od += sd, os += ss) dst[od]! += src[os]!;
    });
  } else {
    forEachRow(layout, (od, os) => {
      for (let j = 0; j < n; j++, od += sd, os += ss) dst[od] = src[os]!;
    });
  }
}

/**
 * Permutes axes: result axis i is x's axis perm[i]. Without `perm` the last two axes are
 * swapped. Backward: the gradient permuted back by the inverse permutation.
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const rank = x.rank;
  let p: number[];
  if (perm === undefined) {
    if (rank < 2) throw new Error(`transpose: needs rank ≥ 2 to swap the last two axes, got shape ${fmt(x.shape)}`);
    p = [...Array(rank).keys()];
    p[rank - 2] = rank - 1;
    p[rank - 1] = rank - 2;
  } else {
    if (perm.length !== rank)
      throw new Error(`transpose: permutation [${perm.join(', ')}] has ${perm.length} axes, shape ${fmt(x.shape)} has ${rank}`);
    p = perm.map((a) => normalizeAxis('transpose', a, rank, x.shape));
    if (new Set(p).size !== rank) throw new Error(`transpose: [${perm.join(', ')}] is not a permutation of the axes of ${fmt(x.shape)}`);
  }
  const outShape = p.map((a) => x.shape[a]!);
  const xs = contiguousStrides(x.shape);
  const out = new Float32Array(x.size);
  permuteCopy(
    x.data,
    out,
    outShape,
    p.map((a) => xs[a]!),
    false,
  );
  return fromOp(out, outShape, [x], (g) => {
    // Read g (contiguous as outShape) along x's shape: g's stride for x-axis p[i] is gs[i].
    const gs = contiguousStrides(outShape);
    const inv = new Array<number>(rank);
    for (let i = 0; i < rank; i++) inv[p[i]!] = gs[i]!;
    const { grad, overwrite } = x.gradForWrite();
    permuteCopy(g, grad, x.shape, inv, !overwrite);
  });
}

/** x repeated along broadcast axes to `shape` (numpy broadcast_to, as a copy). Backward: sum over the repeated axes. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const full = broadcastShapes('broadcastTo', x.shape, shape);
  if (full.length !== shape.length || full.some((d, i) => d !== shape[i])) {
    throw new Error(`broadcastTo: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  }
  const out = new Float32Array(shapeSize(shape));
  broadcastInto(x.data, x.shape, out, shape, false);
  return fromOp(out, shape, [x], (g) => sumToShape(g, shape, x.gradBuffer(), x.shape));
}

/** Copies `n` floats (plain loop for short runs, `set` for long ones). */
function copyRun(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  if (n < 64) for (let j = 0; j < n; j++) dst[d + j] = src[s + j]!;
  else dst.set(src.subarray(s, s + n), d);
}

/** Adds `n` floats of src into dst. */
function addRun(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  for (let j = 0; j < n; j++) dst[d + j]! += src[s + j]!;
}

/**
 * The backward of a column slab: columns [offset, offset + chunk) of each of the `outer` rows
 * (width `row`) of g go to t's gradient [outer, chunk] — copied into a fresh gradient (no
 * zero-fill), added to an existing one. `concat`'s inputs and `embedFieldsConcat`'s dense parts.
 */
export function sendSlabGrad(t: Tensor, g: Float32Array, offset: number, row: number, outer: number, chunk: number): void {
  const { grad, overwrite } = t.gradForWrite();
  if (overwrite) denseKernels().copyRows(g, offset, row, outer, chunk, grad, 0, chunk);
  else for (let o = 0; o < outer; o++) addRun(grad, o * chunk, g, o * row + offset, chunk);
}

/**
 * Joins tensors along `axis` (negative counts from the end); all other axes must agree.
 * Backward: each input receives its slab of the gradient (copied; the gradient array is
 * recycled after).
 */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0]!;
  const rank = first.rank;
  const a = normalizeAxis('concat', axis, rank, first.shape);
  let total = 0;
  for (const t of tensors) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((u) => fmt(u.shape)).join(', ')} differ outside axis ${axis}`);
    }
    total += t.shape[a]!;
  }
  if (tensors.length === 1) return reshape(first, first.shape);
  const [outer, , inner] = around(first.shape, a);
  const outShape = first.shape.slice();
  outShape[a] = total;
  const row = total * inner;
  const out = allocFloat32(outer * row); // every element is written below
  const offsets: number[] = [];
  let off = 0;
  for (const t of tensors) {
    offsets.push(off);
    const chunk = t.shape[a]! * inner;
    if (outer === 1) out.set(t.data, off);
    else denseKernels().copyRows(t.data, 0, chunk, outer, chunk, out, off, row);
    off += chunk;
  }
  return fromOp(
    out,
    outShape,
    tensors,
    (g) => {
      tensors.forEach((t, k) => {
        if (t.requiresGrad) sendSlabGrad(t, g, offsets[k]!, row, outer, t.shape[a]! * inner);
      });
      // The gradient is copied out and not kept: backward() recycles it (the MLP input's
      // gradient, written by the first layer's GEMM, is then a pooled array, not a fresh one).
    },
    { releasesGrad: true },
  );
}

/** Stacks same-shaped tensors along a new axis `axis` (−1 = last). Backward: each input gets its slice. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => d !== first.shape[i])) {
      throw new Error(`stack: shapes ${tensors.map((u) => fmt(u.shape)).join(', ')} differ`);
    }
  }
  const a = normalizeAxis('stack', axis, first.rank + 1, first.shape);
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/**
 * Elements start ≤ i < end along `axis` (negative start/end count from the end, as in
 * Python; end defaults to the axis size). Backward: the gradient written back into that range.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normalizeAxis('slice', axis, x.rank, x.shape);
  const dim = x.shape[a]!;
  let s = start < 0 ? start + dim : start;
  let e = end === undefined ? dim : end < 0 ? end + dim : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > dim || s > e) {
    throw new Error(`slice: range [${start}, ${end ?? dim}) is invalid for axis ${axis} of size ${dim} (shape ${fmt(x.shape)})`);
  }
  const [outer, , inner] = around(x.shape, a);
  const len = e - s;
  const outShape = x.shape.slice();
  outShape[a] = len;
  const chunk = len * inner,
    row = dim * inner,
    base = s * inner;
  const out = new Float32Array(outer * chunk);
  denseKernels().copyRows(x.data, base, row, outer, chunk, out, 0, chunk);
  return fromOp(out, outShape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let o = 0; o < outer; o++) addRun(gx, o * row + base, g, o * chunk, chunk);
  });
}

/** Splits x along `axis` into consecutive pieces of the given sizes (which must sum to the axis size). */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normalizeAxis('split', axis, x.rank, x.shape);
  const dim = x.shape[a]!;
  let total = 0;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`split: invalid size ${s} in [${sizes.join(', ')}]`);
    total += s;
  }
  if (total !== dim) throw new Error(`split: sizes [${sizes.join(', ')}] sum to ${total}, axis ${axis} of shape ${fmt(x.shape)} has ${dim}`);
  const parts: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    parts.push(slice(x, a, start, start + s));
    start += s;
  }
  return parts;
}

/**
 * Selects entries along `axis` by index (torch.index_select): result shape is x's with
 * that axis replaced by indices.length. An index outside [0, size) throws, naming its
 * position and value. Backward: scatter-add of the gradient rows (repeated indices sum).
 */
export function gather(x: Tensor, ids: Int32Array, axis: number): Tensor {
  const a = normalizeAxis('gather', axis, x.rank, x.shape);
  const indices = ids.slice(); // kept for backward; the caller may reuse its array
  const [outer, dim, inner] = around(x.shape, a);
  const m = indices.length;
  for (let k = 0; k < m; k++) {
    const id = indices[k]!;
    if (id < 0 || id >= dim)
      throw new Error(`gather: index ${id} at position ${k} is out of range [0, ${dim}) for axis ${axis} of shape ${fmt(x.shape)}`);
  }
  const outShape = x.shape.slice();
  outShape[a] = m;
  const out = new Float32Array(outer * m * inner);
  const xd = x.data;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const xb = o * dim,
        ob = o * m;
      for (let k = 0; k < m; k++) out[ob + k] = xd[xb + indices[k]!]!;
    }
  } else {
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < m; k++) copyRun(out, (o * m + k) * inner, xd, (o * dim + indices[k]!) * inner, inner);
    }
  }
  return fromOp(out, outShape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < m; k++) addRun(gx, (o * dim + indices[k]!) * inner, g, (o * m + k) * inner, inner);
    }
  });
}
