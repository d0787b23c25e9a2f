/**
 * The fused GRU step kernels: the TypeScript twins against a float64 reference built on
 * Math.exp / Math.tanh, the shared exp against Math.exp, and the native kernels bit for bit
 * against the twins (every mode, padded rows, large pre-activations); argument errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeGruKernels, typescriptGruKernels, type GruKernels, type GruModeCode } from '../../src/blocks/sequence/gru-kernels.js';
import { expD, tanhD } from '../../src/blocks/sequence/gru-kernels-ts.js';

const loaded = loadNativeGruKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native GRU kernels unavailable: ${(loaded as { error: string }).error}` : false;

function rand(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

/** Inputs of one step: B rows (row 1 padded), pre-activations up to ±scale (large scales saturate σ and tanh). */
function stepInputs(seed: number, B: number, H: number, scale: number) {
  const rng = new Rng(seed);
  const valid = Uint8Array.from({ length: B }, (_, b) => (b === 1 ? 0 : 1));
  return {
    gx: rand(rng, B * 3 * H, scale),
    gh: rand(rng, B * 3 * H, scale),
    bhh: rand(rng, 3 * H, 1),
    hPrev: rand(rng, B * H, 1),
    att: Float32Array.from({ length: B }, () => rng.uniform(0, 1)),
    dh: rand(rng, B * H, 1),
    dgx0: rand(rng, B * 3 * H, 1),
    da0: rand(rng, B, 1),
    valid,
  };
}

function runStep(k: GruKernels, mode: GruModeCode, B: number, H: number, s: ReturnType<typeof stepInputs>) {
  const hOut = new Float32Array(B * H),
    gates = new Float32Array(B * 4 * H);
  const att = mode === 0 ? null : s.att;
  k.stepForward(B, H, mode, s.gx, s.gh, s.bhh, s.hPrev, att, s.valid, hOut, gates);
  const dgx = s.dgx0.slice(),
    dgh = new Float32Array(B * 3 * H).fill(7),
    dhPrev = new Float32Array(B * H).fill(7),
    da = s.da0.slice();
  k.stepBackward(B, H, mode, s.dh, gates, s.hPrev, att, s.valid, dgx, dgh, dhPrev, mode === 0 ? null : da);
  return { hOut, gates, dgx, dgh, dhPrev, da };
}

test('expD and tanhD agree with Math.exp / Math.tanh to a few ulps of float64', () => {
  let worstExp = 0,
    worstTanh = 0;
  for (let i = 0; i <= 20000; i++) {
    const x = -60 + (120 * i) / 20000 + 1e-7 * (i % 7);
    worstExp = Math.max(worstExp, Math.abs(expD(x) / Math.exp(x) - 1));
    const y = x / 10;
    if (y !== 0) worstTanh = Math.max(worstTanh, Math.abs(tanhD(y) / Math.tanh(y) - 1));
  }
  for (const y of [1e-30, -3e-9, 1e-5, 6e-5, 6.2e-5, 1e-3]) worstTanh = Math.max(worstTanh, Math.abs(tanhD(y) / Math.tanh(y) - 1));
  assert.ok(worstExp < 1e-15, `exp relative error ${worstExp}`);
  assert.ok(worstTanh < 1e-11, `tanh relative error ${worstTanh}`);
  assert.equal(expD(-1e9), expD(-700));
  assert.ok(Number.isFinite(expD(1e9)) && expD(1e9) === expD(700));
});

