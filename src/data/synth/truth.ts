import { readFileSync } from 'node:fs';

/**
 * One numeric column of a generated CSV file, by header name: the true probabilities that
 * `--with-truth` appends (`p_true`; multi-task: `p_ctr`, `p_cvr`, `p_ctcvr`). Generated
 * files hold no quoted fields, so lines are split on commas; a missing column or a value
 * that is not a number is refused naming the file, line and column.
 */
export function readTruthColumn(path: string, column: string): Float64Array {
  const lines = readFileSync(path, 'utf8').split('\n');
  const header = (lines[0] ?? '').split(',');
  const col = header.indexOf(column);
  if (col < 0) throw new Error(`${path}: no column '${column}' (columns: ${header.join(', ')}); generate with --with-truth`);
  const out: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const v = Number(line.split(',')[col]);
    if (!Number.isFinite(v)) throw new Error(`${path}:${i + 1}: column '${column}' (field ${col + 1}) is not a number`);
    out.push(v);
  }
  return Float64Array.from(out);
}
