import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { denseKernelsTS, loadNativeAddon, nativeKernels, DENSE_KERNEL_NAMES } from '../../src/engine/kernels/index.js';
import type { DenseKernels } from '../../src/engine/kernels/index.js';

/*
 * The fused dense kernels (DenseKernels): the native versions (native/dense.cc) against
 * their TypeScript twins, and the twins against plain float64 references.
 *
 * Tolerance between backends: none — results must be bit-identical. Both sides do the
 * same float64 operations in the same order and round to float32 on the same stores; the
 * addon is built with -ffp-contract=off (no fused multiply-add) and its AVX2 and baseline
 * clones do IEEE operations only, so any difference is a bug (wrong index, wrong formula,
 * wrong rounding step), not noise. ±0 and NaN payloads are compared too (bit patterns).
 */

const loaded = loadNativeAddon();
const native: Partial<DenseKernels> | null = 'addon' in loaded ? nativeKernels(loaded.addon) : null;
const skipNative = native === null ? `native half skipped: ${(loaded as { error: string }).error}` : false;
const ts = denseKernelsTS;

function nat(): DenseKernels {
  for (const name of DENSE_KERNEL_NAMES) {
    if (typeof native?.[name] !== 'function') throw new Error(`native addon lacks ${name} (stale build? run npm rebuild)`);
  }
  return native as DenseKernels;
}

/** Random float32 values in [−scale, scale] with a few special values mixed in when `special`. */
function rand(rng: Rng, n: number, scale = 1, special = false): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-scale, scale);
  if (special && n >= 8) {
    a[1] = 0;
    a[3] = -0;
    a[5] = 1e-40;
    a[7] = -2.5e-39; // zeros and subnormals
  }
  return a;
}

/** Asserts two arrays are equal bit for bit (so ±0 and NaN count), naming the first difference. */
function sameBits(actual: Float32Array | Float64Array, expected: Float32Array | Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const A =
    actual instanceof Float64Array
      ? new BigUint64Array(actual.buffer, actual.byteOffset, actual.length)
      : new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const E =
    expected instanceof Float64Array
      ? new BigUint64Array(expected.buffer, expected.byteOffset, expected.length)
      : new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < A.length; i++) {
    if (A[i] !== E[i]) assert.fail(`${what}[${i}]: ${actual[i]} (bits ${A[i]!.toString(16)}) vs ${expected[i]} (bits ${E[i]!.toString(16)})`);
  }
}

/** Shapes [rows, c]: odd widths (vector tails), one row, one column, the MLP shape scaled down. */
const SHAPES: Array<[number, number]> = [
  [1, 1],
  [2, 3],
  [7, 5],
  [33, 17],
  [64, 400],
  [5, 1],
  [1, 9],
];
/** Dropout settings: none, p = 0.2 (two seeds, one the largest uint32), p = 0.5, keep-nothing. */
const DROPS: Array<[number, number, number]> = [
  [0, 0, 1],
  [12345, Math.ceil(0.2 * 2 ** 32), Math.fround(1 / 0.8)],
  [4294967295, Math.ceil(0.2 * 2 ** 32), Math.fround(1 / 0.8)],
  [7, 2 ** 31, 2],
  [99, 2 ** 32, 0],
];

test('bnStats: native and TypeScript agree bit for bit', { skip: skipNative }, () => {
  const rng = new Rng(1);
  for (const [rows, c] of SHAPES) {
    for (const offset of [0, 100]) {
      const x = rand(rng, rows * c, 1, true);
      for (let i = 0; i < x.length; i++) x[i]! += offset; // |mean| ≫ std exercises the shift
      const a = new Float64Array(2 * c),
        b = new Float64Array(2 * c);
      nat().bnStats(x, rows, c, a);
      ts.bnStats(x, rows, c, b);
      sameBits(a, b, `bnStats ${rows}x${c}+${offset}`);
    }
  }
});

test('bnStats (TypeScript) matches a two-pass float64 reference and clamps a negative variance to 0', () => {
  const rng = new Rng(2);
  const rows = 50,
    c = 6;
  const x = rand(rng, rows * c, 3);
  const out = new Float64Array(2 * c);
  ts.bnStats(x, rows, c, out);
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (let i = 0; i < rows; i++) m += x[i * c + j]!;
    m /= rows;
    let v = 0;
    for (let i = 0; i < rows; i++) v += (x[i * c + j]! - m) ** 2;
    v /= rows;
    assert.ok(Math.abs(out[j]! - m) <= 1e-12, `mean ${j}`);
    assert.ok(Math.abs(out[c + j]! - v) <= 1e-12 * Math.max(1, v), `var ${j}`);
  }
  const constant = new Float32Array([0.1, 0.1, 0.1]);
  const s = new Float64Array(2);
  ts.bnStats(constant, 3, 1, s);
  assert.ok(Object.is(s[1], 0), `variance of a constant column is +0, got ${s[1]}`);
});

