/**
 * `npm run bench:engine` — DeepFM-mini, finerank against PyTorch, side by side.
 *
 * For each thread count (default 1 and 2) it runs, each in its own process so that peak
 * RSS is per implementation:
 *   node dist/bench/engine/finerank_deepfm_mini.js --threads N …   (FINERANK_THREADS=N)
 *   <python with torch> bench/engine/torch_deepfm_mini.py --threads N …
 * Both print one JSON line last (bench/common/engine-result.ts). It then prints a table,
 * the deltas against bench/engine/reference.json, and ends with ONE JSON line holding the
 * finerank/PyTorch ratios (at one thread each, and each at its best thread count), the
 * samples/s, batch-1 latency and peak RSS of each, and the thread counts.
 *
 * Both sides train on the same batches from the same dense initial weights (finerank runs
 * first and writes them to a temporary folder; see --data-file / --dense-init-file of the two
 * programs), so their final losses differ only by the embedding tables' random draws.
 *
 * Options: --threads 1,2  --steps 30  --warmup 5  --batch 4096  --repeat 1 (best of N)
 *          --phases (per-phase CPU ms per training step / inference batch of each side)
 *          --only finerank|pytorch  --record (write the results into reference.json)
 *          --torch-fused-tables (PyTorch with one concatenated table instead of 26+26)
 *          --torch-intra-threads K (PyTorch's OpenMP threads; BLAS keeps N; default N)
 */
import { existsSync, writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, intOption, intListOption } from '../common/args.js';
import { runProcess, requireSuccess, lastJsonLine } from '../common/process.js';
import { parseEngineResult, type EngineResult } from '../common/engine-result.js';
import { torchPython } from '../common/python.js';
import { repoRoot } from '../common/paths.js';
import { formatTable, fmt, fmtAuto, ratio, round } from '../common/table.js';
import { loadReference, compareWithReference } from '../common/reference.js';
import { toMiB } from '../common/rss.js';
import { machineInfo } from '../common/machine.js';

type Impl = 'finerank' | 'pytorch';

/** Targets of issue 15 (finerank / PyTorch; latency and RSS are "lower than"). */
const TARGETS = { train_1t: 1.3, train_best: 1.5, infer_1t: 1.0, infer_best: 1.0, latency_b1: 1.0, peak_rss: 1.0 };

/** Per-phase CPU ms (`--phases`) of the last run of each side and thread count ("impl/threads"). */
const phasesOf = new Map<string, unknown>();

/** Where finerank writes (and PyTorch then reads) the batches and the dense initial weights. */
interface SharedFiles {
  data: string;
  denseInit: string;
}

