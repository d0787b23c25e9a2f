import type { Rng } from '../engine/random.js';

/**
 * Draws indices 0…n−1 with probability proportional to given non-negative weights in O(1)
 * per draw (Walker/Vose alias method; 12 bytes per entry).
 */
export class AliasTable {
  /** The normalized probabilities. */
  readonly probs: Float64Array;
  private readonly accept: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('AliasTable: no weights');
    let z = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`AliasTable: weight ${i} is ${w}; expected a finite non-negative number`);
      z += w;
    }
    if (!(z > 0)) throw new Error('AliasTable: all weights are 0');
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = weights[i]! / z;
    this.probs = p;
    const accept = new Float64Array(n),
      alias = new Int32Array(n),
      scaled = new Float64Array(n);
    const small: number[] = [],
      large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = p[i]! * n;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!,
        l = large.pop()!;
      accept[s] = scaled[s]!;
      alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) accept[i] = 1;
    for (const i of small) accept[i] = 1;
    this.accept = accept;
    this.alias = alias;
  }

  /** One index drawn from the distribution. */
  sample(rng: Rng): number {
    const n = this.probs.length;
    const i = Math.min(n - 1, Math.floor(rng.next() * n));
    return rng.next() < this.accept[i]! ? i : this.alias[i]!;
  }
}
