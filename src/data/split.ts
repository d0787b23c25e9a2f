/**
 * Train / validation / test splits of raw rows, decided row by row so that they stream, are
 * disjoint (each row gets exactly one part) and are reproducible:
 *
 * - `random`: part from u = murmur3_32(decimal line number, seed) / 2³² against the
 *   cumulative ratios. Same file + seed → same split, whatever the chunking.
 * - `time`: part = number of cutoffs ≤ t, where t is the row's time column (a number, or a
 *   date string parsed by `Date.parse`, compared in milliseconds; cutoffs may be numbers or
 *   date strings). Missing or unparseable times are bad rows.
 * - `group`: u = murmur3_32(utf8(group value), seed) / 2³² against the cumulative ratios, so
 *   all rows of a group (e.g. a user) land in the same part: no leakage across parts.
 *
 * Split before fitting: fit the feature map on the training part only.
 */
import { murmur3Bytes, murmur3String } from '../features/hash.js';
import { DataError } from '../readers/errors.js';
import { parseNumberString, valueToString, type RawChunk } from '../readers/chunk.js';

/** How to split. */
export type SplitSpec =
  | { by: 'random'; ratios: number[]; seed: number }
  | { by: 'time'; column: string; cutoffs: Array<number | string> }
  | { by: 'group'; column: string; ratios: number[]; seed: number };

function cumulative(ratios: number[]): Float64Array {
  if (ratios.length < 1 || ratios.some((r) => !(r >= 0) || !Number.isFinite(r))) {
    throw new Error(`split: ratios must be non-negative numbers, got [${ratios.join(', ')}]`);
  }
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`split: ratios must sum to 1, got ${sum}`);
  const c = new Float64Array(ratios.length);
  let acc = 0;
  for (let i = 0; i < ratios.length; i++) {
    acc += ratios[i]!;
    c[i] = acc;
  }
  c[ratios.length - 1] = Infinity;
  return c;
}

function partOf(u: number, cum: Float64Array): number {
  let k = 0;
  while (u >= cum[k]!) k++;
  return k;
}

function timeValue(v: number | string): number {
  if (typeof v === 'number') return v;
  const n = parseNumberString(v);
  return Number.isNaN(n) ? Date.parse(v) : n;
}

/** Number of parts a spec produces. */
export function splitParts(spec: SplitSpec): number {
  return spec.by === 'time' ? spec.cutoffs.length + 1 : spec.ratios.length;
}

/** The part (0-based) of every row of a chunk. */
export function assignSplit(chunk: RawChunk, spec: SplitSpec): Uint8Array {
  const n = chunk.length;
  const out = new Uint8Array(n);
  if (spec.by === 'random') {
    const cum = cumulative(spec.ratios);
    for (let r = 0; r < n; r++) out[r] = partOf(murmur3String(String(chunk.lines[r]), spec.seed) / 4294967296, cum);
    return out;
  }
  const col = chunk.columns.indexOf(spec.column);
  if (col < 0) {
    throw new DataError(
      { file: chunk.file, line: chunk.headerLine, column: spec.column },
      `split column "${spec.column}" is not in the data`,
      `one of the columns: ${chunk.columns.join(', ')}`,
    );
  }
  if (spec.by === 'group') {
    const cum = cumulative(spec.ratios);
    if (chunk.kind === 'bytes') {
      const off = col * chunk.stride;
      for (let r = 0; r < n; r++) out[r] = partOf(murmur3Bytes(chunk.buf, chunk.start[off + r]!, chunk.end[off + r]!, spec.seed) / 4294967296, cum);
    } else {
      const vals = chunk.values[col]!;
      for (let r = 0; r < n; r++) {
        const v = vals[r];
        out[r] = partOf(murmur3String(v === null || v === undefined ? '' : valueToString(v), spec.seed) / 4294967296, cum);
      }
    }
    return out;
  }
  const cuts = spec.cutoffs.map(timeValue);
  cuts.forEach((c, i) => {
    if (Number.isNaN(c)) throw new Error(`split: cutoff ${JSON.stringify(spec.cutoffs[i])} is not a number or a date`);
    if (i > 0 && !(c > cuts[i - 1]!)) throw new Error('split: cutoffs must be strictly increasing');
  });
  for (let r = 0; r < n; r++) {
    const raw = chunk.kind === 'bytes' ? chunk.cell(r, col) : chunk.values[col]![r];
    const t =
      raw === null || raw === undefined || raw === ''
        ? NaN
        : typeof raw === 'number'
          ? raw
          : typeof raw === 'bigint'
            ? Number(raw)
            : timeValue(valueToString(raw));
    if (Number.isNaN(t)) {
      throw new DataError(
        { file: chunk.file, line: chunk.lines[r], column: spec.column },
        `time value ${JSON.stringify(raw === null || raw === undefined ? '' : valueToString(raw))} is not a number or a date`,
        'a number (e.g. a Unix timestamp) or an ISO date',
      );
    }
    let k = 0;
    while (k < cuts.length && t >= cuts[k]!) k++;
    out[r] = k;
  }
  return out;
}

/** The rows of one part (0-based) of a chunk stream. */
export async function* takeSplit(chunks: AsyncIterable<RawChunk> | Iterable<RawChunk>, spec: SplitSpec, part: number): AsyncGenerator<RawChunk> {
  const parts = splitParts(spec);
  if (!Number.isInteger(part) || part < 0 || part >= parts) throw new Error(`takeSplit: part must be an integer in 0..${parts - 1}, got ${part}`);
  for await (const c of chunks) {
    const a = assignSplit(c, spec);
    let k = 0;
    for (let r = 0; r < a.length; r++) if (a[r] === part) k++;
    if (k === 0) continue;
    if (k === c.length) {
      yield c;
      continue;
    }
    const rows = new Int32Array(k);
    for (let r = 0, j = 0; r < a.length; r++) if (a[r] === part) rows[j++] = r;
    yield c.select(rows);
  }
}