test('bnForward: native and TypeScript agree bit for bit (relu on/off, every dropout setting)', { skip: skipNative }, () => {
  const rng = new Rng(3);
  for (const [rows, c] of SHAPES) {
    const x = rand(rng, rows * c, 2, true);
    const mean = rand(rng, c, 0.5),
      scale = rand(rng, c, 2),
      shift = rand(rng, c, 0.5);
    if (c > 1) x[0] = NaN;
    for (const relu of [false, true]) {
      for (const [seed, threshold, dropScale] of DROPS) {
        const a = new Float32Array(rows * c),
          b = new Float32Array(rows * c);
        nat().bnForward(x, rows, c, mean, scale, shift, relu, seed, threshold, dropScale, a);
        ts.bnForward(x, rows, c, mean, scale, shift, relu, seed, threshold, dropScale, b);
        sameBits(a, b, `bnForward ${rows}x${c} relu=${relu} drop=${seed}/${threshold}`);
      }
    }
  }
});

test('bnForward (TypeScript) computes float32((x − mean)·scale + shift), relu as max(0, ·), times the dropout factor', () => {
  const rng = new Rng(4);
  const rows = 9,
    c = 4;
  const x = rand(rng, rows * c, 2),
    mean = rand(rng, c),
    scale = rand(rng, c),
    shift = rand(rng, c);
  const plain = new Float32Array(rows * c),
    relu = new Float32Array(rows * c),
    dropped = new Float32Array(rows * c);
  ts.bnForward(x, rows, c, mean, scale, shift, false, 0, 0, 1, plain);
  ts.bnForward(x, rows, c, mean, scale, shift, true, 0, 0, 1, relu);
  const [seed, threshold, s] = DROPS[1]!;
  ts.bnForward(x, rows, c, mean, scale, shift, true, seed, threshold, s, dropped);
  const factor = referenceFactors(seed, threshold, s, rows * c);
  for (let i = 0; i < rows * c; i++) {
    const j = i % c;
    const y = Math.fround((x[i]! - mean[j]!) * scale[j]! + shift[j]!);
    assert.equal(plain[i], y, `plain ${i}`);
    assert.ok(Object.is(relu[i], y > 0 ? y : 0), `relu ${i}: ${relu[i]} vs ${y}`);
    assert.ok(Object.is(dropped[i], Math.fround((y > 0 ? y : 0) * factor[i]!)), `dropped ${i}`);
  }
});

test('bnGradSums and bnInputGrad: native and TypeScript agree bit for bit (mask, dropout, accumulate)', { skip: skipNative }, () => {
  const rng = new Rng(5);
  for (const [rows, c] of SHAPES) {
    const n = rows * c;
    const g = rand(rng, n, 1, true),
      x = rand(rng, n, 2, true);
    const mean = rand(rng, c, 0.5),
      invStd = rand(rng, c, 2),
      scale = rand(rng, c, 2),
      k = rand(rng, c),
      b = rand(rng, c);
    // A relu-like mask: +0, positives, and the other bit patterns (−0, negatives, NaN).
    const mask = rand(rng, n, 1, true);
    for (let i = 0; i < n; i++) if (i % 3 === 0) mask[i] = 0;
    if (n > 2) mask[2] = NaN;
    for (const m of [null, mask]) {
      for (const [seed, threshold, dropScale] of DROPS) {
        const sa = new Float64Array(2 * c),
          sb = new Float64Array(2 * c);
        nat().bnGradSums(g, m, x, mean, invStd, rows, c, seed, threshold, dropScale, sa);
        ts.bnGradSums(g, m, x, mean, invStd, rows, c, seed, threshold, dropScale, sb);
        const what = `${rows}x${c} mask=${m !== null} drop=${seed}/${threshold}`;
        sameBits(sa, sb, `bnGradSums ${what}`);
        for (const accumulate of [false, true]) {
          const start = rand(rng, n);
          const ga = start.slice(),
            gb = start.slice();
          nat().bnInputGrad(g, m, x, mean, scale, k, b, rows, c, seed, threshold, dropScale, accumulate, ga);
          ts.bnInputGrad(g, m, x, mean, scale, k, b, rows, c, seed, threshold, dropScale, accumulate, gb);
          sameBits(ga, gb, `bnInputGrad ${what} accumulate=${accumulate}`);
        }
      }
    }
  }
});

