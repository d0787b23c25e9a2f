/**
 * A hash table keyed by byte strings (UTF-8), with a float64 payload per key.
 *
 * It lets CSV parsing look values up straight from the file's bytes without creating a
 * JavaScript string per field, while strings (JSONL, Parquet, serving) find the same
 * entries: a string key is its UTF-8 bytes. Open addressing with linear probing over a
 * power-of-two slot array (load ≤ 0.5); keys live in one growing byte arena; the hash is
 * murmur3_32 (seed 0x9747b28c), stored per entry so that growth never rehashes bytes.
 * Entries are numbered 0, 1, 2, … in insertion order and never removed.
 */
import { murmur3Bytes, murmur3String } from './hash.js';

const SEED = 0x9747b28c;
const utf8 = new TextEncoder();

/**
 * The arrays of a table in SharedArrayBuffers (`BytesTable.share`): posted to a worker thread
 * they are views of the same memory, so the worker's table (`BytesTable.fromShared`) costs no
 * copy of the keys.
 */
export interface SharedBytesTable {
  size: number;
  mask: number;
  slots: Int32Array;
  hashes: Int32Array;
  meta: Int32Array;
  arena: Uint8Array;
  arenaLen: number;
  payload: Float64Array;
}

export class BytesTable {
  /** Number of keys. */
  size = 0;
  /** Payload per entry (e.g. a count or an id); grows with the table. */
  payload: Float64Array;
  /** Slot pairs [hash, entry + 1] (0 = empty): a probe reads hash and entry from one cache line. */
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  /** Entry pairs [start in arena, length]. */
  private meta: Int32Array;
  private arena: Uint8Array;
  private arenaLen = 0;
  private scratch = new Uint8Array(256);
  /** The shared arrays this table currently uses (null: private ones); see `share`. */
  private shared: SharedBytesTable | null = null;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap <<= 1;
    this.slots = new Int32Array(cap * 2);
    this.mask = cap - 1;
    const n = Math.max(8, expected);
    this.hashes = new Int32Array(n);
    this.meta = new Int32Array(n * 2);
    this.payload = new Float64Array(n);
    this.arena = new Uint8Array(Math.max(1024, expected * 8));
  }

  /**
   * Moves the table into SharedArrayBuffers trimmed to its entries (once; later calls return
   * the same arrays) and returns them for a worker thread (`fromShared`). The table keeps
   * working on them; inserting a key afterwards first copies them back into private arrays,
   * so the shared memory never changes once handed out.
   */
  share(): SharedBytesTable {
    if (this.shared !== null) return this.shared;
    const n = Math.max(1, this.size);
    const d: SharedBytesTable = {
      size: this.size,
      mask: this.mask,
      slots: sharedCopy(this.slots, this.slots.length, Int32Array),
      hashes: sharedCopy(this.hashes, n, Int32Array),
      meta: sharedCopy(this.meta, 2 * n, Int32Array),
      arena: sharedCopy(this.arena, Math.max(16, this.arenaLen), Uint8Array),
      arenaLen: this.arenaLen,
      payload: sharedCopy(this.payload, n, Float64Array),
    };
    this.adopt(d);
    this.shared = d;
    return d;
  }

  /** A read-only view of a table shared by `share` in another thread (no copy; inserting copies first). */
  static fromShared(d: SharedBytesTable): BytesTable {
    const t = new BytesTable(1);
    t.adopt(d);
    t.shared = d;
    return t;
  }

  private adopt(d: SharedBytesTable): void {
    this.size = d.size;
    this.mask = d.mask;
    this.slots = d.slots;
    this.hashes = d.hashes;
    this.meta = d.meta;
    this.arena = d.arena;
    this.arenaLen = d.arenaLen;
    this.payload = d.payload;
  }

  /** Copies shared arrays back into private ones before the table changes (see `share`). */
  private unshare(): void {
    this.slots = this.slots.slice();
    this.hashes = this.hashes.slice();
    this.meta = this.meta.slice();
    this.arena = this.arena.slice();
    this.payload = this.payload.slice();
    this.shared = null;
  }

  /**
   * Feeds the table's content to a hash: its keys' bytes in entry order, their lengths and
   * the payloads — equal digests mean the same keys with the same entries and payloads.
   */
  hashInto(h: { update(data: Uint8Array): unknown }): void {
    const n = this.size;
    const bytes = (a: Int32Array | Float64Array | Uint8Array, len: number) =>
      Buffer.from(new Uint8Array(a.buffer, a.byteOffset, len * a.BYTES_PER_ELEMENT)); // a copy: hashes take no shared memory
    h.update(Buffer.from(Int32Array.of(n).buffer));
    const lens = new Int32Array(n);
    for (let i = 0; i < n; i++) lens[i] = this.meta[2 * i + 1]!;
    h.update(new Uint8Array(lens.buffer));
    h.update(bytes(this.arena, this.arenaLen));
    h.update(bytes(this.payload, n));
  }

  /** Entry of the key buf[s..e), or -1. */
  findBytes(buf: Uint8Array, s: number, e: number): number {
    const h = murmur3Bytes(buf, s, e, SEED) | 0;
    return this.probeBytes(buf, s, e, h);
  }

  /** Entry of the key buf[s..e), inserting it (payload 0) when absent. */
  insertBytes(buf: Uint8Array, s: number, e: number): number {
    const h = murmur3Bytes(buf, s, e, SEED) | 0;
    const found = this.probeBytes(buf, s, e, h);
    if (found >= 0) return found;
    return this.add(buf, s, e, h);
  }

  /** Entry of the string key, or -1. */
  findString(str: string): number {
    const h = murmur3String(str, SEED) | 0;
    const mask = this.mask,
      slots = this.slots;
    let slot = h & mask;
    const n = str.length;
    for (;;) {
      const ent = slots[2 * slot + 1]! - 1;
      if (ent < 0) return -1;
      if (slots[2 * slot] === h && this.sameString(ent, str, n)) return ent;
      slot = (slot + 1) & mask;
    }
  }

  /** Entry of the string key, inserting it when absent. */
  insertString(str: string): number {
    const found = this.findString(str);
    if (found >= 0) return found;
    const bytes = this.encode(str);
    return this.add(bytes, 0, bytes.length, murmur3Bytes(bytes, 0, bytes.length, SEED) | 0);
  }

  /** The key of an entry as a string. */
  keyString(ent: number): string {
    const s = this.meta[2 * ent]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + s, this.meta[2 * ent + 1]!).toString('utf8');
  }

  /** The key of an entry as bytes (a view into the arena: copy before the table grows). */
  keyBytes(ent: number): Uint8Array {
    const s = this.meta[2 * ent]!;
    return this.arena.subarray(s, s + this.meta[2 * ent + 1]!);
  }

  /** Byte-wise comparison of two entries' keys (UTF-8 order = code point order). */
  compareKeys(a: number, b: number): number {
    const ar = this.arena,
      m = this.meta;
    const sa = m[2 * a]!,
      la = m[2 * a + 1]!,
      sb = m[2 * b]!,
      lb = m[2 * b + 1]!;
    const n = la < lb ? la : lb;
    for (let i = 0; i < n; i++) {
      const d = ar[sa + i]! - ar[sb + i]!;
      if (d !== 0) return d;
    }
    return la - lb;
  }

  /** Approximate bytes held (arena + arrays). */
  memoryBytes(): number {
    return this.arena.byteLength + this.slots.byteLength + this.hashes.length * (4 + 8 + 8);
  }

  private probeBytes(buf: Uint8Array, s: number, e: number, h: number): number {
    const mask = this.mask;
    const slots = this.slots,
      meta = this.meta,
      arena = this.arena;
    const n = e - s;
    let slot = h & mask;
    for (;;) {
      const ent = slots[2 * slot + 1]! - 1;
      if (ent < 0) return -1;
      if (slots[2 * slot] === h && meta[2 * ent + 1] === n) {
        const o = meta[2 * ent]! - s;
        let i = s;
        while (i < e && arena[o + i] === buf[i]) i++;
        if (i === e) return ent;
      }
      slot = (slot + 1) & mask;
    }
  }

  private sameString(ent: number, str: string, n: number): boolean {
    const len = this.meta[2 * ent + 1]!;
    const s = this.meta[2 * ent]!;
    const arena = this.arena;
    if (len === n) {
      let i = 0;
      for (; i < n; i++) {
        const c = str.charCodeAt(i);
        if (c > 127) break;
        if (arena[s + i] !== c) return false;
      }
      if (i === n) return true;
    } else if (len < n) {
      // UTF-8 never has fewer bytes than UTF-16 units: a shorter byte key cannot equal it.
      return false;
    }
    const b = this.encode(str);
    if (b.length !== len) return false;
    for (let i = 0; i < len; i++) if (arena[s + i] !== b[i]) return false;
    return true;
  }

  private encode(str: string): Uint8Array {
    const need = str.length * 3;
    if (this.scratch.length < need) this.scratch = new Uint8Array(need * 2);
    const r = utf8.encodeInto(str, this.scratch);
    return this.scratch.subarray(0, r.written);
  }

  private add(buf: Uint8Array, s: number, e: number, h: number): number {
    if (this.shared !== null) this.unshare();
    const ent = this.size;
    if (ent === this.hashes.length) this.growEntries();
    const n = e - s;
    if (this.arenaLen + n > this.arena.length) {
      let cap = this.arena.length * 2;
      while (cap < this.arenaLen + n) cap *= 2;
      const a = new Uint8Array(cap);
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    this.arena.set(buf.subarray(s, e), this.arenaLen);
    this.meta[2 * ent] = this.arenaLen;
    this.meta[2 * ent + 1] = n;
    this.hashes[ent] = h;
    this.arenaLen += n;
    this.size = ent + 1;
    if (this.size * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    else this.place(ent, h);
    return ent;
  }

  private place(ent: number, h: number): void {
    const mask = this.mask,
      slots = this.slots;
    let slot = h & mask;
    while (slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = h;
    slots[2 * slot + 1] = ent + 1;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap * 2);
    this.mask = cap - 1;
    for (let i = 0; i < this.size; i++) this.place(i, this.hashes[i]!);
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    const h = new Int32Array(n);
    h.set(this.hashes);
    this.hashes = h;
    const m = new Int32Array(n * 2);
    m.set(this.meta);
    this.meta = m;
    const p = new Float64Array(n);
    p.set(this.payload);
    this.payload = p;
  }
}

/** The first `n` elements of `a` (zero-padded) in a new SharedArrayBuffer. */
function sharedCopy<T extends Int32Array | Uint8Array | Float64Array>(
  a: T,
  n: number,
  Ctor: { new (b: SharedArrayBuffer, off: number, len: number): T; BYTES_PER_ELEMENT: number },
): T {
  const out = new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT), 0, n);
  out.set(a.subarray(0, Math.min(n, a.length)) as never);
  return out;
}
