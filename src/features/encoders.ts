/**
 * Encoders: categorical values → ids, numbers → transformed numbers or bucket ids.
 *
 * Id conventions (src/data/batch.ts): 0 = padding, 1 = out-of-vocabulary, 2.. = known.
 *
 * - `VocabEncoder`: counts values while fitting (streaming, one pass; memory grows with the
 *   number of distinct values, not rows), then keeps values seen ≥ minCount times (at most
 *   maxSize of them) and numbers them 2, 3, … by descending count, ties broken by the value's
 *   UTF-8 bytes in ascending order (= Unicode code point order). Deterministic for the same
 *   data. Unknown values → OOV (1). Bounded fitting (`useSketch`, minCount ≥ 2): a first pass
 *   only feeds a count-min sketch (count-min.ts); a second pass counts exactly the values whose
 *   estimate reaches minCount. The sketch never underestimates, so every value that is kept by
 *   exact counting is counted exactly in the second pass: the same vocabulary, ids and counts
 *   as one exact pass, holding the sketch plus the candidates (kept values and the few
 *   false positives of the sketch) instead of every distinct value.
 * - `HashEncoder`: id = 2 + murmur3_32(utf8(value), seed) mod buckets. No fitting; table rows =
 *   buckets + 2.
 * - `NumericEncoder`: missing fill, then the steps in order (log1p, clip, standardize, minmax),
 *   optionally bucketization into ids 2 + (number of boundaries ≤ x). Statistics (mean/std,
 *   min/max) are exact, fitted in one pass (Welford); quantile boundaries come from a seeded
 *   uniform reservoir sample (Vitter's algorithm R, default 100 000 values: bounded memory,
 *   rank error ≈ 1/√capacity).
 */
import { BytesTable, type SharedBytesTable } from './bytes-table.js';
import type { CountMinSketch } from './count-min.js';
import { murmur3Bytes, murmur3String } from './hash.js';
import { Rng } from '../engine/random.js';
import type { BucketizeSpec, DenseFeature, EncoderSpec, HashEncoderSpec, NumericStep, VocabEncoderSpec } from './schema.js';
import { FIRST_KNOWN_ID, OOV_ID } from './batch.js';

/** Encoder of categorical values: lookups by bytes or by string give the same id. */
export interface CategoricalEncoder {
  readonly kind: 'vocab' | 'hash';
  /** Rows of the embedding table: padding + OOV + known values (or buckets). */
  readonly size: number;
  /** Id of the value buf[s..e) (UTF-8 bytes). */
  lookupBytes(buf: Uint8Array, s: number, e: number): number;
  /** Id of a string value. */
  lookupString(value: string): number;
  /** JSON form (persisted in the feature map). */
  toJSON(): VocabJSON | HashJSON;
}

/** Persisted vocabulary: values in id order (values[i] has id i + 2) with their training counts. */
export interface VocabJSON {
  type: 'vocab';
  minCount: number;
  maxSize?: number;
  values: string[];
  counts: number[];
}
/** Persisted hash encoder. */
export interface HashJSON {
  type: 'hash';
  buckets: number;
  seed: number;
}

/** Vocabulary encoder with min count, OOV and padding rows. */
export class VocabEncoder implements CategoricalEncoder {
  readonly kind = 'vocab' as const;
  private counts: BytesTable | null;
  private table: BytesTable;
  private fitted = false;
  /** Bounded fitting: the shared sketch, this table's hash seed, and the pass being run. */
  private sketch: CountMinSketch | null = null;
  private sketchSeed = 0;
  private recounting = false;

  constructor(readonly spec: VocabEncoderSpec) {
    this.counts = new BytesTable(1024);
    this.table = new BytesTable(16);
  }

  /**
   * Fits in two passes through `sketch` (module comment): this pass only feeds the sketch
   * (keys hashed with `seed`, distinct per table sharing one sketch); call `startRecount()`
   * before the second. Needs minCount ≥ 2 and a sketch whose cap reaches minCount.
   */
  useSketch(sketch: CountMinSketch, seed: number): void {
    if (this.spec.minCount < 2) throw new Error('VocabEncoder.useSketch: minCount 1 keeps every value; nothing to filter');
    if (sketch.cap < this.spec.minCount) throw new Error(`VocabEncoder.useSketch: sketch cap ${sketch.cap} < minCount ${this.spec.minCount}`);
    this.sketch = sketch;
    this.sketchSeed = seed;
  }

