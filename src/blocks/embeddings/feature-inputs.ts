/**
 * The input layer every model uses (FuxiCTR's FeatureEmbedding + dict2tensor, DeepCTR's
 * input_from_feature_columns): it turns a batch into what a model's figure starts from.
 *
 * - field embeddings stacked `[B, F, D]` (`stacked()`), or flat `[B, width]` (`flat()`,
 *   raw numeric fields appended unless they are embedded);
 * - multi-value fields pooled (sum / mean / max over their true length);
 * - numeric fields, when asked (`embedDense`), as fields: value × a learned vector;
 * - behaviour sequences kept whole as `[B, L, D]` with their padding mask (`sequence()`);
 * - fields selected by use (deep / linear part), name, kind or tag.
 *
 * Every field keeps its own `embeddingDim` (the model's `embedding_dim` otherwise; a field
 * sharing a table, such as a history, takes the table's dimension). A model
 * whose math needs one dimension (FM, cross products, attention over fields) asks for
 * `sameDim: 'require'` and gets an error naming the mixed fields, or `'project'` to map each
 * field of another size onto the model dimension with a learned linear projection.
 *
 * Output order: single-id fields in schema order, then pooled multi-value fields, then
 * embedded numeric fields. Tables are registered under their table names, so fields naming
 * the same table share it and state-dict keys stay `<block>.<table>`.
 */
import { Tensor, isGradEnabled } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { concat, mul, reshape, slice } from '../../engine/ops/index.js';
import { markSharedColumns, markSharedFields } from '../../engine/ops/linear-shared.js';
import { EmbeddingTable } from '../../embedding/table.js';
import { embedFields, embedPooled, embedSequence, type PoolingMode } from '../../embedding/lookup.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { fillNormal } from '../../nn/init.js';
import type { Batch, PaddedIds } from '../../features/batch.js';
import type { FeatureSpec, FieldDef, FieldKind } from '../../features/fields.js';

/** Which fields an input layer reads. Every given criterion must hold. */
export interface FieldSelector {
  /** The part the fields feed: 'deep' keeps use deep|both, 'linear' keeps use linear|both. Default 'deep'. */
  use?: 'deep' | 'linear';
  /** Only these field names (an unknown name is an error). */
  names?: string[];
  /** Only these kinds. */
  kinds?: FieldKind[];
  /** Only fields carrying one of these tags. */
  tags?: string[];
  /** Leave these fields out. */
  exclude?: string[];
}

/** The fields of a spec a selector picks, in schema order. */
export function selectFields(spec: FeatureSpec, sel: FieldSelector = {}): FieldDef[] {
  const use = sel.use ?? 'deep';
  for (const n of [...(sel.names ?? []), ...(sel.exclude ?? [])]) {
    if (!spec.fields.some((f) => f.name === n)) throw new Error(`no input field '${n}'; fields: ${spec.fields.map((f) => f.name).join(', ')}`);
  }
  return spec.fields.filter(
    (f) =>
      (f.use === 'both' || f.use === use) &&
      (sel.names === undefined || sel.names.includes(f.name)) &&
      (sel.kinds === undefined || sel.kinds.includes(f.kind)) &&
      (sel.tags === undefined || (f.tag !== undefined && sel.tags.includes(f.tag))) &&
      !(sel.exclude ?? []).includes(f.name),
  );
}

/** Options of `FeatureInputs`. */
export interface FeatureInputsOptions {
  /** Dimension of fields without their own `embeddingDim`, and the common one for stacking. */
  embeddingDim: number;
  /** Std of the N(0, std²) initialization of tables and numeric-field vectors (protocol: 1e-4). */
  initStd: number;
  rng: Rng;
  /** Which fields (default: every field of the deep part). */
  select?: FieldSelector;
  /** Numeric fields become fields: value × a learned vector (FuxiCTR, AutoInt). Default false: they are appended raw to `flat()`. */
  embedDense?: boolean;
  /**
   * 'any' (default): per-field dimensions honoured, `stacked()` refuses mixed ones;
   * 'require': mixed dimensions are refused at construction; 'project': a field whose
   * dimension differs from `embeddingDim` is projected onto it (Linear, no bias).
   */
  sameDim?: 'any' | 'require' | 'project';
  /** Sequence fields the model consumes itself through `sequence()` (not pooled into the field list). */
  sequences?: string[];
  /** Every field gets `embeddingDim`, whatever its own (the linear part's 1-d weights). Default false. */
  ignoreFieldDims?: boolean;
  /** Who asks (named in errors), e.g. "model 'deepfm'". */
  owner?: string;
  /** Prefix of the table names (keeps the linear part's 1-d tables apart in optimizers and logs). */
  prefix?: string;
}

