/**
 * Streams a text file as blocks of whole lines (UTF-8), for line-oriented formats (JSONL,
 * libsvm). Each block is decoded once and split on `\n`; a trailing `\r` is removed. Memory
 * is bounded by the block size plus the longest line.
 */
import { openForRead, readFully } from './csv.js';
import { DataError } from './errors.js';

/** A block of consecutive lines; `lines[i]` is line number `firstLine + i` (1-based). */
export interface LineBlock {
  lines: string[];
  firstLine: number;
}

/** Options of `readLines`. */
export interface LineOptions {
  /** Bytes read per block (default 4 MiB). */
  blockBytes?: number;
  /** Longest line accepted (default 64 MiB). */
  maxLineBytes?: number;
}

/** Yields blocks of lines; a missing file is a DataError, an empty file yields nothing. */
export async function* readLines(path: string, opts: LineOptions = {}): AsyncGenerator<LineBlock> {
  const blockBytes = Math.max(1, opts.blockBytes ?? 4 << 20);
  const maxLine = opts.maxLineBytes ?? 64 << 20;
  const fh = await openForRead(path);
  try {
    let carry: Uint8Array = new Uint8Array(0);
    let line = 1;
    let first = true;
    for (;;) {
      const data = Buffer.allocUnsafe(carry.length + blockBytes);
      data.set(carry, 0);
      const got = await readFully(fh, data, carry.length, blockBytes);
      const len = carry.length + got;
      const eof = got < blockBytes;
      let start = 0;
      if (first) {
        if (len < 3 && !eof) {
          carry = data.subarray(0, len);
          continue;
        }
        if (len >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) start = 3;
        first = false;
      }
      let cut = eof ? len : data.lastIndexOf(10, len - 1) + 1;
      if (cut <= start && !eof) {
        if (len - start > maxLine) throw new DataError({ file: path, line }, `line longer than ${maxLine} bytes`, 'lines shorter than maxLineBytes');
        carry = data.subarray(start, len);
        continue;
      }
      if (cut < start) cut = start;
      const text = data.toString('utf8', start, cut);
      const lines = text.split('\n');
      if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      }
      if (lines.length > 0) yield { lines, firstLine: line };
      line += lines.length;
      if (eof) break;
      carry = data.subarray(cut, len);
    }
  } finally {
    await fh.close();
  }
}
