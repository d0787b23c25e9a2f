/**
 * Elementwise ops: broadcasting binary arithmetic (add, sub, mul, div), unary math
 * (neg, scale, addScalar, exp, log, square, sqrt, pow, abs) and selection (where, maskedFill).
 *
 * Broadcasting follows numpy: shapes are aligned on their last axes, and an axis of size 1
 * (or a missing leading axis) is repeated to match the other operand. Every broadcast is
 * run through one "collapsed row layout" (see `rowLayout`): axes of size 1 are dropped and
 * neighbouring axes that are contiguous for every operand are merged, so the common cases
 * (same shape; bias [N] over [B, N]; [F, D] over [B, F, D]; a scalar; a column [B, 1]
 * over [B, N]) become one or two plain loops with constant strides (0 or 1) per operand.
 * Backward reduces the output gradient over the broadcast axes with the same layout.
 */
import { Tensor, fromOp, assertSameShape, shapeSize, allocFloat32 } from '../tensor.js';

// ---------------------------------------------------------------------------------------
// Strided row layouts (shared by broadcasting, reductions and permutations)
// ---------------------------------------------------------------------------------------

/**
 * A collapsed iteration space: `dims` (outermost first, at least one axis) and, for each
 * operand, its element stride along each of those axes (0 = broadcast along that axis).
 * The last axis is the "row": kernels loop over it with constant strides.
 */
export interface RowLayout {
  dims: number[];
  strides: number[][];
}

/** Row-major strides of a shape (stride of the last axis is 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * Builds a collapsed layout over the iteration shape `shape`, given each operand's strides
 * on that shape. Axes of size 1 are dropped; an axis is merged into its inner neighbour
 * when every operand steps over it exactly as if the two were one axis.
 */
export function rowLayout(shape: readonly number[], strides: readonly (readonly number[])[]): RowLayout {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    if (n === 1) continue;
    if (dims.length > 0 && strides.every((s, k) => s[d] === out[k]![0]! * dims[0]!)) {
      dims[0] = dims[0]! * n;
      continue;
    }
    dims.unshift(n);
    strides.forEach((s, k) => out[k]!.unshift(s[d]!));
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const o of out) o.push(0);
  }
  return { dims, strides: out };
}

/**
 * Calls `row(o0, o1, o2)` once per row of the layout (every index of all axes but the
 * last), with the starting offsets of up to three operands. The caller loops over the
 * row itself using the last-axis strides.
 */
export function forEachRow(layout: RowLayout, row: (o0: number, o1: number, o2: number) => void): void {
  const { dims, strides } = layout;
  const nd = dims.length - 1;
  const s0 = strides[0] ?? [],
    s1 = strides[1] ?? [],
    s2 = strides[2] ?? [];
  if (nd === 0) {
    row(0, 0, 0);
    return;
  }
  if (nd === 1) {
    const n = dims[0]!,
      a = s0[0] ?? 0,
      b = s1[0] ?? 0,
      c = s2[0] ?? 0;
    for (let i = 0, o0 = 0, o1 = 0, o2 = 0; i < n; i++, o0 += a, o1 += b, o2 += c) row(o0, o1, o2);
    return;
  }
  let rows = 1;
  for (let d = 0; d < nd; d++) rows *= dims[d]!;
  const idx = new Array<number>(nd).fill(0);
  let o0 = 0,
    o1 = 0,
    o2 = 0;
  for (let r = 0; r < rows; r++) {
    row(o0, o1, o2);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      o0 += s0[d] ?? 0;
      o1 += s1[d] ?? 0;
      o2 += s2[d] ?? 0;
      if (idx[d]! < dims[d]!) break;
      const n = dims[d]!;
      o0 -= (s0[d] ?? 0) * n;
      o1 -= (s1[d] ?? 0) * n;
      o2 -= (s2[d] ?? 0) * n;
      idx[d] = 0;
    }
  }
}

