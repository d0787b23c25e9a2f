import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/engine/random.js';
import { typescriptKernels, loadNativeAddon, nativeKernels } from '../../src/engine/kernels/index.js';
import type { Kernels } from '../../src/engine/kernels/index.js';

/*
 * Tolerances. Every comparison is max|got − ref| / max|ref| over the m×n result.
 *
 * - TypeScript vs a float64 reference: the TS kernel accumulates in float64, so its only
 *   errors are the float32 roundings of the stored result (one per KC = 256 slice of k plus
 *   the beta·C term), each ≤ 2⁻²⁴ ≈ 6e-8 of an intermediate value: 1e-6 leaves ample margin.
 * - Native (OpenBLAS, float32 accumulation) vs TypeScript: a float32 dot product of length
 *   k has a worst-case error of k·2⁻²⁴·Σ|a·b| and a typical one of √k·2⁻²⁴·rms; for k ≤ 300
 *   that is around 1e-6 of max|C|. The bound of 1e-5 holds with margin, while any
 *   indexing, transpose, offset or stride bug gives errors of order 1.
 * Elements of C outside the m×n block (row padding when ldc > n, and before cOffset) must
 * be bit-for-bit unchanged.
 */
const TS_TOL = 1e-6;
const NATIVE_TOL = 1e-5;

const ts = typescriptKernels();
const loaded = loadNativeAddon();
const native: Kernels | null = 'addon' in loaded ? nativeKernels(loaded.addon, loaded.blasNote) : null;
const skipNative = 'error' in loaded ? `native half skipped: ${loaded.error}` : false;

/** One GEMM problem: sizes, flags, scalars and padded operands. */
interface Problem {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  a: Float32Array;
  aOff: number;
  lda: number;
  b: Float32Array;
  bOff: number;
  ldb: number;
  c: Float32Array;
  cOff: number;
  ldc: number;
}

function randArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform(-1, 1);
  return x;
}

/** Builds a problem with offsets and leading dimensions larger than the stored widths. */
function makeProblem(rng: Rng, m: number, n: number, k: number, transA: boolean, transB: boolean, alpha: number, beta: number, pad: number): Problem {
  const aRows = transA ? k : m,
    aCols = transA ? m : k;
  const bRows = transB ? n : k,
    bCols = transB ? k : n;
  const lda = aCols + pad,
    ldb = bCols + 2 * pad,
    ldc = n + pad;
  const aOff = 3 * pad,
    bOff = 5 * pad,
    cOff = 7 * pad;
  return {
    transA,
    transB,
    m,
    n,
    k,
    alpha,
    beta,
    a: randArray(rng, aOff + aRows * lda),
    aOff,
    lda,
    b: randArray(rng, bOff + bRows * ldb),
    bOff,
    ldb,
    c: randArray(rng, cOff + m * ldc + pad),
    cOff,
    ldc,
  };
}

/** Float64 reference: alpha·op(A)·op(B) + beta·C as a dense m×n Float64Array. */
function reference(p: Problem): Float64Array {
  const out = new Float64Array(p.m * p.n);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      for (let q = 0; q < p.k; q++) {
        const av = p.transA ? p.a[p.aOff + q * p.lda + i]! : p.a[p.aOff + i * p.lda + q]!;
        const bv = p.transB ? p.b[p.bOff + j * p.ldb + q]! : p.b[p.bOff + q * p.ldb + j]!;
        s += av * bv;
      }
      const c0 = p.c[p.cOff + i * p.ldc + j]!;
      out[i * p.n + j] = p.alpha * s + (p.beta === 0 ? 0 : p.beta * c0);
    }
  }
  return out;
}

/** Runs a backend on a copy of C; returns the full output array. */
function run(K: Kernels, p: Problem): Float32Array {
  const c = p.c.slice();
  K.sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, p.beta, c, p.cOff, p.ldc);
  return c;
}

