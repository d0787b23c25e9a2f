/**
 * Raw value strings of synthetic categorical fields. Criteo-style values are 8 lowercase hex
 * digits of a bijective 32-bit mix (the murmur3 finalizer) of (rank + field salt), so
 * distinct ranks of one field never collide and ranks are not visible in the strings.
 */

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
 * Value strings of one field: `hex` (Criteo-like) or `int` (the rank + 1 in decimal).
 * The first `cacheSize` ranks (the frequent ones under a Zipf law) are precomputed.
 */
export class ValueNames {
  private readonly cache: string[];

  constructor(readonly style: 'hex' | 'int', readonly salt: number, cacheSize: number) {
    this.cache = new Array<string>(cacheSize);
    for (let v = 0; v < cacheSize; v++) this.cache[v] = this.compute(v);
  }

  /** The string of rank v. */
  name(v: number): string {
    return v < this.cache.length ? this.cache[v]! : this.compute(v);
  }

  private compute(v: number): string {
    return this.style === 'hex' ? hex8(mix32((v + this.salt) >>> 0)) : String(v + 1);
  }
}
