/**
 * CIN kernels (xDeepFM's Hadamard products): the TypeScript twins against the explicit
 * formulas, native bit for bit against the twins (both layouts, aliased gradients), and
 * finite-difference gradient checks of the ops `cinOuter` / `cinDots`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { cinDots, cinOuter, transpose } from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';
import { loadNativeCinKernels, typescriptCinKernels, type CinKernels } from '../../src/engine/kernels/cin.js';

const loaded = loadNativeCinKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native CIN kernels unavailable: ${(loaded as { error: string }).error}` : false;

/** [B, F, H, D]: a single field and map, odd sizes, the BARS Frappe shape (F = H = D = 10). */
const SHAPES = [
  [2, 1, 1, 3],
  [3, 2, 5, 1],
  [2, 5, 7, 3],
  [3, 10, 10, 10],
  [1, 9, 17, 4],
] as const;

function rand(rng: Rng, n: number, s = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-s, s));
}

/** Runs all four kernels on fresh random inputs; `alias`: xk = x0 (H = F, field-major) with one shared gradient. */
function run(K: CinKernels, seed: number, [B, F, H0, D]: readonly number[], dimMajor: boolean, alias: boolean) {
  const rng = new Rng(seed);
  const H = alias ? F! : H0!;
  const x0 = rand(rng, B! * F! * D!),
    xk = alias ? x0 : rand(rng, B! * H * D!);
  const gz = rand(rng, B! * D! * F! * H),
    g = rand(rng, B! * F! * H);
  const gx0 = rand(rng, x0.length, 0.1),
    gxk = alias ? gx0 : rand(rng, xk.length, 0.1);
  const gx0b = Float32Array.from(gx0),
    gxkb = alias ? gx0b : Float32Array.from(gxk);
  const z = new Float32Array(gz.length).fill(NaN),
    out = new Float32Array(g.length).fill(NaN);
  const start = { gx0: Float32Array.from(gx0), gxk: Float32Array.from(gxk) };
  K.cinOuter(x0, xk, dimMajor, B!, F!, H, D!, z);
  K.cinOuterBackward(x0, xk, dimMajor, B!, F!, H, D!, gz, gx0, gxk);
  K.cinDots(x0, xk, dimMajor, B!, F!, H, D!, out);
  K.cinDotsBackward(x0, xk, dimMajor, B!, F!, H, D!, g, gx0b, gxkb);
  return { H, x0, xk, gz, g, z, out, gx0, gxk, gx0b, gxkb, start };
}

test('CIN kernels (TypeScript): Hadamard products, their d-sums and both backwards equal the explicit formulas', () => {
  for (const shape of SHAPES) {
    const [B, F, , D] = shape;
    for (const dimMajor of [false, true]) {
      const r = run(typescriptCinKernels, 5, shape, dimMajor, false);
      const H = r.H;
      const xkAt = (b: number, j: number, d: number) => r.xk[dimMajor ? (b * D + d) * H + j : (b * H + j) * D + d]!;
      const xkIdx = (b: number, j: number, d: number) => (dimMajor ? (b * D + d) * H + j : (b * H + j) * D + d);
      const w0 = Float64Array.from(r.start.gx0),
        wk = Float64Array.from(r.start.gxk),
        w0b = Float64Array.from(r.start.gx0),
        wkb = Float64Array.from(r.start.gxk);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < F; i++)
          for (let j = 0; j < H; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) {
              const x = r.x0[(b * F + i) * D + d]!,
                k = xkAt(b, j, d);
              const zi = (b * D + d) * F * H + i * H + j;
              assert.equal(r.z[zi], Math.fround(x * k), `z[${zi}] (shape ${shape}, dimMajor ${dimMajor})`);
              s += x * k;
              w0[(b * F + i) * D + d]! += r.gz[zi]! * k;
              wk[xkIdx(b, j, d)]! += r.gz[zi]! * x;
              w0b[(b * F + i) * D + d]! += r.g[(b * F + i) * H + j]! * k;
              wkb[xkIdx(b, j, d)]! += r.g[(b * F + i) * H + j]! * x;
            }
            const o = r.out[(b * F + i) * H + j]!;
            assert.ok(Math.abs(o - s) <= 1e-6 * Math.max(1, Math.abs(s)), `dots[${b}, ${i}, ${j}]: ${o} vs ${s}`);
          }
      const close = (got: Float32Array, want: Float64Array, what: string) =>
        want.forEach((w, k) =>
          assert.ok(
            Math.abs(got[k]! - w) <= 1e-5 * Math.max(1, Math.abs(w)),
            `${what}[${k}]: ${got[k]} vs ${w} (shape ${shape}, dimMajor ${dimMajor})`,
          ),
        );
      close(r.gx0, w0, 'outer gx0');
      close(r.gxk, wk, 'outer gxk');
      close(r.gx0b, w0b, 'dots gx0');
      close(r.gxkb, wkb, 'dots gxk');
    }
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => typescriptCinKernels.cinDots(f(5), f(6), false, 1, 2, 2, 3, f(4)), /cinDots: x0 has 5 elements, needs 6/);
});

