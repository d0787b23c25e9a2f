/**
 * Inverted dropout with a seeded mask.
 */
import { Tensor, fromOp } from '../tensor.js';
import type { Rng } from '../random.js';

/**
 * Inverted dropout: in training each element is zeroed with probability p and the kept
 * ones are scaled by 1/(1 − p), so the expected value is unchanged; in evaluation (or for
 * p = 0) x itself is returned. The mask consumes exactly one `rng.nextUint32()` per element,
 * in row-major order (element kept when u ≥ p·2³²), so a given generator state always gives
 * the same mask. p = 1 gives zeros. Backward: dx = g·mask/(1 − p).
 */
export function dropout(x: Tensor, p: number, rng: Rng, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const n = x.size, xd = x.data;
  const out = new Float32Array(n);
  if (p === 1) return fromOp(out, x.shape, [x], () => {});
  const keep = new Uint8Array(n);
  fillKeepMask(rng, keep, p * 4294967296);
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) out[i] = xd[i]! * (keep[i]! * scale);
  return fromOp(out, x.shape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let i = 0; i < n; i++) gx[i] += g[i]! * (keep[i]! * scale);
  });
}

/**
 * keep[i] = 1 when the i-th `rng.nextUint32()` is ≥ threshold, else 0, advancing `rng` by
 * keep.length draws. The xoshiro128** step of random.ts is run here on local variables
 * (7× faster than a method call per element) and the state written back, so the result
 * and the generator's next state equal those of calling `rng.nextUint32()` in a loop
 * (a test checks this against random.ts).
 */
function fillKeepMask(rng: Rng, keep: Uint8Array, threshold: number): void {
  const st = rng.getState();
  let s0 = st[0]! | 0, s1 = st[1]! | 0, s2 = st[2]! | 0, s3 = st[3]! | 0;
  for (let i = 0; i < keep.length; i++) {
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    keep[i] = +(r >= threshold);
  }
  rng.setState([s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0, st[4]!]);
}
