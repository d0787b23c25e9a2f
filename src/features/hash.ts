/**
 * MurmurHash3 x86 32-bit (Austin Appleby's reference `MurmurHash3_x86_32`) of the UTF-8 bytes
 * of a value, with a 32-bit seed. This is the documented, stable hash of finerank: hash
 * encoders (bucket = murmur3(utf8(value), seed) mod buckets), group ids and split
 * assignment use it, and it gives the same result on every platform and version.
 *
 * Reference values: murmur3('', 0) = 0, murmur3('', 1) = 0x514e28b7,
 * murmur3('hello', 0) = 0x248bfa47.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** murmur3_32 of bytes buf[s..e) with `seed`, as an unsigned 32-bit integer. */
export function murmur3Bytes(buf: Uint8Array, s: number, e: number, seed: number): number {
  let h = seed | 0;
  const len = e - s;
  const end4 = s + (len & ~3);
  let i = s;
  for (; i < end4; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rem = len & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= buf[i + 2]! << 16;
    if (rem >= 2) k ^= buf[i + 1]! << 8;
    k ^= buf[i]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix(h ^ len);
}

/** murmur3_32 of the UTF-8 encoding of `str` with `seed` (ASCII strings avoid encoding). */
export function murmur3String(str: string, seed: number): number {
  const n = str.length;
  let h = seed | 0;
  const end4 = n & ~3;
  let i = 0;
  for (; i < end4; i += 4) {
    const a = str.charCodeAt(i),
      b = str.charCodeAt(i + 1),
      c = str.charCodeAt(i + 2),
      d = str.charCodeAt(i + 3);
    if ((a | b | c | d) > 127) return murmur3Utf8(str, seed);
    let k = a | (b << 8) | (c << 16) | (d << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rem = n & 3;
  if (rem > 0) {
    let k = 0;
    for (let j = rem - 1; j >= 0; j--) {
      const ch = str.charCodeAt(i + j);
      if (ch > 127) return murmur3Utf8(str, seed);
      k ^= ch << (8 * j);
    }
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix(h ^ n);
}

const utf8 = new TextEncoder();

function murmur3Utf8(str: string, seed: number): number {
  const b = utf8.encode(str); // TextEncoder, not Buffer: this module also runs in the browser scorer
  return murmur3Bytes(b, 0, b.length, seed);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from the hash of `key` (a string) under `seed`. */
export function hashUnit(key: string, seed: number): number {
  return murmur3String(key, seed) / 4294967296;
}
