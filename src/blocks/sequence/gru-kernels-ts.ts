import type { GruKernels } from './gru-kernels.js';

/**
 * exp(x) for x clamped to [−700, 700], operation for operation as native/gru.cc's ExpD:
 * k = ⌊x·log₂e + ½⌋, r = (x − k·ln2_hi) − k·ln2_lo, exp(r) by Horner on the Taylor series to
 * r¹² (relative error < 2e-16), times the exact 2^k. Same double operations on both sides,
 * so the GRU kernels are bit-identical across backends (libm's exp is not the same as V8's).
 */
export function expD(x: number): number {
  x = x < -700 ? -700 : x > 700 ? 700 : x;
  const k = Math.floor(x * 1.4426950408889634 + 0.5);
  const r = x - k * 6.9314718036912381649e-1 - k * 1.9082149292705877e-10;
  let p = 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  return p * POW2[k + POW2_BIAS]!;
}

/** 2^k for k in [−1011, 1011] (every k that expD's clamp allows), built by exact doubling. */
const POW2_BIAS = 1011;
const POW2 = (() => {
  const t = new Float64Array(2 * POW2_BIAS + 1);
  t[POW2_BIAS] = 1;
  for (let i = 1; i <= POW2_BIAS; i++) {
    t[POW2_BIAS + i] = t[POW2_BIAS + i - 1]! * 2;
    t[POW2_BIAS - i] = t[POW2_BIAS - i + 1]! / 2;
  }
  return t;
})();

/** σ(x) = 1 / (1 + exp(−x)) with `expD`. */
export function sigmoidD(x: number): number {
  return 1 / (1 + expD(-x));
}

/** tanh(x) = sign(x)·(1 − e)/(1 + e), e = exp(−2|x|); the series x − x³/3 + 2x⁵/15 below |x| < 2⁻¹⁴. */
export function tanhD(x: number): number {
  const ax = x < 0 ? -x : x;
  const e = expD(-2 * ax);
  const big = (1 - e) / (1 + e);
  const x2 = x * x;
  const small = x - (x * x2) / 3 + (2 * x * x2 * x2) / 15;
  return ax < 6.103515625e-5 ? small : x < 0 ? -big : big;
}

const f32 = Math.fround;

/** TypeScript twins of native/gru.cc (contracts on `GruKernels`). */
export const typescriptGruKernels: GruKernels = {
  name: 'typescript',
  stepForward(B, H, mode, gx, gh, bhh, hPrev, att, valid, hOut, gates) {
    for (let b = 0; b < B; b++) {
      const x = b * 3 * H,
        o = b * H,
        s = b * 4 * H;
      if (valid !== null && valid[b] === 0) {
        for (let j = 0; j < H; j++) hOut[o + j] = hPrev[o + j]!;
        gates.fill(0, s, s + 4 * H);
        continue;
      }
      const a = att === null ? 1 : att[b]!;
      for (let j = 0; j < H; j++) {
        const u = f32(sigmoidD(gx[x + j]! + (gh[x + j]! + bhh[j]!)));
        const r = f32(sigmoidD(gx[x + H + j]! + (gh[x + H + j]! + bhh[H + j]!)));
        const c = f32(gh[x + 2 * H + j]! + bhh[2 * H + j]!);
        const n = f32(tanhD(gx[x + 2 * H + j]! + r * c));
        const w = mode === 0 ? u : mode === 1 ? a * u : a;
        hOut[o + j] = (1 - w) * hPrev[o + j]! + w * n;
        gates[s + j] = u;
        gates[s + H + j] = r;
        gates[s + 2 * H + j] = n;
        gates[s + 3 * H + j] = c;
      }
    }
  },
  stepBackward(B, H, mode, dh, gates, hPrev, att, valid, dgx, dgh, dhPrev, da) {
    for (let b = 0; b < B; b++) {
      const o = b * H,
        q = b * 3 * H,
        s = b * 4 * H;
      if (valid !== null && valid[b] === 0) {
        for (let j = 0; j < H; j++) dhPrev[o + j] = dh[o + j]!;
        dgh.fill(0, q, q + 3 * H);
        continue;
      }
      const a = att === null ? 1 : att[b]!;
      let daSum = 0;
      for (let j = 0; j < H; j++) {
        const g = dh[o + j]!,
          u = gates[s + j]!,
          r = gates[s + H + j]!,
          n = gates[s + 2 * H + j]!,
          c = gates[s + 3 * H + j]!,
          hp = hPrev[o + j]!;
        const w = mode === 0 ? u : mode === 1 ? a * u : a;
        const dn = g * w;
        const dw = g * (n - hp);
        const du = mode === 0 ? dw : mode === 1 ? dw * a : 0;
        daSum += mode === 1 ? dw * u : dw;
        const dpn = dn * (1 - n * n);
        const dpr = dpn * c * r * (1 - r);
        const dpu = du * u * (1 - u);
        dhPrev[o + j] = g * (1 - w);
        dgh[q + j] = dpu;
        dgh[q + H + j] = dpr;
        dgh[q + 2 * H + j] = dpn * r;
        if (dgx !== null) {
          dgx[q + j] = dgx[q + j]! + dpu;
          dgx[q + H + j] = dgx[q + H + j]! + dpr;
          dgx[q + 2 * H + j] = dgx[q + 2 * H + j]! + dpn;
        }
      }
      if (da !== null && mode !== 0) da[b] = da[b]! + daSum;
    }
  },
};
