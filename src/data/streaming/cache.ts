/**
 * The encoded cache: the encoded columns of a data file, written on the first streaming pass
 * so that later passes read ids instead of re-parsing text.
 *
 * File layout (little-endian; every column is 4-byte typed data, so chunk bodies stay aligned):
 *
 *   "FRKCACH1"                                   8-byte magic
 *   chunk 0 body, chunk 1 body, …                each: the columns of the layout in order,
 *                                                rows × width values of Int32/Float32 each
 *   footer                                       JSON: version, key, layout, chunks
 *                                                [{offset, rows, bytes, crc32}], rows
 *   u32 footer length, u32 crc32(footer), "FRKCEND1"
 *
 * Why this and not Arrow IPC / Parquet: a chunk is read with one `read` into one buffer and
 * its columns are used in place as typed-array views (no decode, no copy, no dependency);
 * Parquet's encodings cost CPU per value on a 2-core machine and Arrow IPC would add a large
 * dependency for the same bytes. Neither was benchmarked against this (docs/streaming.md).
 *
 * Safety: the cache is keyed on the input (path, size, mtime, SHA-256 of its first and last
 * MiB), the schema, the feature map and the bad-row policy; any difference, a bad trailer,
 * a footer whose checksum fails, a size that does not match, or any chunk whose CRC-32 fails
 * makes `openCache` return null with the reason (the caller rebuilds). Every chunk is checked
 * when the cache is opened, before any row is used. Writes go to a temporary file that is
 * flushed and renamed only when the pass that wrote it completed (src/util/atomic.ts idea).
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Batch } from '../../features/batch.js';
import { viewRows } from '../data-source.js';

const MAGIC = Buffer.from('FRKCACH1');
const END = Buffer.from('FRKCEND1');
const VERSION = 1;
const TRAILER = 16;

/** One stored column: where it lives in a batch and how many values per row. */
export interface CacheColumn {
  kind: 'sparse' | 'dense' | 'label' | 'varlenIds' | 'varlenLengths' | 'weight' | 'group';
  name: string;
  type: 'i32' | 'f32';
  /** Values per row (maxLen for varlen ids, else 1). */
  width: number;
}

/** What a cache must match to be used. */
export interface CacheKey {
  input: { path: string; size: number; mtimeMs: number; headTailSha256: string };
  schemaSha256: string;
  featureMapSha256: string;
  onBadRow: string;
}

interface ChunkEntry {
  offset: number;
  rows: number;
  bytes: number;
  crc32: number;
}
interface Footer {
  version: number;
  key: CacheKey;
  layout: CacheColumn[];
  chunks: ChunkEntry[];
  rows: number;
}

/** SHA-256 of a JSON-serializable value. */
export function sha256Json(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex');
}

