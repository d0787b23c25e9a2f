// Probes one OpenBLAS kernel set through the freshly built addon, in its own process (OpenBLAS
// picks its kernels once, when the library loads, from OPENBLAS_CORETYPE or the CPU id).
//
//   node scripts/blas-probe.mjs <addon path>
//
// Prints one JSON line: {"core": openblas_get_corename(), "maxError": the largest error of
// sgemm against a float64 reference over transposes, offsets, alpha/beta and odd shapes, relative
// to Σ|a·b| of the element, "gflops": single-thread GFLOP/s on the DNN shapes finerank runs}.
// scripts/build-native.mjs runs it with and without a forced core type to decide whether the
// kernels OpenBLAS picks by itself are a generic fallback that a verified, faster set replaces.
import { createRequire } from 'node:module';

const addon = createRequire(import.meta.url)(process.argv[2]);
addon.setThreads(1);

/** Deterministic uniform values in [-1, 1) (a 32-bit LCG; the probe needs no quality randomness). */
function filled(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Largest |sgemm − reference| / Σ|a·b| over the elements of one product (row-major, as the addon). */
function check(ta, tb, m, n, k, alpha, beta, off) {
  const lda = ta ? m : k,
    ldb = tb ? k : n;
  const a = filled(off + (ta ? k : m) * lda, m * 7 + k),
    b = filled(off + (tb ? n : k) * ldb, n * 13 + k);
  const c0 = filled(off + m * n, m + n);
  const c = c0.slice();
  addon.sgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c, off, n);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0,
        mag = 0;
      for (let p = 0; p < k; p++) {
        const x = a[off + (ta ? p * lda + i : i * lda + p)],
          y = b[off + (tb ? j * ldb + p : p * ldb + j)];
        s += x * y;
        mag += Math.abs(x * y);
      }
      const want = alpha * s + beta * c0[off + i * n + j];
      const err = Math.abs(c[off + i * n + j] - want) / (Math.abs(alpha) * mag + Math.abs(beta * c0[off + i * n + j]) + 1e-30);
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
    }
  }
  return worst;
}

let maxError = 0;
const shapes = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [64, 400, 100],
  [129, 257, 300],
];
for (const [m, n, k] of shapes) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      maxError = Math.max(maxError, check(ta, tb, m, n, k, 1, 0, 0), check(ta, tb, m, n, k, 0.5, 1, 3));
    }
  }
}

// Speed: the DNN tower of a BARS Frappe DeepFM at 512 rows (forward products), for ~0.5 s.
const rows = 512;
const dims = [
  [100, 400],
  [400, 400],
  [400, 400],
];
const bufs = dims.map(([i, o]) => ({ i, o, a: filled(rows * i, i), b: filled(i * o, o), c: new Float32Array(rows * o) }));
const round = () => {
  for (const { i, o, a, b, c } of bufs) addon.sgemm(false, false, rows, o, i, 1, a, 0, i, b, 0, o, 0, c, 0, o);
};
round();
const flop = dims.reduce((s, [i, o]) => s + 2 * rows * i * o, 0);
let calls = 0;
const c0 = process.cpuUsage();
const t0 = performance.now();
while (performance.now() - t0 < 500) {
  round();
  calls++;
}
const cpu = process.cpuUsage(c0);
const seconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(JSON.stringify({ core: addon.blasCoreName(), maxError, gflops: (flop * calls) / seconds / 1e9 }) + '\n');
