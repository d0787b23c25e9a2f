/**
 * Float32 tensors and reverse-mode automatic differentiation.
 *
 * A Tensor is a Float32Array plus a row-major shape. Ops (src/engine/ops) create result
 * tensors with `fromOp`, recording their parent tensors and a backward closure that turns
 * the result's gradient into gradient contributions accumulated on the parents.
 * `backward()` walks the graph in reverse topological order. Graph recording is skipped
 * when no parent requires a gradient or inside `noGrad`.
 */

import { Buffer } from 'node:buffer';

/** Whether ops currently record the graph (false inside `noGrad`). */
let gradEnabled = true;

/** Runs `fn` without recording the autograd graph (evaluation, inference, optimizer steps). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when ops record the autograd graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Number of elements of a shape (1 for a scalar shape []). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless the shape is a list of non-negative integers. */
export function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
  }
}

/** The backward closure of an op: receives d(loss)/d(result) and accumulates into parents. */
export type BackwardFn = (gradOut: Float32Array) => void;

/*
 * Buffer pool. A training step allocates and drops tens of multi-megabyte Float32Arrays
 * (activations and their gradients); fresh ones cost a page fault per 4 KiB on first
 * touch (about 20 ms per 6.5 MB array on a VM, more than the arithmetic) and pressure the
 * garbage collector. Arrays whose owner knows they are dead — gradients of intermediate
 * tensors once their op's backward has run, scratch arrays of fused ops — are handed back
 * with `releaseFloat32` and handed out again, already mapped, by `allocFloat32` /
 * `allocZeroedFloat32` for the same length. Only arrays of at least POOL_MIN_LENGTH
 * elements that own their whole ArrayBuffer are kept, up to `poolLimitBytes` in all
 * (beyond that a released array is simply left to the garbage collector).
 */

/** Smallest pooled length (elements) by default: smaller arrays are cheap to allocate. */
export const DEFAULT_POOL_MIN_LENGTH = 1 << 15;
let POOL_MIN_LENGTH = DEFAULT_POOL_MIN_LENGTH;

/**
 * Sets the smallest pooled length (elements, ≥ 16). A scoring server lowers it: its forward
 * passes at a few hundred rows allocate many arrays below the default, and each fresh one
 * is an external allocation that pushes V8 towards a garbage collection (a pause in some
 * request's latency). Arrays already pooled stay.
 */
export function setPoolMinLength(n: number): void {
  if (!Number.isInteger(n) || n < 16) throw new Error(`setPoolMinLength: length must be an integer ≥ 16, got ${n}`);
  POOL_MIN_LENGTH = n;
}
/** Pooled (idle) bytes at most. */
let poolLimitBytes = 256 * 1024 * 1024;
const pool = new Map<number, Float32Array[]>();
const inPool = new WeakSet<Float32Array>();
let pooledBytes = 0;
let poolHits = 0;
let poolMisses = 0;

/**
 * A Float32Array of length n with unspecified contents, for results that are fully
 * overwritten: a recycled array when the pool holds one of that length; else, for pooled
 * lengths, a new array whose memory is not zero-filled (`Buffer.allocUnsafeSlow`: malloc
 * instead of calloc, saving a pass over the memory), and a zero-filled one for short lengths.
 */
export function allocFloat32(n: number): Float32Array {
  if (n >= POOL_MIN_LENGTH) {
    const list = pool.get(n);
    let a: Float32Array;
    if (list !== undefined && list.length > 0) {
      a = list.pop()!;
      inPool.delete(a);
      pooledBytes -= a.byteLength;
      poolHits++;
    } else {
      poolMisses++;
      const bytes = Buffer.allocUnsafeSlow(4 * n); // its own ArrayBuffer, offset 0
      a = new Float32Array(bytes.buffer, bytes.byteOffset, n);
    }
    if (scopes.length > 0) scopes[scopes.length - 1]!.allocated.add(a);
    return a;
  }
  return new Float32Array(n);
}

/** A zero-filled Float32Array of length n (recycled from the pool when possible). */
export function allocZeroedFloat32(n: number): Float32Array {
  if (n >= POOL_MIN_LENGTH) {
    const list = pool.get(n);
    if (list !== undefined && list.length > 0) return allocFloat32(n).fill(0);
    poolMisses++;
    const a = new Float32Array(n);
    if (scopes.length > 0) scopes[scopes.length - 1]!.allocated.add(a);
    return a;
  }
  return new Float32Array(n);
}

/**
 * Hands an array back to the pool for reuse. The caller asserts that nothing will read or
 * write it afterwards (no other reference to it or to its buffer is used again). Arrays
 * that are small, views of a larger buffer, or over the pool's limit are ignored (left to
 * the garbage collector). Releasing an array twice is an error.
 */
