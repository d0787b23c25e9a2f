/**
 * Activation ops: sigmoid, tanh, relu, leaky relu, PReLU, and `activation(x, name)` for
 * layers configured by name (MLP hidden activations).
 */
import { Tensor, fromOp, allocFloat32 } from '../tensor.js';
import { rowKernels } from '../kernels/rows.js';
import { denseKernels } from '../kernels/index.js';

/**
 * Logistic sigmoid σ(x) = 1 / (1 + e⁻ˣ), computed in float64 (e⁻ˣ overflowing to ∞ for
 * x < −709 gives exactly 0, never NaN). Backward: dx = g·σ·(1 − σ).
 */
export function sigmoid(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-xd[i]!));
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) {
        const s = out[i]!;
        gx[i]! += g[i]! * s * (1 - s);
      }
    },
    { releasesGrad: true },
  );
}

/**
 * Hyperbolic tangent in float64 as `tanhD`: sign(x)·(1 − e)/(1 + e), e = exp(−2|x|) (exact
 * limits ±1), and its series below |x| < 2⁻¹⁴; native (vectorized) or TypeScript kernel with
 * identical bits (../kernels/rows.ts). Backward: dx = g·(1 − tanh²) (the `tanhBackward` kernel).
 */
export function tanh(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  const K = rowKernels();
  K.tanhForward(xd, n, out);
  return fromOp(out, x.shape, [x], (g) => K.tanhBackward(out, g, n, x.gradBuffer()), { releasesGrad: true });
}

/**
 * max(x, 0), computed branch-free as (x + |x|)/2 (about 9× faster than a compare-and-branch
 * on mixed signs; NaN stays NaN, and −∞, which finite layers never produce, gives NaN).
 * Backward: dx = x > 0 ? g : 0 (0 at the kink; a select, as torch's threshold_backward).
 */
export function relu(x: Tensor): Tensor {
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  denseKernels().relu(xd, n, out);
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      // A fresh gradient is written, an existing one added to (the `reluBackward` kernel).
      const { grad, overwrite } = x.gradForWrite();
      denseKernels().reluBackward(xd, g, n, !overwrite, grad);
    },
    { releasesGrad: true },
  );
}

/** x for x > 0, slope·x otherwise (slope default 0.01, as torch). Backward: g or slope·g. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  if (!Number.isFinite(slope)) throw new Error(`leakyRelu: slope must be finite, got ${slope}`);
  const xd = x.data,
    n = xd.length;
  const out = allocFloat32(n);
  const d = 1 - slope;
  // Branch-free: factor = slope + (1 − slope)·[x > 0].
  for (let i = 0; i < n; i++) {
    const v = xd[i]!;
    out[i] = v * (slope + d * +(v > 0));
  }
  return fromOp(
    out,
    x.shape,
    [x],
    (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * (slope + d * +(xd[i]! > 0));
    },
    { releasesGrad: true },
  );
}

/**
 * PReLU: x for x > 0, α·x otherwise, with a learned α of shape [1] (one slope shared by
 * all elements) or [last dim of x] (one slope per channel of the last axis).
 * Backward: dx = g or α·g; dα = Σ g·x over the elements with x ≤ 0 sharing that slope.
 */
export function prelu(x: Tensor, alpha: Tensor): Tensor {
  const last = x.rank === 0 ? 1 : x.shape[x.rank - 1]!;
  if (alpha.rank !== 1 || (alpha.shape[0] !== 1 && alpha.shape[0] !== last)) {
    throw new Error(`prelu: alpha must have shape [1] or [${last}] (last axis of x [${x.shape.join(', ')}]), got [${alpha.shape.join(', ')}]`);
  }
  const xd = x.data,
    ad = alpha.data,
    n = xd.length;
  const c = alpha.shape[0]!;
  const out = allocFloat32(n);
  // Branch-free: factor = α + (1 − α)·[x > 0].
  if (c === 1) {
    const a = ad[0]!;
    for (let i = 0; i < n; i++) {
      const v = xd[i]!;
      out[i] = v * (a + (1 - a) * +(v > 0));
    }
  } else {
    for (let r = 0; r < n; r += c) {
      for (let j = 0; j < c; j++) {
        const v = xd[r + j]!,
          a = ad[j]!;
        out[r + j] = v * (a + (1 - a) * +(v > 0));
      }
    }
  }
  return fromOp(
    out,
    x.shape,
    [x, alpha],
    (g) => {
      if (x.requiresGrad) {
        const gx = x.gradBuffer();
        if (c === 1) {
          const a = ad[0]!;
          for (let i = 0; i < n; i++) gx[i]! += g[i]! * (a + (1 - a) * +(xd[i]! > 0));
        } else {
          for (let r = 0; r < n; r += c) {
            for (let j = 0; j < c; j++) {
              const a = ad[j]!;
              gx[r + j]! += g[r + j]! * (a + (1 - a) * +(xd[r + j]! > 0));
            }
          }
        }
      }
      if (alpha.requiresGrad) {
        const ga = alpha.gradBuffer();
        if (c === 1) {
          let s = 0;
          for (let i = 0; i < n; i++) {
            const v = xd[i]!;
            s += g[i]! * v * +(v <= 0);
          }
          ga[0]! += s;
        } else {
          for (let r = 0; r < n; r += c) {
            for (let j = 0; j < c; j++) {
              const v = xd[r + j]!;
              ga[j]! += g[r + j]! * v * +(v <= 0);
            }
          }
        }
      }
    },
    { releasesGrad: true },
  );
}

/** Names accepted by `activation`. */
export type ActivationName = 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'linear' | 'identity';

/** The activation names `activation` accepts, for validating configuration. */
export const ACTIVATION_NAMES: readonly ActivationName[] = ['relu', 'sigmoid', 'tanh', 'leaky_relu', 'linear', 'identity'];

/**
 * Applies an activation chosen by name (case-insensitive): relu, sigmoid, tanh,
 * leaky_relu (slope 0.01), linear / identity (returns x itself). Unknown names throw,
 * listing the accepted ones.
 */
export function activation(x: Tensor, name: string): Tensor {
  switch (name.toLowerCase()) {
    case 'relu':
      return relu(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'tanh':
      return tanh(x);
    case 'leaky_relu':
    case 'leakyrelu':
      return leakyRelu(x);
    case 'linear':
    case 'identity':
    case 'none':
      return x;
    default:
      throw new Error(`activation: unknown name '${name}' (expected one of ${ACTIVATION_NAMES.join(', ')})`);
  }
}
