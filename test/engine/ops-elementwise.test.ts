import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import {
  add,
  sub,
  mul,
  div,
  neg,
  scale,
  addScalar,
  exp,
  log,
  square,
  sqrt,
  pow,
  abs,
  where,
  maskedFill,
  broadcastShapes,
  sumToShape,
  sum,
} from '../../src/engine/ops/index.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Random tensor with |values| in [lo, hi] and random signs (or positive only). */
function randAway(rng: Rng, shape: number[], lo: number, hi: number, positive = false): Tensor {
  const t = Tensor.zeros(shape, true);
  for (let i = 0; i < t.size; i++) {
    const m = rng.uniform(lo, hi);
    t.data[i] = positive || rng.next() < 0.5 ? m : -m;
  }
  return t;
}

test('broadcasting forward values match hand-computed numbers', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const row = Tensor.from([10, 20, 30], [3]);
  const col = Tensor.from([100, 200], [2, 1]);
  close(add(a, row).data, [11, 22, 33, 14, 25, 36]);
  close(sub(a, row).data, [-9, -18, -27, -6, -15, -24]);
  close(mul(a, col).data, [100, 200, 300, 800, 1000, 1200]);
  close(div(a, Tensor.scalar(2)).data, [0.5, 1, 1.5, 2, 2.5, 3]);
  close(sub(Tensor.scalar(1), a).data, [0, -1, -2, -3, -4, -5]);
  // [2,1] with [1,3] → [2,3] outer product pattern.
  const outer = mul(col, Tensor.from([1, 2, 3], [1, 3]));
  assert.deepEqual(outer.shape, [2, 3]);
  close(outer.data, [100, 200, 300, 200, 400, 600]);
  // [2,1,2] + [3,1] → [2,3,2]
  const g = add(Tensor.from([1, 2, 3, 4], [2, 1, 2]), Tensor.from([10, 20, 30], [3, 1]));
  assert.deepEqual(g.shape, [2, 3, 2]);
  close(g.data, [11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34]);
  assert.deepEqual(broadcastShapes('t', [4, 1, 3], [5, 1]), [4, 5, 3]);
  assert.deepEqual(add(Tensor.scalar(1), Tensor.scalar(2)).shape, []);
});

const PATTERNS: Array<[string, number[], number[]]> = [
  ['same shape', [3, 4], [3, 4]],
  ['row bias [B,N]+[N]', [5, 4], [4]],
  ['[B,F,D]+[F,D]', [2, 3, 4], [3, 4]],
  ['scalar []', [3, 4], []],
  ['scalar [1]', [3, 4], [1]],
  ['column [B,1]', [3, 4], [3, 1]],
  ['broadcast first operand', [4], [3, 4]],
  ['both broadcast [3,1]·[1,4]', [3, 1], [1, 4]],
  ['middle axis [2,1,4]·[2,3,4]', [2, 1, 4], [2, 3, 4]],
  ['general [2,1,4]·[3,1]', [2, 1, 4], [3, 1]],
  ['size-1 leading [1,3,4]·[2,1,1,4]', [1, 3, 4], [2, 1, 1, 4]],
  ['scalar·scalar', [], [1]],
];

test('add/sub/mul/div gradients for every broadcasting pattern', () => {
  const rng = new Rng(11);
  for (const [name, sa, sb] of PATTERNS) {
    const a = randTensor(rng, sa);
    const b = randTensor(rng, sb);
    const bPos = randAway(rng, sb, 0.5, 1.5);
    for (const [opName, op] of [
      ['add', add],
      ['sub', sub],
      ['mul', mul],
    ] as const) {
      assert.doesNotThrow(() => gradcheck(([x, y]) => op(x!, y!), [a, b]), `${opName} ${name}`);
    }
    assert.doesNotThrow(() => gradcheck(([x, y]) => div(x!, y!), [a, bPos]), `div ${name}`);
    // Denominator broadcast on the other side too.
    const aPos = randAway(rng, sa, 0.5, 1.5);
    assert.doesNotThrow(() => gradcheck(([x, y]) => div(y!, x!), [aPos, b]), `div reversed ${name}`);
  }
});

test('gradients of broadcast operands are sums over the broadcast axes (hand-computed)', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], true);
  const b = Tensor.from([1, 2, 3], [3], true);
  const c = Tensor.from([2, -1], [2, 1], true);
  sum(mul(add(a, b), c)).backward();
  close(b.grad!, [1, 1, 1]); // Σ_rows c = 2 − 1
  close(a.grad!, [2, 2, 2, -1, -1, -1]);
  close(c.grad!, [2 + 4 + 6, 5 + 7 + 9]);
});