export function releaseFloat32(a: Float32Array): void {
  if (a.length < POOL_MIN_LENGTH || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
  if (inPool.has(a)) throw new Error('releaseFloat32: array released twice');
  if (!(a.buffer instanceof ArrayBuffer) || pooledBytes + a.byteLength > poolLimitBytes) return;
  let list = pool.get(a.length);
  if (list === undefined) {
    list = [];
    pool.set(a.length, list);
  }
  list.push(a);
  inPool.add(a);
  pooledBytes += a.byteLength;
}

/** Counters of the buffer pool: idle bytes held, arrays reused (hits) and allocated new (misses). */
export function bufferPoolStats(): { pooledBytes: number; hits: number; misses: number; limitBytes: number } {
  return { pooledBytes, hits: poolHits, misses: poolMisses, limitBytes: poolLimitBytes };
}

/** Empties the pool (its arrays go to the garbage collector) and sets its byte limit (0 disables pooling). */
export function resetBufferPool(limitBytes = poolLimitBytes): void {
  if (!(limitBytes >= 0)) throw new Error(`resetBufferPool: limit must be a non-negative number of bytes, got ${limitBytes}`);
  pool.clear();
  pooledBytes = 0;
  poolHits = 0;
  poolMisses = 0;
  poolLimitBytes = limitBytes;
}

/*
 * Tidy scopes (as tf.tidy): op results computed inside `tidy(fn)` into pool-allocated
 * arrays are handed back to the pool when fn returns, except the arrays of the tensors fn
 * returns. Only arrays that `allocFloat32` / `allocZeroedFloat32` handed out inside the
 * scope and that an op then used as its result are candidates: parameters, inputs,
 * gradients (recycled by `backward` or owned by leaves) and arrays of other origins never are.
 */
interface TidyScope {
  /** Pool-sized arrays handed out in this scope. */
  allocated: Set<Float32Array>;
  /** Those of them that became op results (`fromOp` data). */
  results: Set<Float32Array>;
}
const scopes: TidyScope[] = [];

/** Tensors found in a tidy result: a tensor, or the tensors of an array or plain object (one level). */
function tensorsIn(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.filter((v): v is Tensor => v instanceof Tensor);
  if (value !== null && typeof value === 'object') return Object.values(value).filter((v): v is Tensor => v instanceof Tensor);
  return [];
}

/**
 * Runs fn and then recycles the arrays of the op results it created (forward activations),
 * so that the next call computes into memory already mapped instead of fresh allocations.
 * The contract, as tf.tidy's: tensors created inside fn must not be used after it returns,
 * except those it returns (a tensor, or an array / plain object of tensors), whose arrays
 * are kept (and belong to an enclosing scope, if any), as are those of the graph behind
 * them while it has not been back-propagated. Typical use: one training step,
 * `tidy(() => { const loss = …; loss.backward(); return loss.item(); })`, with the
 * optimizer step inside or after it (gradients of parameters are never recycled here).
 * When fn throws, nothing is recycled.
 */
export function tidy<T>(fn: () => T): T {
  const scope: TidyScope = { allocated: new Set(), results: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  // Kept: the arrays of the returned tensors and of every tensor of their graphs not yet
  // back-propagated (a later backward() reads them).
  const keep = new Set<ArrayBufferLike>();
  const seen = new Set<Tensor>();
  const stack = tensorsIn(result);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    keep.add(t.data.buffer);
    for (const p of t.parents) stack.push(p);
  }
  const outer = scopes.length > 0 ? scopes[scopes.length - 1]! : null;
  for (const a of scope.results) {
    if (keep.has(a.buffer)) {
      if (outer !== null) {
        outer.allocated.add(a);
        outer.results.add(a);
      }
    } else if (!inPool.has(a)) {
      releaseFloat32(a);
    }
  }
  return result;
}

/** A dense float32 tensor that may take part in autograd. */
export class Tensor {
  /** Row-major values. */
  readonly data: Float32Array;
  /** Dimensions, outermost first. */
  readonly shape: number[];
  /** Accumulated gradient d(loss)/d(this), allocated on first use. */
  grad: Float32Array | null = null;
  /** Whether gradients flow to this tensor. */
  requiresGrad: boolean;
  /** Inputs of the op that produced this tensor (empty for leaves). */
  parents: readonly Tensor[] = [];
  /** Backward closure of the producing op (null for leaves). */
  backwardFn: BackwardFn | null = null;
  /** Optional name (parameters carry theirs for state dicts and error messages). */
  name: string | undefined;
  /**
   * Set by `fromOp` when the producing op's backward keeps no reference to its gradient
   * array: `backward()` then recycles the array (see `releaseFloat32`) after that op ran.
   */
  releasesGrad = false;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    checkShape(shape);
    if (data.length !== shapeSize(shape)) {
      throw new Error(`tensor data has ${data.length} values but shape [${shape.join(', ')}] needs ${shapeSize(shape)}`);
    }
    this.data = data;
    this.shape = shape.slice();
    this.requiresGrad = requiresGrad;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** A zero-filled tensor. */
  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, requiresGrad);
  }

  /** A tensor filled with one value. */
  static full(shape: readonly number[], value: number, requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)).fill(value), shape, requiresGrad);
  }

  /** A tensor copied from a plain array (or typed array) of numbers. */
  static from(values: ArrayLike<number>, shape: readonly number[] = [values.length], requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape, requiresGrad);
  }

  /** A scalar (shape []) tensor. */
  static scalar(value: number, requiresGrad = false): Tensor {
    return new Tensor(Float32Array.of(value), [], requiresGrad);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item() needs one element, tensor has shape [${this.shape.join(', ')}]`);
    return this.data[0]!;
  }

  /** The gradient buffer, allocated (zeros, possibly a recycled array) on first use. Ops accumulate into it. */
  gradBuffer(): Float32Array {
    if (this.grad === null) this.grad = allocZeroedFloat32(this.data.length);
    return this.grad;
  }

  /**
   * The gradient buffer for an op that writes a whole contribution at once. When this
   * tensor has no gradient yet, a new (possibly recycled) buffer with unspecified contents
   * becomes its gradient and `overwrite` is true: the caller must then assign every element
   * rather than add (saving the zero-fill and a read). Otherwise the existing buffer is
   * returned with `overwrite` false, to be added to.
   */
  gradForWrite(): { grad: Float32Array; overwrite: boolean } {
    if (this.grad === null) {
      this.grad = allocFloat32(this.data.length);
      return { grad: this.grad, overwrite: true };
    }
    return { grad: this.grad, overwrite: false };
  }

  /** Zeroes the gradient (keeps the buffer). */
  zeroGrad(): void {
    if (this.grad !== null) this.grad.fill(0);
  }

  /** A leaf copy of this tensor's values, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  /** A deep copy of the values as a new leaf. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, this.requiresGrad);
  }

  /**
   * Back-propagates from this tensor. Without `gradOut` the tensor must be a scalar and
   * the seed gradient is 1. Gradients of intermediate (non-leaf) tensors are released
   * after use (recycled when their op allows it); leaves keep theirs, accumulated over
   * calls until zeroed.
   */
  backward(gradOut?: Float32Array): void {
    if (gradOut === undefined) {
      if (this.data.length !== 1) throw new Error('backward() without a gradient needs a scalar tensor');
      gradOut = Float32Array.of(1);
    } else if (gradOut.length !== this.data.length) {
      throw new Error(`backward gradient has ${gradOut.length} values, tensor has ${this.data.length}`);
    }
    if (!this.requiresGrad) throw new Error('backward() on a tensor that does not require a gradient');
    const order = topologicalOrder(this);
    const g = this.gradBuffer();
    for (let i = 0; i < g.length; i++) g[i]! += gradOut[i]!;
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      if (node.backwardFn === null) continue;
      const g = node.grad;
      if (g !== null) {
        node.backwardFn(g);
        if (node.releasesGrad) releaseFloat32(g);
      }
      // Release intermediate state: gradients and graph links of non-leaves.
      node.grad = null;
      node.backwardFn = null;
      node.parents = [];
    }
  }
}

/** Tensors reachable from `root` through parents, each after all of its parents. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [node, next] = top;
    if (next < node.parents.length) {
      top[1] = next + 1;
      const p = node.parents[next]!;
      if (p.requiresGrad && !visited.has(p)) {
        visited.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}

/** Options of `fromOp`. */
export interface FromOpOptions {
  /**
   * The op's backward closure neither keeps the gradient array it receives after it
   * returns nor stores it anywhere (e.g. as a parent's `grad`), so `backward()` may recycle
   * the array once the closure has run. Default false (the array is left to the GC).
   */
  releasesGrad?: boolean;
}

/**
 * Creates the result tensor of an op. When the graph is recorded and a parent requires a
 * gradient, the result requires one too and keeps `backward`, which must add the
 * contributions to `parent.gradBuffer()` of each parent that has `requiresGrad`.
 */
export function fromOp(data: Float32Array, shape: readonly number[], parents: readonly Tensor[], backward: BackwardFn, opts?: FromOpOptions): Tensor {
  const out = new Tensor(data, shape, false);
  if (scopes.length > 0) {
    const scope = scopes[scopes.length - 1]!;
    if (scope.allocated.has(data)) scope.results.add(data);
  }
  if (gradEnabled) {
    for (const p of parents) {
      if (p.requiresGrad) {
        out.requiresGrad = true;
        out.parents = parents;
        out.backwardFn = backward;
        out.releasesGrad = opts?.releasesGrad ?? false;
        break;
      }
    }
  }
  return out;
}

/** Throws a message naming the op when two shapes differ. */
export function assertSameShape(op: string, a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] differ`);
  }
}
