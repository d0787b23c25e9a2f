/**
 * The feature map: a schema plus everything fitted on training data (vocabularies, numeric
 * statistics, bucket boundaries). `FeatureMap.fit` reads the training rows once (streaming);
 * `transform` turns raw chunks into `Batch`es for training, validation, test and serving;
 * `toJSON` / `fromJSON` persist it (with the schema) so that the same raw values always get
 * the same ids.
 *
 * Batch layout: sparse features and bucketized dense features → `batch.sparse[name]`;
 * dense → `batch.dense[name]` (Float32 after transforms); varlen and sequence →
 * `batch.varlen[name]` (ids padded with 0 to maxLen, plus lengths); labels →
 * `batch.labels[name]`; weight → `batch.weight`; group → `batch.group`
 * (murmur3_32(utf8(value), 0) as a signed 32-bit integer, so unseen test users stay
 * distinct groups).
 *
 * Bad rows (missing/unknown label, non-numeric dense value, missing value where the schema
 * says `missing: error`, several values in a single-valued field, negative weight) raise a
 * `DataError` naming file, line and column — the earliest bad row of the chunk — or, with
 * `onBadRow: 'skip'`, are removed from the output and counted in the `BadRowLog`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Batch, PaddedIds } from './batch.js';
import { OOV_ID } from './batch.js';
import { BadRowLog, DataError, type BadRowPolicy } from '../readers/errors.js';
import { chunkFromRows, parseNumberBytes, parseNumberString, valueToString, type RawChunk } from '../readers/chunk.js';
import {
  HashEncoder,
  NumericEncoder,
  VocabEncoder,
  categoricalFromJSON,
  makeCategoricalEncoder,
  type HashJSON,
  type NumericJSON,
  type VocabJSON,
} from './encoders.js';
import { murmur3Bytes, murmur3String } from './hash.js';
import { CountMinSketch } from './count-min.js';
import type { SharedBytesTable } from './bytes-table.js';
import type { FeatureSpec, FieldDef } from './fields.js';
import {
  schemaToJSON,
  sharingRoot,
  validateSchema,
  type DenseFeature,
  type Feature,
  type LabelFeature,
  type Schema,
  type SchemaInput,
  type SequenceFeature,
  type SparseFeature,
  type Use,
  type VarlenFeature,
  type WeightFeature,
} from './schema.js';

/** Options for fitting and transforming. */
export interface TransformOptions {
  /** What to do with a malformed row (default 'error'). */
  onBadRow?: BadRowPolicy;
  /** Where skipped rows are counted (a fresh log is used when absent). */
  badRows?: BadRowLog;
  /**
   * Encode the model inputs only: label, weight and group columns are neither read nor
   * required (serving requests carry no labels). Default false.
   */
  inputsOnly?: boolean;
  /**
   * With `inputsOnly`: encode only the input features whose source column is in this set;
   * the others are left out of the batch (their columns need not be in the chunk). Lets a
   * caller encode values shared by every row once and broadcast them (serving's rank context).
   */
  onlyColumns?: ReadonlySet<string>;
  /**
   * Label, weight and group columns that are not in the chunk's columns at all are left out
   * of the batch instead of refused (a column that is present is read and checked as usual).
   * For scoring files that carry some or none of the labels (`finerank predict`, `finerank
   * eval`, which judges only the outputs whose labels are there). Default false.
   */
  optionalLabels?: boolean;
}

/** Options for fitting. */
export interface FitOptions extends TransformOptions {
  /** Reservoir size for quantile boundaries (default 100 000). */
  reservoirSize?: number;
  /** Seed of the reservoir samplers (default 0). */
  seed?: number;
  /**
   * Bounded vocabulary fitting: bytes of one count-min sketch shared by every vocabulary with
   * minCount ≥ 2, read in two passes (`FeatureMapFitter.needsRecount`; encoders.ts says why the
   * result equals exact counting). Absent: one pass with an exact count per distinct value.
   */
  vocabSketchBytes?: number;
}

/** A feature map for a worker thread (`FeatureMap.share`): JSON without vocabulary values + the shared tables by name. */
export interface SharedFeatureMap {
  json: FeatureMapJSON;
  tables: Record<string, SharedBytesTable>;
}

/** The persisted form. */
export interface FeatureMapJSON {
  format: 'finerank.featuremap';
  version: 1;
  schema: SchemaInput;
  /** Categorical encoders by table (sharing root) name. */
  vocabularies: Record<string, VocabJSON | HashJSON>;
  /** Fitted numeric statistics by dense feature name. */
  numeric: Record<string, NumericJSON>;
}

type CatFeature = SparseFeature | VarlenFeature | SequenceFeature;

/** A bad cell found while reading a chunk. */
class BadRows {
  readonly bad: Uint8Array;
  readonly errors = new Map<number, DataError>();
  constructor(
    n: number,
    readonly chunk: RawChunk,
  ) {
    this.bad = new Uint8Array(n);
  }
  mark(r: number, column: string, problem: string, expected?: string): void {
    if (this.bad[r] !== 0) return;
    this.bad[r] = 1;
    this.errors.set(r, new DataError({ file: this.chunk.file, line: this.chunk.lines[r], column }, problem, expected));
  }
  /** Throws the earliest error (policy 'error') or logs every bad row (policy 'skip'); returns rows kept. */
  settle(policy: BadRowPolicy, log: BadRowLog): number {
    if (this.errors.size === 0) return this.bad.length;
    const rows = [...this.errors.keys()].sort((a, b) => a - b);
    if (policy === 'error') throw this.errors.get(rows[0]!)!;
    for (const r of rows) log.add(this.errors.get(r)!);
    return this.bad.length - rows.length;
  }
}

