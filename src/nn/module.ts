import { Tensor } from '../engine/tensor.js';

/**
 * What a Module needs to know of an embedding table (src/embedding): a name, its values
 * as one row-major [rows, dim] Float32Array, and its optimizer-visible gradient state.
 */
export interface EmbeddingLike {
  readonly rows: number;
  readonly dim: number;
  /** Row-major [rows, dim] values. */
  readonly weight: Float32Array;
}

/**
 * Base of every layer, block and model, in the spirit of torch.nn.Module: parameters,
 * embedding tables, buffers (non-trained state such as batch-norm running statistics)
 * and child modules are registered by name; `namedParameters`, `namedEmbeddings` and
 * `stateDict` walk the tree with dotted names; `train()` / `eval()` set the mode of the
 * whole tree.
 */
export class Module {
  /** True in training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly tables = new Map<string, EmbeddingLike>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable dense parameter (marks it as requiring a gradient). */
  protected param(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.requiresGrad = true;
    t.name = name;
    this.params.set(name, t);
    return t;
  }

  /** Registers non-trained state that belongs in the state dict. */
  protected buffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    this.buffers.set(name, t);
    return t;
  }

  /** Registers an embedding table (row-sparse gradients, own optimizers). */
  protected table<T extends EmbeddingLike>(name: string, table: T): T {
    this.checkName(name);
    this.tables.set(name, table);
    return table;
  }

  /** Registers a child module. */
  protected child<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`module member name '${name}' must be non-empty and contain no '.'`);
    if (this.params.has(name) || this.buffers.has(name) || this.tables.has(name) || this.children.has(name)) {
      throw new Error(`module member '${name}' registered twice`);
    }
  }

  /** Child modules by name. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  /** All dense parameters of the tree, with dotted names. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** All dense parameters of the tree. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** All buffers of the tree, with dotted names. */
  namedBuffers(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, b] of this.buffers) out.push([prefix + n, b]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** All embedding tables of the tree, with dotted names (a shared table appears once). */
  namedEmbeddings(prefix = ''): Array<[string, EmbeddingLike]> {
    const out: Array<[string, EmbeddingLike]> = [];
    const seen = new Set<EmbeddingLike>();
    const walk = (m: Module, p: string) => {
      for (const [n, t] of m.tables) {
        if (!seen.has(t)) {
          seen.add(t);
          out.push([p + n, t]);
        }
      }
      for (const [n, c] of m.children) walk(c, `${p}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  /** Every module of the tree, depth first, this one first. */
  *modules(): Generator<Module> {
    yield this;
    for (const c of this.children.values()) yield* c.modules();
  }

  /** Sets training mode on the whole tree. */
  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  /** Sets evaluation mode on the whole tree. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the gradients of all dense parameters. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Every named array of state: parameters, buffers and embedding tables (as `name` →
   * values). The arrays are the live ones; copy them to snapshot.
   */
  stateDict(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [n, p] of this.namedParameters()) out.set(n, p.data);
    for (const [n, b] of this.namedBuffers()) out.set(n, b.data);
    for (const [n, t] of this.namedEmbeddings()) out.set(n, t.weight);
    return out;
  }

  /** Copies values into the live state; every name must exist with the same length. */
  loadStateDict(state: Map<string, Float32Array>): void {
    const live = this.stateDict();
    for (const [n] of live) if (!state.has(n)) throw new Error(`state dict is missing '${n}'`);
    for (const [n, v] of state) {
      const dst = live.get(n);
      if (dst === undefined) throw new Error(`state dict has unknown entry '${n}'`);
      if (dst.length !== v.length) throw new Error(`state dict entry '${n}' has ${v.length} values, model expects ${dst.length}`);
      dst.set(v);
    }
  }
}
