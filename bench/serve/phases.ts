/**
 * bench:serve:phases — where the CPU time of one rank request goes (issue 14). See bench/serve/README.md.
 *
 * 1. In process, per phase (CPU-time p50 over `--iters` interleaved rounds): JSON.parse of
 *    the body text, the quick request check, encoding through the feature map, the forward
 *    pass, the sort, the answer's JSON text.
 * 2. The server: `finerank serve` in a child process answering `--requests` sequential
 *    requests on one keep-alive connection; its CPU time per request (from /proc/<pid>/stat)
 *    minus the in-process phases is what HTTP and fastify cost.
 * 3. The load generator: autocannon (its own process, load-gen.ts) at `--connections` connections for
 *    `--duration` seconds; its CPU time next to the server's, so that a throughput target can
 *    be set against the cores the server really has.
 * The last stdout line is one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadServedModel, type ServedModel } from '../../src/serve/model-slot.js';
import { scoreServed } from '../../src/serve/scorer.js';
import { SERVING_POOL_MIN_LENGTH } from '../../src/serve/server.js';
import { setPoolMinLength } from '../../src/engine/tensor.js';
import { servingNodeFlags } from '../../src/serve/node-flags.js';
import { encodeRankRows } from '../../src/serve/encode-request.js';
import { quickRankCheck } from '../../src/serve/fast-validate.js';
import { scoredResponseJson } from '../../src/serve/response-json.js';
import { rankOrder } from '../../src/serve/rank-order.js';
import { DEFAULT_LIMITS, type RankRequest } from '../../src/serve/api-schemas.js';
import { parseArgs, intOption, intListOption } from '../common/args.js';
import { repoRoot } from '../common/paths.js';
import { formatTable, fmt } from '../common/table.js';
import { writeFrappeArtifact, rankRequest } from './frappe-model.js';
import { runLoadGen } from './load-gen.js';

const opts = parseArgs(process.argv.slice(2), {
  iters: 'string',
  candidates: 'string',
  requests: 'string',
  duration: 'string',
  connections: 'string',
  'skip-http': 'flag',
  'server-node-args': 'string',
});
const ITERS = intOption(opts, 'iters', 200);
const SIZES = intListOption(opts, 'candidates', [100, 1000]);
const REQUESTS = intOption(opts, 'requests', 400);
const DURATION = intOption(opts, 'duration', 3);
const CONNECTIONS = intOption(opts, 'connections', 16);
/** Extra node flags of the server process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, `--trace-gc`); the serving young-generation flags are added unless given. */
const SERVER_NODE_ARGS = typeof opts['server-node-args'] === 'string' ? opts['server-node-args'].split(' ').filter((a) => a !== '') : [];
const MAIN = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

const PHASES = ['json_parse', 'check', 'encode', 'forward', 'sort', 'respond'] as const;
type Phase = (typeof PHASES)[number];

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** CPU-time p50 (ms) of each phase of a rank request handled in process, the phases run in turn every round. */
function inProcessPhases(served: ServedModel, n: number): Record<Phase | 'total', number> {
  const text = JSON.stringify(rankRequest(n, 11));
  const columns = new Set(served.featureMap.inputColumns);
  const cpu: Record<string, number[]> = Object.fromEntries([...PHASES, 'total'].map((p) => [p, []]));
  const round = (record: boolean) => {
    let body: RankRequest = null as unknown as RankRequest;
    let batch: ReturnType<typeof encodeRankRows> | null = null;
    let scores: ReturnType<typeof scoreServed> | null = null;
    let order: Uint32Array | null = null;
    const steps: Record<Phase, () => void> = {
      json_parse: () => (body = JSON.parse(text) as RankRequest),
      check: () => {
        if (!quickRankCheck(body, columns, DEFAULT_LIMITS)) throw new Error('the bench request failed the quick check');
      },
      encode: () => (batch = encodeRankRows(served.featureMap, body.context ?? {}, body.candidates)),
      forward: () => (scores = scoreServed(served, batch!)),
      sort: () => (order = rankOrder(scores!.probs[scores!.tasks[0]!]!)),
      respond: () => scoredResponseJson(served, scores!, order!),
    };
    const t0 = process.cpuUsage();
    for (const p of PHASES) {
      const c0 = process.cpuUsage();
      steps[p]();
      const c = process.cpuUsage(c0);
      if (record) cpu[p]!.push((c.user + c.system) / 1000);
    }
    const t = process.cpuUsage(t0);
    if (record) cpu.total!.push((t.user + t.system) / 1000);
  };
  for (let i = 0; i < 20; i++) round(false);
  for (let i = 0; i < ITERS; i++) round(true);
  return Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, p50(v)])) as Record<Phase | 'total', number>;
}

/** user + system CPU seconds of a process so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function procCpuSec(pid: number): number {
  const { user, system } = procCpuSplit(pid);
  return user + system;
}

/** User and system (kernel: sockets, epoll, page faults) CPU seconds of a process so far. */
function procCpuSplit(pid: number): { user: number; system: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(rest[11]) / 100, system: Number(rest[12]) / 100 };
}

