/**
 * Raw value strings of synthetic categorical fields. Criteo-style values are 8 lowercase hex
 * digits of a bijective 32-bit mix (the murmur3 finalizer) of (rank + field salt), so
 * distinct ranks of one field never collide and ranks are not visible in the strings.
 */
import type { ByteWriter } from './byte-writer.js';

const HEX = '0123456789abcdef';

/** murmur3's fmix32: a bijection on unsigned 32-bit integers. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** 8 lowercase hex digits of an unsigned 32-bit integer. */
export function hex8(x: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(x >>> shift) & 15];
  return s;
}

/**
 * Value strings of one field: `hex` (Criteo-like: hex8(mix32(rank + salt)), precomputed as
 * 8 bytes per value) or `int` (the rank + 1 in decimal).
 */
export class ValueNames {
  private readonly table: Uint8Array | null;

  constructor(
    readonly style: 'hex' | 'int',
    readonly salt: number,
    readonly size: number,
  ) {
    if (style === 'hex') {
      const t = new Uint8Array(size * 8);
      for (let v = 0; v < size; v++) {
        const h = mix32((v + salt) >>> 0);
        for (let d = 0; d < 8; d++) t[v * 8 + d] = HEX.charCodeAt((h >>> (28 - 4 * d)) & 15);
      }
      this.table = t;
    } else {
      this.table = null;
    }
  }

  /** The string of rank v. */
  name(v: number): string {
    return this.style === 'hex' ? hex8(mix32((v + this.salt) >>> 0)) : String(v + 1);
  }

  /** Writes the string of rank v. */
  write(out: ByteWriter, v: number): void {
    if (this.table !== null) out.raw(this.table, v * 8, 8);
    else out.uint(v + 1);
  }
}