/** A behaviour sequence as a model consumes it. */
export interface SequenceInput {
  /** [B, L, D] embeddings; zero rows at padding positions. */
  values: Tensor;
  /** Padded ids and true lengths. */
  ids: PaddedIds;
  /** [B·L], 1 at padding positions (the softmax mask convention: non-zero = masked out). */
  padding: Uint8Array;
}

/** A run of consecutive output fields embedded by one op. */
type Part =
  | { kind: 'sparse'; fields: FieldDef[]; tables: EmbeddingTable[]; dim: number; projection: Linear | null }
  | { kind: 'pooled'; field: FieldDef; table: EmbeddingTable; dim: number; projection: Linear | null }
  | { kind: 'dense'; fields: FieldDef[]; weight: Tensor; dim: number };

/** The input layer: embeds the selected fields of a batch. */
export class FeatureInputs extends Module {
  /** Fields in `stacked()` / `flat()` order (numeric fields included when embedded). */
  readonly fields: FieldDef[];
  /** Dimension of each of `fields` as output (after projection). */
  readonly dims: number[];
  /** Numeric fields appended raw to `flat()` (when not embedded). */
  readonly rawDense: FieldDef[];
  /** Sequence fields kept for `sequence()`, by name. */
  readonly sequenceFields: Map<string, FieldDef>;
  private readonly parts: Part[] = [];
  private readonly tablesByName = new Map<string, EmbeddingTable>();
  private readonly opts: FeatureInputsOptions;

