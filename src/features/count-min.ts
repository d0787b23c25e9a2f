/**
 * A count-min sketch (Cormode & Muthukrishnan 2005) with conservative update and saturating
 * counters: `depth` rows of `width` counters; a key adds 1 to the smallest of its `depth`
 * cells (conservative update: only the cells equal to that minimum grow), and its estimate is
 * that minimum. The estimate never falls below the key's true count (capped at `cap`), and
 * exceeds it only by what colliding keys added. Counters stop at `cap` (the largest threshold
 * asked about), so they fit in 1 byte when cap ≤ 255 and 2 bytes when cap ≤ 65 535.
 *
 * Keys are given as one 32-bit hash `h`; row i uses cell (h + i·g(h)) mod width with g(h) an
 * odd second hash mixed from h (Kirsch–Mitzenmacher double hashing). Two keys with the same
 * 32-bit hash share every cell: like any collision this only raises estimates.
 */

/** Options of a sketch. */
export interface CountMinOptions {
  /** Bytes of counters (width = bytes / (depth · bytes per counter)). */
  bytes: number;
  /** Counters saturate here; estimates are exact up to `cap` (≥ 1). */
  cap: number;
  /** Rows (hash functions), default 4. */
  depth?: number;
}

/** Default rows of a sketch. */
export const DEFAULT_SKETCH_DEPTH = 4;

/** A count-min sketch over 32-bit key hashes (module comment). */
export class CountMinSketch {
  readonly depth: number;
  readonly width: number;
  readonly cap: number;
  private readonly cells: Uint8Array | Uint16Array | Uint32Array;
  private readonly at: Int32Array;

  constructor(o: CountMinOptions) {
    if (!Number.isInteger(o.cap) || o.cap < 1) throw new Error(`count-min sketch: cap must be a positive integer, got ${o.cap}`);
    this.cap = o.cap;
    this.depth = o.depth ?? DEFAULT_SKETCH_DEPTH;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new Error(`count-min sketch: depth must be a positive integer, got ${this.depth}`);
    const per = o.cap <= 0xff ? 1 : o.cap <= 0xffff ? 2 : 4;
    this.width = Math.floor(o.bytes / (this.depth * per));
    if (this.width < 1) throw new Error(`count-min sketch: ${o.bytes} bytes is too small for ${this.depth} rows`);
    const n = this.width * this.depth;
    this.cells = per === 1 ? new Uint8Array(n) : per === 2 ? new Uint16Array(n) : new Uint32Array(n);
    this.at = new Int32Array(this.depth);
  }

  /** Bytes held by the counters. */
  get bytes(): number {
    return this.cells.byteLength;
  }

  private locate(h: number): void {
    const g = secondHash(h);
    const w = this.width;
    for (let i = 0; i < this.depth; i++) this.at[i] = i * w + (((h + Math.imul(i, g)) >>> 0) % w);
  }

  /** Adds one occurrence of the key with hash `h` (conservative update). */
  add(h: number): void {
    this.locate(h);
    const c = this.cells,
      at = this.at;
    let min = c[at[0]!]!;
    for (let i = 1; i < this.depth; i++) min = Math.min(min, c[at[i]!]!);
    if (min >= this.cap) return;
    for (let i = 0; i < this.depth; i++) if (c[at[i]!] === min) c[at[i]!] = min + 1;
  }

  /** Estimated count of the key with hash `h`: ≥ min(true count, cap). */
  estimate(h: number): number {
    this.locate(h);
    const c = this.cells,
      at = this.at;
    let min = c[at[0]!]!;
    for (let i = 1; i < this.depth; i++) min = Math.min(min, c[at[i]!]!);
    return min;
  }
}

/** An odd 32-bit hash mixed from `h` (murmur3's finaliser of h xor the golden ratio). */
function secondHash(h: number): number {
  let x = (h ^ 0x9e3779b9) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x | 1) >>> 0;
}
