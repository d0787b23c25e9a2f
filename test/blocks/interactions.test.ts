import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { markSharedFields } from '../../src/engine/ops/linear-shared.js';
import { Rng } from '../../src/engine/random.js';
import { fmSecondOrder } from '../../src/blocks/interactions/fm.js';
import { CrossNet, crossLayer } from '../../src/blocks/interactions/cross.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

/** Σ_{f<g} ⟨e_f, e_g⟩ over explicit pairs, in float64: FM's definition, not its ½[(Σ)² − Σ²] shortcut. */
function naiveFm(e: Tensor): number[] {
  const [B, F, D] = e.shape as [number, number, number];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let f = 0; f < F; f++) {
      for (let g = f + 1; g < F; g++) {
        for (let d = 0; d < D; d++) s += e.data[(b * F + f) * D + d]! * e.data[(b * F + g) * D + d]!;
      }
    }
    out.push(s);
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs naive ${expected[i]} (relative error ${err.toExponential(2)})`);
  }
}

test('FM second-order term equals Σ_{f<g} ⟨e_f, e_g⟩ over explicit pairs', () => {
  const rng = new Rng(7);
  for (const [B, F, D] of [
    [1, 2, 1],
    [5, 3, 4],
    [4, 10, 10],
    [3, 26, 16],
  ] as const) {
    const e = randTensor(rng, [B, F, D], 1, false);
    assertClose(fmSecondOrder(e).data, naiveFm(e), 1e-5, `FM B=${B} F=${F} D=${D}`);
  }
  // The mutation ½[(Σv)² + Σv²] would give Σ_{f<g}⟨e_f,e_g⟩ + Σ_f ‖e_f‖²: with one field the pair sum is 0.
  const one = randTensor(rng, [2, 1, 3], 1, false);
  assert.deepEqual([...fmSecondOrder(one).data], [0, 0]);
});

test('FM second-order term without autograd: the same values, and fields marked shared are summed once from row 0', () => {
  const rng = new Rng(9);
  for (const [B, F, D] of [
    [1, 2, 1],
    [6, 10, 10],
    [300, 5, 4],
  ] as const) {
    const e = randTensor(rng, [B, F, D], 1, false);
    assertClose(noGrad(() => fmSecondOrder(e)).data, naiveFm(e), 1e-5, `unmarked B=${B} F=${F} D=${D}`);
    for (const mask of [new Uint8Array(F), new Uint8Array(F).fill(1), Uint8Array.from({ length: F }, (_, f) => f % 2)]) {
      // The marked fields of rows > 0 hold garbage: a term that honours the mask reads row 0
      // only, so it equals the naive FM of the batch with those fields copied from row 0.
      const marked = randTensor(rng, [B, F, D], 1, false);
      const broadcast = new Tensor(Float32Array.from(marked.data), [B, F, D]);
      for (let b = 1; b < B; b++)
        for (let f = 0; f < F; f++) if (mask[f] === 1) for (let d = 0; d < D; d++) broadcast.data[(b * F + f) * D + d] = marked.data[f * D + d]!;
      markSharedFields(marked, mask);
      assertClose(noGrad(() => fmSecondOrder(marked)).data, naiveFm(broadcast), 1e-5, `mask ${[...mask].join('')} B=${B}`);
    }
  }
});

test('FM second-order term: gradient matches finite differences', () => {
  const rng = new Rng(8);
  gradcheck(([e]) => fmSecondOrder(e!), [randTensor(rng, [4, 5, 3])]);
});

/** x_{l+1} = x₀·(x_l·w) + b + x_l, row by row in float64 (DCN eq. 3). */
function naiveCross(x0: Tensor, xl: Tensor, w: Tensor, b: Tensor): number[] {
  const [B, n] = x0.shape as [number, number];
  const out: number[] = [];
  for (let r = 0; r < B; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xl.data[r * n + i]! * w.data[i]!;
    for (let i = 0; i < n; i++) out.push(x0.data[r * n + i]! * s + b.data[i]! + xl.data[r * n + i]!);
  }
  return out;
}

test('cross layer equals its formula per row; CrossNet stacks L layers on x₀', () => {
  const rng = new Rng(9);
  const x0 = randTensor(rng, [6, 5], 1, false);
  const xl = randTensor(rng, [6, 5], 1, false);
  const w = randTensor(rng, [5, 1], 1, false);
  const b = randTensor(rng, [5], 1, false);
  assertClose(crossLayer(x0, xl, w, b).data, naiveCross(x0, xl, w, b), 1e-6, 'cross layer');
  const net = new CrossNet(5, 3, new Rng(2));
  const state = net.stateDict();
  let x: Tensor = x0;
  for (let l = 0; l < 3; l++) {
    x = new Tensor(Float32Array.from(naiveCross(x0, x, new Tensor(state.get(`w${l}`)!, [5, 1]), new Tensor(state.get(`b${l}`)!, [5]))), [6, 5]);
  }
  assertClose(net.forward(x0).data, x.data, 1e-5, 'CrossNet');
});

test('cross layer: gradient matches finite differences for x₀, x_l, w and b', () => {
  const rng = new Rng(10);
  gradcheck(
    ([a, c, w, b]) => crossLayer(a!, c!, w!, b!),
    [randTensor(rng, [4, 6]), randTensor(rng, [4, 6]), randTensor(rng, [6, 1]), randTensor(rng, [6])],
  );
});