  constructor(spec: FeatureSpec, opts: FeatureInputsOptions) {
    super();
    this.opts = opts;
    const owner = opts.owner ?? 'the input layer';
    const selected = selectFields(spec, opts.select);
    const seqNames = opts.sequences ?? [];
    for (const n of seqNames) {
      const f = selected.find((x) => x.name === n);
      if (f === undefined || f.kind !== 'sequence') throw new Error(`${owner}: '${n}' is not a selected sequence field`);
    }
    this.sequenceFields = new Map(selected.filter((f) => seqNames.includes(f.name)).map((f) => [f.name, f]));
    const single = selected.filter((f) => f.kind === 'sparse');
    const pooled = selected.filter((f) => (f.kind === 'varlen' || f.kind === 'sequence') && !seqNames.includes(f.name));
    const dense = selected.filter((f) => f.kind === 'dense');
    for (const f of pooled) {
      if (f.pooling === 'attention') {
        throw new Error(
          `${owner}: field '${f.name}' asks for pooling 'attention', which only a sequence model computes (it attends over the history with the candidate); ${owner} does not consume sequences — use pooling sum, mean or max, or a model that attends over '${f.name}'`,
        );
      }
    }
    // A table's dimension: the embeddingDim its fields declare (they must agree), else the model's.
    const tableDim = new Map<string, number>();
    for (const f of spec.fields) {
      if (f.kind === 'dense' || f.embeddingDim === undefined || opts.ignoreFieldDims) continue;
      const name = f.table ?? f.name;
      const d = tableDim.get(name);
      if (d !== undefined && d !== f.embeddingDim) {
        const users = spec.fields.filter((g) => (g.table ?? g.name) === name && g.embeddingDim !== undefined);
        throw new Error(
          `${owner}: fields sharing table '${name}' declare different embedding dimensions (${users.map((g) => `${g.name} ${g.embeddingDim}`).join(', ')})`,
        );
      }
      tableDim.set(name, f.embeddingDim);
    }
    const dimOf = (f: FieldDef): number => {
      if (opts.ignoreFieldDims) return opts.embeddingDim;
      return f.kind === 'dense' ? (f.embeddingDim ?? opts.embeddingDim) : (tableDim.get(f.table ?? f.name) ?? opts.embeddingDim);
    };
    const embedded = [...single, ...pooled, ...(opts.embedDense ? dense : [])];
    const mode = opts.sameDim ?? 'any';
    const odd = embedded.filter((f) => dimOf(f) !== opts.embeddingDim);
    if (mode === 'require' && odd.length > 0) {
      throw new Error(
        `${owner} needs one embedding dimension for all fields (embedding_dim ${opts.embeddingDim}), but ${odd.map((f) => `'${f.name}' has ${dimOf(f)}`).join(', ')}; remove their embeddingDim, or set embedding_projection: true to project them onto ${opts.embeddingDim}`,
      );
    }
    const outDim = (f: FieldDef) => (mode === 'project' ? opts.embeddingDim : dimOf(f));
    const tableFor = (f: FieldDef): EmbeddingTable => {
      const name = f.table ?? f.name;
      let t = this.tablesByName.get(name);
      if (t === undefined) {
        const sharing = spec.fields.filter((g) => (g.table ?? g.name) === name && g.kind !== 'dense');
        const rows = Math.max(...sharing.map((g) => g.vocabSize ?? 0));
        if (!(rows > 0)) throw new Error(`${owner}: field '${f.name}' has no vocabulary size`);
        t = new EmbeddingTable(`${opts.prefix ?? ''}${name}`, rows, dimOf(f), { init: 'normal', std: opts.initStd, rng: opts.rng });
        this.tablesByName.set(name, t);
        this.table(name, t);
      }
      return t;
    };
    const projectionFor = (f: FieldDef): Linear | null =>
      mode === 'project' && dimOf(f) !== opts.embeddingDim
        ? this.child(`proj_${f.name}`, new Linear(dimOf(f), opts.embeddingDim, { rng: opts.rng, bias: false }))
        : null;
    // Single-id fields: consecutive fields of one dimension (and no projection) share one gather.
    for (const f of single) {
      const t = tableFor(f);
      const proj = projectionFor(f);
      const last = this.parts.at(-1);
      if (proj === null && last?.kind === 'sparse' && last.projection === null && last.dim === t.dim) {
        last.fields.push(f);
        last.tables.push(t);
      } else {
        this.parts.push({ kind: 'sparse', fields: [f], tables: [t], dim: t.dim, projection: proj });
      }
    }
    for (const f of pooled) this.parts.push({ kind: 'pooled', field: f, table: tableFor(f), dim: dimOf(f), projection: projectionFor(f) });
    for (const f of this.sequenceFields.values()) tableFor(f);
    if (opts.embedDense && dense.length > 0) {
      const dims = new Set(dense.map(outDim));
      if (dims.size > 1 && mode !== 'project')
        throw new Error(`${owner}: embedded numeric fields need one dimension, got ${dense.map((f) => `'${f.name}' ${dimOf(f)}`).join(', ')}`);
      const dim = outDim(dense[0]!);
      const w = Tensor.zeros([dense.length, dim]);
      fillNormal(w.data, opts.initStd, opts.rng);
      this.parts.push({ kind: 'dense', fields: dense, weight: this.param('dense_embedding', w), dim });
    }
    this.fields = embedded;
    this.dims = embedded.map(outDim);
    this.rawDense = opts.embedDense ? [] : dense;
  }

  /** Number of embedded fields F. */
  get numFields(): number {
    return this.fields.length;
  }

  /** The common field dimension D of `stacked()`; throws naming the fields when they differ. */
  get dim(): number {
    const d = this.dims[0] ?? this.opts.embeddingDim;
    if (this.dims.some((x) => x !== d)) throw new Error(this.mixedMessage());
    return d;
  }

  /** Width of `flat()`: Σ field dimensions + raw numeric fields. */
  get flatWidth(): number {
    return this.dims.reduce((s, d) => s + d, 0) + this.rawDense.length;
  }

