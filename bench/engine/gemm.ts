/**
 * GEMM benchmark: GFLOP/s of each kernel backend on the shapes of the DeepFM-mini MLP
 * (batch 4096, layers 429→400 and 400→400), forward and both gradients:
 *
 *   fwd  Y  = X·W      (4096×in)·(in×400)
 *   dX   dX = dY·Wᵀ    (4096×400)·(in×400)ᵀ
 *   dW   dW = Xᵀ·dY    (4096×in)ᵀ·(4096×400)
 *
 * Backends: the TypeScript kernels (one thread) and the native OpenBLAS addon at each
 * thread count of --threads (default 1,2). Each case runs warm-up calls, then timed calls
 * until --min-time seconds have passed (at least 3); GFLOP/s = 2·m·n·k / seconds. The
 * headline figure is the best call (the one least disturbed by other processes); the
 * median and the GFLOP per second of process CPU time (all threads; for one thread a
 * figure that other processes competing for the cores hardly disturb) are printed next to it. Results are compared with bench/engine/gemm-reference.json
 * (ratio now / recorded). Prints a table, then one JSON line last.
 *
 *   npx tsc -p . && node dist/bench/engine/gemm.js [--threads 1,2] [--backends typescript,native]
 *                                                [--min-time 1] [--record]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, intListOption } from '../common/args.js';
import { machineInfo } from '../common/machine.js';
import { repoRoot } from '../common/paths.js';
import { loadReference } from '../common/reference.js';
import { formatTable, fmt, ratio, round } from '../common/table.js';
import { typescriptKernels, loadNativeAddon, nativeKernels } from '../../src/engine/kernels/index.js';
import type { Kernels } from '../../src/engine/kernels/index.js';

/** One benchmarked product: C (m×n) = op(A)·op(B) with op(A) m×k, op(B) k×n. */
interface Case {
  id: string;
  label: string;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}

const BATCH = 4096;
const OUT = 400;

/** Forward, dX and dW products of a Linear(inDim → 400) layer on a batch of 4096. */
function layerCases(name: string, inDim: number): Case[] {
  return [
    { id: `${name}.fwd`, label: `Y=X·W ${BATCH}x${inDim}·${inDim}x${OUT}`, transA: false, transB: false, m: BATCH, n: OUT, k: inDim },
    { id: `${name}.dX`, label: `dX=dY·Wᵀ ${BATCH}x${OUT}·(${inDim}x${OUT})ᵀ`, transA: false, transB: true, m: BATCH, n: inDim, k: OUT },
    { id: `${name}.dW`, label: `dW=Xᵀ·dY (${BATCH}x${inDim})ᵀ·${BATCH}x${OUT}`, transA: true, transB: false, m: inDim, n: OUT, k: BATCH },
  ];
}

const CASES: Case[] = [...layerCases('l429', 429), ...layerCases('l400', 400)];

/** Timing of one (case, backend, threads). */
interface Measurement {
  key: string;
  best: number;
  median: number;
  /** GFLOP per second of process CPU time (user + system, all threads) over the timed calls. */
  perCpuSecond: number;
  calls: number;
}

