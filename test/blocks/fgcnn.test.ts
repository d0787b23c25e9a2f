import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { convRows, maxPoolRows, matmul, unfoldRows } from '../../src/engine/ops/index.js';
import { FeatureGeneration, generatedHeights, type FeatureGenerationOptions } from '../../src/blocks/interactions/feature-generation.js';
import { gradcheck, randTensor } from '../support/gradcheck.js';
import { gradcheckModule } from '../nn/helpers.js';

/** Asserts |actual − expected| ≤ tol·max(1, |expected|) entry by entry. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs naive ${expected[i]} (relative error ${err.toExponential(2)})`);
  }
}

test('unfoldRows · W equals the convolution Σ_c Σ_t W[c′, c, t]·x[n, h + t − pad, c] with zero padding', () => {
  const rng = new Rng(81);
  for (const [N, H, C, Co, k] of [
    [2, 5, 1, 3, 3],
    [3, 4, 2, 2, 5],
    [1, 2, 3, 4, 7],
  ] as const) {
    const pad = (k - 1) / 2;
    const x = randTensor(rng, [N, H, C], 1, false);
    const w = randTensor(rng, [k * C, Co], 1, false);
    const y = matmul(unfoldRows(x, k, pad), w); // [N, H, Co]
    const naive: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        for (let o = 0; o < Co; o++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            for (let t = 0; t < k; t++) {
              const r = h + t - pad;
              if (r >= 0 && r < H) s += w.data[(t * C + c) * Co + o]! * x.data[(n * H + r) * C + c]!;
            }
          }
          naive.push(s);
        }
      }
    }
    assert.deepEqual(y.shape, [N, H, Co]);
    assertClose(y.data, naive, 1e-5, `conv N=${N} H=${H} C=${C} k=${k}`);
  }
  assert.throws(() => unfoldRows(randTensor(rng, [1, 2, 1], 1, false), 5, 0), /leaves no output row/);
});

/** The convolution b[o] + Σ_c Σ_t W[t·C + c, o]·x[n, h + t − pad, c] over explicit loops (zero padding). */
function naiveConv(x: Tensor, w: Tensor, b: Tensor | null, k: number, pad: number): number[] {
  const [N, H, C] = x.shape as [number, number, number];
  const Co = w.shape[1]!,
    Ho = H + 2 * pad - k + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < Ho; h++) {
      for (let o = 0; o < Co; o++) {
        let s = b === null ? 0 : b.data[o]!;
        for (let t = 0; t < k; t++) {
          const r = h + t - pad;
          if (r < 0 || r >= H) continue;
          for (let c = 0; c < C; c++) s += w.data[(t * C + c) * Co + o]! * x.data[(n * H + r) * C + c]!;
        }
        out.push(s);
      }
    }
  }
  return out;
}

test('convRows equals the naive convolution for one chunk, several chunks and a partial last chunk, with and without bias', () => {
  const rng = new Rng(85);
  for (const [N, H, C, Co, k, pad] of [
    [7, 5, 1, 3, 3, 1],
    [5, 4, 2, 2, 5, 2],
    [3, 6, 3, 4, 3, 0],
    [4, 2, 3, 2, 7, 3],
  ] as const) {
    const x = randTensor(rng, [N, H, C], 1, false);
    const w = randTensor(rng, [k * C, Co], 1, false);
    for (const b of [randTensor(rng, [Co], 1, false), null]) {
      const want = naiveConv(x, w, b, k, pad);
      const perRow = (H + 2 * pad - k + 1) * k * C;
      // chunks of N rows (one GEMM), of 2 rows (N odd: partial last chunk) and of 1 row (a scratch smaller than one row)
      for (const chunk of [1 << 18, 2 * perRow, 1]) {
        const y = convRows(x, w, b, k, pad, chunk);
        assert.deepEqual(y.shape, [N, H + 2 * pad - k + 1, Co]);
        assertClose(y.data, want, 1e-5, `convRows N=${N} H=${H} C=${C} k=${k} pad=${pad} chunk=${chunk} bias=${b !== null}`);
      }
    }
  }
  const x = randTensor(rng, [2, 3, 2], 1, false);
  assert.throws(() => convRows(x, randTensor(rng, [5, 2], 1, false), null, 3, 1), /weight must be \[6, out\]/);
  assert.throws(() => convRows(x, randTensor(rng, [6, 2], 1, false), randTensor(rng, [3], 1, false), 3, 1), /bias must be \[2\]/);
  assert.throws(() => convRows(x, randTensor(rng, [10, 2], 1, false), null, 5, 0), /leaves no output row/);
});

