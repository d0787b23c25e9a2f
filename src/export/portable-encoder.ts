/**
 * Encodes raw rows (plain objects, as a serving request carries them) with a portable
 * feature map (./featuremap-json.ts) into a `Batch`, exactly as `FeatureMap.transformRows`
 * does with `inputsOnly`: the same ids for every categorical value (vocabulary lookup or
 * murmur3 hashing; unknown → OOV 1; padding 0), the same float64 numeric steps rounded to
 * float32 once at the end, the same bucket ids, the same token splitting and truncation.
 * Browser-safe (no Node modules): the in-browser scorer encodes with it.
 *
 * Cell rules (those of src/features/featuremap.ts for values):
 * missing = null, undefined, '' or NaN (numeric cells: also a string of spaces);
 * a categorical value is its string form (`String(v)` for numbers and booleans, JSON for
 * objects); a numeric cell is a finite number, or a string matching `numberSyntax`; an
 * array is a list of tokens in a varlen/sequence field and an error in a single-valued one.
 */
import type { Batch, PaddedIds } from '../features/batch.js';
import { murmur3String } from '../features/hash.js';
import { checkPortableFeatureMap, type PortableFeatureMap, type PortableInput, type PortableStep, type PortableTable } from './featuremap-json.js';

/** Bad input: names the row and the field. */
export class EncodeError extends Error {
  constructor(
    readonly row: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`row ${row}, field '${field}': ${problem}`);
    this.name = 'EncodeError';
  }
}

type Lookup = (value: string) => number;

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

function cellString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

function tableLookup(t: PortableTable): Lookup {
  if (t.type === 'hash') return (v) => 2 + (murmur3String(v, t.seed) % t.buckets);
  const ids = new Map<string, number>();
  t.values.forEach((v, i) => ids.set(v, i + 2));
  return (v) => ids.get(v) ?? 1;
}

/** Applies the numeric steps in order, in float64 (the formulas of src/features/encoders.ts). */
export function applyPortableSteps(steps: readonly PortableStep[], x: number): number {
  for (const s of steps) {
    if (s.type === 'log1p') x = x >= 0 ? Math.log1p(x) : -Math.log1p(-x);
    else if (s.type === 'clip') x = x < s.min ? s.min : x > s.max ? s.max : x;
    else if (s.type === 'standardize') x = (x - s.mean) / s.std;
    else {
      const range = s.max - s.min;
      x = range > 0 ? (x - s.min) / range : 0;
    }
  }
  return x;
}

/** 2 + the number of boundaries ≤ x. */
export function bucketOf(boundaries: readonly number[], x: number): number {
  let lo = 0,
    hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (boundaries[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return 2 + lo;
}

/** The encoder of one portable feature map. */
export class PortableEncoder {
  readonly map: PortableFeatureMap;
  private readonly lookups = new Map<string, Lookup>();
  private readonly numberRe: RegExp;

  constructor(map: unknown) {
    this.map = checkPortableFeatureMap(map);
    for (const [name, t] of Object.entries(this.map.tables)) this.lookups.set(name, tableLookup(t));
    this.numberRe = new RegExp(this.map.numberSyntax);
  }

  /** Raw columns the inputs read, in input order. */
  get sourceColumns(): string[] {
    return [...new Set(this.map.inputs.map((i) => i.source))];
  }

  /** Encodes rows (missing columns are missing values); throws EncodeError on bad input. */
  encode(rows: ReadonlyArray<Record<string, unknown>>): Batch {
    const n = rows.length;
    const batch: Batch = { size: n, sparse: {}, dense: {}, varlen: {}, labels: {} };
    for (const f of this.map.inputs) {
      switch (f.kind) {
        case 'sparse':
          batch.sparse[f.name] = this.encodeSparse(f, rows);
          break;
        case 'varlen':
        case 'sequence':
          batch.varlen[f.name] = this.encodeMulti(f, rows);
          break;
        case 'dense':
          batch.dense[f.name] = Float32Array.from(this.numbers(f, rows));
          break;
        case 'bucketized': {
          const b = f.boundaries;
          batch.sparse[f.name] = Int32Array.from(this.numbers(f, rows), (v) => bucketOf(b, v));
          break;
        }
      }
    }
    return batch;
  }

  /** The transformed float64 values of a numeric input. */
  private numbers(f: Extract<PortableInput, { kind: 'dense' | 'bucketized' }>, rows: ReadonlyArray<Record<string, unknown>>): Float64Array {
    const x = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) x[r] = applyPortableSteps(f.steps, this.number(f, rows[r]![f.source], r));
    return x;
  }

  private number(f: Extract<PortableInput, { kind: 'dense' | 'bucketized' }>, v: unknown, r: number): number {
    if (isMissing(v) || (typeof v === 'string' && v.trim() === '')) {
      if (f.missing.policy === 'error') throw new EncodeError(r, f.source, 'missing value (the schema says missing: error)');
      return f.missing.value;
    }
    const x = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && this.numberRe.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(x)) throw new EncodeError(r, f.source, `${JSON.stringify(cellString(v)).slice(0, 62)} is not a number`);
    return x;
  }

  private encodeSparse(f: Extract<PortableInput, { kind: 'sparse' }>, rows: ReadonlyArray<Record<string, unknown>>): Int32Array {
    const look = this.lookups.get(f.table)!;
    const m = f.missing;
    const missingId = m.policy === 'value' ? look(m.value) : 1;
    const out = new Int32Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![f.source];
      if (isMissing(v)) {
        if (m.policy === 'error') throw new EncodeError(r, f.source, 'missing value (the schema says missing: error)');
        out[r] = missingId;
      } else if (Array.isArray(v)) throw new EncodeError(r, f.source, `${v.length} values in a single-valued (sparse) field`);
      else out[r] = look(cellString(v));
    }
    return out;
  }

  private encodeMulti(f: Extract<PortableInput, { kind: 'varlen' | 'sequence' }>, rows: ReadonlyArray<Record<string, unknown>>): PaddedIds {
    const look = this.lookups.get(f.table)!;
    const ml = f.maxLen;
    const ids = new Int32Array(rows.length * ml);
    const lengths = new Int32Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![f.source];
      if (isMissing(v)) continue;
      let toks = Array.isArray(v)
        ? v.filter((t) => !isMissing(t)).map(cellString)
        : cellString(v)
            .split(f.sep)
            .filter((t) => t.length > 0);
      if (toks.length > ml) toks = f.keep === 'last' ? toks.slice(toks.length - ml) : toks.slice(0, ml);
      for (let j = 0; j < toks.length; j++) ids[r * ml + j] = look(toks[j]!);
      lengths[r] = toks.length;
    }
    return { ids, lengths, maxLen: ml };
  }
}
