import type { Rng } from '../../engine/random.js';

/**
 * Zipf distribution over value ranks 0…V−1: P(v) = (v + 1)^(−s) / H(V, s), rank 0 the most
 * frequent; s = 0 is uniform. Sampled in O(1) with Walker/Vose alias tables (16 bytes per
 * value).
 */
export class ZipfSampler {
  /** P(v) for each rank. */
  readonly probs: Float64Array;
  private readonly accept: Float64Array;
  private readonly alias: Int32Array;

  constructor(
    readonly size: number,
    readonly exponent: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`ZipfSampler: size ${size} must be a positive integer`);
    if (!(exponent >= 0)) throw new Error(`ZipfSampler: exponent ${exponent} must be >= 0`);
    const p = new Float64Array(size);
    let z = 0;
    for (let v = 0; v < size; v++) z += p[v] = Math.pow(v + 1, -exponent);
    for (let v = 0; v < size; v++) p[v]! /= z;
    this.probs = p;
    // Vose's alias method.
    const accept = new Float64Array(size);
    const alias = new Int32Array(size);
    const small = new Int32Array(size);
    const large = new Int32Array(size);
    let ns = 0;
    let nl = 0;
    const scaled = new Float64Array(size);
    for (let v = 0; v < size; v++) {
      scaled[v] = p[v]! * size;
      if (scaled[v]! < 1) small[ns++] = v;
      else large[nl++] = v;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[--nl]!;
      accept[s] = scaled[s]!;
      alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) accept[large[--nl]!] = 1;
    while (ns > 0) accept[small[--ns]!] = 1;
    this.accept = accept;
    this.alias = alias;
  }

  /**
   * One rank drawn from the distribution. Up to 2^16 values one 32-bit draw gives both the
   * column (integer part of u·V) and the acceptance test (its fraction, ≥ 16 bits); larger
   * vocabularies use two draws.
   */
  sample(rng: Rng): number {
    const V = this.size;
    if (V <= 65536) {
      const x = rng.next() * V;
      const i = Math.floor(x);
      return x - i < this.accept[i]! ? i : this.alias[i]!;
    }
    const i = rng.int(V);
    return rng.next() < this.accept[i]! ? i : this.alias[i]!;
  }
}