test('bnGradSums / bnInputGrad (TypeScript) follow their formulas', () => {
  const rng = new Rng(6);
  const rows = 6,
    c = 3,
    n = rows * c;
  const g = rand(rng, n),
    x = rand(rng, n),
    mean = rand(rng, c),
    invStd = rand(rng, c),
    scale = rand(rng, c),
    k = rand(rng, c),
    b = rand(rng, c);
  const mask = rand(rng, n); // negatives mask out
  const [seed, threshold, s] = DROPS[3]!;
  const f = referenceFactors(seed, threshold, s, n);
  const sums = new Float64Array(2 * c);
  ts.bnGradSums(g, mask, x, mean, invStd, rows, c, seed, threshold, s, sums);
  const gx0 = rand(rng, n),
    gx = gx0.slice();
  ts.bnInputGrad(g, mask, x, mean, scale, k, b, rows, c, seed, threshold, s, true, gx);
  const refG = new Float64Array(c),
    refGX = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const j = i % c;
    const gv = mask[i]! > 0 ? Math.fround(g[i]! * f[i]!) : 0;
    refG[j]! += gv;
    refGX[j]! += gv * (x[i]! - mean[j]!);
    const want = Math.fround(gx0[i]! + (gv * scale[j]! - k[j]! * (x[i]! - mean[j]!) - b[j]!));
    assert.equal(gx[i], want, `gx ${i}`);
  }
  for (let j = 0; j < c; j++) {
    assert.ok(Math.abs(sums[j]! - refG[j]!) <= 1e-12, `Σg ${j}`);
    assert.ok(Math.abs(sums[c + j]! - refGX[j]! * invStd[j]!) <= 1e-12, `Σg·x̂ ${j}`);
  }
});

test('dropoutForward / dropoutBackward: native and TypeScript agree bit for bit', { skip: skipNative }, () => {
  const rng = new Rng(7);
  for (const n of [0, 1, 7, 1023, 1024, 1025, 5000]) {
    const x = rand(rng, n, 1, true),
      g = rand(rng, n, 1, true);
    for (const [seed, threshold, s] of DROPS) {
      const a = new Float32Array(n),
        b = new Float32Array(n);
      nat().dropoutForward(x, n, seed, threshold, s, a);
      ts.dropoutForward(x, n, seed, threshold, s, b);
      sameBits(a, b, `dropoutForward n=${n} seed=${seed} t=${threshold}`);
      for (const accumulate of [false, true]) {
        const start = rand(rng, n);
        const ga = start.slice(),
          gb = start.slice();
        nat().dropoutBackward(g, n, seed, threshold, s, accumulate, ga);
        ts.dropoutBackward(g, n, seed, threshold, s, accumulate, gb);
        sameBits(ga, gb, `dropoutBackward n=${n} seed=${seed} accumulate=${accumulate}`);
      }
    }
  }
});

/** lowbias32 in BigInt arithmetic: an implementation independent of the kernels' int32 tricks. */
function mixRef(x: bigint): bigint {
  const M = 0xffffffffn;
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M;
  x ^= x >> 16n;
  return x;
}

/** The documented dropout factors f(i), i < n, computed with BigInt. */
function referenceFactors(seed: number, threshold: number, scale: number, n: number): number[] {
  const s = BigInt(seed),
    k2 = mixRef(s ^ 0x9e3779b9n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = mixRef((mixRef(BigInt(i) ^ s) + k2) & 0xffffffffn);
    out.push(threshold > 4294967295 ? 0 : Number(h) >= threshold ? Math.fround(scale) : 0);
  }
  return out;
}

test('dropout kernels (TypeScript) implement the documented counter-based mask', () => {
  const rng = new Rng(8);
  const n = 3000;
  const x = rand(rng, n);
  for (const [seed, threshold, s] of DROPS.slice(1)) {
    const f = referenceFactors(seed, threshold, s, n);
    const out = new Float32Array(n);
    ts.dropoutForward(x, n, seed, threshold, s, out);
    for (let i = 0; i < n; i++) assert.ok(Object.is(out[i], Math.fround(x[i]! * f[i]!)), `seed ${seed}: element ${i}`);
    const gx = new Float32Array(n).fill(0.5);
    ts.dropoutBackward(x, n, seed, threshold, s, true, gx);
    for (let i = 0; i < n; i++) assert.equal(gx[i], Math.fround(0.5 + x[i]! * f[i]!), `backward ${i}`);
  }
  // Keep rate: threshold ⌈0.2·2³²⌉ keeps ≈ 80 % (Binomial(3000, 0.8): sd 0.0073; 5 sd).
  const kept = referenceFactors(1, Math.ceil(0.2 * 2 ** 32), 1.25, n).filter((v) => v !== 0).length / n;
  assert.ok(Math.abs(kept - 0.8) < 0.037, `kept ${kept}`);
});

