/**
 * The load generator of bench:serve in its own process: autocannon against a server's
 * /v1/rank with one fixed rank request. Run apart from the bench process, whose heap holds
 * the models and data of the in-process runs (its garbage collections would otherwise land
 * in the measured latencies), and so that its CPU time is its own.
 *
 * `node load-gen.js '{"url":…,"candidates":100,"connections":16,"duration":3}'` prints one
 * JSON line: autocannon's figures and this process's CPU seconds during the run.
 *
 * Latency percentiles have sub-millisecond resolution: autocannon's own histogram
 * (hdr-histogram, lowest discernible value 1) reports whole milliseconds, so every 2xx
 * answer's time (autocannon's `response` event, measured with process.hrtime from the
 * request's write to the answer's last byte) is kept here and the percentiles are taken from
 * the sorted times (nearest rank). autocannon's integer figures stay in `autocannon_latency_ms`.
 */
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { rankRequest } from './frappe-model.js';
import { runProcess, lastJsonLine } from '../common/process.js';

/** What to send. */
export interface LoadSpec {
  /** The server's base URL. */
  url: string;
  /** Candidates of the rank request (`rankRequest(candidates, 11)`). */
  candidates: number;
  connections: number;
  /** Seconds. */
  duration: number;
}

/** What one run measured (latencies in ms of the 2xx answers, sub-millisecond: see the module comment). */
export interface LoadResult {
  req_per_sec: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  p99_9_ms: number | null;
  /** autocannon's own p50/p99/p99.9 (its histogram's whole milliseconds). */
  autocannon_latency_ms: { p50: number; p99: number; p99_9: number | null };
  ok_2xx: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  status_codes: Record<string, number>;
  /** CPU seconds (user + system) of the load generator's process during the run. */
  cpu_s: number;
  /** Wall-clock seconds of the run. */
  wall_s: number;
}

/**
 * The q-quantile (0 < q ≤ 1) of ascending-sorted values by nearest rank: the smallest value
 * with at least q of all values at or below it; null for no values.
 */
export function nearestRank(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

/** Runs the load generator in a child process and returns its result. */
export async function runLoadGen(spec: LoadSpec): Promise<LoadResult> {
  const r = await runProcess(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(spec)], { echoStderr: true });
  if (r.code !== 0) throw new Error(`load-gen exited with ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
  return lastJsonLine(r.stdout, 'load-gen') as unknown as LoadResult;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const body = JSON.stringify(rankRequest(spec.candidates, 11));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const times: number[] = [];
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon(
      {
        url: `${spec.url}/v1/rank`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: spec.connections,
        duration: spec.duration,
      },
      (err, result) => (err !== null && err !== undefined ? reject(err as Error) : resolve(result)),
    );
    run.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) times.push(ms);
    });
  });
  const c = process.cpuUsage(c0);
  const sorted = Float64Array.from(times).sort();
  const ms3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
  const out: LoadResult = {
    req_per_sec: Math.round(r.requests.average * 10) / 10,
    requests: r.requests.total,
    p50_ms: ms3(nearestRank(sorted, 0.5)) ?? r.latency.p50,
    p99_ms: ms3(nearestRank(sorted, 0.99)) ?? r.latency.p99,
    p99_9_ms: ms3(nearestRank(sorted, 0.999)),
    autocannon_latency_ms: {
      p50: r.latency.p50,
      p99: r.latency.p99,
      p99_9: (r.latency as unknown as Record<string, number>).p99_9 ?? null,
    },
    ok_2xx: r['2xx'],
    non_2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: Object.fromEntries(
      Object.entries((r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(([k, v]) => [k, v.count]),
    ),
    cpu_s: (c.user + c.system) / 1e6,
    wall_s: (performance.now() - t0) / 1000,
  };
  console.log(JSON.stringify(out));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`load-gen: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
