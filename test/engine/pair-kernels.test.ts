/**
 * Field-pair kernels (IPNN's inner products, FiBiNET's pair Hadamard products): the TypeScript
 * twins against explicit per-pair formulas, and the native kernels bit for bit against the twins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { hadamardPairs } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';
import { loadNativePairKernels, typescriptPairKernels, type PairKernels } from '../../src/engine/kernels/pairs.js';

const loaded = loadNativePairKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native pair kernels unavailable: ${(loaded as { error: string }).error}` : false;

/** [B, F, D] shapes: a single field (no pair), FGCNN's 32 × 10, odd sizes. */
const SHAPES = [
  [2, 1, 3],
  [3, 2, 1],
  [2, 5, 7],
  [3, 32, 10],
  [1, 9, 17],
] as const;

function rand(rng: Rng, n: number, s = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-s, s));
}

/** The pairs (i, j), i < j, in row-major order. */
function pairs(F: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < F; i++) for (let j = i + 1; j < F; j++) out.push([i, j]);
  return out;
}

function runInner(K: PairKernels, seed: number, [B, F, D]: readonly number[]) {
  const rng = new Rng(seed);
  const P = (F! * (F! - 1)) / 2;
  const x = rand(rng, B! * F! * D!),
    g = rand(rng, B! * P),
    gx = rand(rng, x.length, 0.1);
  const out = new Float32Array(B! * P).fill(NaN);
  K.innerProducts(x, B!, F!, D!, out);
  K.innerProductsBackward(x, g, B!, F!, D!, gx);
  return { x, g, out, gx };
}

function runHadamard(K: PairKernels, seed: number, [B, F, D]: readonly number[], grads: 'both' | 'a' | 'c') {
  const rng = new Rng(seed);
  const FA = F! + 1,
    FC = F!;
  const P = 2 * F! + 1; // indices repeat, so the backward sums several pairs into one row
  const li = Int32Array.from({ length: P }, () => Math.floor(rng.uniform(0, FA))),
    ri = Int32Array.from({ length: P }, () => Math.floor(rng.uniform(0, FC)));
  const a = rand(rng, B! * FA * D!),
    c = rand(rng, B! * FC * D!),
    g = rand(rng, B! * P * D!);
  const ga = grads === 'c' ? null : rand(rng, a.length, 0.1),
    gc = grads === 'a' ? null : rand(rng, c.length, 0.1);
  const ga0 = ga === null ? null : Float32Array.from(ga),
    gc0 = gc === null ? null : Float32Array.from(gc);
  const out = new Float32Array(B! * P * D!).fill(NaN);
  K.hadamardPairs(a, FA, li, c, FC, ri, B!, P, D!, out);
  K.hadamardPairsBackward(a, FA, li, c, FC, ri, B!, P, D!, g, ga, gc);
  return { FA, FC, P, li, ri, a, c, g, ga, gc, ga0, gc0, out };
}

test('pair kernels (TypeScript): inner products and their backward equal the per-pair formulas', () => {
  for (const shape of SHAPES) {
    const [B, F, D] = shape;
    const rng = new Rng(5);
    const x = rand(rng, B * F * D),
      g = rand(rng, (B * F * (F - 1)) / 2),
      gx = rand(rng, x.length, 0.1);
    const want = Float64Array.from(gx);
    const out = new Float32Array(g.length);
    typescriptPairKernels.innerProducts(x, B, F, D, out);
    typescriptPairKernels.innerProductsBackward(x, g, B, F, D, gx);
    const P = g.length / B;
    pairs(F).forEach(([i, j], p) => {
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += x[(b * F + i) * D + d]! * x[(b * F + j) * D + d]!;
        assert.ok(Math.abs(out[b * P + p]! - s) <= 1e-6 * Math.max(1, Math.abs(s)), `out[${b}, (${i}, ${j})] (shape ${shape})`);
        for (let d = 0; d < D; d++) {
          want[(b * F + i) * D + d]! += g[b * P + p]! * x[(b * F + j) * D + d]!;
          want[(b * F + j) * D + d]! += g[b * P + p]! * x[(b * F + i) * D + d]!;
        }
      }
    });
    want.forEach((w, k) => assert.ok(Math.abs(gx[k]! - w) <= 1e-5 * Math.max(1, Math.abs(w)), `gx[${k}]: ${gx[k]} vs ${w} (shape ${shape})`));
  }
});