test('addColumnSums: float64 column sums added once; native agrees bit for bit', () => {
  const rng = new Rng(9);
  for (const [rows, c] of SHAPES) {
    const g = rand(rng, rows * c, 1, true);
    const start = rand(rng, c);
    const b = start.slice();
    ts.addColumnSums(g, rows, c, b);
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += g[i * c + j]!;
      assert.equal(b[j], Math.fround(start[j]! + sum), `column ${j}`);
    }
    if (native !== null) {
      const a = start.slice();
      nat().addColumnSums(g, rows, c, a);
      sameBits(a, b, `addColumnSums ${rows}x${c}`);
    }
  }
});

test('relu: max(0, x) in place or into another array; native agrees bit for bit', () => {
  const rng = new Rng(10);
  for (const n of [0, 1, 7, 33, 4000]) {
    const x = rand(rng, n, 3, true);
    if (n > 0) x[0] = NaN;
    const b = new Float32Array(n);
    ts.relu(x, n, b);
    for (let i = 0; i < n; i++) {
      const want = Number.isNaN(x[i]!) ? NaN : x[i]! > 0 ? x[i]! : 0;
      assert.ok(Object.is(b[i], want) || (want === 0 && b[i] === 0), `relu(${x[i]}) = ${b[i]}`);
    }
    if (native !== null) {
      const a = new Float32Array(n);
      nat().relu(x, n, a);
      sameBits(a, b, `relu ${n}`);
      const inPlace = x.slice();
      nat().relu(inPlace, n, inPlace);
      sameBits(inPlace, b, `relu in place ${n}`);
    }
  }
});

test('reluBackward: gx (+)= x > 0 ? g : 0 as a select (masked positions exactly +0 or unchanged); native agrees bit for bit', () => {
  const rng = new Rng(11);
  for (const n of [0, 1, 7, 33, 4001]) {
    const x = rand(rng, n, 3, true);
    const g = rand(rng, n, 2, true);
    if (n > 4) {
      x[2] = NaN; // NaN input: masked (NaN > 0 is false)
      g[4] = NaN;
      x[4] = -1; // a NaN gradient at a masked position gives +0, not NaN
    }
    const start = rand(rng, n, 1);
    for (const accumulate of [false, true]) {
      const b = start.slice();
      ts.reluBackward(x, g, n, accumulate, b);
      for (let i = 0; i < n; i++) {
        const sel = x[i]! > 0 ? g[i]! : 0;
        const want = Math.fround(accumulate ? start[i]! + sel : sel);
        assert.ok(Object.is(b[i], want) || (Number.isNaN(want) && Number.isNaN(b[i])), `reluBackward ${i}: ${b[i]} vs ${want}`);
      }
      if (!accumulate) for (let i = 0; i < n; i++) if (!(x[i]! > 0)) assert.ok(Object.is(b[i], 0), `masked ${i} is +0`);
      if (native !== null) {
        const a = start.slice();
        nat().reluBackward(x, g, n, accumulate, a);
        sameBits(a, b, `reluBackward ${n} accumulate=${accumulate}`);
      }
    }
  }
});

test('reluBackwardColumnSums: the masked gradient and its column sums, equal to reluBackward then addColumnSums; in place or not; native agrees bit for bit', () => {
  const rng = new Rng(12);
  for (const [rows, c] of [...SHAPES, [0, 3] as [number, number]]) {
    const n = rows * c;
    const x = rand(rng, n, 3, true);
    const g = rand(rng, n, 2, true);
    if (n > 4) {
      x[2] = NaN;
      g[4] = NaN;
      x[4] = -1; // a NaN gradient at a masked position gives +0 and no NaN in the sums
    }
    const start = rand(rng, c);
    // The naive reference: the select, then column sums in float64 added once.
    const wantG = new Float32Array(n);
    for (let i = 0; i < n; i++) wantG[i] = x[i]! > 0 ? g[i]! : 0;
    const wantSums = start.slice();
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += wantG[i * c + j]!;
      wantSums[j] = Math.fround(start[j]! + sum);
    }
    // The two kernels it replaces give the same bits.
    const twoG = new Float32Array(n),
      twoSums = start.slice();
    ts.reluBackward(x, g, n, false, twoG);
    ts.addColumnSums(twoG, rows, c, twoSums);
    sameBits(twoG, wantG, `reference mask ${rows}x${c}`);
    sameBits(twoSums, wantSums, `reference sums ${rows}x${c}`);
    const backends: Array<[string, DenseKernels]> = [['typescript', ts]];
    if (native !== null) backends.push(['native', nat()]);
    for (const [name, K] of backends) {
      const gx = new Float32Array(n).fill(7),
        sums = start.slice();
      K.reluBackwardColumnSums(x, g, rows, c, gx, sums);
      sameBits(gx, wantG, `${name} gx ${rows}x${c}`);
      sameBits(sums, wantSums, `${name} sums ${rows}x${c}`);
      const inPlace = g.slice(),
        sums2 = start.slice();
      K.reluBackwardColumnSums(x, inPlace, rows, c, inPlace, sums2);
      sameBits(inPlace, wantG, `${name} in place ${rows}x${c}`);
      sameBits(sums2, wantSums, `${name} in place sums ${rows}x${c}`);
    }
  }
});