/** The key of an input file: its path, size, mtime and a hash of its first and last MiB. */
export function inputKey(path: string): CacheKey['input'] {
  const abs = resolve(path);
  const fd = openSync(abs, 'r');
  try {
    const st = fstatSync(fd);
    const h = createHash('sha256');
    const part = Math.min(1 << 20, st.size);
    const buf = Buffer.allocUnsafe(part);
    h.update(buf.subarray(0, readSync(fd, buf, 0, part, 0)));
    if (st.size > part) h.update(buf.subarray(0, readSync(fd, buf, 0, part, st.size - part)));
    return { path: abs, size: st.size, mtimeMs: st.mtimeMs, headTailSha256: h.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** Where the cache of `input` lives in `dir` (one file per input path). */
export function cachePath(dir: string, input: string): string {
  const tag = createHash('sha256').update(resolve(input)).digest('hex').slice(0, 12);
  return join(dir, `${basename(input)}.${tag}.frkc`);
}

/** The column layout of an encoded batch. */
export function layoutOf(b: Batch): CacheColumn[] {
  const cols: CacheColumn[] = [];
  for (const k of Object.keys(b.sparse)) cols.push({ kind: 'sparse', name: k, type: 'i32', width: 1 });
  for (const k of Object.keys(b.dense)) cols.push({ kind: 'dense', name: k, type: 'f32', width: 1 });
  for (const k of Object.keys(b.labels)) cols.push({ kind: 'label', name: k, type: 'f32', width: 1 });
  for (const [k, v] of Object.entries(b.varlen)) {
    cols.push({ kind: 'varlenIds', name: k, type: 'i32', width: v.maxLen });
    cols.push({ kind: 'varlenLengths', name: k, type: 'i32', width: 1 });
  }
  if (b.weight !== undefined) cols.push({ kind: 'weight', name: 'weight', type: 'f32', width: 1 });
  if (b.group !== undefined) cols.push({ kind: 'group', name: 'group', type: 'i32', width: 1 });
  return cols;
}

function columnOf(b: Batch, c: CacheColumn): Int32Array | Float32Array {
  const v = (() => {
    switch (c.kind) {
      case 'sparse':
        return b.sparse[c.name];
      case 'dense':
        return b.dense[c.name];
      case 'label':
        return b.labels[c.name];
      case 'varlenIds':
        return b.varlen[c.name]?.ids;
      case 'varlenLengths':
        return b.varlen[c.name]?.lengths;
      case 'weight':
        return b.weight;
      case 'group':
        return b.group;
    }
  })();
  if (v === undefined) throw new Error(`encoded cache: batch has no ${c.kind} column '${c.name}'`);
  return v.subarray(0, b.size * c.width);
}

/**
 * Writes a cache chunk by chunk into a temporary file; `commit` finishes it and renames it
 * into place, `abort` removes it. Nothing is visible at the cache path before `commit`.
 */
export class CacheWriter {
  readonly path: string;
  private readonly tmp: string;
  private fd: number;
  private offset = MAGIC.length;
  private layout: CacheColumn[] | null = null;
  private readonly chunks: ChunkEntry[] = [];
  private rows = 0;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    this.fd = openSync(this.tmp, 'w');
    writeSync(this.fd, MAGIC);
  }

  /** Appends the rows of one encoded batch as a chunk. */
  append(b: Batch): void {
    if (b.size === 0) return;
    this.layout ??= layoutOf(b);
    const parts = this.layout.map((c) => columnOf(b, c));
    const bytes = parts.reduce((s, p) => s + p.byteLength, 0);
    const body = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const p of parts) {
      body.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    writeAll(this.fd, body);
    this.chunks.push({ offset: this.offset, rows: b.size, bytes, crc32: crc32(body) });
    this.offset += bytes;
    this.rows += b.size;
  }

  /** Writes the footer, flushes, and atomically renames the file into place. */
  commit(key: CacheKey): void {
    const footer: Footer = { version: VERSION, key, layout: this.layout ?? [], chunks: this.chunks, rows: this.rows };
    const json = Buffer.from(JSON.stringify(footer));
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeUInt32LE(json.length, 0);
    trailer.writeUInt32LE(crc32(json), 4);
    END.copy(trailer, 8);
    writeAll(this.fd, json);
    writeAll(this.fd, trailer);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
  }

  /** Discards the partial file. */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.tmp, { force: true });
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** A verified cache, readable chunk by chunk. */
export class CacheReader {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  private readonly footer: Footer;

  constructor(path: string, footer: Footer, bytes: number) {
    this.path = path;
    this.footer = footer;
    this.rows = footer.rows;
    this.bytes = bytes;
  }

  /** Encoded chunks from row `fromRow` on (whole chunks before it are not read). */
  async *chunks(fromRow = 0): AsyncGenerator<Batch> {
    const fd = openSync(this.path, 'r');
    try {
      let first = 0;
      for (const c of this.footer.chunks) {
        if (first + c.rows <= fromRow) {
          first += c.rows;
          continue;
        }
        const body = readChunk(fd, c, this.path);
        const b = decodeChunk(body, this.footer.layout, c.rows);
        const skip = Math.max(0, fromRow - first);
        first += c.rows;
        yield skip === 0 ? b : viewRows(b, skip, b.size);
      }
    } finally {
      closeSync(fd);
    }
  }
}

function readChunk(fd: number, c: ChunkEntry, path: string): Buffer {
  const body = Buffer.allocUnsafeSlow(c.bytes);
  let got = 0;
  while (got < c.bytes) {
    const n = readSync(fd, body, got, c.bytes - got, c.offset + got);
    if (n === 0) throw new Error(`${path}: encoded cache truncated at byte ${c.offset + got}`);
    got += n;
  }
  if (crc32(body) !== c.crc32) throw new Error(`${path}: encoded cache chunk at byte ${c.offset} fails its CRC-32 (corrupt)`);
  return body;
}

function decodeChunk(body: Buffer, layout: CacheColumn[], rows: number): Batch {
  const b: Batch = { size: rows, sparse: {}, dense: {}, varlen: {}, labels: {} };
  let at = body.byteOffset;
  const lens: Record<string, Int32Array> = {};
  const ids: Record<string, [Int32Array, number]> = {};
  for (const c of layout) {
    const n = rows * c.width;
    const arr = c.type === 'i32' ? new Int32Array(body.buffer, at, n) : new Float32Array(body.buffer, at, n);
    at += n * 4;
    switch (c.kind) {
      case 'sparse':
        b.sparse[c.name] = arr as Int32Array;
        break;
      case 'dense':
        b.dense[c.name] = arr as Float32Array;
        break;
      case 'label':
        b.labels[c.name] = arr as Float32Array;
        break;
      case 'varlenIds':
        ids[c.name] = [arr as Int32Array, c.width];
        break;
      case 'varlenLengths':
        lens[c.name] = arr as Int32Array;
        break;
      case 'weight':
        b.weight = arr as Float32Array;
        break;
      case 'group':
        b.group = arr as Int32Array;
        break;
    }
  }
  for (const [k, [v, w]] of Object.entries(ids)) b.varlen[k] = { ids: v, lengths: lens[k]!, maxLen: w };
  return b;
}

/**
 * Opens the cache at `path` if it exists, matches `key` and every checksum holds; otherwise
 * returns the reason it cannot be used (absent, stale, truncated, corrupt).
 */
export function openCache(path: string, key: CacheKey): { reader: CacheReader } | { reason: string } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return { reason: 'no cache yet' };
  }
  const fd = openSync(path, 'r');
  try {
    if (size < MAGIC.length + TRAILER) return { reason: `truncated (${size} bytes)` };
    const head = Buffer.alloc(MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    const trailer = Buffer.alloc(TRAILER);
    readSync(fd, trailer, 0, TRAILER, size - TRAILER);
    if (!head.equals(MAGIC) || !trailer.subarray(8).equals(END)) return { reason: 'not a finerank cache or truncated (bad magic)' };
    const len = trailer.readUInt32LE(0);
    const footerAt = size - TRAILER - len;
    if (len === 0 || footerAt < MAGIC.length) return { reason: 'truncated (footer length out of range)' };
    const json = Buffer.alloc(len);
    readSync(fd, json, 0, len, footerAt);
    if (crc32(json) !== trailer.readUInt32LE(4)) return { reason: 'corrupt footer (CRC-32 mismatch)' };
    const footer = JSON.parse(json.toString('utf8')) as Footer;
    if (footer.version !== VERSION) return { reason: `cache format version ${footer.version}, expected ${VERSION}` };
    const stale = staleReason(footer.key, key);
    if (stale !== null) return { reason: `stale: ${stale}` };
    let at = MAGIC.length;
    let rows = 0;
    for (const c of footer.chunks) {
      if (c.offset !== at) return { reason: `corrupt chunk table at byte ${c.offset}` };
      at += c.bytes;
      rows += c.rows;
    }
    if (at !== footerAt || rows !== footer.rows) return { reason: 'corrupt chunk table (sizes do not add up)' };
    for (const c of footer.chunks) {
      try {
        readChunk(fd, c, path);
      } catch (e) {
        return { reason: (e as Error).message };
      }
    }
    return { reader: new CacheReader(path, footer, size) };
  } finally {
    closeSync(fd);
  }
}

function staleReason(have: CacheKey, want: CacheKey): string | null {
  if (have.input.path !== want.input.path) return 'different input path';
  if (have.input.size !== want.input.size) return `input size changed (${have.input.size} → ${want.input.size} bytes)`;
  if (have.input.mtimeMs !== want.input.mtimeMs) return 'input modification time changed';
  if (have.input.headTailSha256 !== want.input.headTailSha256) return 'input content changed';
  if (have.schemaSha256 !== want.schemaSha256) return 'schema changed';
  if (have.featureMapSha256 !== want.featureMapSha256) return 'feature map changed';
  if (have.onBadRow !== want.onBadRow) return 'bad-row policy changed';
  return null;
}
