import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { biInteraction } from '../../src/blocks/interactions/bi-interaction.js';
import { fieldPairs } from '../../src/blocks/interactions/pairs.js';
import { innerProducts, kernelOuterProducts } from '../../src/blocks/interactions/product.js';
import { CrossNetMix, FullRankCrossNet, LowRankCrossNet } from '../../src/blocks/interactions/cross-v2.js';
import { CIN } from '../../src/blocks/interactions/cin.js';
import { AttentionalPooling, pairwiseProducts } from '../../src/blocks/interactions/attentional-pooling.js';
import { ffmInteraction } from '../../src/blocks/interactions/ffm.js';
import { BilinearInteraction, SENet } from '../../src/blocks/interactions/senet-bilinear.js';
import { InteractingLayer } from '../../src/blocks/interactions/self-attention.js';
import type { Module } from '../../src/nn/module.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';
import { gradcheckModule } from '../nn/helpers.js';

/** e[b, f, d] of a [B, F, D] tensor. */
function at(e: Tensor, b: number, f: number, d: number): number {
  const [, F, D] = e.shape as [number, number, number];
  return e.data[(b * F + f) * D + d]!;
}

/** Asserts |actual − expected| ≤ tol·max(1, |expected|) entry by entry. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs naive ${expected[i]} (relative error ${err.toExponential(2)})`);
  }
}

test('bi-interaction pooling equals Σ_{f<g} e_f ⊙ e_g over explicit pairs', () => {
  const rng = new Rng(21);
  for (const [B, F, D] of [
    [1, 2, 1],
    [4, 3, 5],
    [3, 10, 10],
  ] as const) {
    const e = randTensor(rng, [B, F, D], 1, false);
    const naive: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let f = 0; f < F; f++) for (let g = f + 1; g < F; g++) s += at(e, b, f, d) * at(e, b, g, d);
        naive.push(s);
      }
    }
    const y = biInteraction(e);
    assert.deepEqual(y.shape, [B, D]);
    assertClose(y.data, naive, 1e-5, `bi-interaction B=${B} F=${F} D=${D}`);
  }
});

test('bi-interaction pooling: gradient matches finite differences', () => {
  gradcheck(([e]) => biInteraction(e!), [randTensor(new Rng(22), [3, 4, 5])]);
});

test('field pairs are (0,1), (0,2), …, (F−2,F−1)', () => {
  const p = fieldPairs(4);
  assert.equal(p.count, 6);
  assert.deepEqual([...p.left], [0, 0, 0, 1, 1, 2]);
  assert.deepEqual([...p.right], [1, 2, 3, 2, 3, 3]);
  assert.equal(fieldPairs(1).count, 0);
});

test('inner product layer equals ⟨e_f, e_g⟩ per pair; kernel outer product equals e_fᵀ K_fg e_g', () => {
  const rng = new Rng(23);
  const [B, F, D] = [3, 4, 3];
  const e = randTensor(rng, [B, F, D], 1, false);
  const K = randTensor(rng, [6, D, D], 1, false);
  const inner: number[] = [],
    outer: number[] = [];
  for (let b = 0; b < B; b++) {
    let p = 0;
    for (let f = 0; f < F; f++) {
      for (let g = f + 1; g < F; g++, p++) {
        let s = 0,
          o = 0;
        for (let d = 0; d < D; d++) {
          s += at(e, b, f, d) * at(e, b, g, d);
          for (let c = 0; c < D; c++) o += at(e, b, f, d) * K.data[(p * D + d) * D + c]! * at(e, b, g, c);
        }
        inner.push(s);
        outer.push(o);
      }
    }
  }
  assertClose(innerProducts(e).data, inner, 1e-5, 'inner products');
  assertClose(kernelOuterProducts(e, K).data, outer, 1e-5, 'kernel outer products');
  assert.throws(() => kernelOuterProducts(e, randTensor(rng, [5, D, D])), /kernel must be \[6, 3, 3\]/);
});

test('inner and kernel outer product layers: gradients match finite differences', () => {
  const rng = new Rng(24);
  gradcheck(([e]) => innerProducts(e!), [randTensor(rng, [3, 4, 3])]);
  gradcheck(([e, k]) => kernelOuterProducts(e!, k!), [randTensor(rng, [3, 4, 3]), randTensor(rng, [6, 3, 3])]);
});

/** Fills every state array of a module with U(−s, s) so that zero-initialized biases are tested too; returns the live state. */
function randomizeState(m: Module, rng: Rng, s = 0.5): Map<string, Float32Array> {
  const st = m.stateDict();
  for (const v of st.values()) for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-s, s);
  return st;
}