test('fmSecondOrder and its backward: the formula in float64 (TypeScript); native agrees bit for bit', () => {
  const rng = new Rng(12);
  for (const [B, F, D] of [
    [1, 1, 1],
    [3, 2, 5],
    [17, 26, 16],
    [5, 7, 3],
  ] as const) {
    const x = rand(rng, B * F * D, 1);
    const g = rand(rng, B, 1);
    if (B > 2) g[1] = 0; // a zero row gradient is skipped
    const out = new Float32Array(B),
      s = new Float32Array(B * D).fill(7); // stale contents must be overwritten
    ts.fmSecondOrder(x, B, F, D, out, s);
    for (let b = 0; b < B; b++) {
      let pairs = 0; // Σ_{f<h} ⟨x_f, x_h⟩, FM's definition (not the ½[(Σ)² − Σ²] shortcut)
      for (let f = 0; f < F; f++)
        for (let h = f + 1; h < F; h++) for (let d = 0; d < D; d++) pairs += x[(b * F + f) * D + d]! * x[(b * F + h) * D + d]!;
      assert.ok(Math.abs(out[b]! - pairs) <= 1e-5 * Math.max(1, Math.abs(pairs)), `fm ${B}x${F}x${D} row ${b}: ${out[b]} vs ${pairs}`);
      for (let d = 0; d < D; d++) {
        let sum = 0;
        for (let f = 0; f < F; f++) sum = Math.fround(sum + x[(b * F + f) * D + d]!);
        assert.equal(s[b * D + d], sum, `s[${b}, ${d}]`);
      }
    }
    const start = rand(rng, B * F * D, 1);
    for (const accumulate of [false, true]) {
      const gb = start.slice();
      ts.fmSecondOrderBackward(x, s, g, B, F, D, accumulate, gb);
      for (let i = 0; i < B * F * D; i++) {
        const b = Math.floor(i / (F * D)),
          d = i % D;
        const want = g[b] === 0 ? (accumulate ? start[i]! : 0) : Math.fround((accumulate ? start[i]! : 0) + g[b]! * (s[b * D + d]! - x[i]!));
        assert.ok(Object.is(gb[i], want), `fm backward ${B}x${F}x${D} [${i}] accumulate=${accumulate}: ${gb[i]} vs ${want}`);
      }
      if (native !== null) {
        const o2 = new Float32Array(B),
          s2 = new Float32Array(B * D).fill(-3);
        nat().fmSecondOrder(x, B, F, D, o2, s2);
        sameBits(o2, out, `fmSecondOrder ${B}x${F}x${D}`);
        sameBits(s2, s, `fmSecondOrder sums ${B}x${F}x${D}`);
        const ga = start.slice();
        nat().fmSecondOrderBackward(x, s, g, B, F, D, accumulate, ga);
        sameBits(ga, gb, `fmSecondOrderBackward ${B}x${F}x${D} accumulate=${accumulate}`);
      }
    }
  }
});

