/**
 * Head-attention kernels and ops: the TypeScript twins against the naive float64 formula,
 * the native kernels bit for bit against the twins, and gradient checks of `headAttention`
 * and `headWeightedSum` (alone, chained through a dropout, q = k shared, one field); the same
 * for AFM's fused score MLP `reluMlpScore` (against linear → relu → linear).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeAttentionKernels, typescriptAttentionKernels, type AttentionKernels } from '../../src/engine/kernels/attention.js';
import { dropout, headAttention, headWeightedSum, linear, relu, reluMlpScore, reshape } from '../../src/engine/ops/index.js';
import { noGrad } from '../../src/engine/tensor.js';
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
        const sc = Array.from(
          { length: F },
          (_, j) => scale * Array.from({ length: d }, (_, t) => at(s.q, b, i, h, t) * at(s.k, b, j, h, t)).reduce((x, y) => x + y),
        );
        const z = sc.reduce((x, y) => x + Math.exp(y), 0);
        P.push(sc.map((x) => Math.exp(x) / z));
      }
      const pIdx = (i: number, j: number) => ((b * H + h) * F + i) * F + j;
      for (let i = 0; i < F; i++) {
        for (let j = 0; j < F; j++) {
          close(r.p[pIdx(i, j)]!, P[i]![j]!, `p[${b},${h},${i},${j}]`);
          close(
            r.gp[pIdx(i, j)]!,
            Array.from({ length: d }, (_, t) => at(s.g, b, i, h, t) * at(s.v, b, j, h, t)).reduce((x, y) => x + y),
            'gp',
          );
        }
        for (let t = 0; t < d; t++) {
          close(
            at(r.out, b, i, h, t),
            P[i]!.reduce((acc, pij, j) => acc + pij * at(s.v, b, j, h, t), 0),
            'out',
          );
          close(
            at(r.gv, b, i, h, t) - at(s.gv0, b, i, h, t),
            P.reduce((acc, row, ii) => acc + row[i]! * at(s.g, b, ii, h, t), 0),
            'gv',
          );
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
          close(
            at(r.gq, b, i, h, t) - at(s.gq0, b, i, h, t),
            ds[i]!.reduce((acc, w, j) => acc + w * at(s.k, b, j, h, t), 0),
            'gq',
          );
          close(
            at(r.gk, b, i, h, t) - at(s.gk0, b, i, h, t),
            ds.reduce((acc, row, ii) => acc + row[i]! * at(s.q, b, ii, h, t), 0),
            'gk',
          );
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

function mlpInputs(seed: number, R: number, D: number, A: number) {
  const rng = new Rng(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  return { v: r(R * D), W: r(D * A), b: r(A), h: r(A), gs: r(R), gv0: r(R * D), gW0: r(D * A), gb0: r(A), gh0: r(A) };
}

function runMlp(K: AttentionKernels, R: number, D: number, A: number, m: ReturnType<typeof mlpInputs>, withBias: boolean) {
  const s = new Float32Array(R);
  const gv = m.gv0.slice(),
    gW = m.gW0.slice(),
    gb = m.gb0.slice(),
    gh = m.gh0.slice();
  const b = withBias ? m.b : null;
  K.scoreMlp(m.v, m.W, b, m.h, R, D, A, s);
  K.scoreMlpBackward(m.gs, m.v, m.W, b, m.h, R, D, A, gv, gW, withBias ? gb : null, gh);
  return { s, gv, gW, gb, gh };
}

test('scoreMlp kernels (TypeScript): s = hᵀReLU(Wv + b) and its gradients equal the float64 formula', () => {
  const [R, D, A] = [6, 3, 7];
  const m = mlpInputs(4, R, D, A);
  const r = runMlp(typescriptAttentionKernels, R, D, A, m, true);
  const close = (a: number, e: number, what: string) => assert.ok(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}: ${a} vs naive ${e}`);
  const gW = new Array<number>(D * A).fill(0),
    gb = new Array<number>(A).fill(0),
    gh = new Array<number>(A).fill(0);
  for (let i = 0; i < R; i++) {
    const z = Array.from(
      { length: A },
      (_, a) => m.b[a]! + Array.from({ length: D }, (_, d) => m.v[i * D + d]! * m.W[d * A + a]!).reduce((x, y) => x + y),
    );
    close(
      r.s[i]!,
      z.reduce((acc, za, a) => acc + m.h[a]! * Math.max(0, za), 0),
      `s[${i}]`,
    );
    const gz = z.map((za, a) => (za > 0 ? m.gs[i]! * m.h[a]! : 0));
    for (let d = 0; d < D; d++) {
      close(
        r.gv[i * D + d]! - m.gv0[i * D + d]!,
        gz.reduce((acc, g, a) => acc + g * m.W[d * A + a]!, 0),
        'gv',
      );
      for (let a = 0; a < A; a++) gW[d * A + a]! += m.v[i * D + d]! * gz[a]!;
    }
    for (let a = 0; a < A; a++) {
      gb[a]! += gz[a]!;
      gh[a]! += m.gs[i]! * Math.max(0, z[a]!);
    }
  }
  for (let i = 0; i < D * A; i++) close(r.gW[i]! - m.gW0[i]!, gW[i]!, 'gW');
  for (let a = 0; a < A; a++) {
    close(r.gb[a]! - m.gb0[a]!, gb[a]!, 'gb');
    close(r.gh[a]! - m.gh0[a]!, gh[a]!, 'gh');
  }
});

test('scoreMlp kernels: native equals TypeScript bit for bit', { skip }, () => {
  for (const [R, D, A] of [
    [1, 1, 1],
    [9, 3, 7],
    [180, 10, 128],
    [33, 16, 6],
  ] as const) {
    for (const withBias of [true, false]) {
      const m = mlpInputs(R * 7 + A, R, D, A);
      const t = runMlp(typescriptAttentionKernels, R, D, A, m, withBias);
      const n = runMlp(native!, R, D, A, m, withBias);
      for (const key of ['s', 'gv', 'gW', 'gb', 'gh'] as const)
        assert.deepEqual(new Uint32Array(n[key].buffer), new Uint32Array(t[key].buffer), `${key} (R ${R}, D ${D}, A ${A}, bias ${withBias})`);
    }
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => native!.scoreMlp(f(6), f(5), null, f(3), 3, 2, 3, f(3)), /scoreMlp: W has 5 elements, needs 6/);
});

test('reluMlpScore: equals linear → relu → linear and passes gradient checks (with and without bias)', () => {
  const rng = new Rng(12);
  const [B, P, D, A] = [3, 4, 5, 6];
  const v = randTensor(rng, [B, P, D]),
    w = randTensor(rng, [D, A]),
    b = randTensor(rng, [A]),
    h = randTensor(rng, [A, 1]);
  const fused = noGrad(() => reluMlpScore(v, w, b, h));
  const composed = noGrad(() => linear(relu(linear(reshape(v, [B * P, D]), w, b)), h, null));
  assert.deepEqual(fused.shape, [B, P]);
  for (let i = 0; i < B * P; i++) assert.ok(Math.abs(fused.data[i]! - composed.data[i]!) < 1e-5, `row ${i}: ${fused.data[i]} vs ${composed.data[i]}`);
  gradcheck(([x, ww, bb, hh]) => reluMlpScore(x!, ww!, bb!, hh!), [v, w, b, h]);
  gradcheck(([x, ww, hh]) => reluMlpScore(x!, ww!, null, hh!), [v, w, h]);
  assert.throws(() => reluMlpScore(v, randTensor(rng, [D + 1, A]), b, h), /expected v \[..., D\] and W \[D, A\]/);
  assert.throws(() => reluMlpScore(v, w, b, randTensor(rng, [A + 1])), /h must be \[6\] or \[6, 1\]/);
});
