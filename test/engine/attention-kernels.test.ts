/**
 * Head-attention kernels and ops: the TypeScript twins against the naive float64 formula,
 * the native kernels bit for bit against the twins, and gradient checks of `headAttention`
 * and `headWeightedSum` (alone, chained through a dropout, q = k shared, one field).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeAttentionKernels, typescriptAttentionKernels, type AttentionKernels } from '../../src/engine/kernels/attention.js';
import { dropout, headAttention, headWeightedSum } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const loaded = loadNativeAttentionKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native attention kernels unavailable: ${(loaded as { error: string }).error}` : false;

function inputs(seed: number, B: number, F: number, H: number, d: number, s: number) {
  const rng = new Rng(seed);
  const r = (n: number, sc: number) => Float32Array.from({ length: n }, () => rng.uniform(-sc, sc));
  const n = B * F * H * d,
    np = B * H * F * F;
  return { q: r(n, s), k: r(n, s), v: r(n, 1), g: r(n, 1), gp: r(np, 1), gq0: r(n, 1), gk0: r(n, 1), gv0: r(n, 1) };
}

function run(K: AttentionKernels, B: number, F: number, H: number, d: number, scale: number, s: ReturnType<typeof inputs>) {
  const np = B * H * F * F;
  const p = new Float32Array(np),
    out = new Float32Array(s.q.length),
    gp = new Float32Array(np);
  const gq = s.gq0.slice(),
    gk = s.gk0.slice(),
    gv = s.gv0.slice();
  K.scores(s.q, s.k, B, F, H, d, scale, p);
  K.weightedSum(p, s.v, B, F, H, d, out);
  K.weightedSumBackward(s.g, p, s.v, B, F, H, d, gp, gv);
  K.scoresBackward(s.gp, p, s.q, s.k, B, F, H, d, scale, gq, gk);
  return { p, out, gp, gq, gk, gv };
}

test('attention kernels (TypeScript): scores, weighted sum and both backwards equal the float64 formulas', () => {
  const [B, F, H, d, scale] = [2, 4, 3, 5, 0.4];
  const A = H * d;
  const s = inputs(3, B, F, H, d, 1.5);
  const r = run(typescriptAttentionKernels, B, F, H, d, scale, s);
  const at = (x: Float32Array, b: number, i: number, h: number, t: number) => x[(b * F + i) * A + h * d + t]!;
  const close = (a: number, e: number, what: string) => assert.ok(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}: ${a} vs naive ${e}`);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const P: number[][] = [];
      for (let i = 0; i < F; i++) {
        const sc = Array.from({ length: F }, (_, j) => scale * Array.from({ length: d }, (_, t) => at(s.q, b, i, h, t) * at(s.k, b, j, h, t)).reduce((x, y) => x + y));
        const z = sc.reduce((x, y) => x + Math.exp(y), 0);
        P.push(sc.map((x) => Math.exp(x) / z));
      }
      const pIdx = (i: number, j: number) => ((b * H + h) * F + i) * F + j;
      for (let i = 0; i < F; i++) {
        for (let j = 0; j < F; j++) {
          close(r.p[pIdx(i, j)]!, P[i]![j]!, `p[${b},${h},${i},${j}]`);
          close(r.gp[pIdx(i, j)]!, Array.from({ length: d }, (_, t) => at(s.g, b, i, h, t) * at(s.v, b, j, h, t)).reduce((x, y) => x + y), 'gp');
        }
        for (let t = 0; t < d; t++) {
          close(at(r.out, b, i, h, t), P[i]!.reduce((acc, pij, j) => acc + pij * at(s.v, b, j, h, t), 0), 'out');
          close(at(r.gv, b, i, h, t) - at(s.gv0, b, i, h, t), P.reduce((acc, row, ii) => acc + row[i]! * at(s.g, b, ii, h, t), 0), 'gv');
        }
      }
      // softmax backward through p (the kernel reads its float p, as the naive does here)
      const ds = P.map((_, i) => {
        const row = Array.from({ length: F }, (_, j) => r.p[pIdx(i, j)]!);
        const gr = Array.from({ length: F }, (_, j) => s.gp[pIdx(i, j)]!);
        const dot = row.reduce((acc, x, j) => acc + x * gr[j]!, 0);
        return row.map((x, j) => x * (gr[j]! - dot) * scale);
      });
      for (let i = 0; i < F; i++)
        for (let t = 0; t < d; t++) {
          close(at(r.gq, b, i, h, t) - at(s.gq0, b, i, h, t), ds[i]!.reduce((acc, w, j) => acc + w * at(s.k, b, j, h, t), 0), 'gq');
          close(at(r.gk, b, i, h, t) - at(s.gk0, b, i, h, t), ds.reduce((acc, row, ii) => acc + row[i]! * at(s.q, b, ii, h, t), 0), 'gk');
        }
    }
});

test('attention kernels: native equals TypeScript bit for bit', { skip }, () => {
  for (const [B, F, H, d, scale, mag] of [
    [1, 1, 1, 1, 1, 1],
    [3, 7, 3, 5, 0.3, 2],
    [5, 10, 4, 32, 1, 1],
    [2, 13, 2, 9, 1 / Math.sqrt(9), 40],
  ] as const) {
    const s = inputs(B * 131 + F, B, F, H, d, mag);
    const t = run(typescriptAttentionKernels, B, F, H, d, scale, s);
    const n = run(native!, B, F, H, d, scale, s);
    for (const key of ['p', 'out', 'gp', 'gq', 'gk', 'gv'] as const)
      assert.deepEqual(new Uint32Array(n[key].buffer), new Uint32Array(t[key].buffer), `${key} (B ${B}, F ${F}, H ${H}, d ${d})`);
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => native!.scores(f(11), f(12), 1, 2, 2, 3, 1, f(8)), /headScores: q has 11 elements, needs 12/);
  assert.throws(() => native!.weightedSum(f(8), f(12), 1, 2, 2, 3, f(12).subarray(1)), /headWeightedSum: out has 11 elements, needs 12/);
});

test('headAttention / headWeightedSum: gradient checks, through a dropout, with q = k, and with one field', () => {
  const rng = new Rng(8);
  const [B, F, H, d] = [2, 4, 2, 3];
  const q = randTensor(rng, [B, F, H * d]),
    k = randTensor(rng, [B, F, H * d]),
    v = randTensor(rng, [B, F, H * d]);
  gradcheck(([a, b]) => headAttention(a!, b!, H, 0.7), [q, k]);
  const alpha = headAttention(q, k, H, 1);
  const fixedAlpha = randTensor(rng, alpha.shape.slice(), 1);
  gradcheck(([a, b]) => headWeightedSum(a!, b!, H), [fixedAlpha, v]);
  gradcheck(([a, b, c]) => headWeightedSum(dropout(headAttention(a!, b!, H, 1), 0.3, new Rng(5), true), c!, H), [q, k, v]);
  gradcheck(([a, c]) => headWeightedSum(headAttention(a!, a!, H, 0.5), c!, H), [q, v]);
  const one = randTensor(rng, [3, 1, 4]);
  const w = headAttention(one, one, 2, 1);
  assert.deepEqual(Array.from(w.data), [1, 1, 1, 1, 1, 1]);
  gradcheck(([a, c]) => headWeightedSum(headAttention(a!, a!, 2, 1), c!, 2), [one, randTensor(rng, [3, 1, 4])]);
  assert.throws(() => headAttention(q, randTensor(rng, [B, F + 1, H * d]), H, 1), /q \[2,4,6\] and k \[2,5,6\] differ/);
  assert.throws(() => headWeightedSum(alpha, v, 3), /width 6 is not a multiple of heads|weights must be/);
});
