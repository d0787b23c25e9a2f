/**
 * Reader dispatch: `readRaw(path, opts)` streams any supported file as raw chunks, choosing
 * the reader from the schema's dataset part (`format`) or, without one, from the file
 * extension (.csv, .tsv, .jsonl/.ndjson/.json, .parquet/.pq, .libsvm/.svm/.libfm/.txt with
 * fields given).
 */
import { extname } from 'node:path';
import type { DataFormat, DatasetSpec } from './dataset.js';
import type { BadRowLog, BadRowPolicy } from './errors.js';
import type { RawChunk } from './chunk.js';
import { readCsv } from './csv.js';
import { readJsonl } from './jsonl.js';
import { readLibsvm } from './libsvm.js';
import { readParquet } from './parquet.js';

export * from './chunk.js';
export { readCsv, type CsvOptions } from './csv.js';
export { readJsonl, type JsonlOptions } from './jsonl.js';
export { readLibsvm, type LibsvmOptions } from './libsvm.js';
export { readParquet, type ParquetOptions } from './parquet.js';
export { readLines, type LineBlock, type LineOptions } from './lines.js';

/** Options of `readRaw`. */
export interface ReadOptions {
  /** Layout of the file (format, header, separator, libsvm fields); overrides the extension. */
  dataset?: DatasetSpec;
  /** Columns needed (JSONL/Parquet projection); default: all. */
  columns?: readonly string[];
  /** Bytes per block for text formats (default 4 MiB). */
  blockBytes?: number;
  /** Rows per chunk for Parquet (default 65 536). */
  chunkRows?: number;
  onBadRow?: BadRowPolicy;
  badRows?: BadRowLog;
}

/** The format of a file from its extension, or undefined. */
export function formatFromExtension(path: string): DataFormat | undefined {
  const ext = extname(path.endsWith('.gz') ? path.slice(0, -3) : path).toLowerCase();
  switch (ext) {
    case '.csv':
      return 'csv';
    case '.tsv':
    case '.tab':
      return 'tsv';
    case '.jsonl':
    case '.ndjson':
    case '.json':
      return 'jsonl';
    case '.parquet':
    case '.pq':
      return 'parquet';
    case '.libsvm':
    case '.svm':
      return 'libsvm';
    case '.libfm':
    case '.ffm':
      return 'libfm';
    default:
      return undefined;
  }
}

/** Every input format, in the order error messages list them. */
export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'tsv', 'jsonl', 'parquet', 'libsvm', 'libfm'];

/** Formats whose columns have names (a header line, JSON keys, Parquet's schema). */
const NAMED_FORMATS: readonly DataFormat[] = ['csv', 'tsv', 'jsonl', 'parquet'];

/**
 * The layout to read `path` with when a model trained on files of layout `trained` scores it
 * (`finerank predict` / `eval`). The format is `format` when given (`--format`), else the
 * file's extension, else the training format. The training layout is kept as it is for a
 * file in the training format. Any format whose columns have names (csv, tsv, jsonl, parquet)
 * can stand in for another: CSV / TSV then need a header line naming the columns (a CSV
 * layout without one keeps its column list for TSV and the other way round), and the feature
 * map checks that the columns the model needs are there. libsvm / libfm carry no column names
 * and stand in only for each other, with the training layout's fields; a model trained on
 * them reads only them. Anything else is refused with the formats this model can read.
 * Without a training layout (a schema with no `dataset`), the readers' own choice (undefined)
 * or the plain layout of `format`.
 */
export function scoringLayout(trained: DatasetSpec | undefined, path: string, format?: string): DatasetSpec | undefined {
  if (format !== undefined && !(DATA_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`unknown format '${format}': supported formats are ${DATA_FORMATS.join(', ')}`);
  }
  const named = (f: DataFormat): DatasetSpec => ({ format: f, header: true, separator: f === 'tsv' ? '\t' : ',', quote: '"' });
  if (trained === undefined) return format === undefined ? undefined : named(format as DataFormat);
  const want = (format as DataFormat | undefined) ?? formatFromExtension(path) ?? trained.format;
  if (want === trained.format) return trained;
  const positional = (f: DataFormat) => f === 'libsvm' || f === 'libfm';
  const readable = positional(trained.format) ? ['libsvm', 'libfm'] : NAMED_FORMATS;
  if (!readable.includes(want)) {
    const why = positional(trained.format)
      ? `this model was trained on ${trained.format} files, whose fields are feature-index ranges, not named columns`
      : `a ${want} file has no column names, and this model was trained on ${trained.format} columns`;
    throw new Error(`${path}: cannot score a ${want} file: ${why}; this model reads ${readable.join(', ')} (--format overrides the extension)`);
  }
  if (positional(want)) return { ...trained, format: want };
  if ((want === 'csv' || want === 'tsv') && (trained.format === 'csv' || trained.format === 'tsv')) {
    return { ...trained, format: want, separator: named(want).separator };
  }
  return named(want);
}

/** Streams a data file as raw chunks with the reader its format needs. */
export function readRaw(path: string, opts: ReadOptions = {}): AsyncIterable<RawChunk> {
  const ds = opts.dataset;
  const format = ds?.format ?? formatFromExtension(path);
  const common = { onBadRow: opts.onBadRow, badRows: opts.badRows, blockBytes: opts.blockBytes };
  switch (format) {
    case 'csv':
    case 'tsv':
      return readCsv(path, {
        ...common,
        separator: ds?.separator ?? (format === 'tsv' ? '\t' : ','),
        quote: ds?.quote ?? '"',
        header: ds?.header ?? true,
        columns: ds?.columns,
      });
    case 'jsonl':
      return readJsonl(path, { ...common, columns: opts.columns ?? ds?.columns });
    case 'parquet':
      return readParquet(path, { columns: opts.columns ?? ds?.columns, chunkRows: opts.chunkRows });
    case 'libsvm':
    case 'libfm':
      if (!ds?.fields && !ds?.fieldMap) throw new Error(`${path}: ${format} needs the schema's dataset.fields or dataset.fieldMap`);
      return readLibsvm(path, { ...common, fields: ds.fields, fieldMap: ds.fieldMap, label: ds.label });
    default:
      throw new Error(`${path}: cannot tell the format from the extension; set dataset.format (csv, tsv, libsvm, libfm, jsonl, parquet)`);
  }
}