  /** The embedding table of a table name (e.g. a sequence's target table). */
  tableNamed(name: string): EmbeddingTable {
    const t = this.tablesByName.get(name);
    if (t === undefined) throw new Error(`input layer has no table '${name}'`);
    return t;
  }

  private readonly sharedMasks = new Map<string, Uint8Array>();

  /** Embeds the batch once; the result gives stacked / flat views without re-embedding. */
  forward(batch: Batch): EmbeddedInputs {
    const out: Tensor[] = [];
    for (const p of this.parts) {
      if (p.kind === 'sparse') {
        let e = embedFields(
          p.tables,
          p.fields.map((f) => sparseIds(batch, f.name)),
        );
        if (p.projection !== null) e = reshape(p.projection.forward(reshape(e, [batch.size, p.dim])), [batch.size, 1, this.opts.embeddingDim]);
        out.push(e);
      } else if (p.kind === 'pooled') {
        let e = embedPooled(p.table, paddedIds(batch, p.field.name), (p.field.pooling ?? 'mean') as PoolingMode);
        if (p.projection !== null) e = p.projection.forward(e);
        out.push(reshape(e, [batch.size, 1, e.shape[1]!]));
      } else {
        const x = denseValues(batch, p.fields);
        out.push(mul(reshape(x, [batch.size, p.fields.length, 1]), p.weight));
      }
    }
    return new EmbeddedInputs(
      batch,
      out,
      this.fields.map((f) => f.name),
      this.rawDense,
      () => this.mixedMessage(),
      this.sharedMasks,
    );
  }

  /** A sequence field the model consumes itself: `[B, L, D]` embeddings and the padding mask. */
  sequence(batch: Batch, name: string): SequenceInput {
    const f = this.sequenceFields.get(name);
    if (f === undefined) throw new Error(`input layer keeps no sequence '${name}' (declare it in options.sequences)`);
    const ids = paddedIds(batch, name);
    const padding = new Uint8Array(ids.ids.length);
    for (let b = 0; b < batch.size; b++) for (let j = ids.lengths[b]!; j < ids.maxLen; j++) padding[b * ids.maxLen + j] = 1;
    return { values: embedSequence(this.tableNamed(f.table ?? f.name), ids), ids, padding };
  }

  private mixedMessage(): string {
    return `${this.opts.owner ?? 'this block'} needs one embedding dimension for stacked fields, but they differ: ${this.fields.map((f, i) => `${f.name} ${this.dims[i]}`).join(', ')}`;
  }
}

/** The embedded fields of one batch, with the views models start from. */
export class EmbeddedInputs {
  private stackedCache: Tensor | null = null;
  constructor(
    private readonly batch: Batch,
    /** [B, n_i, d_i] runs in field order. */
    readonly parts: Tensor[],
    /** Names of the embedded fields, in order. */
    readonly names: readonly string[],
    private readonly rawDense: FieldDef[],
    private readonly mixed: () => string,
    /** The input layer's shared-column masks by shared-field set (the layout is fixed per layer, so one is built once). */
    private readonly maskCache: Map<string, Uint8Array> = new Map(),
  ) {}

  /** Field embeddings [B, F, D] (all dimensions equal). */
  stacked(): Tensor {
    if (this.stackedCache !== null) return this.stackedCache;
    if (this.parts.length === 0) throw new Error('input layer: no categorical field to embed');
    const d = this.parts[0]!.shape[2]!;
    if (this.parts.some((p) => p.shape[2] !== d)) throw new Error(this.mixed());
    this.stackedCache = this.parts.length === 1 ? this.parts[0]! : concat(this.parts, 1);
    const shared = this.batch.sharedFields;
    if (shared !== undefined && shared.size > 0 && this.batch.size > 1 && !isGradEnabled()) {
      markSharedFields(this.stackedCache, this.sharedFieldMask(shared));
    }
    return this.stackedCache;
  }