async function runOne(impl: Impl, threads: number, common: string[], torchExtra: string[], shared: SharedFiles): Promise<EngineResult> {
  const root = repoRoot();
  let command: string;
  let args: string[];
  const env: Record<string, string> = { FINERANK_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  if (impl === 'finerank') {
    const script = join(root, 'dist', 'bench', 'engine', 'finerank_deepfm_mini.js');
    if (!existsSync(script)) {
      throw new Error(`finerank side not built: ${script} is missing (write bench/engine/finerank_deepfm_mini.ts and run tsc)`);
    }
    command = process.execPath;
    args = [script, '--threads', String(threads), ...common, '--data-file', shared.data, '--dense-init-file', shared.denseInit];
  } else {
    command = torchPython();
    args = [join(root, 'bench', 'engine', 'torch_deepfm_mini.py'), '--threads', String(threads), ...common, ...torchExtra];
    // The batches and dense initial weights the finerank side wrote, when it ran first.
    if (existsSync(shared.data)) args.push('--data-file', shared.data);
    if (existsSync(shared.denseInit)) args.push('--dense-init-file', shared.denseInit);
  }
  const label = `${impl} (${threads} thread${threads > 1 ? 's' : ''})`;
  process.stderr.write(`[bench:engine] running ${label} …\n`);
  const r = await runProcess(command, args, { cwd: root, env, timeoutMs: 15 * 60_000 });
  requireSuccess(label, command, args, r);
  const raw = lastJsonLine(r.stdout, label);
  const res = parseEngineResult(raw, label);
  if (raw.phases_cpu_ms !== undefined) phasesOf.set(`${impl}/${threads}`, raw.phases_cpu_ms);
  process.stderr.write(
    `[bench:engine] ${label}: train ${fmt(res.train_samples_per_sec)}/s, infer ${fmt(res.infer_samples_per_sec)}/s, ` +
      `b1 ${fmt(res.latency_b1_ms, 3)} ms, RSS ${fmt(toMiB(res.peak_rss_bytes), 0)} MiB\n`,
  );
  return res;
}

/** Best of repeated runs: max throughput, min latency, max RSS (the worst case). */
function bestOf(rs: EngineResult[]): EngineResult {
  const first = rs[0]!;
  return {
    ...first,
    train_samples_per_sec: Math.max(...rs.map((r) => r.train_samples_per_sec)),
    infer_samples_per_sec: Math.max(...rs.map((r) => r.infer_samples_per_sec)),
    latency_b1_ms: Math.min(...rs.map((r) => r.latency_b1_ms)),
    peak_rss_bytes: Math.max(...rs.map((r) => r.peak_rss_bytes)),
    train_samples_per_cpu_sec: maxOrNull(rs.map((r) => r.train_samples_per_cpu_sec)),
    infer_samples_per_cpu_sec: maxOrNull(rs.map((r) => r.infer_samples_per_cpu_sec)),
  };
}

function maxOrNull(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
}

interface Side {
  byThreads: Map<number, EngineResult>;
  error: string | null;
}

/** Value of `f` at `threads`, or null. */
function at(side: Side, threads: number, f: (r: EngineResult) => number): number | null {
  const r = side.byThreads.get(threads);
  return r === undefined ? null : f(r);
}

/** Best value over thread counts (max or min) and the thread count achieving it. */
function best(side: Side, f: (r: EngineResult) => number, mode: 'max' | 'min'): { value: number | null; threads: number | null } {
  let value: number | null = null;
  let threads: number | null = null;
  for (const [t, r] of side.byThreads) {
    const v = f(r);
    if (value === null || (mode === 'max' ? v > value : v < value)) {
      value = v;
      threads = t;
    }
  }
  return { value, threads };
}

function perThreads(side: Side, threadList: number[], f: (r: EngineResult) => number, digits: number): Record<string, number | null> {
  const o: Record<string, number | null> = {};
  for (const t of threadList) o[String(t)] = round(at(side, t, f), digits);
  return o;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2), {
    threads: 'string',
    steps: 'string',
    warmup: 'string',
    batch: 'string',
    repeat: 'string',
    only: 'string',
    record: 'flag',
    'torch-fused-tables': 'flag',
    'torch-intra-threads': 'string',
    phases: 'flag',
  });
  const threadList = intListOption(opts, 'threads', [1, 2]);
  const steps = intOption(opts, 'steps', 30);
  const warmup = intOption(opts, 'warmup', 5, 0);
  const batch = intOption(opts, 'batch', 4096);
  const repeat = intOption(opts, 'repeat', 1);
  const only = opts.only;
  if (only !== undefined && only !== 'finerank' && only !== 'pytorch')
    throw new Error(`--only must be 'finerank' or 'pytorch', got '${String(only)}'`);
  const impls: Impl[] = only === undefined ? ['finerank', 'pytorch'] : [only];
  const loadBefore = machineInfo().load_avg_1m;
  const common = ['--steps', String(steps), '--warmup', String(warmup), '--batch', String(batch)];
  if (opts.phases === true) common.push('--phases');
  const torchExtra = opts['torch-fused-tables'] === true ? ['--fused-tables'] : [];
  if (opts['torch-intra-threads'] !== undefined) torchExtra.push('--intra-threads', String(intOption(opts, 'torch-intra-threads', 1)));

  const sides: Record<Impl, Side> = {
    finerank: { byThreads: new Map(), error: null },
    pytorch: { byThreads: new Map(), error: null },
  };
  // Both sides train on the same batches from the same dense initial weights (the embedding
  // tables, 119M values, are drawn by each side from the same law): finerank runs first and
  // writes both here.
  const dataDir = mkdtempSync(join(tmpdir(), 'finerank-bench-engine-'));
  const shared: SharedFiles = { data: join(dataDir, 'pool.bin'), denseInit: join(dataDir, 'dense-init.bin') };
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  for (const t of threadList) {
    for (const impl of impls) {
      if (sides[impl].error !== null) continue;
      try {
        const rs: EngineResult[] = [];
        for (let k = 0; k < repeat; k++) rs.push(await runOne(impl, t, common, torchExtra, shared));
        sides[impl].byThreads.set(t, bestOf(rs));
      } catch (e) {
        sides[impl].error = (e as Error).message;
        process.stderr.write(`[bench:engine] ${impl} failed: ${(e as Error).message}\n`);
      }
    }
  }

  const fr = sides.finerank;
  const pt = sides.pytorch;
  const train = (r: EngineResult) => r.train_samples_per_sec;
  const infer = (r: EngineResult) => r.infer_samples_per_sec;
  const lat = (r: EngineResult) => r.latency_b1_ms;
  const rss = (r: EngineResult) => r.peak_rss_bytes;
  const trainCpu = (r: EngineResult) => r.train_samples_per_cpu_sec ?? NaN;
  const inferCpu = (r: EngineResult) => r.infer_samples_per_cpu_sec ?? NaN;
  const t1 = threadList.includes(1) ? 1 : threadList[0]!;

  // Table.
  const rows: string[][] = [];
  for (const impl of impls) {
    for (const t of threadList) {
      const r = sides[impl].byThreads.get(t);
      rows.push([
        impl,
        String(t),
        fmt(r ? r.train_samples_per_sec : null),
        fmt(r ? r.infer_samples_per_sec : null),
        fmt(r ? r.latency_b1_ms : null, 3),
        fmt(r ? toMiB(r.peak_rss_bytes) : null, 0),
        fmt(r ? r.final_loss : null, 4),
        fmt(r ? r.train_samples_per_cpu_sec : null),
        fmt(r ? r.infer_samples_per_cpu_sec : null),
      ]);
    }
  }
  process.stdout.write('\nDeepFM-mini (26 fields, dim 16, MLP 429-400-400-400-1, batch ' + batch + ')\n');
  process.stdout.write(formatTable(['impl', 'threads', 'train/s', 'infer/s', 'b1 ms', 'RSS MiB', 'loss', 'train/cpu-s', 'infer/cpu-s'], rows) + '\n');

  const trainBestFr = best(fr, train, 'max');
  const trainBestPt = best(pt, train, 'max');
  const inferBestFr = best(fr, infer, 'max');
  const inferBestPt = best(pt, infer, 'max');
  const latBestFr = best(fr, lat, 'min');
  const latBestPt = best(pt, lat, 'min');
  const rssFr = best(fr, rss, 'max').value;
  const rssPt = best(pt, rss, 'max').value;
  const ratios = {
    train_1t: round(ratio(at(fr, t1, train), at(pt, t1, train))),
    train_best: round(ratio(trainBestFr.value, trainBestPt.value)),
    infer_1t: round(ratio(at(fr, t1, infer), at(pt, t1, infer))),
    infer_best: round(ratio(inferBestFr.value, inferBestPt.value)),
    latency_b1_best: round(ratio(latBestFr.value, latBestPt.value)),
    peak_rss: round(ratio(rssFr, rssPt)),
    train_cpu_1t: round(ratio(at(fr, t1, trainCpu), at(pt, t1, trainCpu))),
    infer_cpu_1t: round(ratio(at(fr, t1, inferCpu), at(pt, t1, inferCpu))),
  };
  const meets = {
    train_1t: ratios.train_1t === null ? null : ratios.train_1t >= TARGETS.train_1t,
    train_best: ratios.train_best === null ? null : ratios.train_best >= TARGETS.train_best,
    infer_1t: ratios.infer_1t === null ? null : ratios.infer_1t >= TARGETS.infer_1t,
    infer_best: ratios.infer_best === null ? null : ratios.infer_best >= TARGETS.infer_best,
    latency_b1: ratios.latency_b1_best === null ? null : ratios.latency_b1_best < TARGETS.latency_b1,
    peak_rss: ratios.peak_rss === null ? null : ratios.peak_rss < TARGETS.peak_rss,
  };
  process.stdout.write(
    `\nfinerank/PyTorch: train ${fmt(ratios.train_1t, 2)}× at ${t1} thread, ${fmt(ratios.train_best, 2)}× best-vs-best; ` +
      `infer ${fmt(ratios.infer_1t, 2)}× / ${fmt(ratios.infer_best, 2)}×; b1 latency ${fmt(ratios.latency_b1_best, 2)}×; ` +
      `peak RSS ${fmt(ratios.peak_rss, 2)}×\n` +
      `per CPU-second at ${t1} thread (steadier on a busy machine): train ${fmt(ratios.train_cpu_1t, 2)}×, infer ${fmt(ratios.infer_cpu_1t, 2)}×\n`,
  );

  // Flat metrics for the reference comparison.
  const flat: Record<string, number | null> = {};
  for (const impl of ['finerank', 'pytorch'] as const) {
    for (const t of threadList) {
      const r = sides[impl].byThreads.get(t);
      flat[`${impl}.t${t}.train_samples_per_sec`] = round(r ? r.train_samples_per_sec : null, 0);
      flat[`${impl}.t${t}.infer_samples_per_sec`] = round(r ? r.infer_samples_per_sec : null, 0);
      flat[`${impl}.t${t}.latency_b1_ms`] = round(r ? r.latency_b1_ms : null, 4);
      flat[`${impl}.t${t}.peak_rss_mb`] = round(r ? toMiB(r.peak_rss_bytes) : null, 1);
      flat[`${impl}.t${t}.train_samples_per_cpu_sec`] = round(r ? r.train_samples_per_cpu_sec : null, 0);
      flat[`${impl}.t${t}.infer_samples_per_cpu_sec`] = round(r ? r.infer_samples_per_cpu_sec : null, 0);
    }
  }
  const refPath = join(repoRoot(), 'bench', 'engine', 'reference.json');
  const ref = loadReference(refPath);
  if (ref !== null) {
    const deltas = compareWithReference(flat, ref.results).filter((d) => d.now !== null || d.recorded !== null);
    process.stdout.write(`\nagainst ${refPath} (${String(ref.meta.machine ?? 'unknown machine')}, ${String(ref.meta.recorded ?? '')}):\n`);
    process.stdout.write(
      formatTable(
        ['metric', 'now', 'recorded', 'delta'],
        deltas.map((d) => [
          d.metric,
          fmtAuto(d.now),
          fmtAuto(d.recorded),
          d.relative === null ? '—' : `${d.relative >= 0 ? '+' : ''}${(d.relative * 100).toFixed(1)}%`,
        ]),
      ) + '\n',
    );
  }
  if (opts.record === true) {
    const merged = { ...(ref?.results ?? {}) };
    for (const [k, v] of Object.entries(flat)) if (v !== null) merged[k] = v;
    const doc = {
      description: 'Recorded DeepFM-mini results of `npm run bench:engine` (samples/s, ms, MiB). Re-record with `npm run bench:engine -- --record`.',
      machine: machineInfo().machine,
      load_avg_1m_before: loadBefore,
      recorded: new Date().toISOString(),
      command: `npm run bench:engine -- ${process.argv.slice(2).join(' ')}`.trim(),
      results: merged,
    };
    const tmp = refPath + '.tmp';
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
    renameSync(tmp, refPath);
    process.stdout.write(`recorded into ${refPath}\n`);
  }

  const summary = {
    bench: 'engine',
    model: 'deepfm-mini',
    batch,
    threads: threadList,
    machine: machineInfo().machine,
    load_avg_1m_before: loadBefore,
    ratios,
    targets: TARGETS,
    meets_targets: meets,
    best_threads: {
      finerank: { train: trainBestFr.threads, infer: inferBestFr.threads, latency_b1: latBestFr.threads },
      pytorch: { train: trainBestPt.threads, infer: inferBestPt.threads, latency_b1: latBestPt.threads },
    },
    finerank: {
      train_samples_per_sec: perThreads(fr, threadList, train, 0),
      infer_samples_per_sec: perThreads(fr, threadList, infer, 0),
      latency_b1_ms: perThreads(fr, threadList, lat, 4),
      peak_rss_mb: perThreads(fr, threadList, (r) => toMiB(rss(r)), 1),
      train_samples_per_cpu_sec: perThreads(fr, threadList, trainCpu, 0),
      infer_samples_per_cpu_sec: perThreads(fr, threadList, inferCpu, 0),
      final_loss: perThreads(fr, threadList, (r) => r.final_loss ?? NaN, 4),
      ...(opts.phases === true
        ? { phases_cpu_ms: Object.fromEntries(threadList.map((t) => [String(t), phasesOf.get(`finerank/${t}`) ?? null])) }
        : {}),
      error: fr.error,
    },
    pytorch: {
      train_samples_per_sec: perThreads(pt, threadList, train, 0),
      infer_samples_per_sec: perThreads(pt, threadList, infer, 0),
      latency_b1_ms: perThreads(pt, threadList, lat, 4),
      peak_rss_mb: perThreads(pt, threadList, (r) => toMiB(rss(r)), 1),
      train_samples_per_cpu_sec: perThreads(pt, threadList, trainCpu, 0),
      infer_samples_per_cpu_sec: perThreads(pt, threadList, inferCpu, 0),
      final_loss: perThreads(pt, threadList, (r) => r.final_loss ?? NaN, 4),
      ...(opts.phases === true
        ? { phases_cpu_ms: Object.fromEntries(threadList.map((t) => [String(t), phasesOf.get(`pytorch/${t}`) ?? null])) }
        : {}),
      error: pt.error,
    },
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (impls.some((i) => sides[i].error !== null)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:engine: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