function colIndex(chunk: RawChunk, f: Feature): number {
  const i = chunk.columns.indexOf(f.source);
  if (i < 0) {
    throw new DataError(
      { file: chunk.file, line: chunk.headerLine, column: f.source },
      `column "${f.source}" (feature "${f.name}", role ${f.role}) is not in the data`,
      `one of the columns: ${chunk.columns.join(', ')}`,
    );
  }
  return i;
}

function show(buf: Uint8Array, s: number, e: number): string {
  const t = Buffer.from(buf.buffer, buf.byteOffset + s, Math.min(e - s, 60)).toString('utf8');
  return JSON.stringify(e - s > 60 ? t + '…' : t);
}

// ---------------------------------------------------------------------------------------
// Cell readers shared by fit and transform
// ---------------------------------------------------------------------------------------

/** Binary label matcher: bytes/strings of the positive and negative lists, plus their numeric values. */
class LabelReader {
  private posBytes: Uint8Array[];
  private negBytes: Uint8Array[];
  private posNum: number[];
  private negNum: number[];
  readonly expected: string;
  constructor(readonly f: LabelFeature) {
    this.posBytes = f.positive.map((v) => Buffer.from(v, 'utf8'));
    this.negBytes = f.negative.map((v) => Buffer.from(v, 'utf8'));
    this.posNum = f.positive.map(parseNumberString).filter((x) => !Number.isNaN(x));
    this.negNum = f.negative.map(parseNumberString).filter((x) => !Number.isNaN(x));
    this.expected =
      f.task === 'binary'
        ? `a label in ${[...f.positive, ...f.negative].join(', ')} (positive: ${f.positive.join(', ')}; negative: ${f.negative.join(', ')})`
        : 'a numeric label';
  }
  /** 0/1 (binary) or the value (regression); NaN when unknown. */
  fromBytes(buf: Uint8Array, s: number, e: number): number {
    if (this.f.task === 'regression') return parseNumberBytes(buf, s, e);
    const len = e - s;
    for (const p of this.posBytes) if (p.length === len && eqBytes(buf, s, p)) return 1;
    for (const p of this.negBytes) if (p.length === len && eqBytes(buf, s, p)) return 0;
    return this.numeric(parseNumberBytes(buf, s, e));
  }
  fromValue(v: unknown): number {
    if (this.f.task === 'regression') return typeof v === 'number' ? v : typeof v === 'string' ? parseNumberString(v) : NaN;
    const str = valueToString(v);
    if (this.f.positive.includes(str)) return 1;
    if (this.f.negative.includes(str)) return 0;
    return this.numeric(typeof v === 'number' ? v : typeof v === 'string' ? parseNumberString(v) : NaN);
  }
  private numeric(x: number): number {
    if (Number.isNaN(x)) return NaN;
    if (this.posNum.includes(x)) return 1;
    if (this.negNum.includes(x)) return 0;
    return NaN;
  }
}

function eqBytes(buf: Uint8Array, s: number, p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) if (buf[s + i] !== p[i]) return false;
  return true;
}

function numberFromValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseNumberString(v);
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