test('convRows: gradients of x, W and b match finite differences, over several chunks too', () => {
  const rng = new Rng(86);
  for (const chunk of [1 << 18, 30]) {
    gradcheck(([x, w, b]) => convRows(x!, w!, b!, 3, 1, chunk), [randTensor(rng, [5, 4, 2]), randTensor(rng, [6, 3]), randTensor(rng, [3])]);
    gradcheck(([x, w]) => convRows(x!, w!, null, 5, 2, chunk), [randTensor(rng, [3, 3, 1]), randTensor(rng, [5, 2])]);
  }
});

test('maxPoolRows: windows [i·k − pad, i·k − pad + k) as torch MaxPool2d with padding; hand-computed cases', () => {
  const col = (v: number[]) => Tensor.from(Float32Array.from(v), [1, v.length, 1]);
  // H 5, pool 2, padding 1: windows {0}, {1, 2}, {3, 4}.
  assert.deepEqual([...maxPoolRows(col([1, 5, 2, 4, 3]), 2, 1).data], [1, 5, 4]);
  // H 4, pool 2, no padding: {0, 1}, {2, 3}; H 3 pool 2 padding 1: {0}, {1, 2}.
  assert.deepEqual([...maxPoolRows(col([-1, -3, 7, 2]), 2, 0).data], [-1, 7]);
  assert.deepEqual([...maxPoolRows(col([-2, -5, -4]), 2, 1).data], [-2, -4]);
  // Channels pool independently: [N 1, H 2, C 2].
  assert.deepEqual([...maxPoolRows(Tensor.from(Float32Array.from([1, 9, 3, 2]), [1, 2, 2]), 2, 0).data], [3, 9]);
  assert.throws(() => maxPoolRows(col([1, 2]), 2, 2), /window with no row/);
});

test('unfoldRows and maxPoolRows: gradients match finite differences', () => {
  const rng = new Rng(82);
  gradcheck(([x]) => unfoldRows(x!, 3, 1), [randTensor(rng, [2, 4, 3])]);
  gradcheck(([x]) => unfoldRows(x!, 5, 2), [randTensor(rng, [1, 3, 2])]);
  gradcheck(([x]) => maxPoolRows(x!, 2, 1), [randTensor(rng, [3, 5, 2])]);
  gradcheck(([x]) => maxPoolRows(x!, 3, 0), [randTensor(rng, [2, 6, 3])]);
});

test("generatedHeights: ⌈H/p⌉ per layer as FuxiCTR's compute_input_dim; layouts FuxiCTR cannot build are refused", () => {
  const opts = (o: Partial<FeatureGenerationOptions>): FeatureGenerationOptions => ({
    channels: [14, 16, 18, 20],
    kernelHeights: [7, 7, 7, 7],
    poolingSizes: [2, 2, 2, 2],
    recombinedChannels: [2, 2, 2, 2],
    activation: 'tanh',
    batchNorm: true,
    ...o,
  });
  assert.deepEqual(generatedHeights(10, opts({})), [5, 3, 2, 1]);
  const two = { channels: [4, 4], kernelHeights: [3, 3], recombinedChannels: [1, 1] };
  assert.deepEqual(generatedHeights(39, opts({ ...two, poolingSizes: [3, 3] })), [13, 5]);
  // 5 rows, pool 3: torch's padding 5 mod 3 = 2 exceeds half the window (torch refuses it too).
  assert.throws(
    () =>
      generatedHeights(39, opts({ ...two, channels: [4, 4, 4], kernelHeights: [3, 3, 3], recombinedChannels: [1, 1, 1], poolingSizes: [3, 3, 3] })),
    /pooling size 3 over 5 rows \(layer 3\)/,
  );
  assert.throws(() => generatedHeights(10, opts({ kernelHeights: [7, 6, 7, 7] })), /kernel_heights must be odd/);
  assert.throws(() => generatedHeights(10, opts({ channels: [4, 4] })), /'kernel_heights' has 4 entries, 'channels' has 2/);
  assert.throws(
    () => generatedHeights(5, opts({ channels: [4], kernelHeights: [3], poolingSizes: [4], recombinedChannels: [1] })),
    /pooling size 4 over 5 rows/,
  );
  assert.throws(() => generatedHeights(10, opts({ activation: 'swish' })), /conv_activation must be one of/);
  assert.throws(() => generatedHeights(10, opts({ channels: [], kernelHeights: [], poolingSizes: [], recombinedChannels: [] })), /at least one/);
});

/**
 * The whole generator by explicit loops, in the block's layout: per layer, convolution over
 * the field axis for every embedding column d, BatchNorm with the batch's statistics per channel
 * over (b, h, d), tanh, max pooling with padding H mod p, flatten in (d, h, c) order,
 * recombination by a plain matrix product, tanh, read as [B, H·R, D].
 */
