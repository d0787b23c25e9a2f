import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';

/** Random tensor with values in [-scale, scale], requiring a gradient. */
export function randTensor(rng: Rng, shape: number[], scale = 1, requiresGrad = true): Tensor {
  const t = Tensor.zeros(shape, requiresGrad);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-scale, scale);
  return t;
}

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /** Finite-difference step (central differences). */
  eps?: number;
  /** Allowed |analytic − numeric| / max(1, |analytic|, |numeric|). */
  tol?: number;
  /** Check at most this many coordinates per input (chosen at random). */
  maxCoords?: number;
  seed?: number;
}

/**
 * Checks the analytic gradient of `fn` against central finite differences.
 *
 * The scalar probed is L = Σ wᵢ·outᵢ with fixed random weights w, summed in float64 so
 * that only the op's own float32 rounding enters the numeric derivative. With float32
 * values of order 1, forward rounding is ~6e-8 relative, so a central difference with
 * eps = 1e-3 carries an error of about 1e-4 and a truncation error of order eps² — the
 * default tolerance 2e-3 (relative to max(1, |g|)) sits well above both and far below
 * the size of any real gradient bug.
 */
export function gradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const eps = opts.eps ?? 1e-3;
  const tol = opts.tol ?? 2e-3;
  const rng = new Rng(opts.seed ?? 1234);
  for (const t of inputs) t.grad = null;
  const out = fn(inputs);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-1, 1);
  out.backward(w);
  const probe = (): number => {
    const o = noGrad(() => fn(inputs));
    let s = 0;
    for (let i = 0; i < o.size; i++) s += w[i]! * o.data[i]!;
    return s;
  };
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    const analytic = t.grad ?? new Float32Array(t.size);
    const coords = [...Array(t.size).keys()];
    if (opts.maxCoords !== undefined && coords.length > opts.maxCoords) {
      rng.shuffle(coords);
      coords.length = opts.maxCoords;
    }
    for (const i of coords) {
      const orig = t.data[i]!;
      t.data[i] = orig + eps;
      const plus = probe();
      t.data[i] = orig - eps;
      const minus = probe();
      t.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i]!;
      const err = Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric));
      assert.ok(err <= tol, `input ${ti} coordinate ${i}: analytic ${a} vs numeric ${numeric} (relative error ${err.toExponential(2)} > ${tol})`);
    }
  });
}