function isMissingValue(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * Parses a dense column into x[0..n) (NaN = missing) and marks bad rows: non-numeric values,
 * and missing ones under `missing: error`.
 */
function readDense(chunk: RawChunk, col: number, f: DenseFeature | WeightFeature, x: Float64Array, bad: BadRows): void {
  const n = chunk.length;
  const missingIsError = f.missing.policy === 'error';
  const expected = `a decimal number${missingIsError ? '' : ' or an empty field (missing)'}`;
  if (chunk.kind === 'bytes') {
    const buf = chunk.buf,
      st = chunk.start,
      en = chunk.end,
      off = col * chunk.stride;
    for (let r = 0; r < n; r++) {
      const i = off + r;
      let s = st[i]!,
        e = en[i]!;
      while (s < e && buf[s] === 32) s++;
      while (e > s && buf[e - 1] === 32) e--;
      if (s === e) {
        x[r] = NaN;
        if (missingIsError) bad.mark(r, f.source, 'missing value', 'a decimal number (the schema says missing: error)');
        continue;
      }
      const v = parseNumberBytes(buf, s, e);
      if (v !== v || v === Infinity || v === -Infinity) {
        x[r] = NaN;
        bad.mark(r, f.source, `${show(buf, s, e)} is not a number`, expected);
      } else x[r] = v;
    }
  } else {
    const vals = chunk.values[col]!;
    for (let r = 0; r < n; r++) {
      const raw = vals[r];
      if (isMissingValue(raw) || (typeof raw === 'string' && raw.trim() === '')) {
        x[r] = NaN;
        if (missingIsError) bad.mark(r, f.source, 'missing value', 'a decimal number (the schema says missing: error)');
        continue;
      }
      const v = numberFromValue(raw);
      if (!Number.isFinite(v)) {
        x[r] = NaN;
        bad.mark(r, f.source, `${JSON.stringify(valueToString(raw)).slice(0, 62)} is not a number`, expected);
      } else x[r] = v;
    }
  }
}

function readLabel(chunk: RawChunk, col: number, lr: LabelReader, out: Float32Array, bad: BadRows): void {
  const n = chunk.length;
  const f = lr.f;
  if (chunk.kind === 'bytes') {
    const buf = chunk.buf,
      st = chunk.start,
      en = chunk.end,
      off = col * chunk.stride;
    for (let r = 0; r < n; r++) {
      const i = off + r;
      const s = st[i]!,
        e = en[i]!;
      if (s === e) {
        bad.mark(r, f.source, 'missing label', lr.expected);
        continue;
      }
      const v = lr.fromBytes(buf, s, e);
      if (v !== v) bad.mark(r, f.source, `unknown label value ${show(buf, s, e)}`, lr.expected);
      else out[r] = v;
    }
  } else {
    const vals = chunk.values[col]!;
    for (let r = 0; r < n; r++) {
      const raw = vals[r];
      if (isMissingValue(raw)) {
        bad.mark(r, f.source, 'missing label', lr.expected);
        continue;
      }
      const v = lr.fromValue(raw);
      if (v !== v) bad.mark(r, f.source, `unknown label value ${JSON.stringify(valueToString(raw)).slice(0, 62)}`, lr.expected);
      else out[r] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Categorical access: one loop per chunk kind, calling `visit(r, buf, s, e)` or `visitStr`
// ---------------------------------------------------------------------------------------

/** Splits a multi-value cell into tokens and keeps maxLen of them (first or last), skipping empty tokens. */
function tokenRanges(buf: Uint8Array, s: number, e: number, sep: number, maxLen: number, keepLast: boolean, ts: Int32Array, te: Int32Array): number {
  let k = 0;
  let a = s;
  for (let i = s; i <= e; i++) {
    if (i === e || buf[i] === sep) {
      if (i > a) {
        if (k < maxLen) {
          ts[k] = a;
          te[k] = i;
          k++;
        } else if (keepLast) {
          ts.copyWithin(0, 1, maxLen);
          te.copyWithin(0, 1, maxLen);
          ts[maxLen - 1] = a;
          te[maxLen - 1] = i;
        } else return k;
      }
      a = i + 1;
    }
  }
  return k;
}

function tokensOfValue(v: unknown, sep: string, maxLen: number, keepLast: boolean): string[] {
  let toks: string[];
  if (Array.isArray(v)) toks = v.filter((t) => !isMissingValue(t)).map(valueToString);
  else
    toks = valueToString(v)
      .split(sep)
      .filter((t) => t.length > 0);
  if (toks.length > maxLen) toks = keepLast ? toks.slice(toks.length - maxLen) : toks.slice(0, maxLen);
  return toks;
}

function sepByte(sep: string): number {
  return sep.length === 1 && sep.charCodeAt(0) < 128 ? sep.charCodeAt(0) : -1;
}

// ---------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------

/** Incremental fitting: `update(chunk)` per training chunk, then `finish()`. */
export class FeatureMapFitter {
  private cats = new Map<string, VocabEncoder | HashEncoder>();
  private nums = new Map<string, NumericEncoder>();
  private labels: LabelReader[];
  private readonly policy: BadRowPolicy;
  /** Skipped rows (when onBadRow is 'skip'). */
  readonly badRows: BadRowLog;
  /** Rows used for fitting. */
  rows = 0;
  /** The count-min sketch of bounded fitting (null: exact counting in one pass). */
  readonly sketch: CountMinSketch | null = null;
  private recounting = false;

  constructor(
    readonly schema: Schema,
    opts: FitOptions = {},
  ) {
    this.policy = opts.onBadRow ?? 'error';
    this.badRows = opts.badRows ?? new BadRowLog();
    for (const c of schema.columns) {
      if (c.role === 'sparse' || c.role === 'varlen' || c.role === 'sequence') {
        const root = sharingRoot(schema, c.name);
        if (root === c.name) this.cats.set(root, makeCategoricalEncoder(c.encoder));
      } else if (c.role === 'dense') {
        this.nums.set(c.name, new NumericEncoder(c, { reservoirSize: opts.reservoirSize, seed: opts.seed }));
      }
    }
    this.labels = schema.columns.filter((c): c is LabelFeature => c.role === 'label').map((f) => new LabelReader(f));
    if (opts.vocabSketchBytes !== undefined) {
      const filtered = [...this.cats].filter((e): e is [string, VocabEncoder] => e[1].kind === 'vocab' && e[1].spec.minCount >= 2);
      if (filtered.length > 0) {
        const cap = Math.max(...filtered.map(([, e]) => e.spec.minCount));
        this.sketch = new CountMinSketch({ bytes: opts.vocabSketchBytes, cap });
        for (const [name, e] of filtered) e.useSketch(this.sketch, murmur3String(name, 0x5ce7c4));
      }
    }
  }

  /** Whether fitting needs a second pass over the same rows (bounded fitting; call `startRecount` first). */
  get needsRecount(): boolean {
    return this.sketch !== null && !this.recounting;
  }

  /**
   * Starts the second pass of bounded fitting: `update` then only counts the sketch's
   * candidate values exactly (numeric statistics, row and bad-row counts come from pass 1).
   */
  startRecount(): void {
    if (this.sketch === null) throw new Error('FeatureMapFitter.startRecount: not fitting through a sketch');
    this.recounting = true;
    for (const e of this.cats.values()) if (e.kind === 'vocab' && e.spec.minCount >= 2) e.startRecount();
  }

  /** Distinct values counted exactly so far, summed over the vocabularies. */
  get distinctCounted(): number {
    let n = 0;
    for (const e of this.cats.values()) if (e.kind === 'vocab') n += e.distinctCounted;
    return n;
  }

  /** Accumulates one chunk of training rows. */
  update(chunk: RawChunk): void {
    const n = chunk.length;
    if (this.recounting && this.policy === 'error') {
      // Pass 2 of bounded fitting: pass 1 raised on any bad row, so there are none left to find.
      this.countVocabularies(chunk, null);
      return;
    }
    const { bad, dense } = this.checkRows(chunk);
    // Pass 2 finds the same bad rows as pass 1, which logged and counted them already.
    const kept = bad.settle(this.policy, this.recounting ? new BadRowLog() : this.badRows);
    const skip = kept < n ? bad.bad : null;
    if (!this.recounting) {
      this.rows += kept;
      for (const [name, x] of dense) this.nums.get(name)!.observe(x, n, skip);
    }
    this.countVocabularies(chunk, skip);
  }

  /** Marks the bad rows of a chunk (labels, dense values, weights, sparse cells); returns the dense columns read. */
  private checkRows(chunk: RawChunk): { bad: BadRows; dense: Map<string, Float64Array> } {
    const n = chunk.length;
    const bad = new BadRows(n, chunk);
    const tmp = new Float32Array(n);
    for (const lr of this.labels) readLabel(chunk, colIndex(chunk, lr.f), lr, tmp, bad);
    const dense = new Map<string, Float64Array>();
    for (const c of this.schema.columns) {
      const col = colIndex(chunk, c);
      if (c.role === 'dense' || c.role === 'weight') {
        const x = new Float64Array(n);
        readDense(chunk, col, c, x, bad);
        if (c.role === 'dense') dense.set(c.name, x);
        else checkWeights(x, c, bad);
      } else if (c.role === 'sparse') {
        if (c.missing.policy === 'error') markMissing(chunk, col, c, bad);
        else checkSingleValued(chunk, col, c, bad);
      }
    }
    return { bad, dense };
  }

  /** Counts the categorical values of the rows not skipped (in pass 2 of bounded fitting: the sketched vocabularies only). */
  private countVocabularies(chunk: RawChunk, skip: Uint8Array | null): void {
    for (const c of this.schema.columns) {
      if (c.role !== 'sparse' && c.role !== 'varlen' && c.role !== 'sequence') continue;
      const enc = this.cats.get(sharingRoot(this.schema, c.name))!;
      if (enc.kind === 'vocab' && (!this.recounting || enc.spec.minCount >= 2)) countColumn(chunk, colIndex(chunk, c), c, enc, skip);
    }
  }

  /** Ends fitting and returns the feature map. */
  finish(): FeatureMap {
    if (this.needsRecount)
      throw new Error('FeatureMapFitter.finish: bounded vocabulary fitting needs its second pass (startRecount, then the same rows again)');
    for (const e of this.cats.values()) if (e.kind === 'vocab') e.finish();
    for (const e of this.nums.values()) e.finish();
    return new FeatureMap(this.schema, this.cats, this.nums);
  }
}

function checkWeights(x: Float64Array, f: WeightFeature, bad: BadRows): void {
  const fill = f.missing.policy === 'fill' ? f.missing.value : NaN;
  for (let r = 0; r < x.length; r++) {
    const v = x[r]!;
    if (v !== v) {
      if (fill === fill) x[r] = fill;
    } else if (v < 0) bad.mark(r, f.source, `negative weight ${v}`, 'a weight ≥ 0');
  }
}

function markMissing(chunk: RawChunk, col: number, f: SparseFeature, bad: BadRows): void {
  for (let r = 0; r < chunk.length; r++) {
    if (cellMissing(chunk, r, col)) bad.mark(r, f.source, 'missing value', 'a value (the schema says missing: error)');
  }
  checkSingleValued(chunk, col, f, bad);
}

function checkSingleValued(chunk: RawChunk, col: number, f: SparseFeature, bad: BadRows): void {
  if (chunk.kind !== 'values') return;
  const vals = chunk.values[col]!;
  for (let r = 0; r < chunk.length; r++) {
    const v = vals[r];
    if (Array.isArray(v))
      bad.mark(r, f.source, `${v.length} values in a single-valued (sparse) field`, 'one value (use role varlen for multi-value fields)');
  }
}

function cellMissing(chunk: RawChunk, r: number, col: number): boolean {
  if (chunk.kind === 'bytes') {
    const i = col * chunk.stride + r;
    return chunk.start[i] === chunk.end[i];
  }
  return isMissingValue(chunk.values[col]![r]);
}

function countColumn(chunk: RawChunk, col: number, f: CatFeature, enc: VocabEncoder, skip: Uint8Array | null): void {
  const n = chunk.length;
  const single = f.role === 'sparse';
  const missingValue = single && f.missing.policy === 'value' ? f.missing.value : null;
  if (chunk.kind === 'bytes') {
    const buf = chunk.buf,
      st = chunk.start,
      en = chunk.end,
      off = col * chunk.stride;
    if (single) {
      for (let r = 0; r < n; r++) {
        if (skip !== null && skip[r] !== 0) continue;
        const i = off + r;
        const s = st[i]!,
          e = en[i]!;
        if (s === e) {
          if (missingValue !== null) enc.countString(missingValue);
        } else enc.countBytes(buf, s, e);
      }
    } else {
      const ml = (f as VarlenFeature | SequenceFeature).maxLen;
      const keepLast = (f as VarlenFeature | SequenceFeature).keep === 'last';
      const sb = sepByte((f as VarlenFeature).sep);
      const ts = new Int32Array(ml),
        te = new Int32Array(ml);
      for (let r = 0; r < n; r++) {
        if (skip !== null && skip[r] !== 0) continue;
        const i = off + r;
        const s = st[i]!,
          e = en[i]!;
        if (s === e) continue;
        if (sb >= 0) {
          const k = tokenRanges(buf, s, e, sb, ml, keepLast, ts, te);
          for (let j = 0; j < k; j++) enc.countBytes(buf, ts[j]!, te[j]!);
        } else {
          for (const t of tokensOfValue(chunk.cell(r, col), (f as VarlenFeature).sep, ml, keepLast)) enc.countString(t);
        }
      }
    }
    return;
  }
  const vals = chunk.values[col]!;
  for (let r = 0; r < n; r++) {
    if (skip !== null && skip[r] !== 0) continue;
    const v = vals[r];
    if (single) {
      if (isMissingValue(v)) {
        if (missingValue !== null) enc.countString(missingValue);
      } else enc.countString(valueToString(v));
    } else if (!isMissingValue(v)) {
      const g = f as VarlenFeature | SequenceFeature;
      for (const t of tokensOfValue(v, g.sep, g.maxLen, g.keep === 'last')) enc.countString(t);
    }
  }
}

// ---------------------------------------------------------------------------------------
// The feature map
// ---------------------------------------------------------------------------------------

/** A fitted feature map (see the module comment). */
export class FeatureMap {
  private labelReaders: LabelReader[];

  /** Use `FeatureMap.fit`, `FeatureMapFitter` or `FeatureMap.fromJSON`. */
  constructor(
    readonly schema: Schema,
    private readonly cats: Map<string, VocabEncoder | HashEncoder>,
    private readonly nums: Map<string, NumericEncoder>,
  ) {
    this.labelReaders = schema.columns.filter((c): c is LabelFeature => c.role === 'label').map((f) => new LabelReader(f));
  }

  /**
   * Fits on the training chunks: one pass, or two with `vocabSketchBytes` (bounded vocabulary
   * fitting), for which `chunks` must be a function returning the same rows on each call.
   */
  static async fit(
    schema: Schema,
    chunks: AsyncIterable<RawChunk> | Iterable<RawChunk> | (() => AsyncIterable<RawChunk> | Iterable<RawChunk>),
    opts: FitOptions = {},
  ): Promise<FeatureMap> {
    const fitter = new FeatureMapFitter(schema, opts);
    const pass = typeof chunks === 'function' ? chunks : null;
    for await (const c of pass !== null ? pass() : (chunks as AsyncIterable<RawChunk>)) fitter.update(c);
    if (fitter.needsRecount) {
      if (pass === null)
        throw new Error('FeatureMap.fit: bounded vocabulary fitting (vocabSketchBytes) reads the rows twice; pass a function returning them');
      fitter.startRecount();
      for await (const c of pass()) fitter.update(c);
    }
    return fitter.finish();
  }

  /** The categorical encoder (vocabulary or hash) of a sparse/varlen/sequence feature (its sharing root's). */
  encoder(featureName: string): VocabEncoder | HashEncoder {
    const e = this.cats.get(sharingRoot(this.schema, featureName));
    if (!e) throw new Error(`FeatureMap: "${featureName}" is not a categorical feature`);
    return e;
  }

  /** The numeric encoder of a dense feature. */
  numeric(featureName: string): NumericEncoder {
    const e = this.nums.get(featureName);
    if (!e) throw new Error(`FeatureMap: "${featureName}" is not a dense feature`);
    return e;
  }

  /** Rows of the embedding table of a categorical (or bucketized dense) feature: padding + OOV + known. */
  vocabSize(featureName: string): number {
    const f = this.schema.columns.find((c) => c.name === featureName && c.role !== 'label' && c.role !== 'group' && c.role !== 'weight');
    if (f?.role === 'dense') {
      if (!f.bucketize) throw new Error(`FeatureMap: dense feature "${featureName}" is not bucketized and has no vocabulary`);
      return this.numeric(featureName).bucketCount;
    }
    return this.encoder(featureName).size;
  }

  /** Table sizes of every categorical feature, by feature name. */
  vocabSizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.fields()) if (f.vocabSize !== undefined) out[f.name] = f.vocabSize;
    return out;
  }

  /** Input fields in schema order, with table sizes, sharing, dimensions and tags (what models are built from). */
  fields(): FieldDef[] {
    const out: FieldDef[] = [];
    const common = (c: { embeddingDim?: number; tag?: string }) => ({
      ...(c.embeddingDim !== undefined ? { embeddingDim: c.embeddingDim } : {}),
      ...(c.tag !== undefined ? { tag: c.tag } : {}),
    });
    for (const c of this.schema.columns) {
      switch (c.role) {
        case 'sparse':
          out.push({
            name: c.name,
            kind: 'sparse',
            use: c.use,
            vocabSize: this.vocabSize(c.name),
            table: sharingRoot(this.schema, c.name),
            ...common(c),
          });
          break;
        case 'dense':
          out.push(
            c.bucketize
              ? { name: c.name, kind: 'sparse', use: c.use, vocabSize: this.vocabSize(c.name), table: c.name, ...common(c) }
              : { name: c.name, kind: 'dense', use: c.use, ...common(c) },
          );
          break;
        case 'varlen':
        case 'sequence':
          out.push({
            name: c.name,
            kind: c.role,
            use: c.use,
            vocabSize: this.vocabSize(c.name),
            table: sharingRoot(this.schema, c.name),
            maxLen: c.maxLen,
            pooling: c.pooling,
            ...common(c),
            ...(c.role === 'sequence' && c.shareWith !== undefined ? { historyOf: c.shareWith } : {}),
          });
          break;
        default:
          break;
      }
    }
    return out;
  }

  /** The input fields and label names: what a model is built from. */
  featureSpec(): FeatureSpec {
    return { fields: this.fields(), labels: this.labelNames };
  }

  /** Label names, in schema order. */
  get labelNames(): string[] {
    return this.schema.columns.filter((c) => c.role === 'label').map((c) => c.name);
  }

  /** Raw columns the schema reads (for readers that need a projection, e.g. JSONL/Parquet). */
  get sourceColumns(): string[] {
    return [...new Set(this.schema.columns.map((c) => c.source))];
  }

  /** Raw columns the model inputs read (no label, weight or group columns), in schema order. */
  get inputColumns(): string[] {
    const inputs = new Set(['sparse', 'dense', 'varlen', 'sequence']);
    return [...new Set(this.schema.columns.filter((c) => inputs.has(c.role)).map((c) => c.source))];
  }

  /** Encodes plain objects (e.g. a serving request) into a batch. */
  transformRows(rows: ReadonlyArray<Record<string, unknown>>, opts: TransformOptions = {}): Batch {
    const only = opts.onlyColumns;
    const columns = opts.inputsOnly === true ? this.inputColumns : this.sourceColumns;
    return this.transform(chunkFromRows(rows, only === undefined ? columns : columns.filter((c) => only.has(c))), opts);
  }

  /** Encodes one chunk of raw rows into a batch (bad rows: error or skipped and counted). */
  transform(chunk: RawChunk, opts: TransformOptions = {}): Batch {
    const policy = opts.onBadRow ?? 'error';
    const log = opts.badRows ?? new BadRowLog();
    const n = chunk.length;
    const bad = new BadRows(n, chunk);
    const batch: Batch = { size: n, sparse: {}, dense: {}, varlen: {}, labels: {} };
    const inputsOnly = opts.inputsOnly ?? false;
    const only = opts.onlyColumns;
    if (only !== undefined && !inputsOnly) throw new Error('transform: onlyColumns needs inputsOnly');
    const optional = opts.optionalLabels === true;
    const absent = (c: Feature) => optional && !chunk.columns.includes(c.source);
    if (!inputsOnly)
      for (const lr of this.labelReaders) {
        if (absent(lr.f)) continue;
        const out = new Float32Array(n);
        readLabel(chunk, colIndex(chunk, lr.f), lr, out, bad);
        batch.labels[lr.f.name] = out;
      }
    let x: Float64Array | null = null;
    for (const c of this.schema.columns) {
      if (only !== undefined && !only.has(c.source)) continue;
      switch (c.role) {
        case 'dense': {
          if (x === null) x = new Float64Array(n);
          readDense(chunk, colIndex(chunk, c), c, x, bad);
          const enc = this.nums.get(c.name)!;
          // missing: keep leaves NaN (the transforms carry it through; the trees route it).
          if (c.missing.policy !== 'keep') {
            const fill = enc.fillValue;
            for (let r = 0; r < n; r++) if (x[r] !== x[r]) x[r] = fill === fill ? fill : 0;
          }
          enc.transformInPlace(x, n);
          if (c.bucketize) {
            const ids = new Int32Array(n);
            for (let r = 0; r < n; r++) ids[r] = enc.bucketId(x[r]!);
            batch.sparse[c.name] = ids;
          } else {
            batch.dense[c.name] = Float32Array.from(x.subarray(0, n));
          }
          break;
        }
        case 'weight': {
          if (inputsOnly) break;
          // A weight column with a fill value may be absent from a file (e.g. the unsampled
          // validation and test files of a model trained on a weighted sample).
          if (c.missing.policy === 'fill' && !chunk.columns.includes(c.source)) {
            batch.weight = new Float32Array(n).fill(c.missing.value);
            break;
          }
          if (absent(c)) break;
          const w = new Float64Array(n);
          readDense(chunk, colIndex(chunk, c), c, w, bad);
          checkWeights(w, c, bad);
          batch.weight = Float32Array.from(w);
          break;
        }
        case 'group':
          if (inputsOnly || absent(c)) break;
          batch.group = this.groupIds(chunk, colIndex(chunk, c));
          break;
        case 'sparse':
          batch.sparse[c.name] = this.encodeSparse(chunk, colIndex(chunk, c), c, bad);
          break;
        case 'varlen':
        case 'sequence':
          batch.varlen[c.name] = this.encodeMulti(chunk, colIndex(chunk, c), c);
          break;
        default:
          break;
      }
    }
    const kept = bad.settle(policy, log);
    return kept < n ? compact(batch, bad.bad, kept) : batch;
  }

  private groupIds(chunk: RawChunk, col: number): Int32Array {
    const n = chunk.length;
    const out = new Int32Array(n);
    if (chunk.kind === 'bytes') {
      const buf = chunk.buf,
        st = chunk.start,
        en = chunk.end,
        off = col * chunk.stride;
      for (let r = 0; r < n; r++) out[r] = murmur3Bytes(buf, st[off + r]!, en[off + r]!, 0) | 0;
    } else {
      const vals = chunk.values[col]!;
      for (let r = 0; r < n; r++) {
        const v = vals[r];
        out[r] = murmur3String(isMissingValue(v) ? '' : valueToString(v), 0) | 0;
      }
    }
    return out;
  }

  private encodeSparse(chunk: RawChunk, col: number, f: SparseFeature, bad: BadRows): Int32Array {
    const enc = this.encoder(f.name);
    const n = chunk.length;
    const out = new Int32Array(n);
    const m = f.missing;
    const missingId = m.policy === 'value' ? enc.lookupString(m.value) : OOV_ID;
    if (chunk.kind === 'bytes') {
      const buf = chunk.buf,
        st = chunk.start,
        en = chunk.end,
        off = col * chunk.stride;
      for (let r = 0; r < n; r++) {
        const i = off + r;
        const s = st[i]!,
          e = en[i]!;
        out[r] = s === e ? missingId : enc.lookupBytes(buf, s, e);
      }
      if (m.policy === 'error') markMissing(chunk, col, f, bad);
    } else {
      const vals = chunk.values[col]!;
      for (let r = 0; r < n; r++) {
        const v = vals[r];
        out[r] = isMissingValue(v) ? missingId : Array.isArray(v) ? OOV_ID : enc.lookupString(valueToString(v));
      }
      if (m.policy === 'error') markMissing(chunk, col, f, bad);
      else checkSingleValued(chunk, col, f, bad);
    }
    return out;
  }

  private encodeMulti(chunk: RawChunk, col: number, f: VarlenFeature | SequenceFeature): PaddedIds {
    const enc = this.encoder(f.name);
    const n = chunk.length;
    const ml = f.maxLen;
    const ids = new Int32Array(n * ml);
    const lengths = new Int32Array(n);
    const keepLast = f.keep === 'last';
    if (chunk.kind === 'bytes') {
      const buf = chunk.buf,
        st = chunk.start,
        en = chunk.end,
        off = col * chunk.stride;
      const sb = sepByte(f.sep);
      const ts = new Int32Array(ml),
        te = new Int32Array(ml);
      for (let r = 0; r < n; r++) {
        const i = off + r;
        const s = st[i]!,
          e = en[i]!;
        if (s === e) continue;
        if (sb >= 0) {
          const k = tokenRanges(buf, s, e, sb, ml, keepLast, ts, te);
          for (let j = 0; j < k; j++) ids[r * ml + j] = enc.lookupBytes(buf, ts[j]!, te[j]!);
          lengths[r] = k;
        } else {
          const toks = tokensOfValue(chunk.cell(r, col), f.sep, ml, keepLast);
          for (let j = 0; j < toks.length; j++) ids[r * ml + j] = enc.lookupString(toks[j]!);
          lengths[r] = toks.length;
        }
      }
    } else {
      const vals = chunk.values[col]!;
      for (let r = 0; r < n; r++) {
        const v = vals[r];
        if (isMissingValue(v)) continue;
        const toks = tokensOfValue(v, f.sep, ml, keepLast);
        for (let j = 0; j < toks.length; j++) ids[r * ml + j] = enc.lookupString(toks[j]!);
        lengths[r] = toks.length;
      }
    }
    return { ids, lengths, maxLen: ml };
  }

  /** The persisted form (schema included). */
  toJSON(): FeatureMapJSON {
    return this.jsonWith((e) => e.toJSON());
  }

  /**
   * This feature map for a worker thread: its JSON without the vocabularies' values, and the
   * vocabularies' tables moved into shared memory (`VocabEncoder.share`). Posted to a worker,
   * `FeatureMap.fromShared` there encodes exactly as this one does, and the values — the bulk
   * of a feature map — exist once in the process instead of once per thread.
   */
  share(): SharedFeatureMap {
    const j = this.toJSONWithout();
    const tables: Record<string, SharedBytesTable> = {};
    for (const [k, e] of this.cats) {
      if (e.kind !== 'vocab') continue;
      const s = e.share();
      j.vocabularies[k] = s.json;
      tables[k] = s.table;
    }
    return { json: j, tables };
  }

  /** The feature map of `share`, in another thread (no copy of the vocabularies). */
  static fromShared(s: SharedFeatureMap, file = '<shared featuremap>'): FeatureMap {
    return FeatureMap.fromJSON(s.json, file, s.tables);
  }

  /**
   * SHA-256 of everything `toJSON` holds (schema, numeric statistics, hash encoders, every
   * vocabulary's settings, values in id order and counts), computed from the tables' bytes
   * without building the JSON: equal digests mean feature maps that encode alike. Used as the
   * encoded cache's key (cache.ts).
   */
  contentSha256(): string {
    const h = createHash('sha256');
    h.update(JSON.stringify(this.toJSONWithout()));
    for (const k of [...this.cats.keys()].sort()) {
      const e = this.cats.get(k)!;
      if (e.kind !== 'vocab') continue;
      h.update(`\u0000vocabulary ${k}\u0000`);
      e.hashInto(h);
    }
    return h.digest('hex');
  }

  /** `toJSON` with the vocabularies (filled in by `share`) left out. */
  private toJSONWithout(): FeatureMapJSON {
    return this.jsonWith((e) => (e.kind === 'hash' ? e.toJSON() : null));
  }

  /** The persisted form with each categorical encoder's entry given by `entry` (null: left out), in field order. */
  private jsonWith(entry: (e: VocabEncoder | HashEncoder) => VocabJSON | HashJSON | null): FeatureMapJSON {
    const vocabularies: Record<string, VocabJSON | HashJSON> = {};
    for (const [k, e] of this.cats) {
      const v = entry(e);
      if (v !== null) vocabularies[k] = v;
    }
    const numeric: Record<string, NumericJSON> = {};
    for (const [k, e] of this.nums) numeric[k] = e.toJSON();
    return { format: 'finerank.featuremap', version: 1, schema: schemaToJSON(this.schema), vocabularies, numeric };
  }

  /**
   * Rebuilds a feature map saved with `toJSON`; checks that it matches its schema. `tables`
   * (from `share`) replaces the values of the vocabularies it names.
   */
  static fromJSON(j: FeatureMapJSON, file = '<featuremap>', tables: Record<string, SharedBytesTable> = {}): FeatureMap {
    if (!j || j.format !== 'finerank.featuremap' || j.version !== 1) {
      throw new Error(`${file}: not a finerank feature map (expected format "finerank.featuremap", version 1)`);
    }
    const schema = validateSchema(j.schema, `${file} (schema)`);
    const cats = new Map<string, VocabEncoder | HashEncoder>();
    const nums = new Map<string, NumericEncoder>();
    for (const c of schema.columns) {
      if (c.role === 'sparse' || c.role === 'varlen' || c.role === 'sequence') {
        const root = sharingRoot(schema, c.name);
        if (root !== c.name) continue;
        const v = j.vocabularies[root];
        if (!v) throw new Error(`${file}: vocabularies.${root} is missing`);
        if (v.type !== c.encoder.type) throw new Error(`${file}: vocabularies.${root} is a ${v.type} encoder but the schema says ${c.encoder.type}`);
        const shared = tables[root];
        cats.set(root, shared !== undefined && v.type === 'vocab' ? VocabEncoder.fromShared(v, shared) : categoricalFromJSON(v));
      } else if (c.role === 'dense') {
        const s = j.numeric[c.name];
        if (!s) throw new Error(`${file}: numeric.${c.name} is missing`);
        nums.set(c.name, NumericEncoder.fromJSON(c, s));
      }
    }
    return new FeatureMap(schema, cats, nums);
  }

  /** Writes the feature map as JSON. */
  save(path: string): void {
    writeFileSync(path, JSON.stringify(this.toJSON()));
  }

  /** Reads a feature map written by `save`. */
  static load(path: string): FeatureMap {
    return FeatureMap.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as FeatureMapJSON, path);
  }
}

/** Removes rows with bad[r] ≠ 0 from every array of the batch. */
function compact(b: Batch, bad: Uint8Array, kept: number): Batch {
  const keep = new Int32Array(kept);
  for (let r = 0, k = 0; r < bad.length; r++) if (bad[r] === 0) keep[k++] = r;
  const g32 = (a: Int32Array): Int32Array => {
    const o = new Int32Array(kept);
    for (let k = 0; k < kept; k++) o[k] = a[keep[k]!]!;
    return o;
  };
  const gf = (a: Float32Array): Float32Array => {
    const o = new Float32Array(kept);
    for (let k = 0; k < kept; k++) o[k] = a[keep[k]!]!;
    return o;
  };
  const out: Batch = { size: kept, sparse: {}, dense: {}, varlen: {}, labels: {} };
  for (const k in b.sparse) out.sparse[k] = g32(b.sparse[k]!);
  for (const k in b.dense) out.dense[k] = gf(b.dense[k]!);
  for (const k in b.labels) out.labels[k] = gf(b.labels[k]!);
  for (const k in b.varlen) {
    const v = b.varlen[k]!;
    const ml = v.maxLen;
    const ids = new Int32Array(kept * ml);
    for (let j = 0; j < kept; j++) ids.set(v.ids.subarray(keep[j]! * ml, keep[j]! * ml + ml), j * ml);
    out.varlen[k] = { ids, lengths: g32(v.lengths), maxLen: ml };
  }
  if (b.weight) out.weight = gf(b.weight);
  if (b.group) out.group = g32(b.group);
  return out;
}
