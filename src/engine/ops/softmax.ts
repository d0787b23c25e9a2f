/**
 * Softmax and log-softmax over one axis, max-shifted for stability, with sums in float64.
 * The tensor is seen as [outer, dim, inner]; each of the outer·inner lines along the axis
 * is normalized on its own (stride 1 when the axis is the last one).
 */
import { Tensor, fromOp, isGradEnabled } from '../tensor.js';
import { normalizeAxis } from './shape.js';

/** [outer, dim, inner] sizes of x around `axis`. */
function lines(op: string, x: Tensor, axis: number): [number, number, number] {
  if (x.rank === 0) throw new Error(`${op}: needs a tensor of rank ≥ 1, got a scalar`);
  const a = normalizeAxis(op, axis, x.rank, x.shape);
  let outer = 1,
    inner = 1;
  for (let i = 0; i < a; i++) outer *= x.shape[i]!;
  for (let i = a + 1; i < x.rank; i++) inner *= x.shape[i]!;
  return [outer, x.shape[a]!, inner];
}

/**
 * softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) along `axis` (default the last), m the line's
 * maximum. With `mask` (one byte per element of x), positions where mask ≠ 0 are excluded:
 * they get probability 0 and the rest renormalize; a line whose positions are all masked
 * is all zeros (no NaN) and passes no gradient. Backward: dx = y·(g − Σ g·y).
 */
export function softmax(x: Tensor, axis = -1, mask?: Uint8Array): Tensor {
  const [outer, dim, inner] = lines('softmax', x, axis);
  if (mask !== undefined && mask.length !== x.size) {
    throw new Error(`softmax: mask has ${mask.length} entries, x has shape [${x.shape.join(', ')}] (${x.size} elements)`);
  }
  const xd = x.data;
  const out = new Float32Array(x.size);
  const span = dim * inner;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * span + i,
        end = base + span;
      let m = -Infinity,
        any = false;
      if (mask === undefined) {
        for (let p = base; p < end; p += inner) if (xd[p]! > m) m = xd[p]!;
        any = dim > 0;
      } else {
        for (let p = base; p < end; p += inner) {
          if (mask[p] === 0) {
            any = true;
            if (xd[p]! > m) m = xd[p]!;
          }
        }
      }
      if (!any) continue; // fully masked line: zeros
      let s = 0;
      if (mask === undefined) {
        for (let p = base; p < end; p += inner) {
          const e = Math.exp(xd[p]! - m);
          out[p] = e;
          s += e;
        }
      } else {
        for (let p = base; p < end; p += inner) {
          if (mask[p] !== 0) continue;
          const e = Math.exp(xd[p]! - m);
          out[p] = e;
          s += e;
        }
      }
      const inv = 1 / s;
      for (let p = base; p < end; p += inner) out[p]! *= inv;
    }
  }
  return fromOp(out, x.shape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * span + i,
          end = base + span;
        let dot = 0;
        for (let p = base; p < end; p += inner) dot += g[p]! * out[p]!;
        for (let p = base; p < end; p += inner) gx[p]! += out[p]! * (g[p]! - dot);
      }
    }
  });
}

/**
 * log softmax(x)ᵢ = xᵢ − m − log Σⱼ exp(xⱼ − m) along `axis` (default the last).
 * Backward: dx = g − softmax(x)·Σ g (the probabilities are kept from the forward pass
 * when a gradient will be needed).
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const [outer, dim, inner] = lines('logSoftmax', x, axis);
  const xd = x.data;
  const out = new Float32Array(x.size);
  const prob = isGradEnabled() && x.requiresGrad ? new Float32Array(x.size) : null;
  const span = dim * inner;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * span + i,
        end = base + span;
      let m = -Infinity;
      for (let p = base; p < end; p += inner) if (xd[p]! > m) m = xd[p]!;
      let s = 0;
      if (prob === null) {
        for (let p = base; p < end; p += inner) s += Math.exp(xd[p]! - m);
      } else {
        for (let p = base; p < end; p += inner) {
          const e = Math.exp(xd[p]! - m);
          prob[p] = e;
          s += e;
        }
        const inv = 1 / s;
        for (let p = base; p < end; p += inner) prob[p]! *= inv;
      }
      const shift = m + Math.log(s);
      for (let p = base; p < end; p += inner) out[p] = xd[p]! - shift;
    }
  }
  return fromOp(out, x.shape, [x], (g) => {
    const gx = x.gradBuffer();
    const pr = prob!;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * span + i,
          end = base + span;
        let gs = 0;
        for (let p = base; p < end; p += inner) gs += g[p]!;
        for (let p = base; p < end; p += inner) gx[p]! += g[p]! - pr[p]! * gs;
      }
    }
  });
}