/** Deterministic operands in [-1, 1) (a small LCG; values do not affect speed). */
function operand(size: number, seed: number): Float32Array {
  const x = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

/** Runs one case on one backend: warm-up, then timed calls for at least minTime seconds. */
function measure(K: Kernels, c: Case, minTime: number, key: string): Measurement {
  // Stored shapes: A is m×k (k×m if transposed), B is k×n (n×k if transposed).
  const a = operand(c.m * c.k, 1),
    b = operand(c.k * c.n, 2),
    out = new Float32Array(c.m * c.n);
  const lda = c.transA ? c.m : c.k,
    ldb = c.transB ? c.k : c.n;
  const call = () => K.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, 0, lda, b, 0, ldb, 0, out, 0, c.n);
  call();
  call();
  const flops = 2 * c.m * c.n * c.k;
  const rates: number[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (rates.length < 3 || performance.now() - start < minTime * 1000) {
    const t0 = performance.now();
    call();
    const dt = (performance.now() - t0) / 1000;
    rates.push(flops / dt / 1e9);
  }
  const cpu = process.cpuUsage(cpu0);
  const perCpuSecond = (flops * rates.length) / ((cpu.user + cpu.system) / 1e6) / 1e9;
  rates.sort((x, y) => x - y);
  return { key, best: rates[rates.length - 1]!, median: rates[rates.length >> 1]!, perCpuSecond, calls: rates.length };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2), { threads: 'string', backends: 'string', 'min-time': 'string', record: 'flag' });
  const threads = intListOption(opts, 'threads', [1, 2]);
  const backends = typeof opts.backends === 'string' ? opts.backends.split(',').map((s) => s.trim()) : ['typescript', 'native'];
  for (const b of backends) if (b !== 'typescript' && b !== 'native') throw new Error(`--backends: unknown backend '${b}' (typescript, native)`);
  const minTime = opts['min-time'] === undefined ? 1 : Number(opts['min-time']);
  if (!Number.isFinite(minTime) || minTime < 0)
    throw new Error(`--min-time must be a non-negative number of seconds, got '${String(opts['min-time'])}'`);

  const runs: Array<{ backend: string; threads: number; kernels: Kernels }> = [];
  let nativeError: string | null = null;
  let blasConfig: string | null = null;
  if (backends.includes('typescript')) runs.push({ backend: 'typescript', threads: 1, kernels: typescriptKernels() });
  if (backends.includes('native')) {
    const loaded = loadNativeAddon();
    if ('error' in loaded) nativeError = loaded.error;
    else {
      blasConfig = loaded.addon.blasConfig();
      for (const t of threads) runs.push({ backend: 'native', threads: t, kernels: nativeKernels(loaded.addon, loaded.blasNote) });
    }
  }
  const machine = machineInfo();
  console.log(`GEMM benchmark on ${machine.machine} (load ${machine.load_avg_1m}), node ${process.version}`);
  if (blasConfig !== null) console.log(`native: ${blasConfig}`);
  if (nativeError !== null) console.log(`native: not measured — ${nativeError}`);

  const refPath = join(repoRoot(), 'bench', 'engine', 'gemm-reference.json');
  const reference = loadReference(refPath);
  const results: Record<string, number> = {};
  const medians: Record<string, number> = {};
  const perCpu: Record<string, number> = {};
  const rows: string[][] = [];
  for (const run of runs) {
    run.kernels.setThreads(run.threads);
    for (const c of CASES) {
      const key = `${c.id}/${run.backend}/${run.threads}t`;
      const m = measure(run.kernels, c, minTime, key);
      results[key] = round(m.best, 2)!;
      medians[key] = round(m.median, 2)!;
      perCpu[key] = round(m.perCpuSecond, 2)!;
      const ref = reference?.results[key] ?? null;
      rows.push([
        c.id,
        c.label,
        run.backend,
        String(run.threads),
        fmt(m.best, 2),
        fmt(m.median, 2),
        fmt(m.perCpuSecond, 2),
        String(m.calls),
        fmt(ref, 2),
        fmt(ratio(m.best, ref), 2),
      ]);
      process.stderr.write(`  ${key}: ${m.best.toFixed(2)} GFLOP/s\n`);
    }
  }
  console.log('');
  console.log(formatTable(['case', 'product', 'backend', 'threads', 'GFLOP/s best', 'median', 'per CPU-s', 'calls', 'reference', 'ratio'], rows));

  // Mean GFLOP/s per backend/threads over the six products, and ratio to the reference.
  const summary: Record<string, { mean_gflops: number; reference_ratio: number | null }> = {};
  for (const run of runs) {
    const tag = `${run.backend}/${run.threads}t`;
    const keys = CASES.map((c) => `${c.id}/${tag}`);
    const mean = keys.reduce((s, k) => s + results[k]!, 0) / keys.length;
    const refs = keys.map((k) => reference?.results[k] ?? null);
    const refMean = refs.every((r) => r !== null) ? (refs as number[]).reduce((s, r) => s + r, 0) / refs.length : null;
    summary[tag] = { mean_gflops: round(mean, 2)!, reference_ratio: round(ratio(mean, refMean), 3) };
  }
  console.log('');
  console.log(
    formatTable(
      ['backend/threads', 'mean GFLOP/s', 'vs reference'],
      Object.entries(summary).map(([t, s]) => [t, fmt(s.mean_gflops, 2), fmt(s.reference_ratio, 2)]),
    ),
  );
  if (reference === null) console.log(`(no reference at ${refPath}; record one with --record)`);

  const referenceRatio: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(results)) referenceRatio[k] = round(ratio(v, reference?.results[k] ?? null), 3);
  if (opts.record === true) {
    const recorded = {
      bench: 'gemm',
      recorded: new Date().toISOString().slice(0, 10),
      command: 'node dist/bench/engine/gemm.js',
      machine: machine.machine,
      load_avg_1m: machine.load_avg_1m,
      node: process.version,
      blas: blasConfig,
      note: 'best-of-calls GFLOP/s (2·m·n·k / wall seconds) per product/backend/threads',
      results,
    };
    writeFileSync(refPath, JSON.stringify(recorded, null, 2) + '\n');
    console.log(`recorded ${refPath}`);
  }
  console.log(
    JSON.stringify({
      bench: 'gemm',
      ...machine,
      node: process.version,
      blas: blasConfig,
      native_error: nativeError,
      results,
      median: medians,
      per_cpu_second: perCpu,
      summary,
      reference_ratio: referenceRatio,
    }),
  );
}

main();