test('fmSecondOrder and its backward with a row stride: the leading fields·dim values of wider rows, as the contiguous kernels; native = TypeScript', () => {
  const rng = new Rng(13);
  for (const [B, F, D, W] of [
    [1, 1, 1, 3],
    [3, 2, 5, 10],
    [17, 26, 16, 429],
    [4, 7, 3, 21],
  ] as const) {
    const lead = F * D;
    const wide = rand(rng, B * W, 1);
    const packed = new Float32Array(B * lead);
    for (let b = 0; b < B; b++) packed.set(wide.subarray(b * W, b * W + lead), b * lead);
    const g = rand(rng, B, 1);
    if (B > 2) g[1] = 0;
    const backends: Array<[string, DenseKernels]> = [['typescript', ts]];
    if (native !== null) backends.push(['native', nat()]);
    for (const [name, K] of backends) {
      const o1 = new Float32Array(B),
        s1 = new Float32Array(B * D),
        o2 = new Float32Array(B),
        s2 = new Float32Array(B * D).fill(9);
      K.fmSecondOrder(packed, B, F, D, o1, s1);
      K.fmSecondOrder(wide, B, F, D, o2, s2, W);
      sameBits(o2, o1, `${name} fmSecondOrder stride ${W}`);
      sameBits(s2, s1, `${name} fmSecondOrder sums stride ${W}`);
      for (const accumulate of [false, true]) {
        const startWide = rand(rng, B * W, 1);
        const startPacked = new Float32Array(B * lead);
        for (let b = 0; b < B; b++) startPacked.set(startWide.subarray(b * W, b * W + lead), b * lead);
        const gp = startPacked.slice(),
          gw = startWide.slice();
        K.fmSecondOrderBackward(packed, s1, g, B, F, D, accumulate, gp);
        K.fmSecondOrderBackward(wide, s1, g, B, F, D, accumulate, gw, W);
        for (let b = 0; b < B; b++) {
          sameBits(gw.subarray(b * W, b * W + lead), gp.subarray(b * lead, (b + 1) * lead), `${name} backward row ${b} accumulate=${accumulate}`);
          // The columns beyond the fields are not touched.
          sameBits(gw.subarray(b * W + lead, (b + 1) * W), startWide.subarray(b * W + lead, (b + 1) * W), `${name} backward tail ${b}`);
        }
      }
    }
  }
  for (const [name, K] of native !== null ? [['typescript', ts] as const, ['native', nat()] as const] : [['typescript', ts] as const]) {
    const f = (n: number) => new Float32Array(n);
    assert.throws(
      () => K.fmSecondOrder(f(12), 2, 2, 3, f(2), f(6), 5),
      /^RangeError: fmSecondOrder: xStride must be at least fields·dim = 6, got 5$/,
      name,
    );
    assert.throws(() => K.fmSecondOrder(f(13), 2, 2, 3, f(2), f(6), 8), /^RangeError: fmSecondOrder: x has 13 elements, needs at least 14$/, name);
    assert.throws(
      () => K.fmSecondOrderBackward(f(14), f(6), f(2), 2, 2, 3, true, f(13), 8),
      /^RangeError: fmSecondOrderBackward: gx has 13 elements, needs at least 14$/,
      name,
    );
  }
});

