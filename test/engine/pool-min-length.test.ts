import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocFloat32,
  setPoolMinLength,
  DEFAULT_POOL_MIN_LENGTH,
  Tensor,
  tidy,
  noGrad,
  bufferPoolStats,
  resetBufferPool,
} from '../../src/engine/tensor.js';
import { add } from '../../src/engine/ops/index.js';

test('setPoolMinLength: arrays from the new smallest length on are recycled by tidy; below it they are not', () => {
  const x = new Tensor(
    Float32Array.from({ length: 2000 }, (_, i) => i),
    [2000],
  );
  const once = () => tidy(() => noGrad(() => add(add(x, x), x).data[0]));
  resetBufferPool();
  once();
  assert.equal(bufferPoolStats().pooledBytes, 0, `2,000 elements are below the default ${DEFAULT_POOL_MIN_LENGTH}: not pooled`);
  setPoolMinLength(1024);
  try {
    once();
    assert.ok(bufferPoolStats().pooledBytes >= 2000 * 4, 'the intermediate sum went back to the pool');
    const hits = bufferPoolStats().hits;
    once();
    assert.ok(bufferPoolStats().hits > hits, 'the next call reused it');
    assert.equal(allocFloat32(1023).length, 1023);
    assert.throws(() => setPoolMinLength(8), /setPoolMinLength: length must be an integer ≥ 16, got 8/);
  } finally {
    setPoolMinLength(DEFAULT_POOL_MIN_LENGTH);
    resetBufferPool();
  }
});