/** max|got − ref| / max|ref| over the m×n block; asserts untouched elements are unchanged. */
function relError(p: Problem, got: Float32Array, ref: ArrayLike<number>, refIsBlock: boolean): number {
  let maxDiff = 0,
    maxRef = 0;
  const inBlock = new Uint8Array(got.length);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      const idx = p.cOff + i * p.ldc + j;
      inBlock[idx] = 1;
      const r = refIsBlock ? ref[i * p.n + j]! : ref[idx]!;
      maxDiff = Math.max(maxDiff, Math.abs(got[idx]! - r));
      maxRef = Math.max(maxRef, Math.abs(r));
    }
  }
  for (let idx = 0; idx < got.length; idx++) {
    if (inBlock[idx] === 0 && !Object.is(got[idx], p.c[idx])) {
      assert.fail(`element ${idx} outside the m×n block of C changed: ${p.c[idx]} → ${got[idx]}`);
    }
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

// Shapes: tiny (direct path), skinny (m < 3 or n < 4), odd sizes crossing the TS blocking
// (MR = 3, NR = 4, KC = 256, MC = 96, NC = 2048) and a slice of the MLP shapes.
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [2, 3, 4],
  [1, 37, 19],
  [23, 2, 31],
  [3, 4, 5],
  [7, 9, 11],
  [17, 13, 29],
  [64, 33, 70],
  [97, 41, 257],
  [100, 129, 300],
  [5, 2051, 3],
  [128, 400, 429],
];
const SCALARS: Array<[number, number]> = [
  [1, 0],
  [0.75, -0.5],
  [-1.25, 1],
];

function* problems(seed: number): Generator<{ label: string; p: Problem }> {
  const rng = new Rng(seed);
  let s = 0;
  for (const [m, n, k] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [alpha, beta] = SCALARS[s++ % SCALARS.length]!;
        const pad = s % 2 === 0 ? 0 : 3;
        const label = `${m}x${n}x${k} transA=${transA} transB=${transB} alpha=${alpha} beta=${beta} pad=${pad}`;
        yield { label, p: makeProblem(rng, m, n, k, transA, transB, alpha, beta, pad) };
      }
    }
  }
}

test('TypeScript sgemm matches a float64 reference (all transposes, offsets, strides, alpha/beta)', () => {
  for (const { label, p } of problems(11)) {
    const err = relError(p, run(ts, p), reference(p), true);
    assert.ok(err <= TS_TOL, `${label}: relative error ${err}`);
  }
});

test('native sgemm matches TypeScript sgemm (all transposes, offsets, strides, alpha/beta)', { skip: skipNative }, () => {
  for (const { label, p } of problems(12)) {
    const want = run(ts, p);
    const err = relError(p, run(native!, p), want, false);
    assert.ok(err <= NATIVE_TOL, `${label}: relative error native vs TypeScript ${err}`);
  }
});

/** BLAS edge semantics every backend must share. */
function checkEdgeSemantics(K: Kernels): void {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // 2×3
  const b = new Float32Array([1, 0, 0, 1, 1, 1]); // 3×2
  // beta = 0 ignores whatever C holds, NaN included.
  const c = new Float32Array([NaN, NaN, NaN, NaN]);
  K.sgemm(false, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2);
  assert.deepEqual([...c], [4, 5, 10, 11]);
  // k = 0: C = beta·C.
  const c2 = new Float32Array([1, 2, 3, 4]);
  K.sgemm(false, false, 2, 2, 0, 1, a, 0, 1, b, 0, 2, 2, c2, 0, 2);
  assert.deepEqual([...c2], [2, 4, 6, 8]);
  // alpha = 0: C = beta·C, A and B not used.
  const c3 = new Float32Array([1, 2, 3, 4]);
  K.sgemm(false, false, 2, 2, 3, 0, a, 0, 3, b, 0, 2, -1, c3, 0, 2);
  assert.deepEqual([...c3], [-1, -2, -3, -4]);
  // m = 0: nothing happens.
  const c4 = new Float32Array([1, 2]);
  K.sgemm(false, false, 0, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c4, 0, 2);
  assert.deepEqual([...c4], [1, 2]);
  // Transposed 3×2 view of A with beta = 1 accumulates: Aᵀ·Aᵀᵀ-like check on known values.
  const c5 = new Float32Array([1, 1, 1, 1]);
  K.sgemm(true, true, 2, 2, 2, 1, new Float32Array([1, 2, 3, 4]), 0, 2, new Float32Array([5, 6, 7, 8]), 0, 2, 1, c5, 0, 2);
  // Aᵀ = [[1,3],[2,4]], Bᵀ = [[5,7],[6,8]] → Aᵀ·Bᵀ = [[23,31],[34,46]]
  assert.deepEqual([...c5], [24, 32, 35, 47]);
}