test('unary ops: values and gradients', () => {
  const rng = new Rng(12);
  const x = randTensor(rng, [3, 5]);
  const pos = randAway(rng, [3, 5], 0.3, 2, true);
  const away = randAway(rng, [3, 5], 0.1, 1);
  close(neg(Tensor.from([1, -2])).data, [-1, 2]);
  close(scale(Tensor.from([1, -2]), 3).data, [3, -6]);
  close(addScalar(Tensor.from([1, -2]), 0.5).data, [1.5, -1.5]);
  close(exp(Tensor.from([0, 1])).data, [1, Math.E]);
  close(log(Tensor.from([1, Math.E])).data, [0, 1]);
  close(square(Tensor.from([3, -2])).data, [9, 4]);
  close(sqrt(Tensor.from([9, 2])).data, [3, Math.SQRT2]);
  close(pow(Tensor.from([2, 3]), 3).data, [8, 27]);
  close(pow(Tensor.from([4]), -1.5).data, [0.125]);
  close(abs(Tensor.from([-1.5, 2])).data, [1.5, 2]);
  gradcheck(([t]) => neg(t!), [x]);
  gradcheck(([t]) => scale(t!, -2.5), [x]);
  gradcheck(([t]) => addScalar(t!, 3), [x]);
  gradcheck(([t]) => exp(t!), [x]);
  gradcheck(([t]) => log(t!), [pos]);
  gradcheck(([t]) => square(t!), [x]);
  gradcheck(([t]) => sqrt(t!), [pos]);
  for (const p of [3, 2, 0.5, 1, -1.5, 1.7]) gradcheck(([t]) => pow(t!, p), [pos]);
  gradcheck(([t]) => pow(t!, 3), [x]);
  gradcheck(([t]) => abs(t!), [away]);
});

test('where and maskedFill select values and route gradients', () => {
  const a = Tensor.from([1, 2, 3, 4], [2, 2], true);
  const b = Tensor.from([10, 20, 30, 40], [2, 2], true);
  const m = Uint8Array.of(1, 0, 0, 1);
  const w = where(m, a, b);
  close(w.data, [1, 20, 30, 4]);
  w.backward(Float32Array.of(1, 2, 3, 4));
  close(a.grad!, [1, 0, 0, 4]);
  close(b.grad!, [0, 2, 3, 0]);
  close(where(Tensor.from([0.5, 0, 0, -1], [2, 2]), a, b).data, [1, 20, 30, 4]);
  const f = maskedFill(a, Uint8Array.of(0, 1, 1, 0), -9);
  close(f.data, [1, -9, -9, 4]);
  const rng = new Rng(13);
  const x = randTensor(rng, [4, 3]),
    y = randTensor(rng, [4, 3]);
  const mask = new Uint8Array(12).map(() => (rng.next() < 0.5 ? 1 : 0));
  gradcheck(([p, q]) => where(mask, p!, q!), [x, y]);
  gradcheck(([p, q]) => where(Tensor.from(mask, [4, 3]), p!, q!), [x, y]);
  gradcheck(([p]) => maskedFill(p!, mask, 1e9), [x]);
});

test('sumToShape reduces a broadcast gradient', () => {
  const dst = new Float32Array(3);
  sumToShape(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], dst, [3]);
  close(dst, [5, 7, 9]);
  const col = new Float32Array(2).fill(1);
  sumToShape(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], col, [2, 1], 2);
  close(col, [13, 31]);
});

test('a tensor used several times accumulates its gradient', () => {
  const x = Tensor.from([0.5, -1, 2], [3], true);
  const y = Tensor.from([3, 1, -2], [3], true);
  // L = Σ (x·x + eˣ + x·y) → dL/dx = 2x + eˣ + y, dL/dy = x
  sum(add(add(mul(x, x), exp(x)), mul(x, y))).backward();
  close(x.grad!, [1 + Math.exp(0.5) + 3, -2 + Math.exp(-1) + 1, 4 + Math.exp(2) - 2], 1e-5);
  close(y.grad!, [0.5, -1, 2]);
  // A second backward over a fresh graph adds to the leaves' gradients.
  sum(add(x, x)).backward();
  close(x.grad!, [1 + Math.exp(0.5) + 3 + 2, -2 + Math.exp(-1) + 1 + 2, 4 + Math.exp(2) - 2 + 2], 1e-5);
});

test('noGrad records nothing; constants get no gradient', () => {
  const x = Tensor.from([1, 2], [2], true);
  const c = Tensor.from([3, 4], [2]);
  const r = noGrad(() => mul(add(x, c), exp(x)));
  assert.equal(r.requiresGrad, false);
  assert.equal(r.parents.length, 0);
  assert.equal(r.backwardFn, null);
  const s = sum(mul(x, c));
  assert.equal(s.requiresGrad, true);
  s.backward();
  close(x.grad!, [3, 4]);
  assert.equal(c.grad, null);
  assert.equal(add(c, c).requiresGrad, false);
});

test('elementwise errors name the op and the shapes', () => {
  assert.throws(() => add(Tensor.zeros([2, 3]), Tensor.zeros([4])), /add: shapes \[2, 3\] and \[4\] do not broadcast/);
  assert.throws(() => mul(Tensor.zeros([2, 3]), Tensor.zeros([3, 3])), /mul: shapes \[2, 3\] and \[3, 3\]/);
  assert.throws(() => where(Uint8Array.of(1), Tensor.zeros([2]), Tensor.zeros([3])), /where: shapes \[2\] and \[3\] differ/);
  assert.throws(() => where(Uint8Array.of(1), Tensor.zeros([2]), Tensor.zeros([2])), /where: mask has 1 entries/);
  assert.throws(() => maskedFill(Tensor.zeros([2, 2]), new Uint8Array(3), 0), /maskedFill: mask has 3 entries, values have shape \[2, 2\]/);
  assert.throws(() => pow(Tensor.zeros([2]), NaN), /pow: exponent must be finite/);
});
