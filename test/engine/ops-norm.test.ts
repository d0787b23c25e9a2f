import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { batchNorm, layerNorm, dice } from '../../src/engine/ops/norm.js';
import { dropout } from '../../src/engine/ops/dropout.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Float64 reference batch norm over the rows of [rows, c]. */
function refBatchNorm(x: ArrayLike<number>, c: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): number[] {
  const rows = x.length / c;
  const out: number[] = new Array(x.length);
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (let i = 0; i < rows; i++) m += x[i * c + j]!;
    m /= rows;
    let v = 0;
    for (let i = 0; i < rows; i++) v += (x[i * c + j]! - m) ** 2;
    v /= rows;
    for (let i = 0; i < rows; i++) out[i * c + j] = (gamma[j]! * (x[i * c + j]! - m)) / Math.sqrt(v + eps) + beta[j]!;
  }
  return out;
}

test('batchNorm training forward matches a float64 reference, stats over all leading axes', () => {
  const rng = new Rng(1);
  const x = randTensor(rng, [2, 3, 4], 2, false);
  const gamma = randTensor(rng, [4], 1, false);
  const beta = randTensor(rng, [4], 1, false);
  const rm = new Float32Array(4),
    rv = new Float32Array(4).fill(1);
  const y = batchNorm(x, gamma, beta, { training: true, runningMean: rm, runningVar: rv });
  assert.deepEqual(y.shape, [2, 3, 4]);
  close(y.data, refBatchNorm(x.data, 4, gamma.data, beta.data, 1e-5), 1e-5, 'y');
});

test('batchNorm running statistics after two updates (hand-computed, momentum 0.1, unbiased variance)', () => {
  const rm = new Float32Array([0, 0]),
    rv = new Float32Array([1, 1]);
  const opts = { training: true, runningMean: rm, runningVar: rv };
  // batch 1: means [3, 5]; unbiased variances [4, 13]
  batchNorm(Tensor.from([1, 2, 3, 4, 5, 9], [3, 2]), null, null, opts);
  close(rm, [0.3, 0.5], 1e-6, 'mean after 1');
  close(rv, [1.3, 2.2], 1e-6, 'var after 1');
  // batch 2: means [1, -1]; unbiased variances [2, 2]
  batchNorm(Tensor.from([0, 0, 2, -2], [2, 2]), null, null, opts);
  close(rm, [0.37, 0.35], 1e-6, 'mean after 2');
  close(rv, [1.37, 2.18], 1e-6, 'var after 2');
});

test('batchNorm eval uses the running statistics and leaves them unchanged', () => {
  const rm = new Float32Array([1, -2]),
    rv = new Float32Array([4, 0.25]);
  const gamma = Tensor.from([2, 1]),
    beta = Tensor.from([0.5, 0]);
  const y = batchNorm(Tensor.from([3, -2, 1, 0], [2, 2]), gamma, beta, { training: false, runningMean: rm, runningVar: rv, eps: 0 });
  close(y.data, [(2 * (3 - 1)) / 2 + 0.5, 0, 0.5, (0 + 2) / 0.5], 1e-6, 'y');
  close(rm, [1, -2], 0, 'rm');
  close(rv, [4, 0.25], 0, 'rv');
});

test('batchNorm gradients: training (x, gamma, beta), eval, no affine', () => {
  const rng = new Rng(2);
  for (const shape of [
    [6, 3],
    [2, 4, 3],
  ]) {
    const x = randTensor(rng, shape, 2);
    const gamma = randTensor(rng, [3]);
    const beta = randTensor(rng, [3]);
    const rm = new Float32Array(3),
      rv = new Float32Array(3).fill(1);
    gradcheck(([a, g, b]) => batchNorm(a!, g!, b!, { training: true, runningMean: rm, runningVar: rv }), [x, gamma, beta]);
    gradcheck(([a]) => batchNorm(a!, null, null, { training: true, runningMean: rm, runningVar: rv }), [x]);
    const em = Float32Array.from([0.3, -0.2, 0.1]),
      ev = Float32Array.from([0.5, 1.5, 2]);
    gradcheck(([a, g, b]) => batchNorm(a!, g!, b!, { training: false, runningMean: em, runningVar: ev }), [x, gamma, beta]);
  }
});