/** Row r of a [B, n] tensor as numbers. */
function row(x: Tensor, r: number): number[] {
  const n = x.shape[1]!;
  return [...x.data.subarray(r * n, (r + 1) * n)];
}

/** y_j = Σ_i x_i·W[i, j] (+ b_j) for a row-major [in, out] W. */
function rowTimes(x: number[], W: Float32Array, out: number, b?: Float32Array): number[] {
  return Array.from({ length: out }, (_, j) => x.reduce((s, v, i) => s + v * W[i * out + j]!, b?.[j] ?? 0));
}

test('DCNv2 full-rank cross equals x_{l+1} = x₀ ⊙ (W x_l + b) + x_l per row', () => {
  const rng = new Rng(25);
  const [B, n, L] = [4, 5, 3];
  const net = new FullRankCrossNet(n, L, new Rng(1));
  const st = randomizeState(net, rng);
  const x0 = randTensor(rng, [B, n], 1, false);
  const naive: number[] = [];
  for (let r = 0; r < B; r++) {
    const a = row(x0, r);
    let x = a;
    for (let l = 0; l < L; l++) {
      const h = rowTimes(x, st.get(`layer${l}.weight`)!, n, st.get(`layer${l}.bias`)!);
      x = x.map((v, i) => a[i]! * h[i]! + v);
    }
    naive.push(...x);
  }
  assertClose(net.forward(x0).data, naive, 1e-5, 'full-rank cross');
  gradcheckModule(net, randTensor(rng, [3, n]));
});

test('DCNv2 low-rank cross equals x₀ ⊙ (U(Vᵀx_l) + b) + x_l per row', () => {
  const rng = new Rng(26);
  const [B, n, L, r] = [4, 6, 2, 2];
  const net = new LowRankCrossNet(n, L, r, new Rng(1));
  const st = randomizeState(net, rng);
  const x0 = randTensor(rng, [B, n], 1, false);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    const a = row(x0, b);
    let x = a;
    for (let l = 0; l < L; l++) {
      const h = rowTimes(rowTimes(x, st.get(`v${l}.weight`)!, r), st.get(`u${l}.weight`)!, n, st.get(`u${l}.bias`)!);
      x = x.map((v, i) => a[i]! * h[i]! + v);
    }
    naive.push(...x);
  }
  assertClose(net.forward(x0).data, naive, 1e-5, 'low-rank cross');
  gradcheckModule(net, randTensor(rng, [3, n]));
});

test('DCN-Mix equals Σ_k softmax(G)_k · x₀ ⊙ (U_k tanh(C_k tanh(V_kᵀ x_l)) + b) + x_l per row and expert', () => {
  const rng = new Rng(27);
  const [B, n, L, r, K] = [3, 5, 2, 2, 3];
  const net = new CrossNetMix(n, L, r, K, new Rng(1));
  const st = randomizeState(net, rng);
  const x0 = randTensor(rng, [B, n], 1, false);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    const a = row(x0, b);
    let x = a;
    for (let l = 0; l < L; l++) {
      const U = st.get(`U${l}`)!,
        V = st.get(`V${l}`)!,
        C = st.get(`C${l}`)!,
        G = st.get(`gate${l}`)!,
        bias = st.get(`b${l}`)!;
      const logits = Array.from({ length: K }, (_, k) => x.reduce((s, v, i) => s + v * G[i * K + k]!, 0));
      const mx = Math.max(...logits);
      const z = logits.reduce((s, v) => s + Math.exp(v - mx), 0);
      const next = x.slice();
      for (let k = 0; k < K; k++) {
        const w = Math.exp(logits[k]! - mx) / z;
        const v1 = Array.from({ length: r }, (_, j) => Math.tanh(x.reduce((s, v, i) => s + V[(k * n + i) * r + j]! * v, 0)));
        const v2 = Array.from({ length: r }, (_, i) => Math.tanh(v1.reduce((s, v, j) => s + C[(k * r + i) * r + j]! * v, 0)));
        for (let i = 0; i < n; i++) {
          const u = v2.reduce((s, v, j) => s + U[(k * n + i) * r + j]! * v, 0);
          next[i]! += w * a[i]! * (u + bias[i]!);
        }
      }
      x = next;
    }
    naive.push(...x);
  }
  assertClose(net.forward(x0).data, naive, 1e-5, 'DCN-Mix');
  gradcheckModule(net, randTensor(rng, [3, n]));
});

