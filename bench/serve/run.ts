/**
 * bench:serve — the scoring server under load (issue 14). See bench/serve/README.md.
 *
 * 1. In-process: ranking N candidates (encode + forward + sort) with the plain eval forward
 *    and with the fast path (batch norm folded, fused Linear+ReLU), the GEMM-bound time of
 *    the same products alone, and the PyTorch twin (bench/serve/torch_rank.py) at the same
 *    thread count, in fp32 and in bf16.
 * 2. Over HTTP: `finerank serve` in a child process, autocannon on loopback, rank requests
 *    of 100 and 1,000 candidates at increasing concurrency; requests/s, p50/p99/p99.9
 *    (sub-millisecond, see load-gen.ts), errors, non-2xx, server peak RSS.
 * 3. Overload: many more connections than the server sustains with a small queue: 503s
 *    beyond the queue, 0 crashes, bounded RSS.
 * The last stdout line is one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../../src/engine/kernels/index.js';
import { noGrad } from '../../src/engine/tensor.js';
import { loadServedModel, type ServedModel } from '../../src/serve/model-slot.js';
import { scoreServed } from '../../src/serve/scorer.js';
import { SERVING_POOL_MIN_LENGTH } from '../../src/serve/server.js';
import { setPoolMinLength } from '../../src/engine/tensor.js';
import { servingNodeFlags } from '../../src/serve/node-flags.js';
import { encodeRankRows } from '../../src/serve/encode-request.js';
import { parseArgs, intOption, intListOption } from '../common/args.js';
import { machineInfo } from '../common/machine.js';
import { repoRoot } from '../common/paths.js';
import { torchPython } from '../common/python.js';
import { runProcess, lastJsonLine } from '../common/process.js';
import { formatTable, fmt } from '../common/table.js';
import { writeFrappeArtifact, rankRequest } from './frappe-model.js';
import { runLoadGen } from './load-gen.js';

const opts = parseArgs(process.argv.slice(2), {
  duration: 'string',
  connections: 'string',
  iters: 'string',
  candidates: 'string',
  'skip-torch': 'flag',
  'overload-connections': 'string',
  workers: 'string',
});
const DURATION = intOption(opts, 'duration', 5);
const CONNECTIONS = intListOption(opts, 'connections', [1, 4, 16]);
const ITERS = intOption(opts, 'iters', 100);
const SIZES = intListOption(opts, 'candidates', [100, 1000]);
const OVERLOAD = intOption(opts, 'overload-connections', 256);
/** Worker processes of the throughput runs (`finerank serve --workers`): default one per core. */
const WORKERS = intOption(opts, 'workers', Math.max(1, availableParallelism()));
const ROOT = repoRoot();
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function quantiles(ms: number[]): { p50: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))]!;
  return { p50: q(0.5), p99: q(0.99) };
}

/** Wall-clock p50 / p99 (ms) and the p50 of process CPU time per call (`cpu_p50`, all threads). */
interface Timing {
  p50: number;
  p99: number;
  cpu_p50: number;
}

/**
 * Times several functions over `iters` rounds after a warm-up, calling them in turn in
 * every round (interleaved), so that a change of machine load hits all of them alike. The
 * CPU time is the steadier figure on a shared machine (waiting for a core is not counted).
 */
function timeInterleaved<K extends string>(iters: number, fns: Record<K, () => void>): Record<K, Timing> {
  const names = Object.keys(fns) as K[];
  for (let i = 0; i < Math.min(10, iters); i++) for (const k of names) fns[k]();
  const ms = new Map<K, number[]>(names.map((k) => [k, []]));
  const cpu = new Map<K, number[]>(names.map((k) => [k, []]));
  for (let i = 0; i < iters; i++) {
    for (const k of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fns[k]();
      ms.get(k)!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.get(k)!.push((c.user + c.system) / 1000);
    }
  }
  return Object.fromEntries(names.map((k) => [k, { ...quantiles(ms.get(k)!), cpu_p50: quantiles(cpu.get(k)!).p50 }])) as Record<K, Timing>;
}

/**
 * The dense products of the DNN tower at `rows` rows alone (sgemm on random data): `run`
 * computes them once. Timed interleaved with the forward passes (`inProcess`), so that both
 * see the same machine load.
 */
