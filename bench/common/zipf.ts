import type { Rng } from '../../src/engine/random.js';

/** Inverse-CDF sampler of the bounded Zipf law P(k) ∝ k^−s, k = 1..vocab. */
export function zipfSampler(vocab: number, s: number): (rng: Rng) => number {
  const cdf = new Float64Array(vocab);
  let acc = 0;
  for (let k = 1; k <= vocab; k++) {
    acc += Math.pow(k, -s);
    cdf[k - 1] = acc;
  }
  for (let k = 0; k < vocab; k++) cdf[k]! /= acc;
  return (rng) => {
    const u = rng.next();
    let lo = 0,
      hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  };
}