test('TypeScript sgemm edge semantics (beta=0 ignores NaN, k=0, alpha=0, m=0)', () => checkEdgeSemantics(ts));
test('native sgemm edge semantics (beta=0 ignores NaN, k=0, alpha=0, m=0)', { skip: skipNative }, () => checkEdgeSemantics(native!));

/** The argument errors, with the messages both backends share. */
const BAD_CALLS: Array<{ what: string; call: (K: Kernels) => void; error: RegExp }> = (() => {
  const a = new Float32Array(6),
    b = new Float32Array(6),
    c = new Float32Array(4);
  return [
    {
      what: 'aOffset past the end',
      call: (K) => K.sgemm(false, false, 2, 2, 3, 1, a, 1, 3, b, 0, 2, 0, c, 0, 2),
      error: /aOffset \+ extent out of bounds.*a\.length is 6/,
    },
    {
      what: 'b too short',
      call: (K) => K.sgemm(false, false, 2, 2, 3, 1, a, 0, 3, new Float32Array(5), 0, 2, 0, c, 0, 2),
      error: /bOffset \+ extent out of bounds.*b\.length is 5/,
    },
    {
      what: 'cOffset past the end',
      call: (K) => K.sgemm(false, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 1, 2),
      error: /cOffset \+ extent out of bounds/,
    },
    { what: 'lda below the stored columns', call: (K) => K.sgemm(false, false, 2, 2, 3, 1, a, 0, 2, b, 0, 2, 0, c, 0, 2), error: /lda must be >= 3/ },
    {
      what: 'ldb below the stored columns (transposed B)',
      call: (K) => K.sgemm(false, true, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2),
      error: /ldb must be >= 3/,
    },
    { what: 'ldc below n', call: (K) => K.sgemm(false, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 1), error: /ldc must be >= 2/ },
    { what: 'non-integer k', call: (K) => K.sgemm(false, false, 2, 2, 2.5, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2), error: /k must be an integer/ },
    { what: 'negative m', call: (K) => K.sgemm(false, false, -1, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2), error: /m must be an integer/ },
    {
      what: 'Float64Array operand',
      call: (K) => K.sgemm(false, false, 2, 2, 3, 1, new Float64Array(6) as unknown as Float32Array, 0, 3, b, 0, 2, 0, c, 0, 2),
      error: /a must be a Float32Array/,
    },
    {
      what: 'non-boolean transA',
      call: (K) => K.sgemm(1 as unknown as boolean, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2),
      error: /transA must be a boolean/,
    },
    { what: 'C aliasing A', call: (K) => K.sgemm(false, false, 2, 2, 2, 1, c, 0, 2, b, 0, 2, 0, c, 0, 2), error: /c overlaps a/ },
  ];
})();

test('TypeScript sgemm rejects bad arguments with errors naming them', () => {
  for (const { what, call, error } of BAD_CALLS) assert.throws(() => call(ts), error, what);
});