function gemmProducts(rows: number): { run: () => void; mflopPerRow: number } {
  const K = kernels();
  const dims: Array<[number, number]> = [
    [100, 400],
    [400, 400],
    [400, 400],
    [400, 1],
  ];
  const bufs = dims.map(([i, o]) => ({
    i,
    o,
    a: Float32Array.from({ length: rows * i }, () => Math.random()),
    b: Float32Array.from({ length: i * o }, () => Math.random()),
    c: new Float32Array(rows * o),
  }));
  return {
    run: () => {
      for (const { i, o, a, b, c } of bufs) K.sgemm(false, false, rows, o, i, 1, a, 0, i, b, 0, o, 0, c, 0, o);
    },
    mflopPerRow: dims.reduce((s, [i, o]) => s + 2 * i * o, 0) / 1e6,
  };
}

/** GEMM-bound figures from the interleaved timing of `gemmProducts(rows)`. */
function gemmFigures(t: Timing, rows: number, mflopPerRow: number): { ms: number; cpuMs: number; gflops: number; mflopPerRow: number } {
  return { ms: t.p50, cpuMs: t.cpu_p50, gflops: (mflopPerRow * rows) / t.cpu_p50, mflopPerRow };
}

function inProcess(served: ServedModel, plain: ServedModel, n: number, gemm?: () => void) {
  const req = rankRequest(n, 7);
  const fm = served.featureMap;
  const batch = encodeRankRows(fm, req.context, req.candidates);
  const rank = (m: ServedModel) => () => {
    const b = encodeRankRows(m.featureMap, req.context, req.candidates);
    const p = scoreServed(m, b).probs[m.tasks[0]!]!;
    Array.from(p.keys()).sort((x, y) => p[y]! - p[x]! || x - y);
  };
  const t = timeInterleaved(ITERS, {
    encode: () => encodeRankRows(fm, req.context, req.candidates),
    forwardPlain: () => noGrad(() => plain.artifact.model.forwardTasks(batch)),
    forwardFast: () => scoreServed(served, batch),
    rankFast: rank(served),
    rankPlain: rank(plain),
    gemm: gemm ?? (() => {}), // a no-op when not asked for
  });
  return {
    candidates: n,
    encode_ms: t.encode,
    forward_plain_ms: t.forwardPlain,
    forward_fast_ms: t.forwardFast,
    rank_fast_ms: t.rankFast,
    rank_plain_ms: t.rankPlain,
    gemm_ms: gemm !== undefined ? t.gemm : undefined,
  };
}

interface ServerProc {
  child: ChildProcess;
  url: string;
  /** The serving processes: the server, or the primary and its workers (`--workers`). */
  pids: number[];
  workers: number;
}