function naiveGeneration(gen: FeatureGeneration, e: Tensor, o: FeatureGenerationOptions): number[][] {
  const [B, F, D] = e.shape as [number, number, number];
  const params = new Map(gen.namedParameters());
  const P = (n: string) => params.get(n)!.data;
  // x[b][d][h][c]
  let x: number[][][][] = [];
  for (let b = 0; b < B; b++) x.push(Array.from({ length: D }, (_, d) => Array.from({ length: F }, (_, h) => [e.data[(b * F + h) * D + d]!])));
  const out: number[][] = Array.from({ length: B }, () => []);
  o.channels.forEach((Co, i) => {
    const k = o.kernelHeights[i]!,
      p = o.poolingSizes[i]!,
      pad = (k - 1) / 2;
    const H = x[0]![0]!.length,
      C = x[0]![0]![0]!.length;
    const W = P(`conv${i}.weight`),
      bias = P(`conv${i}.bias`);
    const y = x.map((xb) =>
      xb.map((xd) =>
        Array.from({ length: H }, (_, h) =>
          Array.from({ length: Co }, (_, oc) => {
            let s = bias[oc]!;
            for (let t = 0; t < k; t++)
              for (let c = 0; c < C; c++) if (h + t - pad >= 0 && h + t - pad < H) s += W[(t * C + c) * Co + oc]! * xd[h + t - pad]![c]!;
            return s;
          }),
        ),
      ),
    );
    if (o.batchNorm) {
      const g = P(`conv_bn${i}.gamma`),
        be = P(`conv_bn${i}.beta`);
      for (let oc = 0; oc < Co; oc++) {
        const vals = y.flatMap((yb) => yb.flatMap((yd) => yd.map((row) => row[oc]!)));
        const mu = vals.reduce((s, v) => s + v, 0) / vals.length;
        const v2 = vals.reduce((s, v) => s + (v - mu) ** 2, 0) / vals.length;
        for (const yb of y) for (const yd of yb) for (const row of yd) row[oc] = (g[oc]! * (row[oc]! - mu)) / Math.sqrt(v2 + 1e-5) + be[oc]!;
      }
    }
    const Hp = Math.ceil(H / p),
      pp = H % p;
    x = y.map((yb) =>
      yb.map((yd) =>
        Array.from({ length: Hp }, (_, j) =>
          Array.from({ length: Co }, (_, oc) => {
            let m = -Infinity;
            for (let r = j * p - pp; r < j * p - pp + p; r++) if (r >= 0 && r < H) m = Math.max(m, Math.tanh(yd[r]![oc]!));
            return m;
          }),
        ),
      ),
    );
    const R = o.recombinedChannels[i]!;
    const RW = P(`recombine${i}.weight`),
      rb = P(`recombine${i}.bias`);
    const nOut = Hp * D * R;
    x.forEach((xb, b) => {
      const flat = xb.flat(2);
      for (let j = 0; j < nOut; j++) {
        let s = rb[j]!;
        for (let q = 0; q < flat.length; q++) s += flat[q]! * RW[q * nOut + j]!;
        out[b]!.push(Math.tanh(s));
      }
    });
  });
  return out;
}

test('FeatureGeneration equals the naive convolution → BN → tanh → pooling → recombination, layer by layer', () => {
  const rng = new Rng(83);
  for (const o of [
    { channels: [3, 4], kernelHeights: [3, 5], poolingSizes: [2, 2], recombinedChannels: [2, 1], activation: 'tanh', batchNorm: true },
    { channels: [2, 3, 2], kernelHeights: [7, 7, 7], poolingSizes: [2, 2, 2], recombinedChannels: [1, 2, 3], activation: 'Tanh', batchNorm: false },
  ]) {
    const [B, F, D] = [3, 5, 4];
    const gen = new FeatureGeneration(F, D, o, new Rng(9));
    gen.train();
    const e = randTensor(rng, [B, F, D], 1, false);
    const y = gen.forward(e);
    const heights = generatedHeights(F, o);
    const N = heights.reduce((s, H, i) => s + H * o.recombinedChannels[i]!, 0);
    assert.equal(gen.numNewFields, N);
    assert.deepEqual(y.shape, [B, N, D]);
    assertClose(y.data, naiveGeneration(gen, e, o).flat(), 1e-4, `generation ${JSON.stringify(o.channels)}`);
  }
});

test('FeatureGeneration: gradient of the input and every parameter matches finite differences', () => {
  const gen = new FeatureGeneration(
    5,
    3,
    { channels: [3, 2], kernelHeights: [3, 3], poolingSizes: [2, 2], recombinedChannels: [2, 1], activation: 'tanh', batchNorm: true },
    new Rng(5),
  );
  gen.train();
  gradcheckModule(gen, randTensor(new Rng(84), [4, 5, 3]), { maxCoords: 40 });
});