async function startServer(path: string): Promise<{ pid: number; url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...servingNodeFlags(SERVER_NODE_ARGS), MAIN, 'serve', path, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes('"ready"'));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    // What the server prints after it is ready (e.g. --trace-gc lines) goes to our stderr.
    child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before ready`)));
  });
  return {
    pid: child.pid!,
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Young-generation collections (scavenges) of the server so far, from its /metrics
 * (prom-client's `nodejs_gc_duration_seconds` count of kind "minor"); null when absent.
 */
async function serverScavenges(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^finerank_nodejs_gc_duration_seconds_count\{kind="minor"\} (\d+)/m.exec(text);
  return m === null ? null : Number(m[1]);
}

/** Sends `count` requests one after the other on one keep-alive connection; returns each one's latency (ms). */
async function sequential(url: string, body: string, count: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(`${url}/v1/rank`);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { agent, hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    ms.push(performance.now() - t0);
  }
  agent.destroy();
  return ms;
}

/** The q-quantile of a list of numbers. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  process.stderr.write(
    `bench:serve:phases; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (shared machine)\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'finerank-bench-phases-'));
  try {
    const { path } = await writeFrappeArtifact(dir);
    setPoolMinLength(SERVING_POOL_MIN_LENGTH); // as the server does
    const served = loadServedModel(path, 1);
    const inproc = SIZES.map((n) => ({ candidates: n, cpu_ms: inProcessPhases(served, n) }));
    const server: Array<Record<string, number>> = [];
    let generator: Record<string, number> | null = null;
    if (!opts['skip-http']) {
      const srv = await startServer(path);
      try {
        for (const n of SIZES) {
          const body = JSON.stringify(rankRequest(n, 11));
          await sequential(srv.url, body, 50); // warm-up
          const g0 = await serverScavenges(srv.url);
          const s0 = procCpuSplit(srv.pid);
          const c0 = process.cpuUsage();
          const lat = await sequential(srv.url, body, REQUESTS);
          const c = process.cpuUsage(c0);
          const s1 = procCpuSplit(srv.pid);
          const g1 = await serverScavenges(srv.url);
          const perReq = ((s1.user + s1.system - s0.user - s0.system) * 1000) / REQUESTS;
          const ip = inproc.find((r) => r.candidates === n)!.cpu_ms.total;
          server.push({
            candidates: n,
            server_cpu_ms_per_request: round3(perReq),
            in_process_cpu_ms: round3(ip),
            http_and_framework_cpu_ms: round3(perReq - ip),
            server_system_cpu_ms_per_request: round3(((s1.system - s0.system) * 1000) / REQUESTS),
            client_cpu_ms_per_request: round3((c.user + c.system) / 1000 / REQUESTS),
            latency_p50_ms: round3(quantile(lat, 0.5)),
            latency_p99_ms: round3(quantile(lat, 0.99)),
            latency_p99_9_ms: round3(quantile(lat, 0.999)),
            // Each scavenge pauses the event loop, i.e. some request; more than 1 per 100 requests shows up in the p99.
            ...(g0 !== null && g1 !== null ? { scavenges: g1 - g0, scavenges_per_1000_requests: round3(((g1 - g0) * 1000) / REQUESTS) } : {}),
          });
        }
        if (SIZES.includes(100)) {
          const s0 = procCpuSec(srv.pid);
          const r = await runLoadGen({ url: srv.url, candidates: 100, connections: CONNECTIONS, duration: DURATION });
          const serverSec = procCpuSec(srv.pid) - s0;
          const clientSec = r.cpu_s;
          generator = {
            candidates: 100,
            connections: CONNECTIONS,
            duration_s: DURATION,
            requests: r.requests,
            req_per_sec: Math.round(r.req_per_sec),
            server_cpu_s: round3(serverSec),
            autocannon_cpu_s: round3(clientSec),
            autocannon_share_of_cpu: round3(clientSec / (clientSec + serverSec)),
            server_cpu_ms_per_request: round3((serverSec * 1000) / r.requests),
            autocannon_cpu_ms_per_request: round3((clientSec * 1000) / r.requests),
          };
        }
      } finally {
        await srv.stop();
      }
    }
    console.log('in process, CPU ms p50 per phase:');
    console.log(
      formatTable(
        ['candidates', ...PHASES, 'total'],
        inproc.map((r) => [String(r.candidates), ...[...PHASES, 'total' as const].map((p) => fmt(r.cpu_ms[p], 3))]),
      ),
    );
    if (server.length > 0) {
      console.log(`server, ${REQUESTS} sequential requests on one connection (CPU ms per request; wall-clock latency ms):`);
      console.log(
        formatTable(
          ['candidates', 'server', 'of it kernel', 'in-process phases', 'HTTP + fastify', 'client', 'latency p50', 'p99', 'p99.9', 'scavenges'],
          server.map((r) => [
            String(r.candidates),
            fmt(r.server_cpu_ms_per_request!, 3),
            fmt(r.server_system_cpu_ms_per_request!, 3),
            fmt(r.in_process_cpu_ms!, 3),
            fmt(r.http_and_framework_cpu_ms!, 3),
            fmt(r.client_cpu_ms_per_request!, 3),
            fmt(r.latency_p50_ms!, 2),
            fmt(r.latency_p99_ms!, 2),
            fmt(r.latency_p99_9_ms!, 2),
            r.scavenges === undefined ? 'n/a' : String(r.scavenges),
          ]),
        ),
      );
    }
    if (generator !== null)
      console.log(
        `autocannon, rank 100 × ${CONNECTIONS} connections, ${DURATION} s: ${generator.req_per_sec} req/s; server ${generator.server_cpu_s} s CPU, autocannon ${generator.autocannon_cpu_s} s CPU (${Math.round(100 * generator.autocannon_share_of_cpu!)}% of the two)`,
      );
    console.log(
      JSON.stringify({
        bench: 'serve-phases',
        load_avg_1m_before: round3(load0),
        load_avg_1m_after: round3(loadavg()[0]!),
        in_process: inproc,
        server,
        generator,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((e: unknown) => {
  console.error(`bench:serve:phases: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
