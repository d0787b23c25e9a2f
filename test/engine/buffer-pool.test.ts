import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, fromOp, allocFloat32, allocZeroedFloat32, releaseFloat32, bufferPoolStats, resetBufferPool, tidy } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { linear, batchNorm, dropout, bceWithLogits, reshape, relu } from '../../src/engine/ops/index.js';

const BIG = 1 << 15; // the pool's smallest length

test('released arrays are handed out again for the same length; zeroed on request', () => {
  resetBufferPool();
  const a = allocFloat32(BIG + 3);
  a.fill(7);
  releaseFloat32(a);
  assert.equal(bufferPoolStats().pooledBytes, a.byteLength);
  const b = allocFloat32(BIG + 3);
  assert.equal(b, a, 'the same array comes back');
  assert.equal(b[0], 7, 'allocFloat32 does not clear');
  releaseFloat32(b);
  const c = allocZeroedFloat32(BIG + 3);
  assert.equal(c, a);
  assert.ok(
    c.every((v) => v === 0),
    'allocZeroedFloat32 clears a recycled array',
  );
  assert.notEqual(allocFloat32(BIG + 3), a, 'an array is handed out once');
  assert.equal(bufferPoolStats().pooledBytes, 0);
});

test('small arrays, views and arrays over the limit are not pooled; a double release is an error', () => {
  resetBufferPool();
  releaseFloat32(new Float32Array(100));
  const whole = new Float32Array(2 * BIG);
  releaseFloat32(whole.subarray(0, BIG));
  assert.equal(bufferPoolStats().pooledBytes, 0, 'small arrays and views are left to the GC');
  const a = new Float32Array(BIG);
  releaseFloat32(a);
  assert.throws(() => releaseFloat32(a), /releaseFloat32: array released twice/);
  resetBufferPool(0);
  releaseFloat32(new Float32Array(BIG));
  assert.equal(bufferPoolStats().pooledBytes, 0, 'limit 0 disables pooling');
  assert.throws(() => resetBufferPool(-1), /resetBufferPool: limit must be a non-negative number of bytes, got -1/);
  resetBufferPool(256 * 1024 * 1024);
});

test('gradForWrite: a fresh gradient is to be overwritten, an existing one accumulated', () => {
  const t = Tensor.zeros([3], true);
  const first = t.gradForWrite();
  assert.equal(first.overwrite, true);
  first.grad.set([1, 2, 3]);
  const second = t.gradForWrite();
  assert.equal(second.overwrite, false);
  assert.equal(second.grad, first.grad);
  assert.deepEqual(Array.from(t.grad!), [1, 2, 3]);
});

test('backward recycles gradients of ops that allow it, and only those', () => {
  resetBufferPool();
  const x = new Tensor(new Float32Array(BIG).fill(1), [BIG], true);
  let kept: Float32Array | null = null;
  // An op whose backward keeps its gradient array (not flagged): must not be recycled.
  const keeper = fromOp(x.data.slice(), [BIG], [x], (g) => {
    kept = g;
  });
  // A flagged op on top: its gradient is recycled once its backward has run.
  const top = dropout(keeper, 0.5, new Rng(1), true);
  top.backward(new Float32Array(BIG).fill(1));
  assert.ok(kept !== null);
  const pooled = bufferPoolStats().pooledBytes;
  assert.equal(pooled, 4 * BIG, "the dropout result's gradient went back to the pool; the keeper's did not");
  const again = allocFloat32(BIG);
  assert.notEqual(again, kept, 'the kept array is never handed out');
});