  /** Starts the second pass of bounded fitting: values whose estimate reaches minCount are counted exactly. */
  startRecount(): void {
    if (this.sketch === null) throw new Error('VocabEncoder.startRecount: not fitting through a sketch');
    this.recounting = true;
  }

  /** Whether the value with hash `h` is counted exactly in this pass (always, unless fitting through a sketch). */
  private admit(h: number): boolean {
    const sk = this.sketch!;
    if (!this.recounting) {
      sk.add(h);
      return false;
    }
    return sk.estimate(h) >= this.spec.minCount;
  }

  /** Counts one occurrence of the value buf[s..e) (fitting). */
  countBytes(buf: Uint8Array, s: number, e: number): void {
    if (this.sketch !== null && !this.admit(murmur3Bytes(buf, s, e, this.sketchSeed))) return;
    const c = this.counts!;
    const ent = c.insertBytes(buf, s, e); // before reading c.payload: inserting may grow it
    c.payload[ent]! += 1;
  }

  /** Counts one occurrence of a string value (fitting). */
  countString(value: string): void {
    if (this.sketch !== null && !this.admit(murmur3String(value, this.sketchSeed))) return;
    const c = this.counts!;
    const ent = c.insertString(value);
    c.payload[ent]! += 1;
  }

  /** Number of distinct values counted so far. */
  get distinctCounted(): number {
    return this.counts ? this.counts.size : this.table.size;
  }

  /** Ends fitting: keeps values with count ≥ minCount (top maxSize), ordered by (−count, bytes). */
  finish(): this {
    if (this.fitted) return this;
    if (this.sketch !== null && !this.recounting) throw new Error('VocabEncoder.finish: bounded fitting needs its second pass (startRecount) first');
    this.sketch = null;
    const c = this.counts!;
    let nk = 0;
    for (let i = 0; i < c.size; i++) if (c.payload[i]! >= this.spec.minCount) nk++;
    const keep = new Int32Array(nk);
    // Sort key: count (descending), then the first 6 bytes as a base-257 number (exact in a
    // double), then the full bytes — the same order as comparing (−count, bytes), faster.
    const prefix = new Float64Array(c.size);
    for (let i = 0, k = 0; i < c.size; i++) {
      if (c.payload[i]! < this.spec.minCount) continue;
      keep[k++] = i;
      const kb = c.keyBytes(i);
      let p = 0;
      for (let j = 0; j < 6; j++) p = p * 257 + (j < kb.length ? kb[j]! + 1 : 0);
      prefix[i] = p;
    }
    const cnt = c.payload;
    keep.sort((a, b) => cnt[b]! - cnt[a]! || prefix[a]! - prefix[b]! || c.compareKeys(a, b));
    const n = this.spec.maxSize !== undefined ? Math.min(keep.length, this.spec.maxSize) : keep.length;
    const t = new BytesTable(n);
    for (let k = 0; k < n; k++) {
      const ent = keep[k]!;
      const kb = c.keyBytes(ent);
      const e = t.insertBytes(kb, 0, kb.length);
      t.payload[e] = c.payload[ent]!;
    }
    this.table = t;
    this.counts = null;
    this.fitted = true;
    return this;
  }

  get size(): number {
    return FIRST_KNOWN_ID + this.table.size;
  }

  lookupBytes(buf: Uint8Array, s: number, e: number): number {
    const ent = this.table.findBytes(buf, s, e);
    return ent < 0 ? OOV_ID : ent + FIRST_KNOWN_ID;
  }

  lookupString(value: string): number {
    const ent = this.table.findString(value);
    return ent < 0 ? OOV_ID : ent + FIRST_KNOWN_ID;
  }

  /** The value of a known id; null for padding (0), OOV (1) and ids out of range. */
  decode(id: number): string | null {
    const ent = id - FIRST_KNOWN_ID;
    return ent >= 0 && ent < this.table.size ? this.table.keyString(ent) : null;
  }

  /** Training count of the value with this id (0 for padding/OOV). */
  count(id: number): number {
    const ent = id - FIRST_KNOWN_ID;
    return ent >= 0 && ent < this.table.size ? this.table.payload[ent]! : 0;
  }

  /** Known values in id order. */
  values(): string[] {
    const out = new Array<string>(this.table.size);
    for (let i = 0; i < out.length; i++) out[i] = this.table.keyString(i);
    return out;
  }

  toJSON(): VocabJSON {
    if (!this.fitted) throw new Error('VocabEncoder.toJSON: call finish() after fitting first');
    const counts = Array.from(this.table.payload.subarray(0, this.table.size));
    const j: VocabJSON = { type: 'vocab', minCount: this.spec.minCount, values: this.values(), counts };
    if (this.spec.maxSize !== undefined) j.maxSize = this.spec.maxSize;
    return j;
  }

