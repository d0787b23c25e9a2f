/**
 * The portable feature map: everything a server in another language needs to turn raw rows
 * into the ids and numbers a finerank model reads, as one self-describing JSON document
 * (`format: "finerank.featuremap.portable"`, `version: 1`; documented field by field in
 * docs/export.md). Unlike the artifact's internal feature map (schema + fitted state, read
 * back by finerank), every rule is resolved here: sharing is resolved to table names,
 * `missing: mean` to the fitted mean, fitted numeric steps carry their statistics, quantile
 * bucketization carries its boundaries, and hashing names its function, seed and test
 * vectors. Readers: examples/featuremap_encoder.py and the in-browser scorer
 * (src/export/portable-encoder.ts).
 */
import type { FeatureMap } from '../features/featuremap.js';
import { murmur3String } from '../features/hash.js';
import type { NumericStep } from '../features/schema.js';

/** The format tag of a portable feature map. */
export const PORTABLE_FORMAT = 'finerank.featuremap.portable';
/** The format version this module writes and reads. */
export const PORTABLE_VERSION = 1;

/** A categorical table: a fitted vocabulary (values[i] has id i + 2) or hash buckets. */
export type PortableTable =
  { type: 'vocab'; size: number; values: string[] } | { type: 'hash'; size: number; buckets: number; seed: number; hash: 'murmur3_x86_32' };

/** Missing categorical value: its own category `value` (looked up like any value), the OOV id 1, or an error. */
export type PortableSparseMissing = { policy: 'value'; value: string } | { policy: 'oov' } | { policy: 'error' };
/** Missing numeric value: replaced by `value` before the steps (a fitted mean is resolved to its number), or an error. */
export type PortableDenseMissing = { policy: 'fill'; value: number } | { policy: 'error' };

/** One numeric step with its fitted statistics, applied in order in float64. */
export type PortableStep =
  | { type: 'log1p' } // sign(x)·log1p(|x|)
  | { type: 'clip'; min: number; max: number }
  | { type: 'standardize'; mean: number; std: number } // (x − mean) / std
  | { type: 'minmax'; min: number; max: number }; // max > min ? (x − min) / (max − min) : 0

/** How one model input is encoded from its raw column `source`. */
export type PortableInput =
  | { name: string; source: string; kind: 'sparse'; table: string; missing: PortableSparseMissing }
  | { name: string; source: string; kind: 'dense'; missing: PortableDenseMissing; steps: PortableStep[] }
  | { name: string; source: string; kind: 'bucketized'; missing: PortableDenseMissing; steps: PortableStep[]; boundaries: number[] }
  | { name: string; source: string; kind: 'varlen' | 'sequence'; table: string; sep: string; maxLen: number; keep: 'first' | 'last' };

/** One hash test vector: murmur3_x86_32(utf8(value), seed) as an unsigned 32-bit integer. */
export interface HashTestVector {
  value: string;
  seed: number;
  hash: number;
}

/** The portable feature map document. */
export interface PortableFeatureMap {
  format: typeof PORTABLE_FORMAT;
  version: typeof PORTABLE_VERSION;
  /** The reserved ids of every categorical table. */
  ids: { padding: 0; oov: 1; firstKnown: 2 };
  /** The hash of hash tables, with vectors to test a re-implementation against. */
  hash: { algorithm: 'murmur3_x86_32'; input: 'utf8'; id: '2 + hash mod buckets'; testVectors: HashTestVector[] };
  /** The accepted syntax of a numeric cell (a JavaScript regular expression); other text is an error. */
  numberSyntax: string;
  /** Model inputs in the model's field order. */
  inputs: PortableInput[];
  /** Categorical tables by name (fields sharing an embedding name the same table). */
  tables: Record<string, PortableTable>;
  /** The raw file layout the model was trained on (CSV/TSV options), when the schema states one. */
  dataset?: { format?: string; separator?: string; quote?: string; header?: boolean; columns?: string[] };
}

/** The syntax `parseNumberString` accepts (src/readers/chunk.ts): spaces, sign, digits, point, exponent. */
export const NUMBER_SYNTAX = '^ *[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)? *$';

/** Values hashed into the test vectors: empty, ASCII of each tail length, 2- to 4-byte UTF-8. */
const TEST_VALUES = ['', 'a', 'ab', 'abc', 'abcd', 'hello', 'user_12345', 'é', '日本語', '🙂x'];

