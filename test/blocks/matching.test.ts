import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, type Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { skipGramLoss, skipGramPairs } from '../../src/blocks/matching/skip-gram.js';
import { TwoTowerMatch } from '../../src/blocks/matching/two-tower.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const logSig = (z: number) => -Math.log1p(Math.exp(-z));

/** The skip-gram loss by explicit loops over rows, targets, contexts and negatives, in float64. */
function naiveSkipGram(h: Tensor, neg: Tensor, lengths: number[], window: number): number {
  const [B, L, D] = h.shape as [number, number, number];
  const Q = neg.shape[2]!;
  const hv = (b: number, t: number) => Array.from({ length: D }, (_, d) => h.data[(b * L + t) * D + d]!);
  const nv = (b: number, t: number, q: number) => Array.from({ length: D }, (_, d) => neg.data[((b * L + t) * Q + q) * D + d]!);
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  let total = 0,
    pairs = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < lengths[b]!; t++)
      for (let c = 0; c < lengths[b]!; c++) {
        if (c === t || Math.abs(c - t) > window) continue;
        let l = -logSig(dot(hv(b, t), hv(b, c)));
        for (let q = 0; q < Q; q++) l -= logSig(-dot(hv(b, t), nv(b, t, q)));
        total += l;
        pairs++;
      }
  return pairs === 0 ? 0 : total / pairs;
}

test('skip-gram pairs: positions within the window and the row length, never a position with itself', () => {
  const { pairs, contexts, count } = skipGramPairs([0, 2, 4], 4, 1);
  assert.equal(count, 0 + 2 + 6);
  assert.deepEqual([...contexts], [0, 0, 0, 0, 1, 1, 0, 0, 1, 2, 2, 1]);
  assert.equal(pairs[(2 * 4 + 1) * 4 + 3], 0, 'distance 2 is outside window 1');
  assert.equal(pairs[(2 * 4 + 1) * 4 + 2], 1);
  assert.equal(skipGramPairs([4], 4, 3).count, 12);
  assert.throws(() => skipGramPairs([1], 1, 0), /window must be a positive integer/);
});

test('skip-gram loss equals −log σ(⟨h_t,h_c⟩) − Σ_q log σ(−⟨h_t,n_tq⟩) averaged over pairs; gradient matches finite differences', () => {
  const rng = new Rng(5);
  const lengths = [0, 2, 4, 3];
  for (const window of [1, 2]) {
    const h = randTensor(rng, [4, 4, 3], 1.2);
    const neg = randTensor(rng, [4, 4, 2, 3], 1.2);
    const got = noGrad(() => skipGramLoss(h, neg, lengths, window)).item();
    const want = naiveSkipGram(h, neg, lengths, window);
    assert.ok(Math.abs(got - want) < 1e-5, `window ${window}: ${got} vs naive ${want}`);
    gradcheck(([a, n]) => skipGramLoss(a!, n!, lengths, window), [h, neg]);
  }
  const empty = noGrad(() => skipGramLoss(randTensor(rng, [2, 3, 2]), randTensor(rng, [2, 3, 1, 2]), [1, 0], 2));
  assert.equal(empty.item(), 0, 'no pair: no loss');
  assert.throws(() => skipGramLoss(randTensor(rng, [2, 3, 2]), randTensor(rng, [2, 3, 2]), [1, 0], 2), /negatives must be/);
});

test('two-tower match: logit = ⟨tanh(MLP_u(x_u)), tanh(MLP_a(x_a))⟩ per row; gradient matches finite differences', () => {
  const m = new TwoTowerMatch(3, 2, { hiddenUnits: [4], hiddenActivations: 'tanh', netDropout: 0, batchNorm: false }, 3, new Rng(1));
  const st = m.stateDict();
  const r = new Rng(2);
  for (const v of st.values()) for (let i = 0; i < v.length; i++) v[i] = r.uniform(-0.8, 0.8);
  const xu = randTensor(r, [5, 3]);
  const xa = randTensor(r, [5, 2]);
  const affine = (h: number[], w: Float32Array, b: Float32Array) =>
    Array.from({ length: b.length }, (_, j) => h.reduce((s, v, i) => s + v * w[i * b.length + j]!, b[j]!));
  const tower = (p: string, x: number[]) => {
    const hidden = affine(x, st.get(`${p}.net.layers.0.linear.weight`)!, st.get(`${p}.net.layers.0.linear.bias`)!).map(Math.tanh);
    return affine(hidden, st.get(`${p}.net.out.weight`)!, st.get(`${p}.net.out.bias`)!).map(Math.tanh);
  };
  const got = noGrad(() => m.forward(xu, xa));
  assert.deepEqual(got.shape, [5]);
  for (let b = 0; b < 5; b++) {
    const u = tower('user', [...xu.data.subarray(b * 3, b * 3 + 3)]);
    const a = tower('item', [...xa.data.subarray(b * 2, b * 2 + 2)]);
    const want = u.reduce((s, v, i) => s + v * a[i]!, 0);
    assert.ok(Math.abs(got.data[b]! - want) < 1e-5, `row ${b}: ${got.data[b]} vs naive ${want}`);
  }
  gradcheck(([u, a]) => m.forward(u!, a!), [xu, xa]);
  gradcheck(() => m.forward(xu, xa), m.parameters().slice(0, 4));
});