test('dense kernels reject bad arguments with the same messages on both backends', () => {
  const backends: Array<[string, DenseKernels]> = [['typescript', ts]];
  if (native !== null) backends.push(['native', nat()]);
  const f = (n: number) => new Float32Array(n);
  for (const [name, K] of backends) {
    assert.throws(() => K.bnStats(f(5), 2, 3, new Float64Array(6)), /^RangeError: bnStats: x has 5 elements, needs at least 6$/, name);
    assert.throws(() => K.bnStats(f(6), 2, 3, new Float64Array(5)), /^RangeError: bnStats: out has 5 elements, needs at least 6$/, name);
    assert.throws(() => K.bnStats(f(6), 2, 3, f(6) as unknown as Float64Array), /^TypeError: bnStats: out must be a Float64Array$/, name);
    assert.throws(() => K.bnStats(f(6), 0, 3, new Float64Array(6)), /^RangeError: bnStats: rows must be at least 1$/, name);
    assert.throws(() => K.bnStats(f(6), 1.5, 3, new Float64Array(6)), /^RangeError: bnStats: rows must be an integer in \[0, 2\^31\), got 1.5/, name);
    assert.throws(
      () => K.bnForward(f(6), 2, 3, f(3), f(2), f(3), true, 0, 0, 1, f(6)),
      /^RangeError: bnForward: scale has 2 elements, needs at least 3$/,
      name,
    );
    assert.throws(
      () => K.bnForward(f(6), 2, 3, f(3), f(3), f(3), true, -1, 0, 1, f(6)),
      /^RangeError: bnForward: seed must be an integer in \[0, 4294967295\], got -1/,
      name,
    );
    assert.throws(
      () => K.bnForward(f(6), 2, 3, f(3), f(3), f(3), true, 0, 2 ** 32 + 1, 1, f(6)),
      /^RangeError: bnForward: threshold must be an integer in \[0, 4294967296\]/,
      name,
    );
    const g = f(6);
    assert.throws(
      () => K.bnInputGrad(g, null, f(6), f(3), f(3), f(3), f(3), 2, 3, 0, 0, 1, true, g),
      /^Error: bnInputGrad: gx must not alias an input$/,
      name,
    );
    assert.throws(
      () => K.bnGradSums(f(6), f(5), f(6), f(3), f(3), 2, 3, 0, 0, 1, new Float64Array(6)),
      /^RangeError: bnGradSums: mask has 5 elements, needs at least 6$/,
      name,
    );
    assert.throws(() => K.dropoutForward(f(4), 5, 0, 1, 1, f(5)), /^RangeError: dropoutForward: x has 4 elements, needs at least 5$/, name);
    assert.throws(() => K.dropoutBackward(g, 6, 0, 1, 1, true, g), /^Error: dropoutBackward: gx must not alias g$/, name);
    assert.throws(() => K.addColumnSums(f(6), 2, 3, f(2)), /^RangeError: addColumnSums: out has 2 elements, needs at least 3$/, name);
    assert.throws(() => K.relu(f(4), 5, f(5)), /^RangeError: relu: x has 4 elements, needs at least 5$/, name);
    assert.throws(() => K.reluBackward(f(5), f(4), 5, false, f(5)), /^RangeError: reluBackward: g has 4 elements, needs at least 5$/, name);
    assert.throws(() => K.reluBackward(g, f(6), 6, true, g), /^Error: reluBackward: gx must not alias an input$/, name);
    assert.throws(
      () => K.reluBackwardColumnSums(f(6), f(5), 2, 3, f(6), f(3)),
      /^RangeError: reluBackwardColumnSums: g has 5 elements, needs at least 6$/,
      name,
    );
    const shared = f(12);
    assert.throws(
      () => K.reluBackwardColumnSums(f(6), g, 2, 3, shared.subarray(0, 6), shared.subarray(3, 6)),
      /^Error: reluBackwardColumnSums: gx must be g itself or not overlap it, and must not overlap x; out must not overlap the others$/,
      name,
    );
    assert.throws(
      () => K.reluBackwardColumnSums(f(6), shared.subarray(0, 6), 2, 3, shared.subarray(1, 7), f(3)),
      /^Error: reluBackwardColumnSums: gx must be g itself or not overlap it/,
      name,
    );
    assert.throws(() => K.fmSecondOrder(f(11), 2, 2, 3, f(2), f(6)), /^RangeError: fmSecondOrder: x has 11 elements, needs at least 12$/, name);
    assert.throws(
      () => K.fmSecondOrderBackward(f(12), f(6), f(2), 2, 2, 3, false, f(11)),
      /^RangeError: fmSecondOrderBackward: gx has 11 elements, needs at least 12$/,
      name,
    );
  }
});

test('copyRows: strided row copies equal a per-element reference, native = TypeScript, bounds checked', { skip: skipNative }, () => {
  const rng = new Rng(31);
  // [rows, n] blocks: short rows (the element loop), long rows (set / memcpy), empty, offsets and gaps.
  const cases: Array<[number, number, number, number, number, number]> = [
    // rows, n, srcOffset, srcStride, dstOffset, dstStride
    [7, 13, 416, 429, 3, 13],
    [5, 416, 0, 429, 0, 416],
    [4, 64, 2, 70, 5, 100],
    [1, 3, 1, 3, 0, 3],
    [0, 9, 0, 9, 0, 9],
    [3, 0, 0, 4, 0, 4],
  ];
  for (const [rows, n, so, ss, dof, ds] of cases) {
    const src = rand(rng, rows === 0 || n === 0 ? 4 : so + (rows - 1) * ss + n, 1, true);
    const size = rows === 0 || n === 0 ? 4 : dof + (rows - 1) * ds + n;
    const expected = rand(rng, size);
    const start = expected.slice();
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) expected[dof + r * ds + j] = src[so + r * ss + j]!;
    for (const [name, K] of [
      ['typescript', ts],
      ['native', nat()],
    ] as const) {
      const dst = start.slice();
      K.copyRows(src, so, ss, rows, n, dst, dof, ds);
      sameBits(dst, expected, `${name} copyRows ${rows}x${n}`);
    }
  }
  for (const [name, K] of [
    ['typescript', ts],
    ['native', nat()],
  ] as const) {
    const f = (k: number) => new Float32Array(k);
    assert.throws(() => K.copyRows(f(10), 0, 5, 3, 5, f(15), 0, 5), /^RangeError: copyRows: src has 10 elements, needs at least 15$/, name);
    assert.throws(() => K.copyRows(f(15), 0, 5, 3, 5, f(14), 0, 5), /^RangeError: copyRows: dst has 14 elements, needs at least 15$/, name);
    assert.throws(() => K.copyRows(f(15), -1, 5, 3, 5, f(15), 0, 5), /copyRows: srcOffset must be an integer/, name);
  }
});

