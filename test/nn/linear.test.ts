import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { Linear } from '../../src/nn/linear.js';
import { randTensor } from '../support/gradcheck.js';
import { gradcheckModule, snapshot } from './helpers.js';

test('Linear: weight [in, out] Xavier-normal, zero bias, y = x·W + b', () => {
  const lin = new Linear(300, 200, { rng: new Rng(1) });
  assert.deepEqual(lin.weight.shape, [300, 200]);
  assert.deepEqual([...lin.bias!.data], new Array(200).fill(0));
  let s = 0,
    s2 = 0;
  for (const v of lin.weight.data) {
    s += v;
    s2 += v * v;
  }
  const n = lin.weight.size,
    std = Math.sqrt(s2 / n - (s / n) ** 2);
  assert.ok(Math.abs(std - Math.sqrt(2 / 500)) < 0.02 * Math.sqrt(2 / 500), `std ${std}`);
  assert.ok(Math.abs(s / n) < 0.002, `mean ${s / n}`);
  const u = new Linear(300, 200, { rng: new Rng(1), init: 'xavier_uniform' });
  const bound = Math.sqrt(6 / 500);
  assert.ok(u.weight.data.every((v) => Math.abs(v) <= bound));
  assert.deepEqual(
    lin.namedParameters().map(([k]) => k),
    ['weight', 'bias'],
  );

  const small = new Linear(2, 3, { rng: new Rng(2) });
  small.weight.data.set([1, 2, 3, 4, 5, 6]);
  small.bias!.data.set([0.5, -1, 0]);
  const y = small.forward(Tensor.from([1, -1, 2, 0.5], [2, 2]));
  assert.deepEqual([...y.data], [1 - 4 + 0.5, 2 - 5 - 1, 3 - 6, 2 + 2 + 0.5, 4 + 2.5 - 1, 6 + 3]);
});

test('Linear gradients (input, weight, bias), without bias, rank-3 input', () => {
  const rng = new Rng(3);
  const lin = new Linear(4, 3, { rng });
  lin.bias!.data.set([0.1, -0.2, 0.3]);
  gradcheckModule(lin, randTensor(rng, [5, 4]));
  const nob = new Linear(4, 3, { rng, bias: false });
  assert.equal(nob.bias, null);
  assert.deepEqual(
    nob.namedParameters().map(([k]) => k),
    ['weight'],
  );
  gradcheckModule(nob, randTensor(rng, [5, 4]));
  const y3 = lin.forward(randTensor(rng, [2, 3, 4], 1, false));
  assert.deepEqual(y3.shape, [2, 3, 3]);
  gradcheckModule(lin, randTensor(rng, [2, 3, 4]));
});

test('Linear is deterministic by seed, round-trips its state dict, rejects bad input', () => {
  const a = new Linear(6, 4, { rng: new Rng(9) });
  const b = new Linear(6, 4, { rng: new Rng(9) });
  assert.deepEqual(a.weight.data, b.weight.data);
  const c = new Linear(6, 4, { rng: new Rng(10) });
  assert.notDeepEqual(a.weight.data, c.weight.data);
  c.bias!.data.fill(0.7);
  a.loadStateDict(snapshot(c));
  const x = randTensor(new Rng(11), [3, 6], 1, false);
  assert.deepEqual(a.forward(x).data, c.forward(x).data);
  assert.throws(() => a.forward(Tensor.zeros([3, 5])), /Linear: input must be \[\.\.\., 6\], got \[3,5\]/);
  assert.throws(() => new Linear(0, 4, { rng: new Rng(1) }), /inDim must be a positive integer/);
});
