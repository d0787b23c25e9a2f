/**
 * Streaming CSV/TSV reader (RFC 4180): reads the file in blocks (default 1 MiB), parses
 * records at the byte level and yields one `BytesChunk` per block, holding each field's byte
 * range. Memory is bounded by the block size plus the longest record.
 *
 * Rules: the first record is the header unless `header: false` (then `columns` names the
 * fields); fields are separated by `separator` (`,` for CSV, tab for TSV); a field that starts
 * with the quote character is quoted: it may contain separators, newlines and doubled quotes
 * (`""` → `"`), and must be followed by a separator or the end of the line. A quote inside
 * an unquoted field, a character after a closing quote, an unterminated quote and a record
 * with the wrong number of fields are errors naming the file, line and column. CRLF line ends
 * are accepted; blank lines are ignored (they are not rows); a UTF-8 byte-order mark is
 * skipped.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { BytesChunk } from './chunk.js';
import { BadRowLog, DataError, type BadRowPolicy } from './errors.js';

/** Options of `readCsv`. */
export interface CsvOptions {
  /** Field separator, one ASCII character (default `,`). */
  separator?: string;
  /** Quote character (default `"`). */
  quote?: string;
  /** Whether the first record names the columns (default true). */
  header?: boolean;
  /** Column names: required without a header; with a header, the header must match them. */
  columns?: readonly string[];
  /** Bytes read per block (default 1 MiB: block, offsets and working set stay in cache). */
  blockBytes?: number;
  /** Longest record accepted (default 64 MiB); longer ones are errors (unterminated quote?). */
  maxRecordBytes?: number;
  /** Malformed records: stop with a DataError (default) or skip and count them. */
  onBadRow?: BadRowPolicy;
  /** Where skipped records are counted. */
  badRows?: BadRowLog;
}

const LF = 10;
const CR = 13;