/**
 * The numpy broadcast of two shapes; throws naming `op` and both shapes when an axis
 * differs and neither side is 1.
 */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1,
      db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i} of the result: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides of an operand of shape `shape` read along the broadcast shape `target`
 * (0 on axes where the operand is repeated). `target` must be a broadcast of `shape`.
 */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const off = target.length - shape.length;
  const s = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) s[off + i] = shape[i] === 1 && target[off + i] !== 1 ? 0 : own[i]!;
  return s;
}

/** dst[id + j·sd] += alpha · src[is + j·ss] for j < n (reduces when sd = 0). */
function accRow(dst: Float32Array, id: number, sd: number, src: Float32Array, is: number, ss: number, n: number, alpha: number): void {
  if (sd === 0) {
    let s = 0;
    for (let j = 0; j < n; j++, is += ss) s += src[is]!;
    dst[id]! += alpha * s;
  } else if (alpha === 1) {
    for (let j = 0; j < n; j++, id += sd, is += ss) dst[id]! += src[is]!;
  } else {
    for (let j = 0; j < n; j++, id += sd, is += ss) dst[id]! += alpha * src[is]!;
  }
}

/** dst[id + j·sd] += alpha · p[ip + j·sp] · q[iq + j·sq] (reduces when sd = 0). */
function accMulRow(
  dst: Float32Array,
  id: number,
  sd: number,
  p: Float32Array,
  ip: number,
  sp: number,
  q: Float32Array,
  iq: number,
  sq: number,
  n: number,
  alpha: number,
): void {
  if (sd === 0) {
    let s = 0;
    for (let j = 0; j < n; j++, ip += sp, iq += sq) s += p[ip]! * q[iq]!;
    dst[id]! += alpha * s;
  } else {
    for (let j = 0; j < n; j++, id += sd, ip += sp, iq += sq) dst[id]! += alpha * p[ip]! * q[iq]!;
  }
}

/** dst[id + j·sd] += alpha · p[ip + j·sp] · q[iq + j·sq] / r[ir + j·sr] (reduces when sd = 0). */
function accMulDivRow(
  dst: Float32Array,
  id: number,
  sd: number,
  p: Float32Array,
  ip: number,
  sp: number,
  q: Float32Array | null,
  iq: number,
  sq: number,
  r: Float32Array,
  ir: number,
  sr: number,
  n: number,
  alpha: number,
): void {
  if (q === null) {
    if (sd === 0) {
      let s = 0;
      for (let j = 0; j < n; j++, ip += sp, ir += sr) s += p[ip]! / r[ir]!;
      dst[id]! += alpha * s;
    } else {
      for (let j = 0; j < n; j++, id += sd, ip += sp, ir += sr) dst[id]! += (alpha * p[ip]!) / r[ir]!;
    }
    return;
  }
  if (sd === 0) {
    let s = 0;
    for (let j = 0; j < n; j++, ip += sp, iq += sq, ir += sr) s += (p[ip]! * q[iq]!) / r[ir]!;
    dst[id]! += alpha * s;
  } else {
    for (let j = 0; j < n; j++, id += sd, ip += sp, iq += sq, ir += sr) dst[id]! += (alpha * p[ip]! * q[iq]!) / r[ir]!;
  }
}

/**
 * Adds `src` (laid out as `fromShape`) into `dst` (laid out as `toShape`, of which
 * `fromShape` is a broadcast), summing over the broadcast axes, times `alpha`. This is the
 * backward of a broadcast; ops with their own broadcasting use it for their gradients.
 */
export function sumToShape(src: Float32Array, fromShape: readonly number[], dst: Float32Array, toShape: readonly number[], alpha = 1): void {
  if (src.length === dst.length) {
    if (alpha === 1) for (let i = 0; i < src.length; i++) dst[i]! += src[i]!;
    else for (let i = 0; i < src.length; i++) dst[i]! += alpha * src[i]!;
    return;
  }
  const layout = rowLayout(fromShape, [broadcastStrides(toShape, fromShape), contiguousStrides(fromShape)]);
  const n = layout.dims[layout.dims.length - 1]!;
  const sd = layout.strides[0]![layout.dims.length - 1]!,
    ss = layout.strides[1]![layout.dims.length - 1]!;
  forEachRow(layout, (od, os) => accRow(dst, od, sd, src, os, ss, n, alpha));
}

