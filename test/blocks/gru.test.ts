import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { GRU, gruSequence, type GruMode } from '../../src/blocks/sequence/gru.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';

const B = 4,
  L = 3,
  I = 2,
  H = 3;
const LENGTHS = Int32Array.of(0, 1, 3, 2);
const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** The recurrence of DIEN eq. (1)–(4) one scalar at a time (float64), per mode; AIGRU scales the input. */
function naive(gru: GRU, x: Tensor, att: Tensor | null, mode: GruMode | 'aigru'): number[][][] {
  const st = gru.stateDict();
  const Wih = st.get('weight_ih')!,
    Whh = st.get('weight_hh')!,
    bih = st.get('bias_ih')!,
    bhh = st.get('bias_hh')!;
  const out: number[][][] = [];
  for (let b = 0; b < B; b++) {
    let h = new Array<number>(H).fill(0);
    const rows: number[][] = [];
    for (let t = 0; t < L; t++) {
      if (t < LENGTHS[b]!) {
        const a = att === null ? 1 : att.data[b * L + t]!;
        const xi = Array.from({ length: I }, (_, i) => x.data[(b * L + t) * I + i]! * (mode === 'aigru' ? a : 1));
        const gx = Array.from({ length: 3 * H }, (_, k) => bih[k]! + xi.reduce((s, v, i) => s + v * Wih[i * 3 * H + k]!, 0));
        const gh = Array.from({ length: 3 * H }, (_, k) => bhh[k]! + h.reduce((s, v, i) => s + v * Whh[i * 3 * H + k]!, 0));
        h = h.map((hp, j) => {
          const u = sig(gx[j]! + gh[j]!),
            r = sig(gx[H + j]! + gh[H + j]!);
          const n = Math.tanh(gx[2 * H + j]! + r * gh[2 * H + j]!);
          const w = mode === 'gru' || mode === 'aigru' ? u : mode === 'augru' ? a * u : a;
          return (1 - w) * hp + w * n;
        });
      }
      rows.push(h.slice());
    }
    out.push(rows);
  }
  return out;
}

for (const mode of ['gru', 'augru', 'agru', 'aigru'] as const) {
  test(`${mode.toUpperCase()}: states equal the scalar recurrence; padded steps carry the state (lengths 0, 1, L)`, () => {
    const gru = new GRU(I, H, new Rng(1));
    const x = randTensor(new Rng(2), [B, L, I], 1, false);
    const att =
      mode === 'gru'
        ? null
        : new Tensor(
            Float32Array.from({ length: B * L }, (_, i) => 0.1 + ((i * 7) % 10) / 11),
            [B, L],
          );
    const r = noGrad(() => gru.forward(x, LENGTHS, mode === 'aigru' ? { att: att!, scaleInput: true } : { mode, ...(att ? { att } : {}) }));
    const expected = naive(gru, x, att, mode);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) {
        for (let j = 0; j < H; j++) {
          const got = r.states.data[(b * L + t) * H + j]!;
          assert.ok(Math.abs(got - expected[b]![t]![j]!) < 1e-5, `h[${b}, ${t}, ${j}] ${got} vs ${expected[b]![t]![j]}`);
        }
      }
      for (let j = 0; j < H; j++) assert.ok(Math.abs(r.last.data[b * H + j]! - expected[b]![L - 1]![j]!) < 1e-5);
    }
    for (let j = 0; j < H; j++) assert.equal(r.last.data[j], 0, 'an empty sequence ends in the zero state');
  });
}

for (const mode of ['gru', 'augru', 'agru'] as const) {
  test(`gruSequence (${mode}): gradients of gx, W_hh, b_hh and the attention scores match finite differences, padded rows included`, () => {
    const rng = new Rng(3);
    const inputs = [randTensor(rng, [L, B, 3 * H]), randTensor(rng, [H, 3 * H]), randTensor(rng, [3 * H]), randTensor(rng, [B, L], 1)];
    gradcheck(
      ([gx, whh, bhh, a]) => gruSequence(gx!, whh!, bhh!, LENGTHS, mode, mode === 'gru' ? null : a!),
      mode === 'gru' ? inputs.slice(0, 3) : inputs,
    );
  });
}

test('GRU module (AUGRU and AIGRU): end-to-end gradients of the input, the scores and the weights', () => {
  for (const opts of [{ mode: 'augru' as const }, { scaleInput: true }]) {
    const gru = new GRU(I, H, new Rng(4));
    const x = randTensor(new Rng(5), [B, L, I]);
    const att = randTensor(new Rng(6), [B, L]);
    gradcheck(([xx, aa]) => gru.forward(xx!, LENGTHS, { ...opts, att: aa! }).states, [x, att, ...gru.parameters()]);
  }
});