for (const mode of [0, 1, 2] as const) {
  test(`GRU step (mode ${mode}): TypeScript twin equals the float64 formula; padded rows carry h′`, () => {
    const B = 5,
      H = 7;
    const s = stepInputs(10 + mode, B, H, 3);
    const r = runStep(typescriptGruKernels, mode, B, H, s);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    for (let b = 0; b < B; b++) {
      const a = mode === 0 ? 1 : s.att[b]!;
      let daRef = 0;
      for (let j = 0; j < H; j++) {
        const o = b * H + j,
          q = b * 3 * H + j;
        if (s.valid[b] === 0) {
          assert.equal(r.hOut[o], s.hPrev[o]);
          assert.equal(r.dhPrev[o], s.dh[o]);
          assert.equal(r.dgh[q], 0);
          assert.equal(r.dgx[q], s.dgx0[q]);
          continue;
        }
        const u = sig(s.gx[q]! + s.gh[q]! + s.bhh[j]!);
        const rr = sig(s.gx[q + H]! + s.gh[q + H]! + s.bhh[H + j]!);
        const c = s.gh[q + 2 * H]! + s.bhh[2 * H + j]!;
        const n = Math.tanh(s.gx[q + 2 * H]! + rr * c);
        const w = mode === 0 ? u : mode === 1 ? a * u : a;
        const h = (1 - w) * s.hPrev[o]! + w * n;
        assert.ok(Math.abs(r.hOut[o]! - h) < 1e-6, `h[${b}, ${j}] ${r.hOut[o]} vs ${h}`);
        const g = s.dh[o]!;
        const dw = g * (n - s.hPrev[o]!);
        const du = mode === 0 ? dw : mode === 1 ? dw * a : 0;
        daRef += mode === 1 ? dw * u : dw;
        const dpn = g * w * (1 - n * n);
        const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5, `${what}[${b}, ${j}] ${got} vs ${want}`);
        close(r.dhPrev[o]!, g * (1 - w), 'dhPrev');
        close(r.dgx[q]! - s.dgx0[q]!, du * u * (1 - u), 'dgx_u');
        close(r.dgx[q + H]! - s.dgx0[q + H]!, dpn * c * rr * (1 - rr), 'dgx_r');
        close(r.dgx[q + 2 * H]! - s.dgx0[q + 2 * H]!, dpn, 'dgx_n');
        close(r.dgh[q + 2 * H]!, dpn * rr, 'dgh_n');
        close(r.dgh[q]!, du * u * (1 - u), 'dgh_u');
      }
      if (mode !== 0 && s.valid[b] === 1) assert.ok(Math.abs(r.da[b]! - s.da0[b]! - daRef) < 1e-5, `da[${b}]`);
      if (mode !== 0 && s.valid[b] === 0) assert.equal(r.da[b], s.da0[b]);
    }
  });

  test(`GRU step (mode ${mode}): native equals TypeScript bit for bit (odd sizes, saturated pre-activations)`, { skip }, () => {
    for (const [B, H, scale] of [
      [1, 1, 1],
      [5, 7, 3],
      [33, 13, 40],
      [64, 32, 0.001],
    ] as const) {
      const s = stepInputs(100 * B + H, B, H, scale);
      const t = runStep(typescriptGruKernels, mode, B, H, s);
      const n = runStep(native!, mode, B, H, s);
      for (const key of ['hOut', 'gates', 'dgx', 'dgh', 'dhPrev', 'da'] as const) {
        assert.deepEqual(new Uint32Array(n[key].buffer), new Uint32Array(t[key].buffer), `${key} differs (B ${B}, H ${H}, scale ${scale})`);
      }
    }
  });
}

test('native GRU kernels: argument errors name the kernel and the argument', { skip }, () => {
  const k = native!;
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => k.stepForward(2, 3, 0, f(17), f(18), f(9), f(6), null, null, f(6), f(24)), /gruStepForward: gx has 17 elements, needs 18/);
  assert.throws(() => k.stepForward(2, 3, 1, f(18), f(18), f(9), f(6), null, null, f(6), f(24)), /gruStepForward: .*need att/);
  assert.throws(
    () => k.stepForward(2, 3, 3 as GruModeCode, f(18), f(18), f(9), f(6), null, null, f(6), f(24)),
    /gruStepForward: mode must be an integer in \[0, 2\]/,
  );
  assert.throws(
    () => k.stepBackward(2, 3, 0, f(6), f(24), f(6), null, new Int8Array(2) as unknown as Uint8Array, null, f(18), f(6), null),
    /gruStepBackward: valid must be a Uint8Array or null/,
  );
  assert.throws(
    () => k.stepBackward(2, 3, 0, f(6), f(23), f(6), null, null, null, f(18), f(6), null),
    /gruStepBackward: gates has 23 elements, needs 24/,
  );
});
