/**
 * Loss ops, each reducing to a scalar (shape []) mean, accumulated in float64:
 * binary cross-entropy on logits (the training loss of every CTR/CVR head), on
 * probabilities (heads that output a product of probabilities, e.g. ESMM's pCTCVR), and
 * mean squared error.
 */
import { Tensor, fromOp } from '../tensor.js';

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Throws unless `values` has `n` entries, each finite and within [lo, hi]. */
function checkValues(op: string, what: string, values: ArrayLike<number>, n: number, shape: readonly number[], lo: number, hi: number): void {
  if (values.length !== n) throw new Error(`${op}: ${what} has ${values.length} entries, predictions have shape ${fmt(shape)} (${n} elements)`);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi)) throw new Error(`${op}: ${what}[${i}] = ${v} is outside [${lo}, ${hi}]`);
  }
}

/**
 * Mean binary cross-entropy of sigmoid(z) against labels y ∈ [0, 1]:
 * ℓ = max(z, 0) − z·y + log1p(exp(−|z|)), stable for any z. With `weights` the result is
 * the weighted mean Σ wᵢℓᵢ / Σ wᵢ (0, with zero gradient, when all weights are 0).
 * Backward: dz = g·wᵢ·(σ(z) − y) / Σ w.
 */
export function bceWithLogits(logits: Tensor, labelValues: ArrayLike<number>, weightValues?: ArrayLike<number>): Tensor {
  const n = logits.size;
  checkValues('bceWithLogits', 'labels', labelValues, n, logits.shape, 0, 1);
  if (weightValues !== undefined) checkValues('bceWithLogits', 'weights', weightValues, n, logits.shape, 0, Number.MAX_VALUE);
  // Private copies for backward (the caller may reuse its arrays).
  const labels = Float32Array.from(labelValues);
  const weights = weightValues === undefined ? undefined : Float32Array.from(weightValues);
  const z = logits.data;
  let total = 0,
    wsum = 0;
  for (let i = 0; i < n; i++) {
    const v = z[i]!,
      y = labels[i]!;
    const l = (v > 0 ? v : 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
    if (weights === undefined) total += l;
    else {
      const w = weights[i]!;
      total += w * l;
      wsum += w;
    }
  }
  if (weights === undefined) wsum = n;
  const inv = wsum > 0 ? 1 / wsum : 0;
  return fromOp(Float32Array.of(total * inv), [], [logits], (g) => {
    const gz = logits.gradBuffer();
    const c = g[0]! * inv;
    for (let i = 0; i < n; i++) {
      const v = z[i]!;
      const d = 1 / (1 + Math.exp(-v)) - labels[i]!;
      gz[i]! += weights === undefined ? c * d : c * weights[i]! * d;
    }
  });
}

/**
 * Mean binary cross-entropy of probabilities p against labels y ∈ [0, 1], with p clipped
 * to [eps, 1 − eps]: ℓ = −(y·log p + (1 − y)·log(1 − p)). Backward: dp = g·(p − y) /
 * (p(1 − p)) / n where p is inside the clip range, 0 where it was clipped.
 */
export function bce(prob: Tensor, labelValues: ArrayLike<number>, eps = 1e-7): Tensor {
  if (!(eps > 0 && eps < 0.5)) throw new Error(`bce: eps must be in (0, 0.5), got ${eps}`);
  const n = prob.size;
  checkValues('bce', 'labels', labelValues, n, prob.shape, 0, 1);
  const labels = Float32Array.from(labelValues);
  const pd = prob.data;
  const hi = 1 - eps;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let p = pd[i]!;
    if (!(p >= eps))
      p = eps; // also maps NaN to eps
    else if (p > hi) p = hi;
    const y = labels[i]!;
    total -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  const inv = n > 0 ? 1 / n : 0;
  return fromOp(Float32Array.of(total * inv), [], [prob], (g) => {
    const gp = prob.gradBuffer();
    const c = g[0]! * inv;
    for (let i = 0; i < n; i++) {
      const p = pd[i]!;
      if (!(p >= eps) || p > hi) continue;
      gp[i]! += (c * (p - labels[i]!)) / (p * (1 - p));
    }
  });
}

/**
 * Mean squared error mean((pred − target)²). `target` is a tensor of the same shape
 * (gradient flows to it too when it requires one) or plain numbers, one per element.
 * Backward: dpred = 2·g·(pred − target)/n, dtarget = −dpred.
 */
export function mse(pred: Tensor, target: Tensor | ArrayLike<number>): Tensor {
  const n = pred.size;
  const t = target instanceof Tensor ? target.data : Float32Array.from(target);
  if (target instanceof Tensor && (target.rank !== pred.rank || target.shape.some((d, i) => d !== pred.shape[i]))) {
    throw new Error(`mse: prediction shape ${fmt(pred.shape)} and target shape ${fmt(target.shape)} differ`);
  }
  if (t.length !== n) throw new Error(`mse: target has ${t.length} entries, prediction has shape ${fmt(pred.shape)} (${n} elements)`);
  const pd = pred.data;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = pd[i]! - t[i]!;
    total += d * d;
  }
  const inv = n > 0 ? 1 / n : 0;
  const parents = target instanceof Tensor ? [pred, target] : [pred];
  return fromOp(Float32Array.of(total * inv), [], parents, (g) => {
    const c = 2 * g[0]! * inv;
    if (pred.requiresGrad) {
      const gp = pred.gradBuffer();
      for (let i = 0; i < n; i++) gp[i]! += c * (pd[i]! - t[i]!);
    }
    if (target instanceof Tensor && target.requiresGrad) {
      const gt = target.gradBuffer();
      for (let i = 0; i < n; i++) gt[i]! -= c * (pd[i]! - t[i]!);
    }
  });
}

/** σ(z) = 1/(1 + e⁻ᶻ) of logits as plain probabilities (no graph): for metrics and serving. */
export function sigmoidProb(logits: Tensor | Float32Array): Float32Array {
  const z = logits instanceof Tensor ? logits.data : logits;
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = 1 / (1 + Math.exp(-z[i]!));
  return out;
}