/** Opens a file for reading, turning system errors into DataErrors. */
export async function openForRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot be opened (${(e as Error).message})`;
    throw new DataError({ file: path }, problem, 'an existing, readable data file');
  }
}

/** Reads into buf[off..off+n) until full or end of file; returns bytes read. */
export async function readFully(fh: FileHandle, buf: Uint8Array, off: number, n: number): Promise<number> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, off + got, n - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

function asciiByte(ch: string, what: string): number {
  if (ch.length !== 1 || ch.charCodeAt(0) > 127) throw new Error(`readCsv: ${what} must be one ASCII character, got ${JSON.stringify(ch)}`);
  return ch.charCodeAt(0);
}

/** Outcome of parsing one record. */
const INCOMPLETE = 0; // more bytes needed; state reset to the record's start
const SKIPPED = 1; // blank line or bad record (skipped and counted)
const PARSED = 2; // a row (or the header) was produced

/** Parser state carried across blocks. */
class Parser {
  pos = 0;
  line = 1;
  // Output of the current block.
  rows = 0;
  start: Int32Array;
  end: Int32Array;
  lines: Float64Array;
  /** For the header: the fields of the record just parsed (when ncol < 0). */
  private fieldsS: number[] = [];
  private fieldsE: number[] = [];
  private escaped: number[] = [];
  private readonly cls = new Uint8Array(256);

  constructor(
    readonly file: string,
    readonly sep: number,
    readonly quote: number,
    public columns: string[] | null,
    readonly policy: BadRowPolicy,
    readonly log: BadRowLog,
  ) {
    this.cls[sep] = 1;
    this.cls[LF] = 1;
    this.cls[quote] = 1;
    this.start = new Int32Array(0);
    this.end = new Int32Array(0);
    this.lines = new Float64Array(0);
  }

  private fail(line: number, column: string | undefined, problem: string, expected: string): void {
    const err = new DataError({ file: this.file, line, column }, problem, expected);
    if (this.policy === 'error') throw err;
    this.log.add(err);
  }

  private colName(c: number): string {
    return this.columns && c < this.columns.length ? this.columns[c]! : `#${c + 1}`;
  }

  /** Skips to just after the end of the line containing `from` (bad-row recovery). */
  private skipLine(data: Uint8Array, len: number, from: number): void {
    let p = from;
    while (p < len && data[p] !== LF) p++;
    this.pos = p < len ? p + 1 : len;
  }

  /**
   * Parses one record at `pos`: INCOMPLETE when more bytes are needed (state reset to the
   * record's start), SKIPPED for a blank line or a bad record under 'skip', PARSED otherwise.
   */
  parseRecord(data: Uint8Array, len: number, eof: boolean, ncol: number): number {
    const recStart = this.pos;
    const recLine = this.line;
    let pos = this.pos;
    let line = this.line;
    const sep = this.sep,
      Q = this.quote,
      cls = this.cls;
    // Blank line.
    if (pos < len && (data[pos] === LF || (data[pos] === CR && pos + 1 < len && data[pos + 1] === LF))) {
      this.pos = pos + (data[pos] === LF ? 1 : 2);
      this.line = line + 1;
      return SKIPPED;
    }
    if (pos < len && data[pos] === CR && pos + 1 >= len && !eof) return INCOMPLETE;
    const header = ncol < 0;
    const row = this.rows;
    if (!header) this.ensure(row + 1, ncol);
    const stride = this.lines.length;
    this.escaped.length = 0;
    if (header) {
      this.fieldsS.length = 0;
      this.fieldsE.length = 0;
    }
    let c = 0;
    for (;;) {
      let fs: number, fe: number;
      if (pos < len && data[pos] === Q) {
        const qLine = line;
        pos++;
        fs = pos;
        let esc = false;
        for (;;) {
          if (pos >= len) {
            if (!eof) {
              this.pos = recStart;
              this.line = recLine;
              return INCOMPLETE;
            }
            this.fail(
              qLine,
              this.colName(c),
              'unterminated quoted field (the quote is never closed)',
              `a closing ${String.fromCharCode(Q)} before the end of the file`,
            );
            this.line = recLine;
            this.skipLine(data, len, recStart);
            this.line = recLine + 1;
            return SKIPPED;
          }
          const b = data[pos]!;
          if (b === Q) {
            if (pos + 1 >= len && !eof) {
              this.pos = recStart;
              this.line = recLine;
              return INCOMPLETE;
            }
            if (pos + 1 < len && data[pos + 1] === Q) {
              esc = true;
              pos += 2;
              continue;
            }
            break;
          }
          if (b === LF) line++;
          pos++;
        }
        fe = pos;
        pos++; // closing quote
        if (esc) this.escaped.push(c);
        if (pos < len) {
          const b = data[pos]!;
          if (b !== sep && b !== LF && !(b === CR && (pos + 1 >= len ? eof : data[pos + 1] === LF))) {
            if (b === CR && pos + 1 >= len && !eof) {
              this.pos = recStart;
              this.line = recLine;
              return INCOMPLETE;
            }
            this.fail(
              line,
              this.colName(c),
              `unexpected character ${JSON.stringify(String.fromCharCode(b))} after a closing quote`,
              'a separator or the end of the line after a quoted field',
            );
            this.line = line;
            this.skipLine(data, len, pos);
            this.line = line + 1;
            return SKIPPED;
          }
          if (b === CR) pos++;
        } else if (!eof) {
          this.pos = recStart;
          this.line = recLine;
          return INCOMPLETE;
        }
      } else {
        fs = pos;
        while (pos < len && cls[data[pos]!] === 0) pos++;
        if (pos < len && data[pos] === Q) {
          this.fail(
            line,
            this.colName(c),
            'quote character inside an unquoted field',
            'a field that is either fully quoted ("...") or has no quote characters',
          );
          this.line = line;
          this.skipLine(data, len, pos);
          this.line = line + 1;
          return SKIPPED;
        }
        if (pos >= len && !eof) {
          this.pos = recStart;
          this.line = recLine;
          return INCOMPLETE;
        }
        fe = pos;
        if ((pos >= len || data[pos] === LF) && fe > fs && data[fe - 1] === CR) fe--;
      }
      if (header) {
        this.fieldsS.push(fs);
        this.fieldsE.push(fe);
      } else if (c < ncol) {
        this.start[c * stride + row] = fs;
        this.end[c * stride + row] = fe;
      }
      c++;
      if (pos < len && data[pos] === sep) {
        pos++;
        continue;
      }
      // End of record (newline or end of data).
      if (pos < len) pos++;
      line++;
      break;
    }
    this.pos = pos;
    this.line = line;
    if (pos - recStart > 0 && !header && c !== ncol) {
      if (c < ncol) {
        this.fail(
          recLine,
          this.colName(c),
          `row has ${c} field${c === 1 ? '' : 's'}, ${ncol - c} too few`,
          `${ncol} fields (${this.columns ? this.columns.join(',') : ncol + ' columns'})`,
        );
      } else {
        this.fail(recLine, `#${ncol + 1}`, `row has ${c} fields, ${c - ncol} too many`, `${ncol} fields, as in the header`);
      }
      return SKIPPED;
    }
    // Unescape doubled quotes in place (the record is complete, it is never parsed again).
    for (const k of this.escaped) {
      if (!header && k >= ncol) continue;
      const s = header ? this.fieldsS[k]! : this.start[k * stride + row]!;
      const e = header ? this.fieldsE[k]! : this.end[k * stride + row]!;
      let w = s;
      for (let r = s; r < e; r++) {
        data[w++] = data[r]!;
        if (data[r] === Q) r++;
      }
      if (header) this.fieldsE[k] = w;
      else this.end[k * stride + row] = w;
    }
    if (!header) {
      this.lines[row] = recLine;
      this.rows = row + 1;
    }
    return PARSED;
  }

  /**
   * Fast path for the common record: a complete line with no quote character and exactly
   * `ncol` fields. Parses such records from `pos` until one that is not (blank, quoted,
   * wrong field count, or incomplete), which it leaves for `parseRecord`.
   * `nextQuote` is the position of the next quote byte at or after pos (or len).
   */
  parseFast(data: Uint8Array, len: number, eof: boolean, ncol: number): void {
    let pos = this.pos;
    let line = this.line;
    let row = this.rows;
    const sep = this.sep;
    const Q = this.quote;
    let nextQuote = this.nextQuote(data, pos, len, Q);
    for (;;) {
      if (pos >= len) break;
      let le = (data as Buffer).indexOf(LF, pos);
      if (le < 0) {
        if (!eof) break;
        le = len;
      }
      if (le === pos) break; // blank line
      if (nextQuote < le) {
        if (nextQuote < pos) nextQuote = this.nextQuote(data, pos, len, Q);
        if (nextQuote < le) break;
      }
      if (row >= this.lines.length) {
        this.rows = row;
        this.ensure(row + 1, ncol);
      }
      const st = this.start,
        en = this.end;
      const stride = this.lines.length;
      const last = ncol - 1;
      let s = pos;
      let c = 0;
      let at = row;
      let i = pos;
      for (; i < le; i++) {
        if (data[i] === sep) {
          if (c === last) break;
          st[at] = s;
          en[at] = i;
          c++;
          at += stride;
          s = i + 1;
        }
      }
      if (c !== last || i < le) break; // too few or too many fields: the general path reports it
      let e = le;
      if (e > s && data[e - 1] === CR) e--;
      st[at] = s;
      en[at] = e;
      this.lines[row] = line;
      row++;
      line++;
      pos = le + 1;
    }
    this.pos = pos > len ? len : pos;
    this.line = line;
    this.rows = row;
  }

  private nextQuote(data: Uint8Array, pos: number, len: number, Q: number): number {
    const q = (data as Buffer).indexOf(Q, pos);
    return q < 0 || q > len ? len + 1 : q;
  }

  /** The header fields just parsed, as strings. */
  headerFields(data: Uint8Array): string[] {
    return this.fieldsS.map((s, i) => Buffer.from(data.buffer, data.byteOffset + s, this.fieldsE[i]! - s).toString('utf8'));
  }

  /** Starts a new block's output arrays with room for `cap` rows. */
  reset(cap: number, ncol: number): void {
    this.rows = 0;
    this.start = new Int32Array(cap * ncol);
    this.end = new Int32Array(cap * ncol);
    this.lines = new Float64Array(cap);
  }

  private ensure(rows: number, ncol: number): void {
    const old = this.lines.length;
    if (rows <= old) return;
    const cap = Math.max(rows, Math.ceil(old * 1.5), 256);
    const s = new Int32Array(cap * ncol),
      e = new Int32Array(cap * ncol);
    for (let c = 0; c < ncol; c++) {
      s.set(this.start.subarray(c * old, c * old + this.rows), c * cap);
      e.set(this.end.subarray(c * old, c * old + this.rows), c * cap);
    }
    this.start = s;
    this.end = e;
    const l = new Float64Array(cap);
    l.set(this.lines);
    this.lines = l;
  }
}

