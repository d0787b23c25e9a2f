/**
 * Streaming libsvm / libfm reader: `label idx:val idx:val ...` per line (whitespace
 * separated; `#` starts a comment; `qid:` tokens are ignored). Feature indices are grouped
 * into fields either by inclusive index ranges (`fields`) or by an explicit map from index
 * to field name (`fieldMap`). A token `field:idx:val` (libffm) names its field by position
 * in `fields` directly.
 *
 * Output columns: the label column, then one column per field, in `fields` order (or first
 * appearance in `fieldMap`). A field's raw value is, for `as: 'index'` (one-hot, the default),
 * the feature index present in its range as a decimal string (several indices → an array, for
 * varlen features; none → missing; the value after `:` is ignored), and for `as: 'value'`
 * the number after `:` (a dense feature; at most one index may be present).
 */
import { ValuesChunk } from './chunk.js';
import { readLines, type LineOptions } from './lines.js';
import { BadRowLog, DataError, type BadRowPolicy } from './errors.js';
import type { LibsvmField } from './dataset.js';

/** Options of `readLibsvm`. */
export interface LibsvmOptions extends LineOptions {
  /** Fields as inclusive feature-index ranges. */
  fields?: ReadonlyArray<LibsvmField | { name: string; range: [number, number]; as?: 'index' | 'value' }>;
  /** Alternative: feature index (decimal string) → field name. */
  fieldMap?: Readonly<Record<string, string>>;
  /** Name of the label column (default `label`). */
  label?: string;
  onBadRow?: BadRowPolicy;
  badRows?: BadRowLog;
}

/** Streams a libsvm/libfm file as chunks of raw rows. */
export async function* readLibsvm(path: string, opts: LibsvmOptions): AsyncGenerator<ValuesChunk> {
  const policy = opts.onBadRow ?? 'error';
  const log = opts.badRows ?? new BadRowLog();
  const labelName = opts.label ?? 'label';
  let names: string[];
  let asValue: boolean[];
  let fieldOf: (idx: number) => number;
  if (opts.fields && opts.fields.length > 0) {
    const fs = opts.fields;
    names = fs.map((f) => f.name);
    asValue = fs.map((f) => f.as === 'value');
    const order = fs.map((f, i) => ({ lo: f.range[0], hi: f.range[1], i })).sort((a, b) => a.lo - b.lo);
    const los = order.map((o) => o.lo),
      his = order.map((o) => o.hi),
      ids = order.map((o) => o.i);
    fieldOf = (idx) => {
      let lo = 0,
        hi = los.length - 1,
        found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (los[mid]! <= idx) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found >= 0 && idx <= his[found]! ? ids[found]! : -1;
    };
  } else if (opts.fieldMap) {
    names = [...new Set(Object.values(opts.fieldMap))];
    asValue = names.map(() => false);
    const m = new Map<number, number>();
    for (const [k, v] of Object.entries(opts.fieldMap)) m.set(Number(k), names.indexOf(v));
    fieldOf = (idx) => m.get(idx) ?? -1;
  } else {
    throw new Error('readLibsvm: give fields (index ranges) or fieldMap');
  }
  const columns = [labelName, ...names];
  const nf = names.length;
  let any = false;
  for await (const block of readLines(path, opts)) {
    const n = block.lines.length;
    const labels: unknown[] = [];
    const cols: unknown[][] = names.map(() => []);
    const lines: number[] = [];
    const row: unknown[] = new Array(nf);
    for (let i = 0; i < n; i++) {
      let text = block.lines[i]!;
      const ln = block.firstLine + i;
      const hash = text.indexOf('#');
      if (hash >= 0) text = text.slice(0, hash);
      const toks = text.trim().split(/[ \t]+/);
      if (toks.length === 1 && toks[0] === '') continue;
      row.fill(undefined);
      let err: DataError | null = null;
      for (let k = 1; k < toks.length && err === null; k++) {
        const t = toks[k]!;
        if (t.startsWith('qid:')) continue;
        const parts = t.split(':');
        if (parts.length < 2 || parts.length > 3) {
          err = new DataError(
            { file: path, line: ln, column: `#${k + 1}` },
            `token ${JSON.stringify(t)} is not idx:value`,
            'idx:value (or field:idx:value) with integer indices',
          );
          break;
        }
        const idxStr = parts[parts.length - 2]!;
        const valStr = parts[parts.length - 1]!;
        if (!/^\d+$/.test(idxStr)) {
          err = new DataError(
            { file: path, line: ln, column: `#${k + 1}` },
            `feature index ${JSON.stringify(idxStr)} is not a non-negative integer`,
            'idx:value with an integer feature index',
          );
          break;
        }
        const idx = Number(idxStr);
        let f: number;
        if (parts.length === 3) {
          f = /^\d+$/.test(parts[0]!) ? Number(parts[0]) : -1;
          if (f < 0 || f >= nf) {
            err = new DataError(
              { file: path, line: ln, column: `#${k + 1}` },
              `field number ${JSON.stringify(parts[0])} is not one of the ${nf} declared fields`,
              `a field number in 0..${nf - 1}`,
            );
            break;
          }
        } else {
          f = fieldOf(idx);
          if (f < 0) {
            err = new DataError(
              { file: path, line: ln, column: `#${k + 1}` },
              `feature index ${idx} belongs to no declared field`,
              'an index inside one of the field ranges (or in the field map)',
            );
            break;
          }
        }
        const val = Number(valStr);
        if (valStr === '' || !Number.isFinite(val)) {
          err = new DataError(
            { file: path, line: ln, column: names[f] },
            `value ${JSON.stringify(valStr)} of feature ${idx} is not a number`,
            'idx:value with a numeric value',
          );
          break;
        }
        const prev = row[f];
        if (asValue[f]) {
          if (prev !== undefined) {
            err = new DataError(
              { file: path, line: ln, column: names[f] },
              `several features present in the numeric field "${names[f]}"`,
              'at most one index per field declared as: value',
            );
            break;
          }
          row[f] = val;
        } else {
          const s = String(idx);
          row[f] = prev === undefined ? s : Array.isArray(prev) ? [...prev, s] : [prev, s];
        }
      }
      if (err) {
        if (policy === 'error') throw err;
        log.add(err);
        continue;
      }
      labels.push(toks[0]);
      for (let f = 0; f < nf; f++) cols[f]!.push(row[f] === undefined ? null : row[f]);
      lines.push(ln);
    }
    if (lines.length === 0) continue;
    any = true;
    yield new ValuesChunk(path, columns, lines.length, [labels, ...cols], Float64Array.from(lines));
  }
  if (!any && log.count === 0) throw new DataError({ file: path, line: 1 }, 'file is empty', 'at least one "label idx:value ..." line');
}
