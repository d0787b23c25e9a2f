import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFixtureArtifact, tempDir } from './serve-fixture.js';
import { get, post } from './http-client.js';
import { SERVING_SEMI_SPACE_MIB, servingNodeFlags } from '../../src/serve/node-flags.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir: string;
let goodPath: string;
let otherPath: string;

before(async () => {
  dir = tempDir();
  goodPath = (await writeFixtureArtifact(dir, 'good.frk', 1)).path;
  otherPath = (await writeFixtureArtifact(dir, 'other.frk', 2)).path;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI server as a child process, with its stdout events (JSON lines) collected. */
class ServeProcess {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  /** Waits (up to 20 s) for the n-th event named `name` (n counts from 1). */
  async event(name: string, n = 1): Promise<Record<string, unknown>> {
    for (let t = 0; t < 400; t++) {
      const found = this.events.filter((e) => e.event === name);
      if (found.length >= n) return found[n - 1]!;
      if (this.child.exitCode !== null) throw new Error(`server exited (${this.child.exitCode}) before '${name}': ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no '${name}' event; got ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
  }
}

test('finerank serve: ready event, scoring, SIGHUP reloads (good and corrupt file), SIGTERM drains in-flight requests', async () => {
  const live = join(dir, 'live.frk');
  copyFileSync(goodPath, live);
  const p = new ServeProcess([live, '--port', '0', '--max-wait-ms', '800']);
  try {
    const ready = await p.event('ready');
    const url = ready.url as string;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ready.version, 1);
    const rows = [{ user: 'u1', item: 'i3', price: 4 }];
    const a = await post(`${url}/v1/score`, { rows });
    assert.equal(a.status, 200);
    assert.equal((await get(`${url}/readyz`)).status, 200);

    // Replace the file and send SIGHUP: the new weights serve.
    copyFileSync(otherPath, live);
    p.child.kill('SIGHUP');
    const re = await p.event('reloaded');
    assert.equal(re.version, 2);
    const b = await post(`${url}/v1/score`, { rows });
    assert.equal(b.body.model.version, 2);
    assert.notEqual(b.body.results[0].score, a.body.results[0].score);

    // A corrupt file is refused; version 2 keeps serving.
    const bytes = Buffer.from(readFileSync(live));
    bytes[bytes.length - 40]! ^= 0xff;
    writeFileSync(live, bytes);
    p.child.kill('SIGHUP');
    const refused = await p.event('reload_refused');
    assert.match(String(refused.error), /checksum mismatch.*model version 2 keeps serving/);
    const c = await post(`${url}/v1/score`, { rows });
    assert.equal(c.status, 200);
    assert.equal(c.body.model.version, 2);
    assert.equal(c.body.results[0].score, b.body.results[0].score);

    // SIGTERM while a request waits in the micro-batch queue: it is answered, then the process exits 0.
    const pending = post(`${url}/v1/score`, { rows });
    // Wait until the server holds it in its micro-batch queue (the metrics say so).
    for (let i = 0; i < 400 && !/finerank_queue_rows 1\n/.test((await get(`${url}/metrics`)).body as string); i++)
      await new Promise((r) => setTimeout(r, 10));
    p.child.kill('SIGTERM');
    const d = await pending;
    assert.equal(d.status, 200);
    assert.equal(d.body.results[0].score, b.body.results[0].score);
    assert.equal(await p.exited, 0);
    await p.event('stopped');
    assert.equal(p.stderr, '');
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
});

/** One request on a fresh connection (so that node:cluster may hand it to any worker); the answering worker's id from its header. */
function once(url: string, body?: unknown): Promise<{ status: number; worker: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: body === undefined ? 'GET' : 'POST', agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            worker: String(res.headers['x-finerank-worker']),
            body: (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Sends `body` on fresh connections until every one of `workers` distinct workers has answered (at most 40 tries); the answers by worker. */
async function answersByWorker(url: string, body: unknown, workers: number): Promise<Map<string, { status: number; body: any }>> {
  const seen = new Map<string, { status: number; body: any }>();
  for (let i = 0; i < 40 && seen.size < workers; i++) {
    const r = await once(url, body);
    seen.set(r.worker, r);
  }
  return seen;
}

test('finerank serve --workers 2: both workers answer; admin reload, SIGHUP and a refused reload reach both; summed metrics; a killed worker is replaced; SIGTERM drains', async () => {
  const live = join(dir, 'cluster-live.frk');
  copyFileSync(goodPath, live);
  const p = new ServeProcess([live, '--port', '0', '--workers', '2']);
  try {
    const ready = await p.event('ready');
    const url = ready.url as string;
    assert.equal(ready.workers, 2);
    assert.equal((ready.pids as number[]).length, 2);
    for (const pid of ready.pids as number[]) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(
        argv.includes(`--min-semi-space-size=${SERVING_SEMI_SPACE_MIB}`),
        `worker ${pid} runs with the serving young generation: ${argv.join(' ')}`,
      );
    }
    const rows = [{ user: 'u1', item: 'i3', price: 4 }];
    const score = () => answersByWorker(`${url}/v1/score`, { rows }, 2);
    const v1 = await score();
    assert.equal(v1.size, 2, 'both workers answer');
    for (const r of v1.values()) assert.equal(r.body.model.version, 1);
    const s1 = [...v1.values()][0]!.body.results[0].score;
    for (const r of v1.values()) assert.equal(r.body.results[0].score, s1);

    // POST /admin/reload on one worker reloads both.
    const re = await once(`${url}/admin/reload`, { path: otherPath });
    assert.equal(re.status, 200);
    assert.equal(re.body.model.version, 2);
    const v2 = await score();
    assert.equal(v2.size, 2);
    for (const r of v2.values()) {
      assert.equal(r.body.model.version, 2);
      assert.notEqual(r.body.results[0].score, s1);
    }
    const s2 = [...v2.values()][0]!.body.results[0].score;

    // A corrupt artifact is refused by both; version 2 keeps serving everywhere.
    const bad = join(dir, 'cluster-bad.frk');
    const bytes = Buffer.from(readFileSync(goodPath));
    bytes[bytes.length - 40]! ^= 0xff;
    writeFileSync(bad, bytes);
    const refused = await once(`${url}/admin/reload`, { path: bad });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error, 'artifact_refused');
    assert.match(refused.body.message, /checksum mismatch.*model version 2 keeps serving/);
    assert.equal(refused.body.issues[0].pointer, '/path');

    // SIGHUP to the primary reloads the current path (otherPath) in both: version 3.
    p.child.kill('SIGHUP');
    const hup = await p.event('reloaded');
    assert.equal(hup.version, 3);
    const v3 = await score();
    assert.equal(v3.size, 2);
    for (const r of v3.values()) {
      assert.equal(r.body.model.version, 3);
      assert.equal(r.body.results[0].score, s2);
    }

    // /metrics (answered by either worker) sums both: every 200 of /v1/score counted once.
    const okScores = async () => {
      const text = (await once(`${url}/metrics`)).body as string;
      return Number(/^finerank_http_requests_total\{route="\/v1\/score",code="200"\} (\d+)$/m.exec(text)?.[1] ?? NaN);
    };
    const before = await okScores();
    for (let i = 0; i < 6; i++) assert.equal((await once(`${url}/v1/score`, { rows })).status, 200);
    assert.equal(await okScores(), before + 6);

    // A worker killed hard is replaced, at the cluster's model version.
    process.kill((ready.pids as number[])[0]!, 'SIGKILL');
    const exit = await p.event('worker_exit');
    assert.equal(exit.signal, 'SIGKILL');
    const back = await p.event('worker_restarted');
    assert.equal(back.version, 3);
    const v4 = await score();
    assert.equal(v4.size, 2);
    for (const r of v4.values()) assert.equal(r.body.results[0].score, s2);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    await p.event('stopped');
    assert.equal(p.stderr, '');
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
});

test('finerank serve --workers 2 with a missing model exits 1 naming the file', () => {
  const r = spawnSync(process.execPath, [MAIN, 'serve', join(dir, 'nope.frk'), '--port', '0', '--workers', '2'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope\.frk: model file not found/);
  assert.match(r.stderr, /worker \d+ exited \(code 1\) before it was ready/);
});

test('finerank serve: a missing or corrupt model, or a bad flag, exits 1 with a clear message', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [MAIN, 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
  const missing = run([join(dir, 'nope.frk'), '--port', '0']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.frk: model file not found; no model is loaded/);
  const badPort = run([goodPath, '--port', 'http']);
  assert.equal(badPort.status, 1);
  assert.match(badPort.stderr, /--port must be an integer ≥ 0, got 'http'/);
  const badWorkers = run([goodPath, '--workers', '0']);
  assert.equal(badWorkers.status, 1);
  assert.match(badWorkers.stderr, /--workers must be an integer ≥ 1, got '0'/);
  const badAdmin = run([goodPath, '--admin', 'all']);
  assert.equal(badAdmin.status, 1);
  assert.match(badAdmin.stderr, /--admin must be one of: loopback, any, off; got 'all'/);
  const queue = run([goodPath, '--max-queue-rows', '10', '--port', '0']);
  assert.equal(queue.status, 1);
  assert.match(queue.stderr, /maxQueueRows \(10\) must be at least the largest request/);
  const usage = run([]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: finerank serve MODEL_FILE/);
});

test('servingNodeFlags: adds the young-generation flags, keeps an operator-given size', () => {
  assert.deepEqual(servingNodeFlags(['--enable-source-maps']), [
    '--enable-source-maps',
    `--min-semi-space-size=${SERVING_SEMI_SPACE_MIB}`,
    `--max-semi-space-size=${SERVING_SEMI_SPACE_MIB}`,
  ]);
  assert.deepEqual(servingNodeFlags(['--max-semi-space-size=8']), ['--max-semi-space-size=8']);
  assert.deepEqual(servingNodeFlags(['--min_semi_space_size=4', '--trace-gc']), ['--min_semi_space_size=4', '--trace-gc']);
});