  /** One embedded field, [B, d_f]. */
  field(name: string): Tensor {
    let i = this.names.indexOf(name);
    if (i < 0) throw new Error(`input layer did not embed field '${name}' (embedded: ${this.names.join(', ')})`);
    for (const p of this.parts) {
      const n = p.shape[1]!;
      if (i < n) return reshape(n === 1 ? p : slice(p, 1, i, i + 1), [this.batch.size, p.shape[2]!]);
      i -= n;
    }
    throw new Error(`input layer: field '${name}' out of range`);
  }

  /**
   * Flat [B, Σ d_f + nRawDense]: every field embedding, then the raw numeric fields. Without
   * autograd, the columns of the batch's shared fields (`Batch.sharedFields`) are marked on the
   * result so that a tower's first layer multiplies them once (`linearSharedRows`).
   */
  flat(): Tensor {
    const B = this.batch.size;
    const pieces = this.parts.map((p) => reshape(p, [B, p.shape[1]! * p.shape[2]!]));
    if (this.rawDense.length > 0) pieces.push(denseValues(this.batch, this.rawDense));
    if (pieces.length === 0) throw new Error('input layer: no field to feed');
    const flat = pieces.length === 1 ? pieces[0]! : concat(pieces, 1);
    const shared = this.batch.sharedFields;
    if (shared !== undefined && shared.size > 0 && B > 1 && !isGradEnabled()) markSharedColumns(flat, this.sharedColumnMask(shared));
    return flat;
  }

  /** 1 for each field of `stacked()` in `shared` (cached per set of fields). */
  private sharedFieldMask(shared: ReadonlySet<string>): Uint8Array {
    const key = `fields\u0001${[...shared].sort().join('\u0000')}`;
    let mask = this.maskCache.get(key);
    if (mask === undefined) {
      mask = Uint8Array.from(this.names, (n) => (shared.has(n) ? 1 : 0));
      if (this.maskCache.size >= 64) this.maskCache.clear();
      this.maskCache.set(key, mask);
    }
    return mask;
  }

  /** 1 for each `flat()` column that belongs to a field in `shared` (cached per set of fields). */
  private sharedColumnMask(shared: ReadonlySet<string>): Uint8Array {
    const key = [...shared].sort().join('\u0000');
    let mask = this.maskCache.get(key);
    if (mask === undefined) {
      mask = this.buildColumnMask(shared);
      if (this.maskCache.size >= 64) this.maskCache.clear(); // bounded: a few context layouts in practice
      this.maskCache.set(key, mask);
    }
    return mask;
  }

  private buildColumnMask(shared: ReadonlySet<string>): Uint8Array {
    const cols: number[] = [];
    let f = 0;
    for (const p of this.parts) {
      const n = p.shape[1]!,
        d = p.shape[2]!;
      for (let i = 0; i < n; i++, f++) {
        const on = shared.has(this.names[f]!) ? 1 : 0;
        for (let j = 0; j < d; j++) cols.push(on);
      }
    }
    for (const r of this.rawDense) cols.push(shared.has(r.name) ? 1 : 0);
    return Uint8Array.from(cols);
  }
}

/** The ids of a single-id field in a batch (error naming the field when absent). */
export function sparseIds(batch: Batch, name: string): Int32Array {
  const ids = batch.sparse[name];
  if (ids === undefined) throw new Error(`batch has no sparse field '${name}'`);
  return ids;
}

/** The padded ids of a multi-value or sequence field (error naming the field when absent). */
export function paddedIds(batch: Batch, name: string): PaddedIds {
  const p = batch.varlen[name];
  if (p === undefined) throw new Error(`batch has no varlen/sequence field '${name}'`);
  return p;
}

/** Numeric fields as a [B, n] leaf tensor (no gradient). */
export function denseValues(batch: Batch, fields: readonly FieldDef[]): Tensor {
  const n = fields.length;
  const out = new Float32Array(batch.size * n);
  fields.forEach((f, j) => {
    const col = batch.dense[f.name];
    if (col === undefined) throw new Error(`batch has no dense field '${f.name}'`);
    for (let i = 0; i < batch.size; i++) out[i * n + j] = col[i]!;
  });
  return new Tensor(out, [batch.size, n]);
}
