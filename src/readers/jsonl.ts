/**
 * Streaming JSONL reader: one JSON object per line; blank lines are ignored. Yields
 * `ValuesChunk`s whose columns are `columns` (or, when not given, the keys of the first
 * object). A key absent from a row is a missing value; a requested column absent from every
 * row of the first chunk is an error (most likely a misspelt name). Lines that are not valid
 * JSON objects are DataErrors (file, line and the character position), or are skipped and
 * counted with `onBadRow: 'skip'`.
 */
import { ValuesChunk } from './chunk.js';
import { readLines, type LineOptions } from './lines.js';
import { BadRowLog, DataError, type BadRowPolicy } from './errors.js';

/** Options of `readJsonl`. */
export interface JsonlOptions extends LineOptions {
  /** Keys to read as columns (default: the keys of the first object). */
  columns?: readonly string[];
  onBadRow?: BadRowPolicy;
  badRows?: BadRowLog;
}

/** Streams a JSONL file as chunks of raw rows (one per block of lines). */
export async function* readJsonl(path: string, opts: JsonlOptions = {}): AsyncGenerator<ValuesChunk> {
  const policy = opts.onBadRow ?? 'error';
  const log = opts.badRows ?? new BadRowLog();
  let columns: string[] | null = opts.columns ? [...opts.columns] : null;
  let checked = false;
  let any = false;
  for await (const block of readLines(path, opts)) {
    const rows: Record<string, unknown>[] = [];
    const lines: number[] = [];
    for (let i = 0; i < block.lines.length; i++) {
      const text = block.lines[i]!;
      const ln = block.firstLine + i;
      if (text.trim() === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        const msg = (e as Error).message;
        const m = /position (\d+)/.exec(msg);
        const err = new DataError(
          { file: path, line: ln, column: m ? `char ${Number(m[1]) + 1}` : undefined },
          `invalid JSON (${msg})`,
          'one JSON object per line',
        );
        if (policy === 'error') throw err;
        log.add(err);
        continue;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        const err = new DataError(
          { file: path, line: ln, column: 'char 1' },
          `line is a JSON ${Array.isArray(obj) ? 'array' : obj === null ? 'null' : typeof obj}, not an object`,
          'one JSON object per line',
        );
        if (policy === 'error') throw err;
        log.add(err);
        continue;
      }
      if (columns === null) columns = Object.keys(obj);
      rows.push(obj as Record<string, unknown>);
      lines.push(ln);
    }
    if (rows.length === 0 || columns === null) continue;
    any = true;
    const cols = columns;
    const values = cols.map((c) => rows.map((r) => r[c]));
    if (!checked) {
      checked = true;
      cols.forEach((c, j) => {
        if (values[j]!.every((v) => v === undefined)) {
          throw new DataError(
            { file: path, line: lines[0], column: c },
            `column "${c}" does not appear in any of the first ${rows.length} rows`,
            `objects with the key "${c}" (keys seen: ${[...new Set(rows.flatMap((r) => Object.keys(r)))].join(', ')})`,
          );
        }
      });
    }
    yield new ValuesChunk(path, cols, rows.length, values, Float64Array.from(lines));
  }
  if (!any && log.count === 0) throw new DataError({ file: path, line: 1 }, 'file is empty', 'at least one JSON object');
}