/**
 * Writes `src` (laid out as `fromShape`) repeated along the broadcast axes into `dst`
 * (laid out as `toShape`, a broadcast of `fromShape`), adding when `accumulate`.
 */
export function broadcastInto(
  src: Float32Array,
  fromShape: readonly number[],
  dst: Float32Array,
  toShape: readonly number[],
  accumulate: boolean,
): void {
  const layout = rowLayout(toShape, [contiguousStrides(toShape), broadcastStrides(fromShape, toShape)]);
  const last = layout.dims.length - 1;
  const n = layout.dims[last]!,
    sd = layout.strides[0]![last]!,
    ss = layout.strides[1]![last]!;
  if (accumulate) forEachRow(layout, (od, os) => accRow(dst, od, sd, src, os, ss, n, 1));
  else {
    forEachRow(layout, (od, os) => {
      for (let j = 0; j < n; j++, od += sd, os += ss) dst[od] = src[os]!;
    });
  }
}

// ---------------------------------------------------------------------------------------
// Broadcasting binary arithmetic
// ---------------------------------------------------------------------------------------

const ADD = 0,
  SUB = 1,
  MUL = 2,
  DIV = 3;
const BINARY_NAMES = ['add', 'sub', 'mul', 'div'];

/** out[oo + j] = a[ia + j·sa] ⊙ b[ib + j·sb] for j < n (output rows are contiguous). */
function binaryRow(
  kind: number,
  out: Float32Array,
  oo: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  const end = oo + n;
  switch (kind) {
    case ADD:
      for (; oo < end; oo++, ia += sa, ib += sb) out[oo] = a[ia]! + b[ib]!;
      break;
    case SUB:
      for (; oo < end; oo++, ia += sa, ib += sb) out[oo] = a[ia]! - b[ib]!;
      break;
    case MUL:
      for (; oo < end; oo++, ia += sa, ib += sb) out[oo] = a[ia]! * b[ib]!;
      break;
    default:
      for (; oo < end; oo++, ia += sa, ib += sb) out[oo] = a[ia]! / b[ib]!;
      break;
  }
}

/** Same-shape forward: one flat loop. */
function binarySame(kind: number, out: Float32Array, a: Float32Array, b: Float32Array): void {
  const n = out.length;
  switch (kind) {
    case ADD:
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      break;
    case SUB:
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      break;
    case MUL:
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
      break;
  }
}