test('batchNorm rejects bad shapes and a single row in training', () => {
  const rm = new Float32Array(3),
    rv = new Float32Array(3);
  assert.throws(
    () => batchNorm(Tensor.zeros([4, 3]), Tensor.zeros([2]), null, { training: true, runningMean: rm, runningVar: rv }),
    /gamma must be \[3\]/,
  );
  assert.throws(
    () => batchNorm(Tensor.zeros([4, 3]), null, null, { training: true, runningMean: new Float32Array(2), runningVar: rv }),
    /runningMean has 2 values/,
  );
  assert.throws(
    () => batchNorm(Tensor.zeros([1, 3]), null, null, { training: true, runningMean: rm, runningVar: rv }),
    /more than one value per channel/,
  );
  assert.throws(() => batchNorm(Tensor.zeros([3]), null, null, { training: true, runningMean: rm, runningVar: rv }), /rank ≥ 2/);
});

test('layerNorm forward matches a float64 reference', () => {
  const rng = new Rng(3);
  const x = randTensor(rng, [3, 2, 5], 3, false);
  const gamma = randTensor(rng, [5], 1, false),
    beta = randTensor(rng, [5], 1, false);
  const y = layerNorm(x, gamma, beta);
  const expected: number[] = [];
  for (let r = 0; r < 6; r++) {
    const row = Array.from(x.data.subarray(r * 5, r * 5 + 5));
    const m = row.reduce((s, v) => s + v, 0) / 5;
    const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / 5;
    row.forEach((u, j) => expected.push((gamma.data[j]! * (u - m)) / Math.sqrt(v + 1e-5) + beta.data[j]!));
  }
  close(y.data, expected, 1e-5, 'y');
});

test('layerNorm gradients with and without affine', () => {
  const rng = new Rng(4);
  const x = randTensor(rng, [4, 6], 2);
  const gamma = randTensor(rng, [6]),
    beta = randTensor(rng, [6]);
  gradcheck(([a, g, b]) => layerNorm(a!, g!, b!), [x, gamma, beta]);
  gradcheck(([a]) => layerNorm(a!, null, null), [x]);
  const x3 = randTensor(rng, [2, 3, 4]);
  gradcheck(([a, g, b]) => layerNorm(a!, g!, b!, 1e-3), [x3, randTensor(rng, [4]), randTensor(rng, [4])]);
});

test('dice forward: p = sigmoid(BN(x)), y = p·x + (1 − p)·α·x', () => {
  const rng = new Rng(5);
  const x = randTensor(rng, [5, 3], 2, false);
  const alpha = Tensor.from([0, 0.25, -0.5]);
  const rm = new Float32Array(3),
    rv = new Float32Array(3).fill(1);
  const y = dice(x, alpha, { training: true, runningMean: rm, runningVar: rv });
  const xn = refBatchNorm(x.data, 3, [1, 1, 1], [0, 0, 0], 1e-9);
  const expected = Array.from(x.data, (v, i) => {
    const p = 1 / (1 + Math.exp(-xn[i]!));
    return p * v + (1 - p) * alpha.data[i % 3]! * v;
  });
  close(y.data, expected, 1e-5, 'train');
  // default momentum 0.01 moved the running mean 1% of the way to the batch mean
  const bm = [0, 1, 2].map((j) => (x.data[j]! + x.data[3 + j]! + x.data[6 + j]! + x.data[9 + j]! + x.data[12 + j]!) / 5);
  close(
    rm,
    bm.map((m) => 0.01 * m),
    1e-6,
    'running mean',
  );
  // eval: running statistics
  const em = Float32Array.from([0.5, 0, -1]),
    ev = Float32Array.from([1, 4, 0.25]);
  const ye = dice(x, alpha, { training: false, runningMean: em, runningVar: ev, eps: 0 });
  const expectedEval = Array.from(x.data, (v, i) => {
    const j = i % 3;
    const p = 1 / (1 + Math.exp(-(v - em[j]!) / Math.sqrt(ev[j]!)));
    return p * v + (1 - p) * alpha.data[j]! * v;
  });
  close(ye.data, expectedEval, 1e-5, 'eval');
});

