import { closeSync, openSync, writeSync } from 'node:fs';

const CAPACITY = 1 << 20;

/**
 * Buffered ASCII file writer for generators: rows are formatted straight into a 1 MiB byte
 * buffer (decimal integers, cached value bytes) and written with `writeSync` when it fills,
 * so generation allocates no strings per row and memory stays bounded for any row count.
 */
export class ByteWriter {
  private fd: number;
  private readonly buf = new Uint8Array(CAPACITY);
  private pos = 0;
  private readonly digits = new Uint8Array(24);
  /** Bytes written so far (including the pending buffer). */
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** One byte (an ASCII code). */
  byte(c: number): void {
    if (this.pos === CAPACITY) this.flush();
    this.buf[this.pos++] = c;
  }

  /** A non-negative integer in decimal (exact below 2^53). */
  uint(n: number): void {
    if (this.pos + 20 > CAPACITY) this.flush();
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let k = 0;
    while (n > 0) {
      const q = Math.floor(n / 10);
      this.digits[k++] = 48 + (n - q * 10);
      n = q;
    }
    while (k > 0) b[this.pos++] = this.digits[--k]!;
  }

  /** `len` bytes of `src` from `start` (e.g. a cached value string). */
  raw(src: Uint8Array, start: number, len: number): void {
    if (this.pos + len > CAPACITY) this.flush();
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < len; i++) b[p++] = src[start + i]!;
    this.pos = p;
  }

  /** An ASCII string (headers, formatted floats). */
  ascii(s: string): void {
    if (this.pos + s.length > CAPACITY) this.flush();
    if (s.length > CAPACITY) throw new Error('ByteWriter: string longer than the buffer');
    const b = this.buf;
    for (let i = 0; i < s.length; i++) b[this.pos++] = s.charCodeAt(i);
  }

  /** Writes the pending bytes. */
  flush(): void {
    if (this.pos === 0) return;
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.bytes += this.pos;
    this.pos = 0;
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** ASCII codes used by the generators. */
export const COMMA = 44;
export const NEWLINE = 10;
export const SPACE = 32;
export const COLON = 58;
export const PIPE = 124;
export const DIGIT_0 = 48;
export const DIGIT_1 = 49;
