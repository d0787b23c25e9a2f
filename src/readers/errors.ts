/**
 * Errors for bad input data and bad schemas, and the bad-row policy.
 *
 * Every data error names where it happened (file, 1-based line, column name or index) and
 * what was expected, so that a user can open the file at that spot and fix it.
 */

/** Where in an input file a problem was found. All parts optional but `file`. */
export interface DataLocation {
  /** File path (or a label such as `<memory>` for in-memory data). */
  file: string;
  /** 1-based line number (for JSONL/CSV/libsvm); the row number for Parquet. */
  line?: number;
  /** Column name (or `#index` when the file has no names). */
  column?: string;
}

/**
 * A malformed input: the message reads `file:line: column "x": <problem>; expected <what>`.
 * `problem` and `expected` are kept separately for programmatic use.
 */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: string | undefined;
  readonly problem: string;
  readonly expected: string | undefined;

  constructor(loc: DataLocation, problem: string, expected?: string) {
    super(formatDataMessage(loc, problem, expected));
    this.name = 'DataError';
    this.file = loc.file;
    this.line = loc.line;
    this.column = loc.column;
    this.problem = problem;
    this.expected = expected;
  }
}

/** `file:line: column "c": problem; expected e` (parts that are unknown are left out). */
export function formatDataMessage(loc: DataLocation, problem: string, expected?: string): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  s += ': ';
  if (loc.column !== undefined) s += `column "${loc.column}": `;
  s += problem;
  if (expected !== undefined) s += `; expected ${expected}`;
  return s;
}

/**
 * An invalid schema: the message reads `file: path must be ...`, where `path` is the place
 * in the file in JavaScript notation, e.g. `schema.yaml: columns[3].encoder.minCount must be
 * a positive integer`.
 */
export class SchemaError extends Error {
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, problem: string) {
    super(`${file}: ${path ? path + ' ' : ''}${problem}`);
    this.name = 'SchemaError';
    this.file = file;
    this.path = path;
  }
}

/** What to do with a malformed row: stop with a DataError, or skip it and count it. */
export type BadRowPolicy = 'error' | 'skip';

/** One skipped row, kept (up to a limit) for the report. */
export interface SkippedRow {
  file: string;
  line: number | undefined;
  column: string | undefined;
  reason: string;
}

/**
 * Counts rows skipped under `onBadRow: 'skip'` and keeps the first `keep` of them with their
 * reasons. Nothing is dropped without being counted here; `summary()` is what the caller
 * reports to the user.
 */
export class BadRowLog {
  /** Number of rows skipped. */
  count = 0;
  /** Skipped rows per reason (the DataError's problem, without location). */
  readonly byReason = new Map<string, number>();
  /** The first skipped rows, with their locations. */
  readonly examples: SkippedRow[] = [];

  constructor(readonly keep = 20) {}

  /** Records one skipped row. */
  add(err: DataError): void {
    this.count++;
    this.byReason.set(err.problem, (this.byReason.get(err.problem) ?? 0) + 1);
    if (this.examples.length < this.keep) {
      this.examples.push({ file: err.file, line: err.line, column: err.column, reason: err.message });
    }
  }

  /** A plain object for logs / JSON: total, per-reason counts and examples. */
  summary(): BadRowSummary {
    return {
      skipped: this.count,
      byReason: Object.fromEntries(this.byReason),
      examples: this.examples.slice(),
    };
  }
}

/** The report of skipped rows. */
export interface BadRowSummary {
  skipped: number;
  byReason: Record<string, number>;
  examples: SkippedRow[];
}
