/**
 * The load generator of bench:serve in its own process: autocannon against a server's
 * /v1/rank with one fixed rank request. Run apart from the bench process, whose heap holds
 * the models and data of the in-process runs (its garbage collections would otherwise land
 * in the measured latencies), and so that its CPU time is its own.
 *
 * `node load-gen.js '{"url":…,"candidates":100,"connections":16,"duration":3}'` prints one
 * JSON line: autocannon's figures and this process's CPU seconds during the run.
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

/** What one run measured (latencies in ms, autocannon's integer-millisecond histogram). */
export interface LoadResult {
  req_per_sec: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  p99_9_ms: number | null;
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
  const r = await autocannon({
    url: `${spec.url}/v1/rank`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: spec.connections,
    duration: spec.duration,
  });
  const c = process.cpuUsage(c0);
  const out: LoadResult = {
    req_per_sec: Math.round(r.requests.average * 10) / 10,
    requests: r.requests.total,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    p99_9_ms: (r.latency as unknown as Record<string, number>).p99_9 ?? null,
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
