/**
 * Inverted dropout with a seeded, counter-based mask.
 */
import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { denseKernels } from '../kernels/index.js';
import type { Rng } from '../random.js';

/**
 * The parameters of one dropout mask (see DenseKernels in kernels/types.ts): `seed` one
 * `rng.nextUint32()`, `threshold` = ⌈p·2³²⌉ (element i is kept when its hash is ≥ it, so
 * with probability 1 − p), `scale` = 1/(1 − p) rounded to float32. p = 1 draws nothing and
 * keeps nothing (threshold 2³², scale 0). p must be in [0, 1); p = 0 is "no dropout"
 * (threshold 0, scale 1) and draws nothing either.
 */
export interface DropoutMask {
  seed: number;
  threshold: number;
  scale: number;
}

/** The "no dropout" mask: every factor 1. */
export const NO_DROPOUT: DropoutMask = { seed: 0, threshold: 0, scale: 1 };

/**
 * Draws the mask of one dropout application with probability p (checked to be in [0, 1];
 * `op` names the caller in the error): one `rng.nextUint32()` for 0 < p < 1, none otherwise.
 */
export function drawDropoutMask(op: string, p: number, rng: Rng): DropoutMask {
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: probability must be in [0, 1], got ${p}`);
  if (p === 0) return NO_DROPOUT;
  if (p === 1) return { seed: 0, threshold: 4294967296, scale: 0 };
  return { seed: rng.nextUint32(), threshold: Math.ceil(p * 4294967296), scale: Math.fround(1 / (1 - p)) };
}

/**
 * Inverted dropout: in training each element is zeroed with probability p and the kept
 * ones are scaled by 1/(1 − p) (rounded to float32), so the expected value is unchanged;
 * in evaluation (or for p = 0) x itself is returned, and p = 1 gives zeros.
 *
 * The mask costs one `rng.nextUint32()` per call, whatever the size: that draw is the seed
 * of a counter-based generator, element i (row-major) being kept when
 * mix(mix(i ⊕ seed) + mix(seed ⊕ 0x9e3779b9)) ≥ ⌈p·2³²⌉ (mix: the lowbias32 hash; see
 * `drawDropoutMask` and the `dropoutForward` kernel). So a given generator state gives the
 * same mask on both kernel backends, the generator's next state does not depend on the
 * tensor's size, and the backward pass recomputes the mask instead of storing it.
 * Backward: dx = g·mask/(1 − p). (`batchNorm` can apply the same dropout fused.)
 */
export function dropout(x: Tensor, p: number, rng: Rng, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const n = x.size;
  if (p === 1) return fromOp(new Float32Array(n), x.shape, [x], () => {});
  const { seed, threshold, scale } = drawDropoutMask('dropout', p, rng);
  const K = denseKernels();
  const out = allocFloat32(n);
  K.dropoutForward(x.data, n, seed, threshold, scale, out);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const { grad, overwrite } = x.gradForWrite();
      K.dropoutBackward(g, n, seed, threshold, scale, !overwrite, grad);
    },
    { releasesGrad: true },
  );
}
