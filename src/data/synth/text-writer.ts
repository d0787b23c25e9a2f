import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Buffered, synchronous text file writer for generators: lines are collected until about
 * 1 MiB of text is pending, then written with one `writeSync`, so memory stays bounded
 * whatever the number of rows.
 */
export class TextWriter {
  private fd: number;
  private parts: string[] = [];
  private pending = 0;
  /** Bytes (UTF-16 code units; the generators write ASCII) written so far. */
  written = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Appends text (callers include the newline). */
  write(s: string): void {
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending >= 1 << 20) this.flush();
  }

  /** Writes pending text to the file. */
  flush(): void {
    if (this.pending === 0) return;
    const text = this.parts.join('');
    writeSync(this.fd, text);
    this.written += text.length;
    this.parts = [];
    this.pending = 0;
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}