test('native sgemm rejects bad arguments with the same messages as TypeScript', { skip: skipNative }, () => {
  for (const { what, call, error } of BAD_CALLS) {
    let tsMessage = '';
    try {
      call(ts);
    } catch (e) {
      tsMessage = (e as Error).message;
    }
    assert.throws(
      () => call(native!),
      (e: Error) => error.test(e.message) && e.message === tsMessage,
      what,
    );
  }
});

test('native thread control and BLAS configuration', { skip: skipNative }, () => {
  const k = native!;
  const before = k.getThreads();
  try {
    k.setThreads(2);
    assert.equal(k.getThreads(), 2);
    k.setThreads(1);
    assert.equal(k.getThreads(), 1);
    assert.throws(() => k.setThreads(0), /thread count must be an integer/);
    assert.throws(() => k.setThreads(1.5), /thread count must be an integer/);
  } finally {
    k.setThreads(before);
  }
  // The configuration, the thread count, the kernel set OpenBLAS runs, and how it was chosen when finerank decided.
  assert.match(k.detail, /^OpenBLAS sgemm \(OpenBLAS .*\), \d+ thread\(s\), \w+ kernels(; .+)?$/);
  if (process.env.OPENBLAS_CORETYPE) assert.match(k.detail, new RegExp(`, ${process.env.OPENBLAS_CORETYPE} kernels`, 'i'));
});

/** Runs kernels() in a fresh process with the given environment; returns its report or error. */
function childBackend(env: Record<string, string | undefined>): { name?: string; detail?: string; threads?: number; error?: string } {
  const here = fileURLToPath(import.meta.url);
  const isTs = here.endsWith('.ts');
  const modUrl = new URL(`../../src/engine/kernels/index.${isTs ? 'ts' : 'js'}`, import.meta.url).href;
  const root = join(dirname(here), isTs ? '../..' : '../../..');
  const code =
    `const m = await import(${JSON.stringify(modUrl)});` +
    `try { const k = m.kernels(); console.log(JSON.stringify({ name: k.name, detail: k.detail, threads: k.getThreads() })); }` +
    `catch (e) { console.log(JSON.stringify({ error: e.message })); }`;
  const childEnv: Record<string, string | undefined> = { ...process.env, FINERANK_BACKEND: undefined, FINERANK_THREADS: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const args = [...(isTs ? ['--import', 'tsx'] : []), '--input-type=module', '-e', code];
  const r = spawnSync(process.execPath, args, { cwd: root, env: childEnv as NodeJS.ProcessEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as { name?: string; detail?: string; threads?: number; error?: string };
}

test('backend choice: FINERANK_BACKEND=typescript forces the TypeScript kernels', () => {
  const r = childBackend({ FINERANK_BACKEND: 'typescript' });
  assert.equal(r.name, 'typescript');
  assert.match(r.detail!, /forced by FINERANK_BACKEND/);
});

test('backend choice: bad FINERANK_BACKEND / FINERANK_THREADS values are refused', () => {
  assert.match(childBackend({ FINERANK_BACKEND: 'cuda' }).error!, /FINERANK_BACKEND must be 'native' or 'typescript'.*'cuda'/);
  assert.match(childBackend({ FINERANK_THREADS: 'two' }).error!, /FINERANK_THREADS must be a positive integer, got 'two'/);
});

test('backend choice: automatic uses the addon when built, else TypeScript with the reason', () => {
  const auto = childBackend({});
  if (native !== null) {
    assert.equal(auto.name, 'native');
    assert.equal(auto.threads, 1, 'default BLAS thread count is 1');
    const two = childBackend({ FINERANK_BACKEND: 'native', FINERANK_THREADS: '2' });
    assert.equal(two.name, 'native');
    assert.equal(two.threads, 2);
  } else {
    assert.equal(auto.name, 'typescript');
    assert.match(auto.detail!, /native addon/);
    assert.match(childBackend({ FINERANK_BACKEND: 'native' }).error!, /FINERANK_BACKEND=native but native addon/);
  }
});