/**
 * Streams a CSV/TSV file as chunks of raw rows (one per block read). Errors: missing file,
 * empty file, header not matching declared columns, and malformed records (see the module
 * comment) — each naming the file, line and column.
 */
export async function* readCsv(path: string, opts: CsvOptions = {}): AsyncGenerator<BytesChunk> {
  const sep = asciiByte(opts.separator ?? ',', 'separator');
  const quote = asciiByte(opts.quote ?? '"', 'quote');
  const header = opts.header ?? true;
  if (!header && !opts.columns) throw new Error('readCsv: columns are required when header is false');
  const blockBytes = Math.max(1, opts.blockBytes ?? 1 << 20);
  const maxRecord = opts.maxRecordBytes ?? 64 << 20;
  const log = opts.badRows ?? new BadRowLog();
  const fh = await openForRead(path);
  try {
    const p = new Parser(path, sep, quote, header ? null : [...opts.columns!], opts.onBadRow ?? 'error', log);
    let ncol = header ? -1 : opts.columns!.length;
    let headerLine: number | undefined;
    let carry: Uint8Array = new Uint8Array(0);
    let eof = false;
    let first = true;
    let sawData = false;
    let avgRow = 128;
    for (;;) {
      const data = Buffer.allocUnsafe(carry.length + blockBytes);
      data.set(carry, 0);
      let len = carry.length;
      if (!eof) {
        const got = await readFully(fh, data, len, blockBytes);
        if (got < blockBytes) eof = true;
        len += got;
      }
      p.pos = 0;
      if (first) {
        if (len < 3 && !eof) {
          carry = data.subarray(0, len);
          continue;
        }
        if (len >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) p.pos = 3;
        first = false;
      }
      if (ncol < 0) {
        // Header: the first non-blank record.
        let done = false;
        while (p.pos < len || eof) {
          if (p.pos >= len) break;
          const line0 = p.line;
          const r = p.parseRecord(data, len, eof, -1);
          if (r === INCOMPLETE) break;
          if (r === PARSED) {
            const names = p.headerFields(data);
            headerLine = line0;
            checkHeader(path, line0, names, opts.columns);
            p.columns = names;
            ncol = names.length;
            done = true;
            break;
          }
        }
        if (!done) {
          if (eof)
            throw new DataError({ file: path, line: p.line }, 'file is empty (no header line)', 'a header line naming the columns, then data rows');
          if (len > maxRecord)
            throw new DataError(
              { file: path, line: 1 },
              `header longer than ${maxRecord} bytes`,
              'a header line of reasonable length (unterminated quote?)',
            );
          carry = data.subarray(p.pos, len);
          continue;
        }
      }
      p.reset(Math.ceil(((len - p.pos) / avgRow) * 1.1) + 64, ncol);
      const blockStart = p.pos;
      let lastComplete = p.pos;
      while (p.pos < len) {
        p.parseFast(data, len, eof, ncol);
        lastComplete = p.pos;
        if (p.pos >= len) break;
        if (p.parseRecord(data, len, eof, ncol) === INCOMPLETE) break;
        lastComplete = p.pos;
      }
      if (p.rows > 0) {
        sawData = true;
        avgRow = Math.max(4, (lastComplete - blockStart) / p.rows);
        yield new BytesChunk(path, p.columns!, p.rows, data, p.start, p.end, p.lines.length, p.lines.subarray(0, p.rows), headerLine);
      }
      if (eof && p.pos >= len) break;
      carry = data.subarray(p.pos, len);
      if (carry.length > maxRecord) {
        const err = new DataError(
          { file: path, line: p.line },
          `record longer than ${maxRecord} bytes`,
          'records shorter than maxRecordBytes (is a quote left unterminated?)',
        );
        throw err;
      }
    }
    if (!sawData && !header && ncol > 0 && p.line === 1) {
      throw new DataError({ file: path, line: 1 }, 'file is empty', 'at least one data row');
    }
  } finally {
    await fh.close();
  }
}

function checkHeader(file: string, line: number, names: string[], declared: readonly string[] | undefined): void {
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    if (seen.has(n))
      throw new DataError(
        { file, line, column: n },
        `column name repeated in the header (fields ${seen.get(n)! + 1} and ${i + 1})`,
        'unique column names',
      );
    seen.set(n, i);
  });
  if (declared) {
    const n = Math.max(declared.length, names.length);
    for (let i = 0; i < n; i++) {
      if (declared[i] !== names[i]) {
        throw new DataError(
          { file, line, column: names[i] ?? `#${i + 1}` },
          `header field ${i + 1} is ${names[i] === undefined ? 'missing' : JSON.stringify(names[i])} but the schema declares ${declared[i] === undefined ? 'no more columns' : JSON.stringify(declared[i])}`,
          `the header ${declared.join(',')}`,
        );
      }
    }
  }
}
