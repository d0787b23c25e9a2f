/**
 * Fused residual + layer norm (+ ReLU): the op against the unfused composition
 * relu(layerNorm(add(y, r))) and finite differences, and the native kernels bit for bit
 * against the TypeScript twins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/tensor.js';
import { add, addLayerNorm, layerNorm, mul, relu, sum } from '../../src/engine/ops/index.js';
import { loadNativeLayerNormKernels, typescriptLayerNormKernels, type LayerNormKernels } from '../../src/engine/kernels/layer-norm.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const loaded = loadNativeLayerNormKernels();
const native = 'kernels' in loaded ? loaded.kernels : null;
const skip = native === null ? `native layer-norm kernels unavailable: ${(loaded as { error: string }).error}` : false;

test('addLayerNorm equals relu(layerNorm(y + r)) and layerNorm(y), with and without γ/β', () => {
  const rng = new Rng(3);
  const y = randTensor(rng, [4, 3, 6], 2, false),
    r = randTensor(rng, [4, 3, 6], 2, false);
  const gamma = randTensor(rng, [6], 1, false),
    beta = randTensor(rng, [6], 1, false);
  const close = (a: Tensor, b: Tensor, what: string) =>
    a.data.forEach((v, i) => assert.ok(Math.abs(v - b.data[i]!) <= 1e-5 * Math.max(1, Math.abs(b.data[i]!)), `${what}[${i}]: ${v} vs ${b.data[i]}`));
  close(addLayerNorm(y, r, gamma, beta, { relu: true }), relu(layerNorm(add(y, r), gamma, beta)), 'residual + LN + ReLU');
  close(addLayerNorm(y, null, gamma, beta), layerNorm(y, gamma, beta), 'LN');
  close(addLayerNorm(y, r, null, null, { eps: 0.1 }), layerNorm(add(y, r), null, null, 0.1), 'LN without affine');
  assert.throws(() => addLayerNorm(y, randTensor(rng, [4, 6], 1, false), null, null), /the residual must have y's shape \[4,3,6\]/);
  assert.throws(() => addLayerNorm(y, r, randTensor(rng, [5], 1, false), null), /gamma must be \[6\]/);
});

test('addLayerNorm: gradients match finite differences (no ReLU) and the unfused composition (ReLU)', () => {
  const rng = new Rng(4);
  const ins = [randTensor(rng, [5, 7], 2), randTensor(rng, [5, 7], 2), randTensor(rng, [7], 1), randTensor(rng, [7], 1)];
  gradcheck(([y, r, g, b]) => addLayerNorm(y!, r!, g!, b!), ins, { tol: 5e-3 });
  gradcheck(([y, g]) => addLayerNorm(y!, null, g!, null), [randTensor(rng, [3, 5], 2), randTensor(rng, [5], 1)], { tol: 5e-3 });
  // With the ReLU, finite differences straddle its kink: compare with relu(layerNorm(y + r)) analytically.
  const w = randTensor(rng, [5, 7], 1, false);
  const grads = (f: () => Tensor) => {
    for (const t of ins) t.grad = null;
    sum(mul(f(), w)).backward();
    return ins.map((t) => Float32Array.from(t.grad!));
  };
  const fused = grads(() => addLayerNorm(ins[0]!, ins[1]!, ins[2]!, ins[3]!, { relu: true }));
  const plain = grads(() => relu(layerNorm(add(ins[0]!, ins[1]!), ins[2]!, ins[3]!)));
  fused.forEach((g, k) => g.forEach((v, i) => assert.ok(Math.abs(v - plain[k]![i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `input ${k} [${i}]`)));
});

function run(K: LayerNormKernels, seed: number, rows: number, C: number, withR: boolean, affine: boolean, relu: boolean) {
  const rng = new Rng(seed);
  const f = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
  const y = f(rows * C, 3),
    r = withR ? f(rows * C, 3) : null;
  const gamma = affine ? f(C, 1.5) : null,
    beta = affine ? f(C, 1) : null;
  const out = new Float32Array(rows * C),
    mean = new Float64Array(rows),
    inv = new Float64Array(rows);
  K.addLayerNorm(y, r, gamma, beta, rows, C, 1e-5, relu, out, mean, inv);
  const g = f(rows * C, 1);
  const gy = f(rows * C, 0.1),
    gr = withR ? f(rows * C, 0.1) : null,
    gg = affine ? f(C, 0.1) : null,
    gb = affine ? f(C, 0.1) : null;
  K.addLayerNormBackward(g, out, y, r, gamma, mean, inv, rows, C, relu, gy, gr, gg, gb);
  return { out, mean, inv, gy, gr, gg, gb };
}

test('layer-norm kernels: native equals TypeScript bit for bit', { skip }, () => {
  const bits = (a: Float32Array | Float64Array | null) => (a === null ? null : [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)]);
  for (const [rows, C] of [
    [1, 1],
    [3, 7],
    [40, 128],
    [5, 33],
  ] as const) {
    for (const [withR, affine, relu] of [
      [true, true, true],
      [false, true, false],
      [true, false, true],
    ] as const) {
      const t = run(typescriptLayerNormKernels, 9, rows, C, withR, affine, relu),
        n = run(native!, 9, rows, C, withR, affine, relu);
      for (const key of ['out', 'mean', 'inv', 'gy', 'gr', 'gg', 'gb'] as const)
        assert.deepEqual(bits(n[key]), bits(t[key]), `${key} (rows ${rows}, C ${C}, residual ${withR}, affine ${affine}, relu ${relu})`);
    }
  }
  const f = (n: number) => new Float32Array(n);
  assert.throws(
    () => native!.addLayerNorm(f(5), null, null, null, 2, 3, 1e-5, false, f(6), new Float64Array(2), new Float64Array(2)),
    /addLayerNorm: y has 5 elements, needs 6/,
  );
  assert.throws(
    () => native!.addLayerNorm(f(6), null, null, null, 2, 3, 1e-5, false, f(6), new Float64Array(1), new Float64Array(2)),
    /addLayerNorm: mean has 1 elements, needs 2/,
  );
});