  /**
   * The settings of this vocabulary without its values (`values`/`counts` empty) and its
   * table moved into shared memory (`BytesTable.share`): what a worker thread needs to encode
   * with it (`fromShared`) without a copy of the values.
   */
  share(): { json: VocabJSON; table: SharedBytesTable } {
    if (!this.fitted) throw new Error('VocabEncoder.share: call finish() after fitting first');
    const json: VocabJSON = { type: 'vocab', minCount: this.spec.minCount, values: [], counts: [] };
    if (this.spec.maxSize !== undefined) json.maxSize = this.spec.maxSize;
    return { json, table: this.table.share() };
  }

  /** Feeds the fitted vocabulary (settings, values in id order, counts) to a hash (`FeatureMap.contentSha256`). */
  hashInto(h: { update(data: Uint8Array | string): unknown }): void {
    if (!this.fitted) throw new Error('VocabEncoder.hashInto: call finish() after fitting first');
    h.update(JSON.stringify({ minCount: this.spec.minCount, maxSize: this.spec.maxSize ?? null }));
    this.table.hashInto(h);
  }

  /** A fitted vocabulary over a table shared by `share` in another thread (same ids, no copy). */
  static fromShared(j: VocabJSON, table: SharedBytesTable): VocabEncoder {
    const spec: VocabEncoderSpec =
      j.maxSize !== undefined ? { type: 'vocab', minCount: j.minCount, maxSize: j.maxSize } : { type: 'vocab', minCount: j.minCount };
    const v = new VocabEncoder(spec);
    v.table = BytesTable.fromShared(table);
    v.counts = null;
    v.fitted = true;
    return v;
  }

  /** Rebuilds a fitted vocabulary; ids are those of the saved order. */
  static fromJSON(j: VocabJSON): VocabEncoder {
    const spec: VocabEncoderSpec =
      j.maxSize !== undefined ? { type: 'vocab', minCount: j.minCount, maxSize: j.maxSize } : { type: 'vocab', minCount: j.minCount };
    const v = new VocabEncoder(spec);
    const t = new BytesTable(j.values.length);
    for (let i = 0; i < j.values.length; i++) {
      const e = t.insertString(j.values[i]!);
      if (e !== i) throw new Error(`vocabulary: value ${JSON.stringify(j.values[i])} appears twice`);
      t.payload[e] = j.counts?.[i] ?? 0;
    }
    v.table = t;
    v.counts = null;
    v.fitted = true;
    return v;
  }
}

/** Hashing into a fixed number of buckets: id = 2 + murmur3_32(utf8(value), seed) mod buckets. */
export class HashEncoder implements CategoricalEncoder {
  readonly kind = 'hash' as const;
  constructor(readonly spec: HashEncoderSpec) {}

  get size(): number {
    return FIRST_KNOWN_ID + this.spec.buckets;
  }

  lookupBytes(buf: Uint8Array, s: number, e: number): number {
    return FIRST_KNOWN_ID + (murmur3Bytes(buf, s, e, this.spec.seed) % this.spec.buckets);
  }

  lookupString(value: string): number {
    return FIRST_KNOWN_ID + (murmur3String(value, this.spec.seed) % this.spec.buckets);
  }

  toJSON(): HashJSON {
    return { type: 'hash', buckets: this.spec.buckets, seed: this.spec.seed };
  }

  static fromJSON(j: HashJSON): HashEncoder {
    return new HashEncoder({ type: 'hash', buckets: j.buckets, seed: j.seed });
  }
}

/** A fresh (unfitted) categorical encoder for a spec. */
export function makeCategoricalEncoder(spec: EncoderSpec): VocabEncoder | HashEncoder {
  return spec.type === 'vocab' ? new VocabEncoder(spec) : new HashEncoder(spec);
}

/** Rebuilds a categorical encoder from JSON. */
export function categoricalFromJSON(j: VocabJSON | HashJSON): VocabEncoder | HashEncoder {
  return j.type === 'vocab' ? VocabEncoder.fromJSON(j) : HashEncoder.fromJSON(j);
}

// ---------------------------------------------------------------------------------------
// Numeric
// ---------------------------------------------------------------------------------------

/** Fitted statistics of a dense feature. */
export interface NumericJSON {
  /** Mean of the non-missing raw values (for `missing: mean`). */
  rawMean: number;
  /** Count of non-missing raw values seen in training. */
  count: number;
  /** Statistics at the input of the fitted step (after the steps before it). */
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Bucket boundaries (strictly increasing), when bucketized. */
  boundaries?: number[];
}