test('CIN equals its formula: X^{k+1}_h = Σ_{i,j} W_{h,ij} X⁰_i ⊙ X^k_j + b_h, sum-pooled layers into one Linear', () => {
  const rng = new Rng(28);
  const [B, F, D] = [3, 3, 4];
  const units = [2, 3];
  const cin = new CIN(F, units, new Rng(1));
  const st = randomizeState(cin, rng);
  const e = randTensor(rng, [B, F, D], 1, false);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    const x0 = Array.from({ length: F }, (_, i) => Array.from({ length: D }, (_, d) => at(e, b, i, d)));
    let xk = x0;
    const pooled: number[] = [];
    units.forEach((H, k) => {
      const W = st.get(`layer${k}.weight`)!,
        bias = st.get(`layer${k}.bias`)!; // [F·H_k, H] rows = channels
      const next = Array.from({ length: H }, (_, h) =>
        Array.from({ length: D }, (_, d) => {
          let s = bias[h]!;
          for (let i = 0; i < F; i++) for (let j = 0; j < xk.length; j++) s += W[(i * xk.length + j) * H + h]! * x0[i]![d]! * xk[j]![d]!;
          return s;
        }),
      );
      for (const m of next) pooled.push(m.reduce((s, v) => s + v, 0));
      xk = next;
    });
    naive.push(rowTimes(pooled, st.get('fc.weight')!, 1, st.get('fc.bias')!)[0]!);
  }
  assertClose(cin.forward(e).data, naive, 1e-5, 'CIN');
  gradcheckModule(cin, randTensor(rng, [2, F, D]));
});

test('CIN split-half equals its formula: the first H_k/2 maps feed the next layer, the other H_k/2 are pooled (last layer: all)', () => {
  const rng = new Rng(30);
  const [B, F, D] = [3, 3, 4];
  const units = [4, 2, 3];
  const cin = new CIN(F, units, new Rng(1), 1, true);
  const st = randomizeState(cin, rng);
  const e = randTensor(rng, [B, F, D], 1, false);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    const x0 = Array.from({ length: F }, (_, i) => Array.from({ length: D }, (_, d) => at(e, b, i, d)));
    let xk = x0;
    const pooled: number[] = [];
    units.forEach((H, k) => {
      const W = st.get(`layer${k}.weight`)!,
        bias = st.get(`layer${k}.bias`)!;
      const maps = Array.from({ length: H }, (_, h) =>
        Array.from({ length: D }, (_, d) => {
          let s = bias[h]!;
          for (let i = 0; i < F; i++) for (let j = 0; j < xk.length; j++) s += W[(i * xk.length + j) * H + h]! * x0[i]![d]! * xk[j]![d]!;
          return s;
        }),
      );
      const last = k === units.length - 1;
      const toOutput = last ? maps : maps.slice(H / 2);
      for (const m of toOutput) pooled.push(m.reduce((s, v) => s + v, 0));
      xk = last ? maps : maps.slice(0, H / 2);
    });
    assert.equal(pooled.length, 2 + 1 + 3);
    naive.push(rowTimes(pooled, st.get('fc.weight')!, 1, st.get('fc.bias')!)[0]!);
  }
  assertClose(cin.forward(e).data, naive, 1e-5, 'CIN split-half');
  gradcheckModule(cin, randTensor(rng, [2, F, D]));
  assert.throws(() => new CIN(F, [3, 2], new Rng(1), 1, true), /even number of feature maps/);
});

