import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { linearSharedRows, markSharedColumns } from '../../src/engine/ops/linear-shared.js';
import { randTensor } from '../support/gradcheck.js';

/** x [rows, inDim] with the columns in `shared` equal on every row (row 0's value), marked so. */
function withSharedColumns(rng: Rng, rows: number, inDim: number, shared: number[]): Tensor {
  const x = randTensor(rng, [rows, inDim], 1, false);
  for (const j of shared) for (let r = 1; r < rows; r++) x.data[r * inDim + j] = x.data[j]!;
  const mask = new Uint8Array(inDim);
  for (const j of shared) mask[j] = 1;
  markSharedColumns(x, mask);
  return x;
}

/** The slow formula: y[r, k] = act(b[k] + Σ_j x[r, j]·W[j, k]) in float64. */
function naive(x: Tensor, w: Tensor, b: Tensor | null, relu: boolean): number[] {
  const [rows, inDim] = x.shape as [number, number],
    outDim = w.shape[1]!;
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < outDim; k++) {
      let s = b?.data[k] ?? 0;
      for (let j = 0; j < inDim; j++) s += x.data[r * inDim + j]! * w.data[j * outDim + k]!;
      y.push(relu ? Math.max(0, s) : s);
    }
  }
  return y;
}

function assertClose(actual: Float32Array, want: number[], what: string): void {
  assert.equal(actual.length, want.length, what);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(actual[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${actual[i]} vs ${want[i]}`);
}

test('linearSharedRows equals the naive formula with shared columns, all shared, none shared, with and without bias/ReLU', () => {
  const rng = new Rng(2);
  const w = randTensor(rng, [12, 5], 1, false),
    b = randTensor(rng, [5], 1, false);
  const cases: Array<[string, number[]]> = [
    ['8 of 12 shared', [0, 1, 2, 5, 6, 7, 10, 11]],
    ['all shared', [...Array(12).keys()]],
    ['2 of 12 shared', [3, 9]],
    ['none shared', []],
  ];
  for (const [what, shared] of cases) {
    const x = withSharedColumns(rng, 300, 12, shared); // ≥ 256 rows: the split is taken
    for (const relu of [false, true]) {
      for (const bias of [b, null]) {
        const y = noGrad(() => linearSharedRows(x, w, bias, relu));
        assert.deepEqual(y.shape, [300, 5]);
        assertClose(y.data, naive(x, w, bias, relu), `${what}, relu ${relu}, bias ${bias !== null}`);
      }
    }
  }
  // Hand-computed: rows cycle [1, 2, 3], [1, 2, -3], [1, 2, 0] (columns 0, 1 shared), W = [[1], [1], [2]], b = [1] → 10, 0, 4.
  const rows3 = Array.from({ length: 300 }, (_, r) => [1, 2, [3, -3, 0][r % 3]!]).flat();
  const x3 = Tensor.from(rows3, [300, 3]);
  markSharedColumns(x3, Uint8Array.from([1, 1, 0]));
  const y = noGrad(() => linearSharedRows(x3, Tensor.from([1, 1, 2], [3, 1]), Tensor.from([1]), true));
  assert.deepEqual(
    Array.from(y.data),
    Array.from({ length: 300 }, (_, r) => [10, 0, 4][r % 3]),
  );
  assert.throws(() => markSharedColumns(x3, new Uint8Array(2)), /mask of 2 columns for a tensor \[300,3\]/);
});

test('linearSharedRows keeps the autograd graph when gradients are on (it is the plain linear then)', () => {
  const rng = new Rng(3);
  const x = withSharedColumns(rng, 5, 8, [0, 1, 2, 3, 4, 5]);
  const w = randTensor(rng, [8, 3]);
  const y = linearSharedRows(x, w, null, true);
  assert.equal(y.requiresGrad, true);
  y.backward(new Float32Array(y.size).fill(1));
  assert.ok(w.grad !== null && w.grad.some((v) => v !== 0));
});