function binary(kind: number, a: Tensor, b: Tensor): Tensor {
  const op = BINARY_NAMES[kind]!;
  const same = a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
  const shape = same ? a.shape : broadcastShapes(op, a.shape, b.shape);
  const out = allocFloat32(shapeSize(shape));
  let layout: RowLayout | null = null;
  let n = 0,
    sa = 0,
    sb = 0,
    so = 0;
  if (same) {
    binarySame(kind, out, a.data, b.data);
  } else {
    layout = rowLayout(shape, [contiguousStrides(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
    const last = layout.dims.length - 1;
    n = layout.dims[last]!;
    so = layout.strides[0]![last]!;
    sa = layout.strides[1]![last]!;
    sb = layout.strides[2]![last]!;
    const ad = a.data,
      bd = b.data;
    forEachRow(layout, (oo, ia, ib) => binaryRow(kind, out, oo, ad, ia, sa, bd, ib, sb, n));
  }
  return fromOp(
    out,
    shape,
    [a, b],
    (g) => {
      const ad = a.data,
        bd = b.data;
      if (layout === null) {
        const len = g.length;
        if (a.requiresGrad) {
          const ga = a.gradBuffer();
          switch (kind) {
            case ADD:
            case SUB:
              for (let i = 0; i < len; i++) ga[i]! += g[i]!;
              break;
            case MUL:
              for (let i = 0; i < len; i++) ga[i]! += g[i]! * bd[i]!;
              break;
            default:
              for (let i = 0; i < len; i++) ga[i]! += g[i]! / bd[i]!;
              break;
          }
        }
        if (b.requiresGrad) {
          const gb = b.gradBuffer();
          switch (kind) {
            case ADD:
              for (let i = 0; i < len; i++) gb[i]! += g[i]!;
              break;
            case SUB:
              for (let i = 0; i < len; i++) gb[i]! -= g[i]!;
              break;
            case MUL:
              for (let i = 0; i < len; i++) gb[i]! += g[i]! * ad[i]!;
              break;
            default:
              for (let i = 0; i < len; i++) gb[i]! -= (g[i]! * out[i]!) / bd[i]!;
              break;
          }
        }
        return;
      }
      // Output rows are the layout's operand 0; its row stride `so` is 1 (0 when the whole
      // output is a single element, where rows have length 1).
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        switch (kind) {
          case ADD:
          case SUB:
            forEachRow(layout, (oo, ia) => accRow(ga, ia, sa, g, oo, so, n, 1));
            break;
          case MUL:
            forEachRow(layout, (oo, ia, ib) => accMulRow(ga, ia, sa, g, oo, so, bd, ib, sb, n, 1));
            break;
          default:
            forEachRow(layout, (oo, ia, ib) => accMulDivRow(ga, ia, sa, g, oo, so, null, 0, 0, bd, ib, sb, n, 1));
            break;
        }
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        switch (kind) {
          case ADD:
            forEachRow(layout, (oo, _ia, ib) => accRow(gb, ib, sb, g, oo, so, n, 1));
            break;
          case SUB:
            forEachRow(layout, (oo, _ia, ib) => accRow(gb, ib, sb, g, oo, so, n, -1));
            break;
          case MUL:
            forEachRow(layout, (oo, ia, ib) => accMulRow(gb, ib, sb, g, oo, so, ad, ia, sa, n, 1));
            break;
          // d(a/b)/db = −a/b² = −out/b
          default:
            forEachRow(layout, (oo, _ia, ib) => accMulDivRow(gb, ib, sb, g, oo, so, out, oo, so, bd, ib, sb, n, -1));
            break;
        }
      }
    },
    { releasesGrad: true },
  );
}

/** a + b with numpy broadcasting. Backward: the gradient summed over each operand's broadcast axes. */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary(ADD, a, b);
}

/** a − b with numpy broadcasting. Backward: da = g, db = −g (each summed over its broadcast axes). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary(SUB, a, b);
}

/** a · b elementwise with numpy broadcasting. Backward: da = g·b, db = g·a (summed over broadcast axes). */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary(MUL, a, b);
}

/** a / b elementwise with numpy broadcasting. Backward: da = g/b, db = −g·a/b² (summed over broadcast axes). */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary(DIV, a, b);
}

// ---------------------------------------------------------------------------------------
// Unary math
// ---------------------------------------------------------------------------------------

/** −x. */
export function neg(x: Tensor): Tensor {
  return scale(x, -1);
}

/** c·x for a constant number c. Backward: dx = c·g. */
export function scale(x: Tensor, c: number): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = c * xd[i]!;
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += c * g[i]!;
    },
    { releasesGrad: true },
  );
}

/** x + c for a constant number c. Backward: dx = g. */
export function addScalar(x: Tensor, c: number): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = xd[i]! + c;
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += g[i]!;
    },
    { releasesGrad: true },
  );
}

/** eˣ. Backward: dx = g·eˣ (the output). */
export function exp(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = Math.exp(xd[i]!);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * out[i]!;
    },
    { releasesGrad: true },
  );
}