test('AFM attentional pooling equals pᵀ Σ_{f<g} softmax(hᵀReLU(W(e_f⊙e_g)+b)) (e_f⊙e_g) in eval mode', () => {
  const rng = new Rng(29);
  const [B, F, D, A] = [3, 4, 3, 5];
  const pool = new AttentionalPooling({ dim: D, attentionDim: A, dropout: [0.3, 0.2], rng: new Rng(1) });
  const st = randomizeState(pool, rng, 1);
  pool.eval();
  const e = randTensor(rng, [B, F, D], 1, false);
  const naive: number[] = [];
  const naiveWeights: number[] = [];
  for (let b = 0; b < B; b++) {
    const v: number[][] = [];
    for (let f = 0; f < F; f++) for (let g = f + 1; g < F; g++) v.push(Array.from({ length: D }, (_, d) => at(e, b, f, d) * at(e, b, g, d)));
    const scores = v.map(
      (x) =>
        rowTimes(
          rowTimes(x, st.get('attention.weight')!, A, st.get('attention.bias')!).map((h) => Math.max(0, h)),
          st.get('attention_h.weight')!,
          1,
        )[0]!,
    );
    const z = scores.reduce((s, x) => s + Math.exp(x), 0);
    const a = scores.map((x) => Math.exp(x) / z);
    naiveWeights.push(...a);
    const pooled = Array.from({ length: D }, (_, d) => v.reduce((s, x, p) => s + a[p]! * x[d]!, 0));
    naive.push(rowTimes(pooled, st.get('weight_p.weight')!, 1)[0]!);
  }
  assertClose(
    pairwiseProducts(e).data,
    Array.from({ length: B }, (_, b) => {
      const out: number[] = [];
      for (let f = 0; f < F; f++) for (let g = f + 1; g < F; g++) for (let d = 0; d < D; d++) out.push(at(e, b, f, d) * at(e, b, g, d));
      return out;
    }).flat(),
    1e-6,
    'pair products',
  );
  assertClose(pool.weights(pairwiseProducts(e)).data, naiveWeights, 1e-5, 'attention weights');
  assertClose(pool.forward(pairwiseProducts(e)).data, naive, 1e-5, 'attentional pooling');
  gradcheck(([x]) => pool.forward(pairwiseProducts(x!)), [randTensor(rng, [2, F, D])]);
  gradcheckModule(pool, randTensor(rng, [2, 6, D]));
});

test('FFM pair sum equals Σ_{f<g} ⟨v_{f→g}, v_{g→f}⟩ with v_{f→g} in copy (g < f ? g : g − 1)', () => {
  const rng = new Rng(30);
  const [B, F, D] = [3, 4, 2];
  const copies = Array.from({ length: F - 1 }, () => randTensor(rng, [B, F, D], 1, false));
  const toward = (b: number, f: number, g: number, d: number) => at(copies[g < f ? g : g - 1]!, b, f, d);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let f = 0; f < F; f++) for (let g = f + 1; g < F; g++) for (let d = 0; d < D; d++) s += toward(b, f, g, d) * toward(b, g, f, d);
    naive.push(s);
  }
  assertClose(ffmInteraction(copies).data, naive, 1e-5, 'FFM');
  assert.throws(() => ffmInteraction([randTensor(rng, [B, 3, D])]), /expected 1 copies of \[B, 2, D\]/);
  gradcheck(
    (cs) => ffmInteraction(cs),
    Array.from({ length: F - 1 }, () => randTensor(rng, [2, F, D])),
  );
});

test('SENET equals a = ReLU(W₂ReLU(W₁ mean_d e)), v_f = a_f·e_f per row', () => {
  const rng = new Rng(31);
  const [B, F, D] = [3, 5, 4];
  const senet = new SENet(F, 2, new Rng(1));
  const st = randomizeState(senet, rng, 1);
  const e = randTensor(rng, [B, F, D], 1, false);
  const naive: number[] = [];
  for (let b = 0; b < B; b++) {
    const z = Array.from({ length: F }, (_, f) => Array.from({ length: D }, (_, d) => at(e, b, f, d)).reduce((s, v) => s + v, 0) / D);
    const h = rowTimes(z, st.get('w1.weight')!, 2).map((v) => Math.max(0, v));
    const a = rowTimes(h, st.get('w2.weight')!, F).map((v) => Math.max(0, v));
    for (let f = 0; f < F; f++) for (let d = 0; d < D; d++) naive.push(a[f]! * at(e, b, f, d));
  }
  assertClose(senet.forward(e).data, naive, 1e-5, 'SENET');
  gradcheckModule(senet, randTensor(rng, [3, F, D]));
});

