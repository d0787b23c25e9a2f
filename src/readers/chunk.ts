/**
 * Raw rows in chunks: what every reader yields and what the feature map fits on and
 * transforms. Two shapes:
 *
 * - `BytesChunk` (CSV/TSV): the file's bytes plus, for each row and column, the byte range of
 *   the field (quotes removed, `""` unescaped in place). Numbers are parsed straight from the
 *   bytes and categorical values are looked up by their bytes, so no string is created per
 *   field on the hot path.
 * - `ValuesChunk` (JSONL, Parquet, libsvm, in-memory rows): one JavaScript array per column
 *   holding strings, numbers, booleans, arrays (multi-value fields) or null/undefined
 *   (missing).
 *
 * A missing value is an empty field (CSV) or null/undefined (others). Each row keeps the
 * 1-based line (row number for Parquet) where it starts, for error messages and for
 * reproducible split assignment.
 */

/** Raw rows of one file region. */
export type RawChunk = BytesChunk | ValuesChunk;

/** Fields as byte ranges into `buf`; column-major offsets: field (r, c) is buf[start[c·stride+r] .. end[c·stride+r]). */
export class BytesChunk {
  readonly kind = 'bytes' as const;
  constructor(
    /** The file the rows come from. */
    readonly file: string,
    /** Column names, in file order. */
    readonly columns: readonly string[],
    /** Number of rows. */
    readonly length: number,
    readonly buf: Uint8Array,
    readonly start: Int32Array,
    readonly end: Int32Array,
    /** Distance between columns in start/end (≥ length). */
    readonly stride: number,
    /** 1-based line where each row starts. */
    readonly lines: Float64Array,
    /** The line of the header (names the columns), when the file has one. */
    readonly headerLine?: number,
  ) {}

  /** The cell as a string, or null when empty (missing). */
  cell(row: number, col: number): string | null {
    const i = col * this.stride + row;
    const s = this.start[i]!,
      e = this.end[i]!;
    if (s === e) return null;
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  /** A chunk with the given rows, in that order (shares the bytes). */
  select(rows: ArrayLike<number>): BytesChunk {
    const nc = this.columns.length;
    const n = rows.length;
    const st = new Int32Array(n * nc),
      en = new Int32Array(n * nc),
      ln = new Float64Array(n);
    for (let c = 0; c < nc; c++) {
      const so = c * this.stride,
        d = c * n;
      for (let k = 0; k < n; k++) {
        st[d + k] = this.start[so + rows[k]!]!;
        en[d + k] = this.end[so + rows[k]!]!;
      }
    }
    for (let k = 0; k < n; k++) ln[k] = this.lines[rows[k]!]!;
    return new BytesChunk(this.file, this.columns, n, this.buf, st, en, n, ln, this.headerLine);
  }
}

/** Fields as JavaScript values, one array per column. */
export class ValuesChunk {
  readonly kind = 'values' as const;
  constructor(
    readonly file: string,
    readonly columns: readonly string[],
    readonly length: number,
    /** values[c][r]; null/undefined = missing. */
    readonly values: ReadonlyArray<ArrayLike<unknown>>,
    readonly lines: Float64Array,
    readonly headerLine?: number,
  ) {}

  /** The cell as a string (arrays joined by `|`), or null when missing. */
  cell(row: number, col: number): string | null {
    const v = this.values[col]![row];
    if (v === null || v === undefined || v === '') return null;
    return Array.isArray(v) ? v.map(String).join('|') : valueToString(v);
  }

  /** A chunk with the given rows, in that order. */
  select(rows: ArrayLike<number>): ValuesChunk {
    const n = rows.length;
    const vals = this.values.map((col) => {
      const out = new Array<unknown>(n);
      for (let k = 0; k < n; k++) out[k] = col[rows[k]!];
      return out;
    });
    const ln = new Float64Array(n);
    for (let k = 0; k < n; k++) ln[k] = this.lines[rows[k]!]!;
    return new ValuesChunk(this.file, this.columns, n, vals, ln, this.headerLine);
  }
}

/**
 * The canonical string of a raw value: strings as they are, finite numbers by JavaScript's
 * `String(n)` (so `12` and `"12"` are the same category, `1.5` is `"1.5"`), bigints by their
 * decimal digits, booleans as `true` / `false`.
 */
export function valueToString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

/** Rows of plain objects (e.g. a serving request) as a chunk over `columns`. */
export function chunkFromRows(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[], file = '<rows>'): ValuesChunk {
  const vals = columns.map((c) => rows.map((r) => r[c]));
  const lines = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) lines[i] = i + 1;
  return new ValuesChunk(file, columns, rows.length, vals, lines);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MAX_MANTISSA = 9007199254740991; // 2^53 − 1

/**
 * Parses a decimal number from bytes buf[s..e): `[+-]digits[.digits][(e|E)[+-]digits]`
 * (also `.5`, `5.`), surrounding spaces allowed. Returns NaN when the bytes are not such a
 * number (the caller reports it). Exact: a mantissa below 2^53 and |exponent| ≤ 22 is
 * computed as one correctly rounded multiplication/division by an exact power of ten
 * (Clinger's fast path); anything else goes through `Number()` on the validated text.
 */
export function parseNumberBytes(buf: Uint8Array, s: number, e: number): number {
  while (s < e && buf[s] === 32) s++;
  while (e > s && buf[e - 1] === 32) e--;
  if (s === e) return NaN;
  let i = s;
  let neg = false;
  let c = buf[i]!;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let m = 0;
  let digits = 0;
  let exact = true;
  let scale = 0;
  while (i < e) {
    c = buf[i]! - 48;
    if (c < 0 || c > 9) break;
    if (m > 900719925474099) exact = false;
    m = m * 10 + c;
    digits++;
    i++;
  }
  if (i < e && buf[i] === 46) {
    i++;
    while (i < e) {
      c = buf[i]! - 48;
      if (c < 0 || c > 9) break;
      if (m > 900719925474099) exact = false;
      m = m * 10 + c;
      scale--;
      digits++;
      i++;
    }
  }
  if (digits === 0) return NaN;
  if (i < e) {
    c = buf[i]!;
    if (c !== 101 && c !== 69) return NaN;
    i++;
    let eneg = false;
    if (i < e && (buf[i] === 45 || buf[i] === 43)) {
      eneg = buf[i] === 45;
      i++;
    }
    let ex = 0;
    let ed = 0;
    while (i < e) {
      c = buf[i]! - 48;
      if (c < 0 || c > 9) return NaN;
      if (ex < 100000) ex = ex * 10 + c;
      ed++;
      i++;
    }
    if (ed === 0) return NaN;
    scale += eneg ? -ex : ex;
  }
  if (exact && m <= MAX_MANTISSA && scale >= -22 && scale <= 22) {
    const v = scale >= 0 ? m * POW10[scale]! : m / POW10[-scale]!;
    return neg ? -v : v;
  }
  let str = '';
  for (let k = s; k < e; k++) str += String.fromCharCode(buf[k]!);
  return Number(str);
}

const numberSyntax = /^ *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? *$/;

/** Parses a decimal number from a string with the same syntax as `parseNumberBytes`; NaN otherwise. */
export function parseNumberString(s: string): number {
  return numberSyntax.test(s) ? Number(s) : NaN;
}
