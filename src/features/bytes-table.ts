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

export class BytesTable {
  /** Number of keys. */
  size = 0;
  /** Payload per entry (e.g. a count or an id); grows with the table. */
  payload: Float64Array;
  private slots: Int32Array; // entry + 1, 0 = empty
  private mask: number;
  private hashes: Int32Array;
  private starts: Int32Array;
  private lens: Int32Array;
  private arena: Uint8Array;
  private arenaLen = 0;
  private scratch = new Uint8Array(256);

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap <<= 1;
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    const n = Math.max(8, expected);
    this.hashes = new Int32Array(n);
    this.starts = new Int32Array(n);
    this.lens = new Int32Array(n);
    this.payload = new Float64Array(n);
    this.arena = new Uint8Array(Math.max(1024, expected * 8));
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
    const mask = this.mask;
    let slot = h & mask;
    const n = str.length;
    for (;;) {
      const ent = this.slots[slot]! - 1;
      if (ent < 0) return -1;
      if (this.hashes[ent] === h && this.sameString(ent, str, n)) return ent;
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
    const s = this.starts[ent]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + s, this.lens[ent]!).toString('utf8');
  }

  /** The key of an entry as bytes (a view into the arena: copy before the table grows). */
  keyBytes(ent: number): Uint8Array {
    const s = this.starts[ent]!;
    return this.arena.subarray(s, s + this.lens[ent]!);
  }

  /** Byte-wise comparison of two entries' keys (UTF-8 order = code point order). */
  compareKeys(a: number, b: number): number {
    const ar = this.arena;
    const sa = this.starts[a]!, la = this.lens[a]!, sb = this.starts[b]!, lb = this.lens[b]!;
    const n = la < lb ? la : lb;
    for (let i = 0; i < n; i++) {
      const d = ar[sa + i]! - ar[sb + i]!;
      if (d !== 0) return d;
    }
    return la - lb;
  }

  /** Approximate bytes held (arena + arrays). */
  memoryBytes(): number {
    return this.arena.byteLength + this.slots.byteLength + this.hashes.length * (4 + 4 + 4 + 8);
  }

  private probeBytes(buf: Uint8Array, s: number, e: number, h: number): number {
    const mask = this.mask;
    const slots = this.slots, hashes = this.hashes, lens = this.lens, starts = this.starts, arena = this.arena;
    const n = e - s;
    let slot = h & mask;
    for (;;) {
      const ent = slots[slot]! - 1;
      if (ent < 0) return -1;
      if (hashes[ent] === h && lens[ent] === n) {
        const o = starts[ent]! - s;
        let i = s;
        while (i < e && arena[o + i] === buf[i]) i++;
        if (i === e) return ent;
      }
      slot = (slot + 1) & mask;
    }
  }

  private sameString(ent: number, str: string, n: number): boolean {
    const len = this.lens[ent]!;
    const s = this.starts[ent]!;
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
      // A non-ASCII string has more UTF-8 bytes than UTF-16 units only when it is non-ASCII;
      // a shorter byte key cannot equal it.
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
    this.starts[ent] = this.arenaLen;
    this.lens[ent] = n;
    this.hashes[ent] = h;
    this.arenaLen += n;
    this.size = ent + 1;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(ent, h);
    return ent;
  }

  private place(ent: number, h: number): void {
    const mask = this.mask;
    let slot = h & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = ent + 1;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < this.size; i++) this.place(i, this.hashes[i]!);
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.hashes = grow(this.hashes, (k) => new Int32Array(k));
    this.starts = grow(this.starts, (k) => new Int32Array(k));
    this.lens = grow(this.lens, (k) => new Int32Array(k));
    this.payload = grow(this.payload, (k) => new Float64Array(k));
  }
}