/** Uniform reservoir sample of a stream (Vitter's algorithm R) with a seeded generator. */
export class Reservoir {
  readonly values: Float64Array;
  /** Items offered so far. */
  seen = 0;
  constructor(
    readonly capacity: number,
    private readonly rng: Rng,
  ) {
    this.values = new Float64Array(capacity);
  }

  /** Offers one value. */
  add(x: number): void {
    const n = this.seen++;
    if (n < this.capacity) this.values[n] = x;
    else {
      const j = Math.floor(this.rng.next() * (n + 1));
      if (j < this.capacity) this.values[j] = x;
    }
  }

  /** The sample, sorted ascending. */
  sorted(): Float64Array {
    return this.values.slice(0, Math.min(this.seen, this.capacity)).sort();
  }
}

/**
 * Dense feature encoder: missing fill → steps → (bucketize). log1p is the signed form
 * sign(x)·log(1+|x|); standardize uses the population std (std 0 → 1); minmax maps the
 * fitted [min, max] to [0, 1] (a zero range maps to 0). Quantile bucketization with k
 * buckets takes boundaries at the sample quantiles q(i/k), i = 1..k−1 (the ⌊i·n/k⌋-th
 * smallest sampled value), duplicates removed.
 */
export class NumericEncoder {
  private fittedStep: NumericStep | null;
  private prefix: NumericStep[];
  private rawSum = 0;
  private rawCount = 0;
  private n = 0;
  private mean_ = 0;
  private m2 = 0;
  private min_ = Infinity;
  private max_ = -Infinity;
  private reservoir: Reservoir | null = null;
  private stats: NumericJSON | null = null;

  constructor(
    readonly feature: DenseFeature,
    opts: { reservoirSize?: number; seed?: number } = {},
  ) {
    const steps = feature.transform;
    const last = steps[steps.length - 1];
    this.fittedStep = last && (last.type === 'standardize' || last.type === 'minmax') ? last : null;
    this.prefix = this.fittedStep ? steps.slice(0, -1) : steps.slice();
    if (feature.bucketize?.method === 'quantile') {
      this.reservoir = new Reservoir(opts.reservoirSize ?? 100_000, Rng.derive(opts.seed ?? 0, `reservoir:${feature.name}`));
    }
  }

  /** Whether the encoder needs fitting (fitted step, mean fill or quantiles). */
  get needsFit(): boolean {
    return this.fittedStep !== null || this.reservoir !== null || this.feature.missing.policy === 'mean';
  }

  /**
   * Accumulates statistics of x[0..n) (raw values, NaN = missing) for rows where skip[r] is 0.
   * Missing values filled with a constant take part in the statistics; with `missing: mean`
   * they do not.
   */
  observe(x: Float64Array, n: number, skip: Uint8Array | null): void {
    const miss = this.feature.missing;
    const fill = miss.policy === 'fill' ? miss.value : NaN;
    const res = this.reservoir;
    for (let r = 0; r < n; r++) {
      if (skip !== null && skip[r] !== 0) continue;
      let v = x[r]!;
      if (v !== v) {
        if (fill !== fill) continue;
        v = fill;
      } else {
        this.rawSum += v;
        this.rawCount++;
      }
      v = applySteps(this.prefix, v);
      this.n++;
      const d = v - this.mean_;
      this.mean_ += d / this.n;
      this.m2 += d * (v - this.mean_);
      if (v < this.min_) this.min_ = v;
      if (v > this.max_) this.max_ = v;
      if (res !== null) res.add(v);
    }
  }

  /** Ends fitting. */
  finish(): this {
    if (this.stats) return this;
    const s: NumericJSON = {
      rawMean: this.rawCount > 0 ? this.rawSum / this.rawCount : 0,
      count: this.rawCount,
      mean: this.n > 0 ? this.mean_ : 0,
      std: this.n > 0 ? Math.sqrt(this.m2 / this.n) : 1,
      min: this.n > 0 ? this.min_ : 0,
      max: this.n > 0 ? this.max_ : 0,
    };
    if (!(s.std > 0)) s.std = 1;
    const b = this.feature.bucketize;
    if (b) s.boundaries = b.method === 'boundaries' ? b.boundaries.slice() : this.quantileBoundaries(b, s);
    this.stats = s;
    this.reservoir = null;
    return this;
  }