test('dice gradients in training and eval mode', () => {
  const rng = new Rng(6);
  const x = randTensor(rng, [7, 3], 2);
  const alpha = randTensor(rng, [3]);
  const rm = new Float32Array(3),
    rv = new Float32Array(3).fill(1);
  gradcheck(([a, al]) => dice(a!, al!, { training: true, runningMean: rm, runningVar: rv }), [x, alpha]);
  const x3 = randTensor(rng, [2, 3, 3], 2);
  gradcheck(([a, al]) => dice(a!, al!, { training: true, runningMean: rm, runningVar: rv }), [x3, alpha]);
  const em = Float32Array.from([0.2, -0.3, 0]),
    ev = Float32Array.from([0.8, 1.2, 2]);
  gradcheck(([a, al]) => dice(a!, al!, { training: false, runningMean: em, runningVar: ev }), [x, alpha]);
});

test('batchNorm with fused relu equals relu(batchNorm(x)), values and gradients, training and eval', () => {
  const rng = new Rng(7);
  const x = randTensor(rng, [8, 4], 2);
  const gamma = randTensor(rng, [4]),
    beta = randTensor(rng, [4]);
  for (const training of [true, false]) {
    const stats = () => ({ training, runningMean: Float32Array.from([0.1, -0.2, 0.3, 0]), runningVar: Float32Array.from([0.5, 1, 1.5, 2]) });
    const fused = batchNorm(x, gamma, beta, { ...stats(), relu: true });
    const plain = batchNorm(x, gamma, beta, stats());
    assert.deepEqual(
      [...fused.data],
      [...plain.data].map((v) => (v > 0 ? v : 0)),
    );
    assert.ok(fused.data.some((v) => v === 0) && fused.data.some((v) => v > 0));
    const w = randTensor(rng, [8, 4], 1, false).data;
    for (const t of [x, gamma, beta]) t.grad = null;
    fused.backward(w);
    const grads = [x, gamma, beta].map((t) => t.grad!.slice());
    for (const t of [x, gamma, beta]) t.grad = null;
    const masked = w.map((v, i) => (plain.data[i]! > 0 ? v : 0));
    batchNorm(x, gamma, beta, stats()).backward(masked);
    [x, gamma, beta].forEach((t, i) => close(grads[i]!, t.grad!, 1e-5, `grad ${i} (training=${training})`));
    gradcheck(([a, g, b]) => batchNorm(a!, g!, b!, { ...stats(), relu: true }), [x, gamma, beta]);
  }
});

test('batchNorm statistics stay exact for a large mean (no cancellation)', () => {
  const rng = new Rng(8);
  const vals = Array.from({ length: 64 }, () => 1000 + rng.uniform(-1, 1));
  const rm = new Float32Array(1),
    rv = new Float32Array(1);
  const y = batchNorm(Tensor.from(vals, [64, 1]), null, null, { training: true, runningMean: rm, runningVar: rv, momentum: 1, eps: 0 });
  const f32 = Array.from(Float32Array.from(vals));
  const m = f32.reduce((s, v) => s + v, 0) / 64;
  const v = f32.reduce((s, u) => s + (u - m) ** 2, 0) / 64;
  close(rm, [m], 1e-7, 'mean');
  close(rv, [(v * 64) / 63], 1e-5, 'unbiased var');
  close(
    y.data,
    f32.map((u) => (u - m) / Math.sqrt(v)),
    1e-3,
    'normalized',
  );
});

