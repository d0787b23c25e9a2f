/**
 * Streaming Parquet reader on hyparquet (pure JavaScript, no native code): reads the footer,
 * then each row group's needed columns (`parquetScan` + `readColumn`), and yields them in
 * `ValuesChunk`s of at most `chunkRows` rows. Memory is bounded by one row group of the
 * requested columns. INT64 values arrive as bigint (categorical values use their decimal
 * digits, numbers are converted); `line` in errors is the 1-based row number.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetScan, parquetSchema } from 'hyparquet';
import { ValuesChunk } from './chunk.js';
import { DataError } from './errors.js';
import { statSync } from 'node:fs';

/** Options of `readParquet`. */
export interface ParquetOptions {
  /** Columns to read (default: all top-level columns). */
  columns?: readonly string[];
  /** Rows per chunk (default 65 536). */
  chunkRows?: number;
}

/** Streams a Parquet file as chunks of raw rows. */
export async function* readParquet(path: string, opts: ParquetOptions = {}): AsyncGenerator<ValuesChunk> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new DataError({ file: path }, 'file not found', 'an existing, readable data file');
  }
  if (size === 0) throw new DataError({ file: path, line: 1 }, 'file is empty', 'a Parquet file');
  const file = await asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new DataError({ file: path }, `is not a readable Parquet file (${(e as Error).message})`, 'a Parquet file (footer ending in PAR1)');
  }
  const available = parquetSchema(metadata).children.map((c) => c.element.name);
  const columns = opts.columns ? [...opts.columns] : available;
  for (const c of columns) {
    if (!available.includes(c)) {
      throw new DataError({ file: path, column: c }, `column "${c}" is not in the Parquet schema`, `one of the columns: ${available.join(', ')}`);
    }
  }
  const chunkRows = Math.max(1, opts.chunkRows ?? 65536);
  const scan = await parquetScan({ file, metadata, columns });
  for (const range of scan.ranges) {
    const data = await Promise.all(columns.map((column) => scan.readColumn({ column, rowStart: range.rowStart, rowEnd: range.rowEnd })));
    const total = range.rowEnd - range.rowStart;
    for (let off = 0; off < total; off += chunkRows) {
      const n = Math.min(chunkRows, total - off);
      const values = data.map((d) => (off === 0 && n === total ? d : Array.prototype.slice.call(d, off, off + n)) as ArrayLike<unknown>);
      const lines = new Float64Array(n);
      for (let i = 0; i < n; i++) lines[i] = range.rowStart + off + i + 1;
      yield new ValuesChunk(path, columns, n, values, lines);
    }
  }
}