test('pair kernels (TypeScript): pair Hadamard products and their backward equal the per-pair formulas', () => {
  for (const shape of SHAPES) {
    const [B, , D] = shape;
    const r = runHadamard(typescriptPairKernels, 7, shape, 'both');
    const wa = Float64Array.from(r.ga0!),
      wc = Float64Array.from(r.gc0!);
    for (let b = 0; b < B; b++)
      for (let p = 0; p < r.P; p++)
        for (let d = 0; d < D; d++) {
          const ia = (b * r.FA + r.li[p]!) * D + d,
            ic = (b * r.FC + r.ri[p]!) * D + d,
            o = (b * r.P + p) * D + d;
          assert.equal(r.out[o], Math.fround(r.a[ia]! * r.c[ic]!), `out[${o}] (shape ${shape})`);
          wa[ia]! += r.g[o]! * r.c[ic]!;
          wc[ic]! += r.g[o]! * r.a[ia]!;
        }
    wa.forEach((w, k) => assert.ok(Math.abs(r.ga![k]! - w) <= 1e-5, `ga[${k}] (shape ${shape})`));
    wc.forEach((w, k) => assert.ok(Math.abs(r.gc![k]! - w) <= 1e-5, `gc[${k}] (shape ${shape})`));
  }
  const one = Int32Array.of(0),
    f = (n: number) => new Float32Array(n);
  assert.throws(() => typescriptPairKernels.hadamardPairs(f(2), 1, Int32Array.of(1), f(2), 1, one, 1, 1, 2, f(2)), /li\[0\] = 1 is outside \[0, 1\)/);
});

test('pair kernels: native equals TypeScript bit for bit', { skip }, () => {
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (const shape of SHAPES) {
    const t = runInner(typescriptPairKernels, 3, shape),
      n = runInner(native!, 3, shape);
    assert.deepEqual(bits(n.out), bits(t.out), `inner products (shape ${shape})`);
    assert.deepEqual(bits(n.gx), bits(t.gx), `inner products backward (shape ${shape})`);
    for (const grads of ['both', 'a', 'c'] as const) {
      const th = runHadamard(typescriptPairKernels, 4, shape, grads),
        nh = runHadamard(native!, 4, shape, grads);
      assert.deepEqual(bits(nh.out), bits(th.out), `hadamard (shape ${shape})`);
      if (th.ga !== null) assert.deepEqual(bits(nh.ga!), bits(th.ga), `hadamard ga (shape ${shape}, ${grads})`);
      if (th.gc !== null) assert.deepEqual(bits(nh.gc!), bits(th.gc), `hadamard gc (shape ${shape}, ${grads})`);
    }
  }
  const f = (n: number) => new Float32Array(n),
    one = Int32Array.of(0);
  assert.throws(() => native!.innerProducts(f(5), 1, 2, 3, f(1)), /innerProducts: x has 5 elements, needs 6/);
  assert.throws(() => native!.innerProductsBackward(f(6), f(0), 1, 2, 3, f(6)), /innerProductsBackward: g has 0 elements, needs 1/);
  assert.throws(
    () => native!.hadamardPairs(f(2), 1, Int32Array.of(1), f(2), 1, one, 1, 1, 2, f(2)),
    /hadamardPairs: li\[0\] = 1 is outside \[0, 1\)/,
  );
  assert.throws(
    () => native!.hadamardPairsBackward(f(2), 1, one, f(2), 1, one, 1, 1, 2, f(2), f(1), null),
    /hadamardPairsBackward: ga has 1 elements, needs 2/,
  );
});

test('hadamardPairs op: a[li[p]] ⊙ c[ri[p]] per row, gradients match finite differences (repeated indices)', () => {
  const rng = new Rng(12);
  const [B, FA, FC, D] = [2, 3, 4, 5];
  const li = Int32Array.of(0, 2, 2, 1, 0),
    ri = Int32Array.of(3, 0, 3, 3, 1);
  const a = randTensor(rng, [B, FA, D], 1, false),
    c = randTensor(rng, [B, FC, D], 1, false);
  const out = hadamardPairs(a, li, c, ri);
  assert.deepEqual(out.shape, [B, li.length, D]);
  for (let b = 0; b < B; b++)
    for (let p = 0; p < li.length; p++)
      for (let d = 0; d < D; d++)
        assert.equal(out.data[(b * li.length + p) * D + d], Math.fround(a.data[(b * FA + li[p]!) * D + d]! * c.data[(b * FC + ri[p]!) * D + d]!));
  gradcheck(([x, y]) => hadamardPairs(x!, li, y!, ri), [randTensor(rng, [B, FA, D]), randTensor(rng, [B, FC, D])]);
  gradcheck(([x]) => hadamardPairs(x!, li, c, ri), [randTensor(rng, [B, FA, D])]);
  assert.throws(() => hadamardPairs(a, li, c, ri.subarray(1)), /hadamardPairs: 5 left and 4 right indices/);
  assert.throws(() => hadamardPairs(a, li, randTensor(rng, [B, FC, D + 1]), ri), /expected a \[B, FA, D\] and c \[B, FC, D\]/);
});
