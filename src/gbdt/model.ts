import { Tensor } from '../engine/tensor.js';
import type { Batch } from '../features/batch.js';
import { SingleTaskModel, type ModelContext, type RankingModel } from '../models/base.js';
import { sparseField, type FeatureSpec, type FieldDef } from '../features/fields.js';
import { Booster } from './booster.js';
import type { FeatureMatrix } from './matrix.js';
import { BOOSTER_DEFAULTS, resolveBoosterOptions, type BoosterOptions } from './options.js';
import { NODE_FIELDS, treeStarts } from './tree.js';

/** Registry names of the tree models. */
export const TREE_MODELS = ['gbdt', 'gbdt_lr'] as const;

/** Whether a registry name is a tree model (trained by src/gbdt/train.ts, not by gradient steps alone). */
export function isTreeModel(name: string): boolean {
  return (TREE_MODELS as readonly string[]).includes(name.toLowerCase());
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Booster options in the registry's camelCase form (`nEstimators`, …), plus `leafCounts`: the
 * leaves of every trained tree (set by training; fixes the size of the packed trees).
 */
export const GBDT_MODEL_DEFAULTS: Record<string, number | string | number[]> = {
  ...Object.fromEntries(Object.entries(BOOSTER_DEFAULTS).map(([k, v]) => [camel(k), v as number | string])),
  leafCounts: [] as number[],
};

/**
 * The second model's options of GBDT+LR, written `key=value` (value: JSON, else a string),
 * e.g. `["embedding_dim=8", "hidden_units=[64, 32]"]`.
 */
export function parseSecondModelOptions(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`gbdt_lr: second_model_options entry '${item}' must be key=value (e.g. embedding_dim=8)`);
    const raw = item.slice(eq + 1).trim();
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      // a bare string value
    }
    out[camel(item.slice(0, eq).trim())] = v;
  }
  return out;
}

/** The booster options held in a tree model's (camelCase) options. */
export function boosterOptionsOf(opts: Record<string, unknown>): BoosterOptions {
  const user: Record<string, unknown> = {};
  for (const k of Object.keys(BOOSTER_DEFAULTS)) if (opts[camel(k)] !== undefined) user[k] = opts[camel(k)];
  return resolveBoosterOptions(user, 'model_options');
}

/** The booster options of a tree model, refusing objectives whose output is not a click logit. */
export function treeModelBoosterOptions(opts: Record<string, unknown>): BoosterOptions {
  const o = boosterOptionsOf(opts);
  if (o.objective !== 'binary:logistic') {
    throw new Error(
      `${opts.secondModel === undefined ? 'gbdt' : 'gbdt_lr'}: finerank's models output click logits, so only objective binary:logistic is supported here; reg:squarederror is available through the Booster API (docs/gbdt.md)`,
    );
  }
  return o;
}

/** The tree inputs of a model spec: dense fields (numbers) then sparse fields (encoded ids). */
export function treeFeatureNames(spec: FeatureSpec): string[] {
  return [...spec.fields.filter((f) => f.kind === 'dense'), ...spec.fields.filter((f) => f.kind === 'sparse')].map((f) => f.name);
}

/** The feature matrix of a batch for the trees (dense values, sparse ids). */
export function treeMatrix(batch: Batch, spec: FeatureSpec): FeatureMatrix {
  const dense = spec.fields.filter((f) => f.kind === 'dense'),
    sparse = spec.fields.filter((f) => f.kind === 'sparse');
  const columns = [
    ...dense.map((f) => batch.dense[f.name] ?? missingField(f.name)),
    ...sparse.map((f) => batch.sparse[f.name] ?? missingField(f.name)),
  ];
  return { rows: batch.size, names: [...dense, ...sparse].map((f) => f.name), columns };
}

function missingField(name: string): never {
  throw new Error(`batch has no field '${name}' (a tree input)`);
}

/**
 * Gradient-boosted trees as a ranking model: logit = the booster's margin. The trees live in
 * the state dict as one packed float32 buffer (tree.ts layout) whose size the `leafCounts`
 * option fixes, so an artifact rebuilds the model from its options and loads the trees like
 * any weights. Trained by `trainTreeModel` (src/gbdt/train.ts), not by the Trainer.
 */
export class GbdtModel extends SingleTaskModel {
  readonly modelName: string = 'gbdt';
  /** Booster options (XGBoost names). */
  readonly boosterOptions: BoosterOptions;
  readonly leafCounts: number[];
  protected readonly spec: FeatureSpec;
  private readonly packed: Tensor;
  private readonly base: Tensor;