test('fillRows: the row repeated in every row, native = TypeScript, bounds and overlap checked', { skip: skipNative }, () => {
  const rng = new Rng(32);
  // rows × n: the MLP's 4096 × 400, odd sizes (the doubling copies' last partial step), one row, empty.
  for (const [rows, n] of [
    [4096, 400],
    [7, 13],
    [1, 5],
    [0, 3],
    [3, 0],
  ] as const) {
    const row = rand(rng, Math.max(n, 1), 1, true);
    const start = rand(rng, Math.max(rows * n, 1) + 2);
    const expected = start.slice();
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) expected[r * n + j] = row[j]!;
    for (const [name, K] of [
      ['typescript', ts],
      ['native', nat()],
    ] as const) {
      const out = start.slice();
      K.fillRows(row, rows, n, out);
      sameBits(out, expected, `${name} fillRows ${rows}x${n}`); // the two elements past rows·n untouched
    }
  }
  for (const [name, K] of [
    ['typescript', ts],
    ['native', nat()],
  ] as const) {
    const f = (k: number) => new Float32Array(k);
    assert.throws(() => K.fillRows(f(4), 3, 5, f(15)), /^RangeError: fillRows: row has 4 elements, needs at least 5$/, name);
    assert.throws(() => K.fillRows(f(5), 3, 5, f(14)), /^RangeError: fillRows: out has 14 elements, needs at least 15$/, name);
    assert.throws(() => K.fillRows(f(5), -1, 5, f(15)), /fillRows: rows must be an integer/, name);
    const shared = f(20);
    assert.throws(() => K.fillRows(shared.subarray(0, 5), 3, 5, shared.subarray(3)), /^Error: fillRows: out must not overlap row$/, name);
  }
});

test('adamUpdate: the torch Adam step in float64, native = TypeScript bit for bit, arguments checked', { skip: skipNative }, () => {
  const rng = new Rng(33);
  for (const [n, l2, step] of [
    [1001, 0, 1],
    [64, 0.01, 7],
    [3, 0, 1000],
    [0, 0, 1],
  ] as const) {
    const w0 = rand(rng, Math.max(n, 1), 1, true),
      g = rand(rng, Math.max(n, 1), 1, true),
      m0 = rand(rng, Math.max(n, 1), 0.1, true),
      v0 = rand(rng, Math.max(n, 1), 0.1, true).map(Math.abs);
    const b1 = 0.9,
      b2 = 0.999,
      lr = 1e-3,
      eps = 1e-8;
    const sqrtBc2 = Math.sqrt(1 - Math.pow(b2, step));
    const a = (lr / (1 - Math.pow(b1, step))) * sqrtBc2,
      e = eps * sqrtBc2;
    // Reference: torch's formula as written, w − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps), in float64.
    const want = Array.from({ length: n }, (_, i) => {
      const gi = g[i]! + l2 * w0[i]!;
      const mi = b1 * m0[i]! + (1 - b1) * gi,
        vi = b2 * v0[i]! + (1 - b2) * gi * gi;
      return w0[i]! - ((lr / (1 - Math.pow(b1, step))) * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    });
    const results = (
      [
        ['typescript', ts],
        ['native', nat()],
      ] as const
    ).map(([name, K]) => {
      const w = w0.slice(),
        m = m0.slice(),
        v = v0.slice();
      K.adamUpdate(w, g, m, v, n, b1, b2, a, e, l2);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(w[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)), `${name} adamUpdate n=${n} [${i}]: ${w[i]} vs ${want[i]}`);
        assert.equal(m[i], Math.fround(b1 * m0[i]! + (1 - b1) * (g[i]! + l2 * w0[i]!)), `${name} m[${i}]`);
      }
      return [w, m, v];
    });
    for (let k = 0; k < 3; k++) sameBits(results[1]![k]!, results[0]![k]!, `adamUpdate n=${n} array ${k}`);
  }
  for (const [name, K] of [
    ['typescript', ts],
    ['native', nat()],
  ] as const) {
    const f = (k: number) => new Float32Array(k);
    assert.throws(
      () => K.adamUpdate(f(4), f(5), f(5), f(5), 5, 0.9, 0.999, 1, 1, 0),
      /^RangeError: adamUpdate: w has 4 elements, needs at least 5$/,
      name,
    );
    const same = f(5);
    assert.throws(
      () => K.adamUpdate(same, f(5), same, f(5), 5, 0.9, 0.999, 1, 1, 0),
      /^Error: adamUpdate: w, g, m and v must be distinct arrays$/,
      name,
    );
  }
});