test('CIN kernels: native equals TypeScript bit for bit (both layouts, x0 = xk with one shared gradient)', { skip }, () => {
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (const shape of SHAPES) {
    for (const [dimMajor, alias] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const t = run(typescriptCinKernels, 3, shape, dimMajor, alias),
        n = run(native!, 3, shape, dimMajor, alias);
      const what = `shape ${shape}, dimMajor ${dimMajor}, alias ${alias}`;
      assert.deepEqual(bits(n.z), bits(t.z), `cinOuter (${what})`);
      assert.deepEqual(bits(n.out), bits(t.out), `cinDots (${what})`);
      assert.deepEqual(bits(n.gx0), bits(t.gx0), `cinOuterBackward gx0 (${what})`);
      assert.deepEqual(bits(n.gxk), bits(t.gxk), `cinOuterBackward gxk (${what})`);
      assert.deepEqual(bits(n.gx0b), bits(t.gx0b), `cinDotsBackward gx0 (${what})`);
      assert.deepEqual(bits(n.gxkb), bits(t.gxkb), `cinDotsBackward gxk (${what})`);
    }
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => native!.cinOuter(f(6), f(6), false, 1, 2, 2, 3, f(11)), /cinOuter: z has 11 elements, needs 12/);
  assert.throws(() => native!.cinDotsBackward(f(6), f(5), true, 1, 2, 2, 3, f(4), null, null), /cinDotsBackward: xk has 5 elements, needs 6/);
});

test('cinOuter / cinDots ops: gradient checks in both layouts and with x0 = xk; layout mismatches are refused', () => {
  const rng = new Rng(11);
  const [B, F, H, D] = [2, 3, 4, 5];
  const x0 = randTensor(rng, [B, F, D]),
    xkF = randTensor(rng, [B, H, D]),
    xkD = randTensor(rng, [B, D, H]);
  for (const op of [cinOuter, cinDots]) {
    gradcheck(([a, k]) => op(a!, k!, 'fields'), [x0, xkF]);
    gradcheck(([a, k]) => op(a!, k!, 'dims'), [x0, xkD]);
    gradcheck(([a]) => op(a!, a!, 'fields'), [x0]);
    // 'dims' reads [B, D, H]: the same values as the field-major tensor transposed.
    const viaDims = op(x0, transpose(xkF, [0, 2, 1]), 'dims').data,
      viaFields = op(x0, xkF, 'fields').data;
    assert.deepEqual(Array.from(viaDims), Array.from(viaFields));
  }
  assert.throws(() => cinOuter(x0, randTensor(rng, [B, H, D + 1]), 'fields'), /does not match x0's D = 5/);
});
