/**
 * Dice kernels: the TypeScript twins against the float64 formula, and the native kernels bit
 * for bit against the twins (training and eval, odd shapes, large pre-activations, no α gradient).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeDiceKernels, typescriptDiceKernels, type DiceKernels } from '../../src/engine/kernels/dice.js';

const loaded = loadNativeDiceKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native Dice kernels unavailable: ${(loaded as { error: string }).error}` : false;

function inputs(seed: number, rows: number, c: number, scale: number) {
  const rng = new Rng(seed);
  const r = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
  return {
    x: r(rows * c, scale),
    g: r(rows * c, 1),
    mean: r(c, 1),
    invStd: Float32Array.from({ length: c }, () => rng.uniform(0.1, 3)),
    alpha: r(c, 1),
    gx0: r(rows * c, 1),
    ga0: r(c, 1),
  };
}

function run(k: DiceKernels, rows: number, c: number, s: ReturnType<typeof inputs>, training: boolean, withAlpha: boolean) {
  const p = new Float32Array(rows * c),
    out = new Float32Array(rows * c);
  k.forward(s.x, rows, c, s.mean, s.invStd, s.alpha, p, out);
  const gx = s.gx0.slice(),
    ga = s.ga0.slice();
  k.backward(s.g, s.x, p, rows, c, s.mean, s.invStd, s.alpha, training, gx, withAlpha ? ga : null);
  return { p, out, gx, ga };
}

test('Dice kernels (TypeScript): forward and backward equal the float64 formula', () => {
  const rows = 9,
    c = 5;
  const s = inputs(1, rows, c, 2);
  for (const training of [false, true]) {
    const r = run(typescriptDiceKernels, rows, c, s, training, true);
    const sumD = new Array<number>(c).fill(0),
      sumDX = new Array<number>(c).fill(0),
      ga = new Array<number>(c).fill(0);
    const gx: number[] = [];
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < c; j++) {
        const o = i * c + j,
          x = s.x[o]!,
          a = s.alpha[j]!;
        const p = 1 / (1 + Math.exp(-(x - s.mean[j]!) * s.invStd[j]!));
        assert.ok(Math.abs(r.out[o]! - x * (a + (1 - a) * p)) < 1e-6);
        const d = s.g[o]! * x * (1 - a) * p * (1 - p);
        gx[o] = s.gx0[o]! + s.g[o]! * (a + (1 - a) * p) + d * s.invStd[j]!;
        ga[j]! += s.g[o]! * x * (1 - p);
        sumD[j]! += d;
        sumDX[j]! += d * (x - s.mean[j]!) * s.invStd[j]!;
      }
    for (let o = 0; o < rows * c; o++) {
      const j = o % c,
        sd = s.invStd[j]!;
      const want = training ? gx[o]! - ((sd * sd * sumDX[j]!) / rows) * (s.x[o]! - s.mean[j]!) - (sd * sumD[j]!) / rows : gx[o]!;
      assert.ok(Math.abs(r.gx[o]! - want) < 1e-5, `gx[${o}] ${r.gx[o]} vs ${want} (training ${training})`);
    }
    for (let j = 0; j < c; j++) assert.ok(Math.abs(r.ga[j]! - s.ga0[j]! - ga[j]!) < 1e-5);
  }
});

test('Dice kernels: native equals TypeScript bit for bit', { skip }, () => {
  for (const [rows, c, scale] of [
    [1, 1, 1],
    [7, 3, 2],
    [129, 64, 50],
    [50, 17, 0.001],
  ] as const) {
    for (const training of [false, true]) {
      for (const withAlpha of [true, false]) {
        const s = inputs(rows * 31 + c, rows, c, scale);
        const t = run(typescriptDiceKernels, rows, c, s, training, withAlpha);
        const n = run(native!, rows, c, s, training, withAlpha);
        for (const key of ['p', 'out', 'gx', 'ga'] as const)
          assert.deepEqual(new Uint32Array(n[key].buffer), new Uint32Array(t[key].buffer), `${key} (rows ${rows}, c ${c}, training ${training})`);
      }
    }
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => native!.forward(f(5), 2, 3, f(3), f(3), f(3), f(6), f(6)), /diceForward: x has 5 elements, needs 6/);
  assert.throws(() => native!.backward(f(6), f(6), f(6), 2, 3, f(3), f(3), f(2), true, f(6), null), /diceBackward: alpha has 2 elements, needs 3/);
});