async function startServer(path: string, extra: string[]): Promise<ServerProc> {
  // The node flags docs/serving.md recommends for a serving process (a larger young generation).
  const child = spawn(process.execPath, [...servingNodeFlags([]), MAIN, 'serve', path, '--port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{ url: string; pids?: number[]; workers?: number }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes('"ready"'));
      if (line !== undefined) resolve(JSON.parse(line));
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before ready`)));
  });
  return { child, url: ready.url, pids: [child.pid!, ...(ready.pids ?? [])], workers: ready.workers ?? 1 };
}

/** Peak RSS (VmHWM) of the serving processes together, MiB. */
function peakRssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m === null) return NaN;
    kb += Number(m[1]);
  }
  return Math.round(kb / 1024);
}

/** SIGTERM, then waits for the server (and its workers) to exit. */
async function stopServer(srv: ServerProc): Promise<void> {
  if (srv.child.exitCode !== null) return;
  const exited = new Promise((r) => srv.child.once('exit', r));
  srv.child.kill('SIGTERM');
  await exited;
}

/** user + system CPU seconds so far of the serving processes together (/proc/<pid>/stat, 10 ms clock ticks). */
function serverCpuSec(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks / 100;
}

/** The server's cumulative (sum, count) of requests per scored micro-batch, from /metrics. */
async function batchStats(url: string): Promise<[number, number]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return [num('finerank_batch_requests_sum'), num('finerank_batch_requests_count')];
}

async function load(srv: ServerProc, n: number, connections: number) {
  const url = srv.url;
  const [s0, c0] = await batchStats(url);
  // autocannon runs in a child process (load-gen.ts): its CPU time is its own, and this
  // process's heap (models, data) cannot add GC pauses to the measured latencies.
  const srv0 = serverCpuSec(srv.pids);
  const r = await runLoadGen({ url, candidates: n, connections, duration: DURATION });
  const serverCpu = serverCpuSec(srv.pids) - srv0;
  return {
    candidates: n,
    connections,
    workers: srv.workers,
    req_per_sec: r.req_per_sec,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    p99_9_ms: r.p99_9_ms,
    ok_2xx: r.ok_2xx,
    non_2xx: r.non_2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: r.status_codes,
    server_peak_rss_mib: peakRssMiB(srv.pids),
    /** Cores' worth of CPU the server and the load generator (autocannon's process) used during the run. */
    server_cores_used: round3(serverCpu / r.wall_s),
    autocannon_cores_used: round3(r.cpu_s / r.wall_s),
    /** Server CPU time per answered request (ms). */
    server_cpu_ms_per_request: r.requests > 0 ? round3((serverCpu * 1000) / r.requests) : null,
    requests_per_batch: await batchStats(url).then(([s1, c1]) => Math.round(((s1 - s0) / (c1 - c0)) * 100) / 100),
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const loadBefore = loadavg()[0]!;
  process.stderr.write(
    `bench:serve on ${machine.machine}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (shared machine: other engineers' jobs compete for the cores)\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'finerank-bench-serve-'));
  try {
    const { path } = await writeFrappeArtifact(dir);
    setPoolMinLength(SERVING_POOL_MIN_LENGTH); // as the server does
    const served = loadServedModel(path, 1);
    const plain = loadServedModel(path, 1);
    plain.artifact.model.train();
    plain.artifact.model.eval(); // eval mode without folding: the plain forward

    // The GEMM-bound time at 1,000 rows, interleaved with the 1,000-candidate forwards (or alone).
    const products = gemmProducts(1000);
    const inproc = SIZES.map((n) => inProcess(served, plain, n, n === 1000 ? products.run : undefined));
    const gemmTiming = inproc.find((r) => r.candidates === 1000)?.gemm_ms ?? timeInterleaved(ITERS, { gemm: products.run }).gemm;
    const gemm = gemmFigures(gemmTiming, 1000, products.mflopPerRow);
    // PyTorch at the same threads in fp32 (the comparison of the targets) and in bf16 (model.to(torch.bfloat16)).
    const runTorch = async (dtype: 'float32' | 'bfloat16'): Promise<Record<string, unknown>> => {
      const r = await runProcess(
        torchPython(),
        [
          join(ROOT, 'bench', 'serve', 'torch_rank.py'),
          '--threads',
          String(kernels().getThreads()),
          '--candidates',
          '1000',
          '--iters',
          String(ITERS),
          '--dtype',
          dtype,
        ],
        { echoStderr: true },
      );
      return r.code === 0 ? lastJsonLine(r.stdout, 'torch_rank.py') : { error: r.stderr.trim().split('\n').pop() };
    };
    const torch = opts['skip-torch'] ? null : await runTorch('float32');
    const torchBf16 = opts['skip-torch'] ? null : await runTorch('bfloat16');

    const srv = await startServer(path, []);
    const http = [];
    try {
      for (const n of SIZES)
        for (const c of CONNECTIONS) {
          const row = await load(srv, n, c);
          process.stderr.write(`  rank ${n} × ${c} connections: ${row.req_per_sec} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms\n`);
          http.push(row);
        }
    } finally {
      await stopServer(srv);
    }
    // Throughput on every core: the same server with --workers (100 candidates, the most connections).
    if (WORKERS > 1 && SIZES.includes(100)) {
      const multi = await startServer(path, ['--workers', String(WORKERS)]);
      try {
        const c = Math.max(...CONNECTIONS);
        const row = await load(multi, 100, c);
        process.stderr.write(
          `  rank 100 × ${c} connections, ${WORKERS} workers: ${row.req_per_sec} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms\n`,
        );
        http.push(row);
      } finally {
        await stopServer(multi);
      }
    }
    // Overload: a small queue and far more connections than the server sustains.
    const over = await startServer(path, ['--max-queue-rows', '2000', '--max-candidates', '1000', '--max-rows', '1000']);
    let overload;
    try {
      overload = await load(over, 100, OVERLOAD);
    } finally {
      const alive = over.child.exitCode === null;
      await stopServer(over);
      overload = { ...overload!, server_alive_after: alive };
    }

    const rowsPerSec = (gemm.gflops * 1e3) / gemm.mflopPerRow;
    const result = {
      bench: 'serve',
      model: 'deepfm-frappe',
      machine: machine.machine,
      load_avg_1m_before: Math.round(loadBefore * 100) / 100,
      load_avg_1m_after: Math.round(loadavg()[0]! * 100) / 100,
      threads: kernels().getThreads(),
      server_node_flags: servingNodeFlags([]),
      kernels: kernels().detail,
      gemm_bound: {
        rows: 1000,
        ms: round3(gemm.ms),
        cpu_ms: round3(gemm.cpuMs),
        gflops_per_cpu_sec: round3(gemm.gflops),
        mflop_per_candidate: round3(gemm.mflopPerRow),
        candidates_per_sec_limit_1core: Math.round(rowsPerSec),
        rank100_req_per_sec_limit_1core: Math.round(rowsPerSec / 100),
      },
      in_process: inproc,
      pytorch: torch,
      pytorch_bf16: torchBf16,
      http,
      overload,
      targets: targetReport(gemm, rowsPerSec, inproc, torch, torchBf16, http, overload!),
    };
    const both = (t: { p50: number; cpu_p50: number }) => `${fmt(t.p50, 2)} (${fmt(t.cpu_p50, 2)})`;
    console.log('in process, ms p50 wall (CPU):');
    console.log(
      formatTable(
        ['candidates', 'encode', 'fwd plain', 'fwd fast', 'rank fast', 'rank fast p99', 'rank plain'],
        inproc.map((r) => [
          String(r.candidates),
          both(r.encode_ms),
          both(r.forward_plain_ms),
          both(r.forward_fast_ms),
          both(r.rank_fast_ms),
          fmt(r.rank_fast_ms.p99, 2),
          both(r.rank_plain_ms),
        ]),
      ),
    );
    console.log(
      `GEMM-bound (dense products alone, 1000 rows): ${gemm.ms.toFixed(2)} ms wall, ${gemm.cpuMs.toFixed(2)} ms CPU (${gemm.gflops.toFixed(1)} GFLOP per CPU second); PyTorch rank-1000: ${torch === null ? 'skipped' : JSON.stringify(torch)}; in bf16: ${torchBf16 === null ? 'skipped' : JSON.stringify(torchBf16)}`,
    );
    console.log(
      formatTable(
        [
          'candidates',
          'conns',
          'workers',
          'req/s',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          '2xx',
          'non-2xx',
          'status codes',
          'errors',
          'req/batch',
          'peak RSS MiB',
          'server cores',
          'autocannon cores',
        ],
        [...http, overload].map((r) => [
          String(r.candidates),
          String(r.connections),
          String(r.workers),
          fmt(r.req_per_sec, 1),
          fmt(r.p50_ms, 2),
          fmt(r.p99_ms, 2),
          fmt(r.p99_9_ms, 2),
          String(r.ok_2xx),
          String(r.non_2xx),
          Object.entries(r.status_codes)
            .map(([k, v]) => `${k}:${v}`)
            .join(' '),
          String(r.errors),
          fmt(r.requests_per_batch, 2),
          String(r.server_peak_rss_mib),
          fmt(r.server_cores_used, 2),
          fmt(r.autocannon_cores_used, 2),
        ]),
      ),
    );
    console.log('targets (issue 14; in-process figures are CPU-time p50s, HTTP figures wall-clock):');
    console.log(
      formatTable(
        ['target', 'measured', 'goal', 'met'],
        result.targets.rows.map((t) => [t.target, t.measured, t.goal, t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met']),
      ),
    );
    for (const n of result.targets.notes) console.log(`note: ${n}`);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One target of the issue: what was measured, the goal, and whether it is met (null: not measured in this run). */
interface TargetRow {
  target: string;
  measured: string;
  goal: string;
  met: boolean | null;
}

/**
 * The targets judged on this run's numbers. In process: CPU-time p50s of a whole
 * 1,000-candidate rank (encode + forward + sort; PyTorch's side is the forward alone) against
 * the GEMM-bound time and PyTorch. Over HTTP: wall-clock percentiles of autocannon's answers. The
 * throughput limit is the GEMM-bound candidates per CPU second × the cores of the machine.
 */
function targetReport(
  gemm: { ms: number; cpuMs: number },
  rowsPerSec: number,
  inproc: Array<ReturnType<typeof inProcess>>,
  torch: Record<string, unknown> | null,
  torchBf16: Record<string, unknown> | null,
  http: Array<Awaited<ReturnType<typeof load>>>,
  overload: Awaited<ReturnType<typeof load>> & { server_alive_after: boolean },
): { rows: TargetRow[]; notes: string[]; gemm_bound_rank1000_cpu_ms: number; throughput_limit_rank100_req_per_sec: number; cores: number } {
  const rows: TargetRow[] = [];
  const notes: string[] = [];
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const k = inproc.find((r) => r.candidates === 1000);
  const cores = availableParallelism();
  if (k !== undefined) {
    const ratio = k.rank_fast_ms.cpu_p50 / gemm.cpuMs;
    rows.push({
      target: 'in-process rank 1000 / GEMM-bound',
      measured: `${r2(k.rank_fast_ms.cpu_p50)} / ${r2(gemm.cpuMs)} ms = ${r2(ratio)}x`,
      goal: '<= 1.25x',
      met: ratio <= 1.25,
    });
    rows.push({
      target: 'in-process rank 1000 / GEMM-bound (lead: as close as possible)',
      measured: `${r2(ratio)}x`,
      goal: '<= 1.1x',
      met: ratio <= 1.1,
    });
    const fwd = k.forward_fast_ms.cpu_p50 / gemm.cpuMs;
    notes.push(`the forward alone (no encoding, no sort) is ${r2(k.forward_fast_ms.cpu_p50)} ms CPU = ${r2(fwd)}x the GEMM-bound time`);
    const t = torch !== null && typeof torch.cpu_p50_ms === 'number' ? torch.cpu_p50_ms : null;
    if (t !== null) {
      const speedup = t / k.rank_fast_ms.cpu_p50;
      rows.push({
        target: 'PyTorch rank 1000 / ours (same threads)',
        measured: `${r2(t)} / ${r2(k.rank_fast_ms.cpu_p50)} ms = ${r2(speedup)}x`,
        goal: '>= 1.5x',
        met: speedup >= 1.5,
      });
      const ceiling = t / gemm.cpuMs;
      notes.push(
        `PyTorch takes ${r2(ceiling)}x the GEMM-bound time with the same kernels, so at equal FLOPs and precision no forward can be more than ${r2(ceiling)}x faster than PyTorch here; 1.5x would need ${r2(t / 1.5)} ms, ${ceiling < 1.5 ? 'below' : 'above'} the GEMM floor of ${r2(gemm.cpuMs)} ms`,
      );
    } else rows.push({ target: 'PyTorch rank 1000 / ours (same threads)', measured: 'not run', goal: '>= 1.5x', met: null });
    // The same ratio with PyTorch in bf16 (ours stays fp32: finerank serves fp32 only; see docs/serving.md). Not a
    // verdict on the goal: where PyTorch's bf16 is slower than its fp32, beating it says nothing, so the goal
    // stays judged at equal precision (the row above) and this row is information.
    const tb = torchBf16 !== null && typeof torchBf16.cpu_p50_ms === 'number' ? torchBf16.cpu_p50_ms : null;
    const bf16Target = 'PyTorch bf16 (model.to(bfloat16)) rank 1000 / ours fp32 (same threads)';
    const bf16Goal = 'information: the 1.5x goal is judged at equal precision (row above)';
    if (tb !== null) {
      const speedup = tb / k.rank_fast_ms.cpu_p50;
      rows.push({ target: bf16Target, measured: `${r2(tb)} / ${r2(k.rank_fast_ms.cpu_p50)} ms = ${r2(speedup)}x`, goal: bf16Goal, met: null });
      if (t !== null)
        notes.push(
          `PyTorch in bf16 takes ${r2(tb / t)}x its fp32 time here (${tb > t ? 'slower' : 'faster'}; bench/engine/bf16_gemm.py times the bf16 GEMMs alone)`,
        );
    } else rows.push({ target: bf16Target, measured: 'not run', goal: bf16Goal, met: null });
  }
  const one = (n: number) => http.find((r) => r.candidates === n && r.connections === 1 && r.workers === 1);
  const h100 = one(100);
  rows.push({
    target: 'HTTP rank 100, 1 connection, p99',
    measured: h100 === undefined ? 'not run' : `${h100.p99_ms} ms`,
    goal: '<= 3 ms',
    met: h100 === undefined ? null : h100.p99_ms <= 3,
  });
  const h1000 = one(1000);
  if (h1000 !== undefined && k !== undefined) {
    const limit = 1.5 * k.rank_fast_ms.p50;
    rows.push({
      target: 'HTTP rank 1000, 1 connection, p99',
      measured: `${h1000.p99_ms} ms`,
      goal: `<= 1.5 x in-process p50 ${r2(k.rank_fast_ms.p50)} = ${r2(limit)} ms`,
      met: h1000.p99_ms <= limit,
    });
  }
  const limit100 = (rowsPerSec / 100) * cores;
  const best = http.filter((r) => r.candidates === 100).sort((a, b) => b.req_per_sec - a.req_per_sec)[0];
  rows.push({
    target: 'throughput rank 100 (best run)',
    measured:
      best === undefined
        ? 'not run'
        : `${best.req_per_sec} req/s (${best.connections} conns, ${best.workers} workers) = ${Math.round((100 * best.req_per_sec) / limit100)}% of limit`,
    goal: `>= 50% of ${cores} cores x ${Math.round(rowsPerSec / 100)} req/s = ${Math.round(limit100)} req/s`,
    met: best === undefined ? null : best.req_per_sec >= 0.5 * limit100,
  });
  if (best !== undefined) {
    // autocannon runs on the same cores: the server had the cores minus what the load generator used.
    const serverCores = cores - best.autocannon_cores_used;
    const limitLeft = (rowsPerSec / 100) * serverCores;
    rows.push({
      target: 'throughput rank 100 (best run), cores left to the server',
      measured: `${best.req_per_sec} req/s = ${Math.round((100 * best.req_per_sec) / limitLeft)}% (autocannon used ${best.autocannon_cores_used} cores, the server ${best.server_cores_used})`,
      goal: `>= 50% of (${cores} - ${best.autocannon_cores_used}) cores x ${Math.round(rowsPerSec / 100)} req/s = ${Math.round(limitLeft)} req/s`,
      met: best.req_per_sec >= 0.5 * limitLeft,
    });
    const perReq = best.server_cpu_ms_per_request;
    if (perReq !== null) {
      // The same goal on the CPU the server really got (other jobs on a shared machine take cores too).
      const floorMs = (100 * 1000) / rowsPerSec;
      rows.push({
        target: 'throughput rank 100 (best run), per server CPU second',
        measured: `${perReq} ms server CPU per request = ${Math.round((100 * floorMs) / perReq)}% of the GEMM-bound rate`,
        goal: `>= 50%: <= 2 x ${r2(floorMs)} ms`,
        met: perReq <= 2 * floorMs,
      });
    }
  }
  const only503 = Object.keys(overload.status_codes).every((c) => c === '200' || c === '503');
  rows.push({
    target: `overload (${overload.connections} conns, queue 2000 rows)`,
    measured: `alive ${overload.server_alive_after}, codes ${JSON.stringify(overload.status_codes)}, errors ${overload.errors}, peak RSS ${overload.server_peak_rss_mib} MiB`,
    goal: 'alive, only 200/503, 0 errors',
    met: overload.server_alive_after && only503 && overload.errors === 0,
  });
  notes.push(`load average (1 min) now ${loadavg()[0]!.toFixed(2)}: on a shared machine compare only runs at similar load`);
  return { rows, notes, gemm_bound_rank1000_cpu_ms: r2(gemm.cpuMs), throughput_limit_rank100_req_per_sec: Math.round(limit100), cores };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((e: unknown) => {
  console.error(`bench:serve: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