/** Two training steps of a small BN/dropout MLP (big enough for pooled arrays); returns all parameters. */
function trainTwoSteps(useTidy = false): Float32Array[] {
  const rng = new Rng(11);
  const rows = 256,
    inDim = 64,
    width = 160; // rows·width = 40960 ≥ the pooled minimum
  const param = (shape: number[], s: number) => {
    const t = Tensor.zeros(shape, true);
    for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-s, s);
    return t;
  };
  const w1 = param([inDim, width], 0.2),
    b1 = param([width], 0.1),
    w2 = param([width, width], 0.1),
    b2 = param([width], 0.1);
  const w3 = param([width, 1], 0.1),
    b3 = param([1], 0.1);
  const gammas = [param([width], 1), param([width], 1)],
    betas = [param([width], 0.1), param([width], 0.1)];
  const stats = [0, 1].map(() => ({ rm: new Float32Array(width), rv: new Float32Array(width).fill(1) }));
  const params = [w1, b1, w2, b2, w3, b3, ...gammas, ...betas];
  const x = param([rows, inDim], 1);
  x.requiresGrad = false;
  const labels = Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const drng = new Rng(5);
  for (let step = 0; step < 2; step++) {
    const forwardBackward = () => {
      let h = linear(x, w1, b1);
      h = batchNorm(h, gammas[0]!, betas[0]!, { training: true, runningMean: stats[0]!.rm, runningVar: stats[0]!.rv, relu: true });
      h = dropout(h, 0.2, drng, true);
      h = linear(h, w2, b2);
      h = batchNorm(h, gammas[1]!, betas[1]!, {
        training: true,
        runningMean: stats[1]!.rm,
        runningVar: stats[1]!.rv,
        relu: true,
        dropout: { p: 0.2, rng: drng },
      });
      const loss = bceWithLogits(reshape(linear(h, w3, b3), [rows]), labels);
      loss.backward();
      return loss.item();
    };
    if (useTidy) tidy(forwardBackward);
    else forwardBackward();
    for (const p of params) {
      for (let i = 0; i < p.size; i++) p.data[i]! -= 0.1 * p.grad![i]!;
      p.grad = null;
    }
  }
  return [...params.map((p) => p.data), ...stats.flatMap((s) => [s.rm, s.rv])];
}

test('training with recycled buffers gives exactly the results of training without the pool', () => {
  resetBufferPool(0);
  const without = trainTwoSteps();
  resetBufferPool(256 * 1024 * 1024);
  trainTwoSteps(); // fills the pool
  const hitsBefore = bufferPoolStats().hits;
  const withPool = trainTwoSteps();
  assert.ok(bufferPoolStats().hits > hitsBefore, 'the pool was used');
  assert.equal(withPool.length, without.length);
  for (let k = 0; k < without.length; k++) assert.deepEqual(withPool[k], without[k], `array ${k}`);
});

test('tidy: training steps recycle their activations and give exactly the results of untidy steps', () => {
  resetBufferPool(0);
  const reference = trainTwoSteps();
  resetBufferPool(256 * 1024 * 1024);
  trainTwoSteps(true); // warms the pool
  const before = bufferPoolStats();
  const tidied = trainTwoSteps(true);
  const after = bufferPoolStats();
  // Per step: 3 linear results, 2 batch-norm results and 1 dropout result of 40960 floats
  // are reused, plus the recycled gradients; nothing of that size is allocated anew.
  assert.ok(after.hits - before.hits >= 2 * 6, `pool hits ${after.hits - before.hits}`);
  for (let k = 0; k < reference.length; k++) assert.deepEqual(tidied[k], reference[k], `array ${k}`);
});

test('tidy keeps the returned tensors and the graph behind them until it is back-propagated', () => {
  resetBufferPool();
  const rng = new Rng(21);
  const x = new Tensor(
    Float32Array.from({ length: 4 * BIG }, () => rng.uniform(-1, 1)),
    [BIG, 4],
    true,
  );
  const w = new Tensor(
    Float32Array.from({ length: 16 }, () => rng.uniform(-1, 1)),
    [4, 4],
    true,
  );
  const make = () => dropout(relu(linear(x, w, null)), 0.5, new Rng(4), true); // relu and dropout read their inputs
  const expected = make();
  const g = new Float32Array(4 * BIG).fill(1);
  expected.backward(g);
  const expectedX = x.grad!.slice(),
    expectedW = w.grad!.slice();
  x.grad = null;
  w.grad = null;
  const kept = tidy(() => ({ y: make() }));
  // Allocations after the scope must not hand out arrays the returned graph still uses.
  for (let i = 0; i < 4; i++) allocFloat32(4 * BIG).fill(NaN);
  assert.deepEqual(kept.y.data, expected.data);
  kept.y.backward(g);
  assert.deepEqual(x.grad, expectedX);
  assert.deepEqual(w.grad, expectedW);
});

test('tidy: nested scopes hand a returned result to the outer scope; a throw recycles nothing', () => {
  resetBufferPool();
  const x = new Tensor(new Float32Array(BIG).fill(2), [BIG], false);
  let inner: Tensor | null = null;
  tidy(() => {
    inner = tidy(() => relu(x));
    assert.equal(bufferPoolStats().pooledBytes, 0, 'the inner result is not recycled by the inner scope');
    return 1;
  });
  assert.equal(bufferPoolStats().pooledBytes, 4 * BIG, 'the outer scope recycles it');
  assert.equal(allocFloat32(BIG), inner!.data);
  resetBufferPool();
  assert.throws(
    () =>
      tidy(() => {
        relu(x);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(bufferPoolStats().pooledBytes, 0);
});
