import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * A file written piece by piece and published atomically: the bytes go to a temporary file
 * in the target's folder; `commit()` flushes it to disk and renames it over the target,
 * `abort()` removes it. Until `commit()` the target is untouched, so a crash or an error
 * half-way leaves the old file (or none), never a torn one. Writes are buffered (1 MiB).
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | null;
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    this.fd = openSync(this.tmp, 'w');
  }

  /** Appends text (UTF-8). */
  write(text: string): void {
    if (this.fd === null) throw new Error(`${this.path}: write after commit/abort`);
    const need = Buffer.byteLength(text);
    if (this.used + need > this.buf.length) {
      this.flush();
      if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    }
    this.used += this.buf.write(text, this.used);
  }

  /** Flushes, fsyncs and renames the temporary file over the target. */
  commit(): void {
    if (this.fd === null) throw new Error(`${this.path}: already committed or aborted`);
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }

  /** Discards the temporary file (safe to call after commit: then it does nothing). */
  abort(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd!, this.buf, off, this.used - off);
    this.used = 0;
  }
}

/** One CSV field: quoted (with `""` escapes) when it holds the separator, a quote or a line break. */
export function csvField(v: string, sep = ','): string {
  if (v.includes(sep) || v.includes('"') || v.includes('\n') || v.includes('\r')) return `"${v.replace(/"/g, '""')}"`;
  return v;
}
