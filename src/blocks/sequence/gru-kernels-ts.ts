import type { GruKernels } from './gru-kernels.js';
import { sigmoidD, tanhD } from '../../engine/kernels/expd.js';

export { expD, sigmoidD, tanhD } from '../../engine/kernels/expd.js';

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