  constructor(ctx: ModelContext, opts: Record<string, unknown>) {
    super(ctx);
    this.spec = ctx.spec;
    this.boosterOptions = treeModelBoosterOptions(opts);
    this.leafCounts = (opts.leafCounts as number[] | undefined) ?? [];
    const nodes = treeStarts(this.leafCounts)[this.leafCounts.length]!;
    this.packed = this.buffer('trees', Tensor.zeros([nodes * NODE_FIELDS]));
    this.base = this.buffer('base_margin', Tensor.zeros([1]));
  }

  /** The booster over the live tree buffer (reflects loaded weights). */
  booster(): Booster {
    return new Booster(this.packed.data, this.leafCounts, this.base.data[0]!, treeFeatureNames(this.spec), this.boosterOptions.objective);
  }

  /** Copies trained trees into the buffers (their leaf counts must match the options). */
  setTrees(b: Booster): void {
    if (b.leafCounts.join(',') !== this.leafCounts.join(',')) throw new Error("trained trees do not match the model's leafCounts option");
    this.packed.data.set(b.nodes);
    this.base.data[0] = b.baseMargin;
  }

  forward(batch: Batch): Tensor {
    const m = this.booster().predictMargin(treeMatrix(batch, this.spec));
    return Tensor.from(Float32Array.from(m), [batch.size]);
  }
}

/** A model constructor by registry name (passed in to keep the registry → gbdt dependency one-way). */
export type ModelFactory = (name: string, ctx: ModelContext, opts: Record<string, unknown>) => RankingModel;

/** Name of the categorical field holding tree t's leaf. */
export function leafFieldName(t: number): string {
  return `gbdt_leaf_${t}`;
}

/**
 * GBDT+LR (He et al. 2014): every tree becomes a categorical field whose value is the leaf a
 * row reaches (id 2 + leaf index; 0/1 are the padding and OOV rows of the id convention), and
 * a second model — LR by default, any registered model by `secondModel` — is trained on those
 * fields, with the original sparse and varlen fields too when `withSparse` (the paper's best
 * setting adds the raw ids). The trees are fixed while the second model trains.
 */
export class GbdtLrModel extends GbdtModel {
  override readonly modelName: string = 'gbdt_lr';
  readonly second: RankingModel;
  readonly secondSpec: FeatureSpec;
  private readonly withSparse: boolean;

  constructor(ctx: ModelContext, opts: Record<string, unknown>, create: ModelFactory) {
    super(ctx, opts);
    this.withSparse = opts.withSparse as boolean;
    const taken = new Set(ctx.spec.fields.map((f) => f.name));
    const leafFields: FieldDef[] = this.leafCounts.map((L, t) => {
      const name = leafFieldName(t);
      if (taken.has(name)) throw new Error(`gbdt_lr: the schema already has a field named '${name}' (reserved for tree ${t}'s leaves)`);
      return sparseField(name, L + 2);
    });
    this.secondSpec = {
      fields: [...leafFields, ...(this.withSparse ? ctx.spec.fields.filter((f) => f.kind !== 'dense') : [])],
      labels: ctx.spec.labels,
    };
    const secondOpts = parseSecondModelOptions((opts.secondModelOptions as string[] | undefined) ?? []);
    this.second = this.child(
      'second',
      create(opts.secondModel as string, { spec: this.secondSpec, rng: ctx.rng, tasks: [...this.tasks] }, secondOpts),
    );
  }

  /** The batch the second model sees: leaf fields (and the original categorical fields). */
  leafBatch(batch: Batch): Batch {
    const T = this.leafCounts.length;
    const leaves = this.booster().predictLeaves(treeMatrix(batch, this.spec));
    const sparse: Record<string, Int32Array> = this.withSparse ? { ...batch.sparse } : {};
    for (let t = 0; t < T; t++) {
      const ids = new Int32Array(batch.size);
      for (let r = 0; r < batch.size; r++) ids[r] = 2 + leaves[r * T + t]!;
      sparse[leafFieldName(t)] = ids;
    }
    const out: Batch = { size: batch.size, sparse, dense: {}, varlen: this.withSparse ? batch.varlen : {}, labels: batch.labels };
    if (batch.weight !== undefined) out.weight = batch.weight;
    if (batch.group !== undefined) out.group = batch.group;
    return out;
  }

  override forward(batch: Batch): Tensor {
    return this.second.forwardTasks(this.leafBatch(batch))[this.tasks[0]!]!;
  }

  /** The second model's own loss term (e.g. DIEN's auxiliary loss), when it has one. */
  override extraLoss(): Tensor | null {
    return this.second.extraLoss();
  }
}
