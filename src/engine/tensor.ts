/**
 * Float32 tensors and reverse-mode automatic differentiation.
 *
 * A Tensor is a Float32Array plus a row-major shape. Ops (src/engine/ops) create result
 * tensors with `fromOp`, recording their parent tensors and a backward closure that turns
 * the result's gradient into gradient contributions accumulated on the parents.
 * `backward()` walks the graph in reverse topological order. Graph recording is skipped
 * when no parent requires a gradient or inside `noGrad`.
 */

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

  /** The gradient buffer, allocated (zeros) on first use. Ops accumulate into it. */
  gradBuffer(): Float32Array {
    if (this.grad === null) this.grad = new Float32Array(this.data.length);
    return this.grad;
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
   * after use; leaves keep theirs, accumulated over calls until zeroed.
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
      if (node.grad !== null) node.backwardFn(node.grad);
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

/**
 * Creates the result tensor of an op. When the graph is recorded and a parent requires a
 * gradient, the result requires one too and keeps `backward`, which must add the
 * contributions to `parent.gradBuffer()` of each parent that has `requiresGrad`.
 */
export function fromOp(data: Float32Array, shape: readonly number[], parents: readonly Tensor[], backward: BackwardFn): Tensor {
  const out = new Tensor(data, shape, false);
  if (gradEnabled) {
    for (const p of parents) {
      if (p.requiresGrad) {
        out.requiresGrad = true;
        out.parents = parents;
        out.backwardFn = backward;
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