/** Bitwise equality that treats +0 and −0 as different (as the kernels' contracts do). */
function sameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Object.is(actual[i], expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

test('batchNorm with fused dropout equals dropout(batchNorm(x)) exactly: values, gradients, running stats, rng', () => {
  for (const relu of [true, false]) {
    const rng = new Rng(31);
    const x = randTensor(rng, [40, 7], 2);
    const gamma = randTensor(rng, [7]),
      beta = randTensor(rng, [7]);
    const g = randTensor(rng, [40, 7], 1, false).data;
    const run = (fused: boolean) => {
      for (const t of [x, gamma, beta]) t.grad = null;
      const rm = new Float32Array(7),
        rv = new Float32Array(7).fill(1);
      const drng = new Rng(5);
      const base = { training: true, runningMean: rm, runningVar: rv, relu };
      const y = fused
        ? batchNorm(x, gamma, beta, { ...base, dropout: { p: 0.3, rng: drng } })
        : dropout(batchNorm(x, gamma, beta, base), 0.3, drng, true);
      const out = y.data.slice();
      y.backward(g);
      return { out, gx: x.grad!.slice(), gg: gamma.grad!.slice(), gb: beta.grad!.slice(), rm, rv, next: drng.nextUint32() };
    };
    const a = run(true),
      b = run(false);
    sameValues(a.out, b.out, `out relu=${relu}`);
    sameValues(a.gx, b.gx, `dx relu=${relu}`);
    sameValues(a.gg, b.gg, `dgamma relu=${relu}`);
    sameValues(a.gb, b.gb, `dbeta relu=${relu}`);
    sameValues(a.rm, b.rm, 'running mean');
    sameValues(a.rv, b.rv, 'running var');
    assert.equal(a.next, b.next, 'the fused op draws exactly one value, as dropout does');
    assert.ok(a.out.some((v) => v === 0) && a.out.some((v) => v !== 0), 'some elements dropped, some kept');
  }
});

test('batchNorm with fused relu + dropout: gradients by finite differences (fixed mask)', () => {
  const rng = new Rng(32);
  const x = randTensor(rng, [12, 5], 2);
  const gamma = randTensor(rng, [5]),
    beta = randTensor(rng, [5]);
  const opts = () => ({
    training: true,
    runningMean: new Float32Array(5),
    runningVar: new Float32Array(5).fill(1),
    relu: true,
    dropout: { p: 0.25, rng: new Rng(8) },
  });
  gradcheck(([a, g, b]) => batchNorm(a!, g!, b!, opts()), [x, gamma, beta]);
});

test('batchNorm dropout option: ignored in eval mode (no draw), p = 0 draws nothing, bad p rejected', () => {
  const rng = new Rng(33);
  const x = randTensor(rng, [6, 3], 1, false);
  const drng = new Rng(9),
    ref = new Rng(9);
  const evalOpts = { training: false, runningMean: new Float32Array(3), runningVar: new Float32Array(3).fill(1) };
  const plain = batchNorm(x, null, null, evalOpts);
  const withDrop = batchNorm(x, null, null, { ...evalOpts, dropout: { p: 0.5, rng: drng } });
  sameValues(withDrop.data, plain.data, 'eval');
  const train = () => ({ training: true, runningMean: new Float32Array(3), runningVar: new Float32Array(3).fill(1) });
  sameValues(batchNorm(x, null, null, { ...train(), dropout: { p: 0, rng: drng } }).data, batchNorm(x, null, null, train()).data, 'p = 0');
  assert.deepEqual(drng.getState(), ref.getState(), 'no draw in eval mode or for p = 0');
  assert.throws(
    () => batchNorm(x, null, null, { ...train(), dropout: { p: 1.5, rng: drng } }),
    /batchNorm: dropout: probability must be in \[0, 1\], got 1.5/,
  );
});
