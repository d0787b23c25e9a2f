import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { Dropout } from '../../src/nn/dropout.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule } from './helpers.js';

test('Dropout: zeroes about p of the values and scales the rest by 1/(1−p) in training; identity in eval', () => {
  const d = new Dropout(0.25, new Rng(1));
  const x = Tensor.full([100, 100], 2);
  const y = d.forward(x);
  let zeros = 0;
  for (const v of y.data) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 2 / 0.75) < 1e-6, `kept value ${v}`);
  }
  assert.ok(Math.abs(zeros / 1e4 - 0.25) < 0.02, `dropped share ${zeros / 1e4}`);
  d.eval();
  assert.equal(d.forward(x), x);
  assert.equal(new Dropout(0, new Rng(1)).forward(x), x);
  assert.equal(d.parameters().length, 0);
  assert.equal(d.stateDict().size, 0);
});

test('Dropout: masks are reproducible by seed; gradient uses the same mask', () => {
  const x = randTensor(new Rng(2), [6, 5], 1);
  assert.deepEqual(new Dropout(0.5, new Rng(7)).forward(x).data, new Dropout(0.5, new Rng(7)).forward(x).data);
  const rng = new Rng(8);
  const state = rng.getState();
  gradcheckModule(new Dropout(0.4, rng), x, { before: () => rng.setState(state) });
});

test('Dropout rejects p outside [0, 1)', () => {
  assert.throws(() => new Dropout(1, new Rng(1)), /Dropout: p must be in \[0, 1\), got 1/);
  assert.throws(() => new Dropout(-0.1, new Rng(1)), /got -0.1/);
});