test('bilinear interaction equals (e_f·W) ⊙ e_g per pair for field_all, field_each and field_interaction', () => {
  const rng = new Rng(32);
  const [B, F, D] = [2, 4, 3];
  const e = randTensor(rng, [B, F, D], 1, false);
  for (const type of ['field_all', 'field_each', 'field_interaction']) {
    const layer = new BilinearInteraction(F, D, type, new Rng(1));
    const W = layer.stateDict().get('weight')!;
    assert.equal(W.length, (type === 'field_all' ? 1 : type === 'field_each' ? F : 6) * D * D, `${type} weight size`);
    const naive: number[] = [];
    for (let b = 0; b < B; b++) {
      let p = 0;
      for (let f = 0; f < F; f++) {
        for (let g = f + 1; g < F; g++, p++) {
          const k = type === 'field_all' ? 0 : type === 'field_each' ? f : p;
          const ef = Array.from({ length: D }, (_, d) => at(e, b, f, d));
          const t = rowTimes(ef, W.subarray(k * D * D, (k + 1) * D * D), D);
          for (let d = 0; d < D; d++) naive.push(t[d]! * at(e, b, g, d));
        }
      }
    }
    assertClose(layer.forward(e).data, naive, 1e-5, `bilinear ${type}`);
    gradcheckModule(layer, randTensor(rng, [2, F, D]));
  }
  assert.throws(
    () => new BilinearInteraction(F, D, 'field_pair', new Rng(1)),
    /bilinear_type must be one of field_all, field_each, field_interaction/,
  );
});

test('interacting layer equals ReLU(LN(Σ heads softmax(q·k/√d) v) + x W_res)) per row and head', () => {
  const rng = new Rng(33);
  const [B, F, In, A, H] = [2, 3, 4, 6, 2];
  const d = A / H;
  for (const layerNorm of [false, true]) {
    const layer = new InteractingLayer({
      inputDim: In,
      attentionDim: A,
      numHeads: H,
      useResidual: true,
      useScale: true,
      layerNorm,
      dropout: 0.2,
      rng: new Rng(1),
    });
    const st = randomizeState(layer, rng, 0.7);
    layer.eval();
    const x = randTensor(rng, [B, F, In], 1, false);
    const naive: number[] = [];
    for (let b = 0; b < B; b++) {
      const rows = Array.from({ length: F }, (_, f) => Array.from({ length: In }, (_, i) => at(x, b, f, i)));
      const q = rows.map((r) => rowTimes(r, st.get('W_q.weight')!, A));
      const k = rows.map((r) => rowTimes(r, st.get('W_k.weight')!, A));
      const v = rows.map((r) => rowTimes(r, st.get('W_v.weight')!, A));
      for (let f = 0; f < F; f++) {
        const out = new Array<number>(A).fill(0);
        for (let h = 0; h < H; h++) {
          const s = Array.from(
            { length: F },
            (_, g) => Array.from({ length: d }, (_, j) => q[f]![h * d + j]! * k[g]![h * d + j]!).reduce((a, c) => a + c, 0) / Math.sqrt(d),
          );
          const mx = Math.max(...s);
          const z = s.reduce((a, c) => a + Math.exp(c - mx), 0);
          for (let g = 0; g < F; g++) for (let j = 0; j < d; j++) out[h * d + j]! += (Math.exp(s[g]! - mx) / z) * v[g]![h * d + j]!;
        }
        const res = rowTimes(rows[f]!, st.get('W_res.weight')!, A);
        let y = out.map((o, j) => o + res[j]!);
        if (layerNorm) {
          const mu = y.reduce((a, c) => a + c, 0) / A;
          const vr = y.reduce((a, c) => a + (c - mu) ** 2, 0) / A;
          y = y.map((c, j) => ((c - mu) / Math.sqrt(vr + 1e-5)) * st.get('layer_norm.gamma')![j]! + st.get('layer_norm.beta')![j]!);
        }
        naive.push(...y.map((c) => Math.max(0, c)));
      }
    }
    assertClose(layer.forward(x).data, naive, 1e-5, `interacting layer (layer_norm ${layerNorm})`);
    layer.train();
    const noDrop = new InteractingLayer({
      inputDim: In,
      attentionDim: A,
      numHeads: H,
      useResidual: true,
      useScale: false,
      layerNorm,
      dropout: 0,
      rng: new Rng(2),
    });
    gradcheckModule(noDrop, randTensor(rng, [2, F, In]));
  }
});
