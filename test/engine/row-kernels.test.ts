/**
 * Row kernels (FGCNN's tanh, im2col / col2im and max pooling): the TypeScript twins against Math.tanh and
 * an explicit-index reference, and the native kernels bit for bit against the twins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { loadNativeRowKernels, typescriptRowKernels, type RowKernels } from '../../src/engine/kernels/rows.js';

const loaded = loadNativeRowKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native row kernels unavailable: ${(loaded as { error: string }).error}` : false;

const SHAPES = [
  [1, 1, 1, 1, 0],
  [3, 10, 1, 7, 3],
  [2, 5, 14, 7, 3],
  [4, 2, 3, 3, 1],
  [2, 1, 2, 7, 3],
  [3, 6, 2, 2, 0],
] as const;

function run(K: RowKernels, seed: number, [N, H, C, k, pad]: readonly number[]) {
  const rng = new Rng(seed);
  const Ho = H! + 2 * pad! - k! + 1;
  const x = Float32Array.from({ length: N! * H! * C! }, () => rng.uniform(-3, 3));
  const g = Float32Array.from({ length: N! * Ho * k! * C! }, () => rng.uniform(-1, 1));
  const out = new Float32Array(g.length).fill(NaN);
  const gx = Float32Array.from(x, (v) => v / 7);
  K.unfoldRows(x, N!, H!, C!, k!, pad!, out);
  K.foldRowsAdd(g, N!, H!, C!, k!, pad!, gx);
  const t = new Float32Array(x.length);
  K.tanhForward(x, x.length, t);
  // pooling with window k' = 2 and padding H mod 2 (FGCNN's layout), on x with ties
  const kp = 2,
    pp = H! % 2,
    Hp = Math.floor((H! + 2 * pp - kp) / kp) + 1;
  const xt = Float32Array.from(x, (v) => Math.round(v));
  const pool = new Float32Array(N! * Hp * C!),
    arg = new Int32Array(pool.length);
  K.maxPoolRows(xt, N!, H!, C!, kp, pp, Hp, pool, arg);
  const gt = Float32Array.from(x, (v) => v / 5); // tanh backward on top of an existing gradient
  K.tanhBackward(t, gx, x.length, gt);
  const gp = Float32Array.from(pool, (_, j) => (j % 7) - 3),
    gpool = Float32Array.from(x, (v) => v / 3);
  K.maxPoolRowsBackward(gp, arg, arg.length, gpool, gpool.length);
  return { x, g, out, gx, t, Ho, xt, pool, arg, Hp, pp, gt, gp, gpool };
}

test('row kernels (TypeScript): im2col / col2im equal the index formula, tanh equals Math.tanh', () => {
  for (const shape of SHAPES) {
    const [N, H, C, k, pad] = shape;
    const r = run(typescriptRowKernels, 9, shape);
    const want = Float32Array.from(r.x, (v) => v / 7);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < r.Ho; h++)
        for (let t = 0; t < k; t++)
          for (let c = 0; c < C; c++) {
            const row = h + t - pad,
              o = ((n * r.Ho + h) * k + t) * C + c;
            const inside = row >= 0 && row < H;
            assert.equal(r.out[o], inside ? r.x[(n * H + row) * C + c] : 0, `out[${o}] (shape ${shape})`);
            if (inside) want[(n * H + row) * C + c] = Math.fround(want[(n * H + row) * C + c]! + r.g[o]!);
          }
    assert.deepEqual(r.gx, want, `gx (shape ${shape})`);
    for (let i = 0; i < r.x.length; i++) assert.ok(Math.abs(r.t[i]! - Math.tanh(r.x[i]!)) < 1e-7, `tanh(${r.x[i]})`);
    for (let i = 0; i < r.x.length; i++) {
      const want = r.x[i]! / 5 + r.gx[i]! * (1 - r.t[i]! * r.t[i]!);
      assert.ok(Math.abs(r.gt[i]! - want) < 1e-6, `tanh backward [${i}]`);
    }
    const wantPool = Float64Array.from(r.x, (v) => Math.fround(v / 3));
    r.arg.forEach((a, j) => (wantPool[a]! += r.gp[j]!));
    wantPool.forEach((w, i) => assert.ok(Math.abs(r.gpool[i]! - w) < 1e-5, `max-pool backward [${i}]`));
    for (let n = 0; n < N; n++)
      for (let i = 0; i < r.Hp; i++)
        for (let c = 0; c < C; c++) {
          const rows = [2 * i - r.pp, 2 * i - r.pp + 1].filter((q) => q >= 0 && q < H);
          const vals = rows.map((q) => r.xt[(n * H + q) * C + c]!);
          const best = vals.indexOf(Math.max(...vals));
          const o = (n * r.Hp + i) * C + c;
          assert.equal(r.pool[o], vals[best], `pool[${o}]`);
          assert.equal(r.arg[o], (n * H + rows[best]!) * C + c, `arg[${o}] (first maximum)`);
        }
  }
  const tiny = Float32Array.of(1e-6, -3e-5, 0, -0, 20, -20, 1e-30),
    out = new Float32Array(tiny.length);
  typescriptRowKernels.tanhForward(tiny, tiny.length, out);
  // the series below 2⁻¹⁴ and the limits ±1 round to Math.tanh's float (−0 may come out +0)
  tiny.forEach((v, i) => assert.ok(out[i] === Math.fround(Math.tanh(v)), `tanh(${v}) = ${out[i]}`));
});

test('row kernels: native equals TypeScript bit for bit', { skip }, () => {
  for (const shape of SHAPES) {
    const t = run(typescriptRowKernels, 11, shape),
      n = run(native!, 11, shape);
    for (const key of ['out', 'gx', 't', 'pool', 'arg', 'gt', 'gpool'] as const)
      assert.deepEqual(new Uint32Array(n[key].buffer), new Uint32Array(t[key].buffer), `${key} (shape ${shape})`);
  }
  // the vectorized native tanh on the series range, the limits and exp's clamp (|2x| > 700)
  const edge = Float32Array.of(1e-6, -3e-5, 6.1e-5, 6.2e-5, 0, -0, 0.5, 20, -20, 400, -400, 1e-30, -1e-38);
  const tn = new Float32Array(edge.length),
    tt = new Float32Array(edge.length);
  native!.tanhForward(edge, edge.length, tn);
  typescriptRowKernels.tanhForward(edge, edge.length, tt);
  assert.deepEqual(new Uint32Array(tn.buffer), new Uint32Array(tt.buffer), 'tanh at the edges');
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => native!.unfoldRows(f(5), 2, 3, 1, 3, 1, f(18)), /unfoldRows: x has 5 elements, needs 6/);
  assert.throws(() => native!.foldRowsAdd(f(6), 1, 2, 1, 5, 1, f(2)), /foldRowsAdd: needs k ≥ 1 and H \+ 2·pad − k \+ 1 ≥ 1/);
  assert.throws(
    () => native!.maxPoolRows(f(4), 1, 4, 1, 2, 2, 3, f(3), new Int32Array(3)),
    /maxPoolRows: every pooling window must hold at least one row/,
  );
  assert.throws(() => native!.maxPoolRowsBackward(f(2), Int32Array.of(0, 4), 2, f(4), 4), /maxPoolRowsBackward: arg\[1\] = 4 is outside \[0, 4\)/);
  assert.throws(() => native!.tanhBackward(f(3), f(2), 3, f(3)), /tanhBackward: g has 2 elements, needs 3/);
});