/** Natural logarithm ln x (NaN for x < 0, −∞ at 0, as Math.log). Backward: dx = g/x. */
export function log(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = Math.log(xd[i]!);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += g[i]! / xd[i]!;
    },
    { releasesGrad: true },
  );
}

/** x². Backward: dx = 2x·g. */
export function square(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = xd[i]! * xd[i]!;
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += 2 * xd[i]! * g[i]!;
    },
    { releasesGrad: true },
  );
}

/** √x (NaN for x < 0). Backward: dx = g / (2√x). */
export function sqrt(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(xd[i]!);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += (0.5 * g[i]!) / out[i]!;
    },
    { releasesGrad: true },
  );
}

/** xᵖ for a constant exponent p (as Math.pow; p = 2 and 0.5 use x·x and √x). Backward: dx = p·xᵖ⁻¹·g. */
export function pow(x: Tensor, p: number): Tensor {
  if (!Number.isFinite(p)) throw new Error(`pow: exponent must be finite, got ${p}`);
  if (p === 2) return square(x);
  if (p === 0.5) return sqrt(x);
  if (p === 1) return scale(x, 1);
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = Math.pow(xd[i]!, p);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      const q = p - 1;
      for (let i = 0; i < n; i++) gx[i]! += p * Math.pow(xd[i]!, q) * g[i]!;
    },
    { releasesGrad: true },
  );
}

/** |x|. Backward: dx = sign(x)·g (0 at x = 0). */
export function abs(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = Math.abs(xd[i]!);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) {
        const v = xd[i]!;
        gx[i]! += g[i]! * (+(v > 0) - +(v < 0)); // branch-free sign
      }
    },
    { releasesGrad: true },
  );
}

// ---------------------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------------------

/** Mask values as a private byte copy: a Uint8Array copied, a tensor as (value ≠ 0). */
function maskBytes(op: string, mask: Uint8Array | Tensor, size: number, shape: readonly number[]): Uint8Array {
  if (mask instanceof Tensor) {
    if (mask.size !== size) throw new Error(`${op}: mask has shape [${mask.shape.join(', ')}], values have shape [${shape.join(', ')}]`);
    const m = new Uint8Array(size);
    const md = mask.data;
    for (let i = 0; i < size; i++) m[i] = md[i] !== 0 ? 1 : 0;
    return m;
  }
  if (mask.length !== size) throw new Error(`${op}: mask has ${mask.length} entries, values have shape [${shape.join(', ')}] (${size} elements)`);
  return mask.slice(); // kept for backward; the caller may reuse its array
}

/**
 * Elementwise select: out = a where mask ≠ 0, else b (a and b of the same shape; the mask
 * a Uint8Array or a tensor with as many elements, read as mask ≠ 0). Backward: the gradient
 * goes to the selected branch only.
 */
export function where(mask: Uint8Array | Tensor, a: Tensor, b: Tensor): Tensor {
  assertSameShape('where', a.shape, b.shape);
  const n = a.size;
  const m = maskBytes('where', mask, n, a.shape);
  const ad = a.data,
    bd = b.data;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = m[i] !== 0 ? ad[i]! : bd[i]!;
  return fromOp(
    out,
    a.shape,
    [a, b],
    (g) => {
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        for (let i = 0; i < n; i++) if (m[i] !== 0) ga[i]! += g[i]!;
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        for (let i = 0; i < n; i++) if (m[i] === 0) gb[i]! += g[i]!;
      }
    },
    { releasesGrad: true },
  );
}

/**
 * out = value where mask ≠ 0, else x (mask with x.size entries, as torch's masked_fill).
 * Backward: dx = g where mask = 0, 0 where filled.
 */
export function maskedFill(x: Tensor, mask: Uint8Array, value: number): Tensor {
  const n = x.size;
  const m = maskBytes('maskedFill', mask, n, x.shape);
  const xd = x.data;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = m[i] !== 0 ? value : xd[i]!;
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) if (m[i] === 0) gx[i]! += g[i]!;
    },
    { releasesGrad: true },
  );
}