/** Test vectors for seed 0 and every seed a hash table of the map uses. */
export function hashTestVectors(seeds: readonly number[]): HashTestVector[] {
  const out: HashTestVector[] = [];
  for (const seed of [...new Set([0, ...seeds])]) for (const value of TEST_VALUES) out.push({ value, seed, hash: murmur3String(value, seed) });
  return out;
}

function portableSteps(fm: FeatureMap, name: string, steps: readonly NumericStep[]): PortableStep[] {
  const st = fm.numeric(name).fitted;
  return steps.map((s): PortableStep => {
    switch (s.type) {
      case 'log1p':
        return { type: 'log1p' };
      case 'clip':
        return { type: 'clip', min: s.min, max: s.max };
      case 'standardize':
        return { type: 'standardize', mean: st.mean, std: st.std };
      case 'minmax':
        return { type: 'minmax', min: st.min, max: st.max };
    }
  });
}

/**
 * The portable form of a fitted feature map. Fitted steps are always last in a schema
 * (the schema refuses anything after standardize/minmax), so the stored statistics are
 * those at the step's input.
 */
export function portableFeatureMap(fm: FeatureMap): PortableFeatureMap {
  const inputs: PortableInput[] = [];
  const tables: Record<string, PortableTable> = {};
  const addTable = (feature: string): string => {
    const enc = fm.encoder(feature);
    const j = enc.toJSON();
    const name = fm.fields().find((f) => f.name === feature)!.table!;
    tables[name] ??=
      j.type === 'vocab'
        ? { type: 'vocab', size: enc.size, values: j.values }
        : { type: 'hash', size: enc.size, buckets: j.buckets, seed: j.seed, hash: 'murmur3_x86_32' };
    return name;
  };
  for (const c of fm.schema.columns) {
    if (c.role === 'sparse') {
      inputs.push({ name: c.name, source: c.source, kind: 'sparse', table: addTable(c.name), missing: { ...c.missing } });
    } else if (c.role === 'dense') {
      const missing: PortableDenseMissing =
        c.missing.policy === 'error' ? { policy: 'error' } : { policy: 'fill', value: fm.numeric(c.name).fillValue };
      const steps = portableSteps(fm, c.name, c.transform);
      if (c.bucketize)
        inputs.push({
          name: c.name,
          source: c.source,
          kind: 'bucketized',
          missing,
          steps,
          boundaries: fm.numeric(c.name).fitted.boundaries!.slice(),
        });
      else inputs.push({ name: c.name, source: c.source, kind: 'dense', missing, steps });
    } else if (c.role === 'varlen' || c.role === 'sequence') {
      inputs.push({ name: c.name, source: c.source, kind: c.role, table: addTable(c.name), sep: c.sep, maxLen: c.maxLen, keep: c.keep });
    }
  }
  const seeds = Object.values(tables).flatMap((t) => (t.type === 'hash' ? [t.seed] : []));
  const out: PortableFeatureMap = {
    format: PORTABLE_FORMAT,
    version: PORTABLE_VERSION,
    ids: { padding: 0, oov: 1, firstKnown: 2 },
    hash: { algorithm: 'murmur3_x86_32', input: 'utf8', id: '2 + hash mod buckets', testVectors: hashTestVectors(seeds) },
    numberSyntax: NUMBER_SYNTAX,
    inputs,
    tables,
  };
  const ds = fm.schema.dataset;
  if (ds !== undefined) {
    const d: NonNullable<PortableFeatureMap['dataset']> = {};
    if (ds.format !== undefined) d.format = ds.format;
    if (ds.separator !== undefined) d.separator = ds.separator;
    if (ds.quote !== undefined) d.quote = ds.quote;
    if (ds.header !== undefined) d.header = ds.header;
    if (ds.columns !== undefined) d.columns = ds.columns.slice();
    out.dataset = d;
  }
  return out;
}

/** Checks the format tag and version of a parsed document (what a reader must do first). */
export function checkPortableFeatureMap(j: unknown, where = '<featuremap>'): PortableFeatureMap {
  const o = j as Partial<PortableFeatureMap> | null;
  if (o === null || typeof o !== 'object' || o.format !== PORTABLE_FORMAT)
    throw new Error(`${where}: not a portable finerank feature map (expected format "${PORTABLE_FORMAT}")`);
  if (o.version !== PORTABLE_VERSION)
    throw new Error(`${where}: portable feature map version ${String(o.version)} is not supported (this finerank reads version ${PORTABLE_VERSION})`);
  if (!Array.isArray(o.inputs) || o.tables === null || typeof o.tables !== 'object')
    throw new Error(`${where}: inputs (array) and tables (object) are required`);
  return o as PortableFeatureMap;
}