  private quantileBoundaries(b: Extract<BucketizeSpec, { method: 'quantile' }>, s: NumericJSON): number[] {
    const sample = this.reservoir!.sorted();
    const out: number[] = [];
    if (sample.length === 0) return out;
    for (let i = 1; i < b.buckets; i++) {
      const q = sample[Math.min(sample.length - 1, Math.floor((i * sample.length) / b.buckets))]!;
      const v = this.fittedStep ? applyFitted(this.fittedStep, q, s) : q;
      if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
    }
    return out;
  }

  /** The fitted statistics. */
  get fitted(): NumericJSON {
    if (!this.stats) throw new Error(`NumericEncoder(${this.feature.name}): not fitted`);
    return this.stats;
  }

  /** Value used for a missing raw value (NaN when missing is an error or kept). */
  get fillValue(): number {
    const m = this.feature.missing;
    return m.policy === 'fill' ? m.value : m.policy === 'mean' ? this.fitted.rawMean : NaN;
  }

  /** Transforms one raw value (already filled if missing) through all numeric steps. */
  transformValue(v: number): number {
    v = applySteps(this.prefix, v);
    return this.fittedStep ? applyFitted(this.fittedStep, v, this.fitted) : v;
  }

  /** Transforms x[0..n) in place (values must be filled already). */
  transformInPlace(x: Float64Array, n: number): void {
    const st = this.fitted;
    for (const step of this.prefix) applyStepColumn(step, x, n, st);
    if (this.fittedStep) applyStepColumn(this.fittedStep, x, n, st);
  }

  /** Bucket id of a transformed value: 2 + number of boundaries ≤ v. */
  bucketId(v: number): number {
    const b = this.fitted.boundaries!;
    let lo = 0,
      hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    return FIRST_KNOWN_ID + lo;
  }

  /** Table rows of a bucketized feature: padding + OOV + (boundaries + 1) buckets. */
  get bucketCount(): number {
    return FIRST_KNOWN_ID + (this.fitted.boundaries?.length ?? 0) + 1;
  }

  /** Undoes the numeric steps where they are invertible (clip is the identity inside its range). */
  inverse(y: number): number {
    const st = this.fitted;
    if (this.fittedStep?.type === 'standardize') y = y * st.std + st.mean;
    else if (this.fittedStep?.type === 'minmax') y = y * (st.max - st.min) + st.min;
    for (let i = this.prefix.length - 1; i >= 0; i--) {
      const p = this.prefix[i]!;
      if (p.type === 'log1p') y = Math.sign(y) * Math.expm1(Math.abs(y));
    }
    return y;
  }

  toJSON(): NumericJSON {
    const s = this.fitted;
    return s.boundaries ? { ...s, boundaries: s.boundaries.slice() } : { ...s };
  }

  /** Rebuilds a fitted encoder. */
  static fromJSON(feature: DenseFeature, j: NumericJSON): NumericEncoder {
    const e = new NumericEncoder(feature, { reservoirSize: 1 });
    e.reservoir = null;
    e.stats = j.boundaries ? { ...j, boundaries: j.boundaries.slice() } : { ...j };
    return e;
  }
}

function applySteps(steps: NumericStep[], v: number): number {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.type === 'log1p') v = v >= 0 ? Math.log1p(v) : -Math.log1p(-v);
    else if (s.type === 'clip') v = v < s.min ? s.min : v > s.max ? s.max : v;
  }
  return v;
}

function applyFitted(step: NumericStep, v: number, st: NumericJSON): number {
  if (step.type === 'standardize') return (v - st.mean) / st.std;
  if (step.type === 'minmax') {
    const range = st.max - st.min;
    return range > 0 ? (v - st.min) / range : 0;
  }
  return v;
}

function applyStepColumn(step: NumericStep, x: Float64Array, n: number, st: NumericJSON): void {
  switch (step.type) {
    case 'log1p':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        x[i] = v >= 0 ? Math.log1p(v) : -Math.log1p(-v);
      }
      return;
    case 'clip': {
      const lo = step.min,
        hi = step.max;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        x[i] = v < lo ? lo : v > hi ? hi : v;
      }
      return;
    }
    case 'standardize': {
      const m = st.mean,
        sd = st.std;
      for (let i = 0; i < n; i++) x[i] = (x[i]! - m) / sd;
      return;
    }
    case 'minmax': {
      const range = st.max - st.min;
      const lo = st.min;
      if (range > 0) for (let i = 0; i < n; i++) x[i] = (x[i]! - lo) / range;
      else x.fill(0, 0, n);
      return;
    }
  }
}
