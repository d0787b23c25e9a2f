import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import type { RankingModel } from '../../src/models/base.js';
import type { FeatureMap } from '../../src/features/featuremap.js';
import { createScoringServer, type ScoringServer, type ServeOptions } from '../../src/serve/server.js';
import { apiSchemas } from '../../src/serve/api-schemas.js';
import { writeFixtureArtifact, writeMultiTaskArtifact, tempDir } from './serve-fixture.js';
import { get, post } from './http-client.js';

let dir: string;
let good: { path: string; model: RankingModel; fm: FeatureMap };
let other: { path: string; model: RankingModel; fm: FeatureMap };
let corrupt: string;

before(async () => {
  dir = tempDir();
  good = await writeFixtureArtifact(dir, 'good.frk', 1);
  other = await writeFixtureArtifact(dir, 'other.frk', 2);
  const bytes = Buffer.from(readFileSync(good.path));
  bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
  corrupt = join(dir, 'corrupt.frk');
  writeFileSync(corrupt, bytes);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a server on a free loopback port, runs fn, closes it. */
async function withServer(opts: Partial<ServeOptions>, fn: (url: string, s: ScoringServer) => Promise<void>): Promise<void> {
  const s = createScoringServer({ modelPath: good.path, host: '127.0.0.1', port: 0, ...opts });
  let url: string;
  try {
    url = await s.start();
  } catch {
    url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  }
  try {
    await fn(url, s);
  } finally {
    await s.close();
  }
}

/** Waits until the server has rows queued (a request was received and waits for its batch). */
async function untilQueued(s: ScoringServer): Promise<void> {
  for (let i = 0; i < 1000 && s.queuedRows === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(s.queuedRows > 0, 'the request reached the queue');
}

/** Expected probabilities: the plain model in eval mode on the feature map's encoding. */
function expected(m: { model: RankingModel; fm: FeatureMap }, rows: Record<string, unknown>[]): number[] {
  const logits = noGrad(() => m.model.forwardTasks(m.fm.transformRows(rows, { inputsOnly: true })))[m.model.tasks[0]!]!.data;
  return Array.from(logits, (l) => 1 / (1 + Math.exp(-l)));
}

function assertClose(actual: number[], want: number[], tol = 1e-6): void {
  assert.equal(actual.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(actual[i]! - want[i]!) <= tol, `row ${i}: ${actual[i]} vs ${want[i]}`);
}

const ROWS = [
  { user: 'u1', hour: 3, item: 'i4', category: 'c4', price: 12.5, tags: ['t1', 't2'] },
  { user: 'u2', hour: '7', item: 'i9', category: 'c0', price: '3.5', tags: 't3|t4' },
  { user: 'never-seen', item: 'nor-this', category: 'c1', price: null },
];

test('POST /v1/score: one probability per row (per task), equal to the model on the feature map encoding; unknown values → OOV', async () => {
  await withServer({}, async (url) => {
    const r = await post(`${url}/v1/score`, { rows: ROWS });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.tasks, ['click']);
    assert.equal(r.body.model.version, 1);
    assert.equal(r.body.model.name, 'deepfm');
    const scores = r.body.results.map((x: { score: number }) => x.score);
    assertClose(scores, expected(good, ROWS));
    for (const x of r.body.results) assert.equal(x.probabilities.click, x.score);
    // The unseen user and item were encoded as the OOV row (id 1).
    const enc = good.fm.transformRows([ROWS[2]!], { inputsOnly: true });
    assert.equal(enc.sparse.user![0], 1);
    assert.equal(enc.sparse.item![0], 1);
  });
});

test('POST /v1/rank: candidates joined with the context, sorted by score, top_k', async () => {
  await withServer({}, async (url) => {
    const context = { user: 'u3', hour: 20 };
    const candidates = Array.from({ length: 12 }, (_, i) => ({ item: `i${i * 3}`, category: `c${i % 9}`, price: i * 7.5, tags: [`t${i % 5}`] }));
    const want = expected(
      good,
      candidates.map((c) => ({ ...context, ...c })),
    );
    const r = await post(`${url}/v1/rank`, { context, candidates });
    assert.equal(r.status, 200);
    // The answer goes out as bytes (src/serve/response-json.ts): still typed as JSON, with its exact length.
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(JSON.stringify(r.body)));
    const order = want
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);
    assert.deepEqual(
      r.body.results.map((x: { index: number }) => x.index),
      order,
    );
    for (const x of r.body.results) assertClose([x.score], [want[x.index]!]);
    const top = await post(`${url}/v1/rank`, { context, candidates, top_k: 3 });
    assert.deepEqual(top.body.results, r.body.results.slice(0, 3));
    const noCtx = await post(`${url}/v1/rank`, { candidates: [{ ...context, ...candidates[0] }] });
    assertClose([noCtx.body.results[0].score], [want[0]!]);
  });
});

test('a multi-task model: one probability per task by name, score = the first task, rank by the first task', async () => {
  const mt = await writeMultiTaskArtifact(dir, 'multi.frk');
  await withServer({ modelPath: mt.path }, async (url) => {
    const logits = noGrad(() => mt.model.forwardTasks(mt.fm.transformRows(ROWS, { inputsOnly: true })));
    const want = (t: string) => Array.from(logits[t]!.data, (l) => 1 / (1 + Math.exp(-l)));
    const r = await post(`${url}/v1/score`, { rows: ROWS });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.tasks, ['ctr', 'cvr']);
    assertClose(
      r.body.results.map((x: { probabilities: Record<string, number> }) => x.probabilities.ctr),
      want('ctr'),
    );
    assertClose(
      r.body.results.map((x: { probabilities: Record<string, number> }) => x.probabilities.cvr),
      want('cvr'),
    );
    for (const x of r.body.results) assert.equal(x.score, x.probabilities.ctr);
    const rank = await post(`${url}/v1/rank`, { candidates: ROWS });
    const order = want('ctr')
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);
    assert.deepEqual(
      rank.body.results.map((x: { index: number }) => x.index),
      order,
    );
    const doc = (await get(`${url}/openapi.json`)).body;
    const props =
      doc.paths['/v1/score'].post.responses['200'].content['application/json'].schema.properties.results.items.properties.probabilities.properties;
    assert.deepEqual(Object.keys(props), ['ctr', 'cvr']);
  });
});

test('ESMM: the tasks (ctr, ctcvr) and the extra output (cvr) by name, as predict writes them', async () => {
  const mt = await writeMultiTaskArtifact(dir, 'esmm.frk', 'esmm');
  await withServer({ modelPath: mt.path }, async (url) => {
    const logits = noGrad(() => mt.model.forwardOutputs(mt.fm.transformRows(ROWS, { inputsOnly: true })));
    const r = await post(`${url}/v1/score`, { rows: ROWS });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.tasks, ['ctr', 'ctcvr', 'cvr']);
    for (const t of ['ctr', 'ctcvr', 'cvr']) {
      assertClose(
        r.body.results.map((x: { probabilities: Record<string, number> }) => x.probabilities[t]!),
        Array.from(logits[t]!.data, (l) => 1 / (1 + Math.exp(-l))),
      );
    }
    for (const x of r.body.results) assert.ok(Math.abs(x.probabilities.ctcvr - x.probabilities.ctr * x.probabilities.cvr) < 1e-6);
  });
});

test('validation: 4xx JSON errors naming the field by JSON pointer, never a 500', async () => {
  await withServer({ limits: { maxCandidates: 5, maxRows: 4, bodyLimitBytes: 4096 }, batcher: { maxQueueRows: 100 } }, async (url) => {
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      [
        '/v1/score',
        { rows: [{ user: 'u1', usr: 'x' }] },
        400,
        '/rows/0/usr',
        /unknown field 'usr'; expected one of: user, hour, item, category, price, tags/,
      ],
      ['/v1/score', { rows: [{ user: { id: 1 } }] }, 400, '/rows/0/user', /Invalid input/],
      ['/v1/score', { rows: [{}, { price: 'cheap' }] }, 400, '/rows/1/price', /"cheap" is not a number; expected a decimal number/],
      ['/v1/score', { rows: [] }, 400, '/rows', /at least one row/],
      ['/v1/score', { rows: Array(5).fill({}) }, 400, '/rows', /at most 4 rows per request/],
      ['/v1/score', {}, 400, '/rows', /expected array/],
      ['/v1/score', { rows: [{}], extra: 1 }, 400, '/extra', /unknown field 'extra'/],
      ['/v1/score', [1, 2], 400, '', /expected object/],
      [
        '/v1/rank',
        { context: { user: 'u1' }, candidates: [{ item: 'i1' }, { item: 'i2', user: 'u2' }] },
        400,
        '/candidates/1/user',
        /also given in \/context/,
      ],
      ['/v1/rank', { context: { price: 'x' }, candidates: [{ item: 'i1' }] }, 400, '/context/price', /is not a number/],
      ['/v1/rank', { candidates: Array(6).fill({}) }, 400, '/candidates', /at most 5 candidates per request/],
      ['/v1/rank', { candidates: [{}], top_k: 0 }, 400, '/top_k', /top_k must be at least 1/],
      ['/v1/rank', { candidates: [{}], top_k: 1.5 }, 400, '/top_k', /expected int/],
      ['/v1/rank', { context: { user: 'u1' } }, 400, '/candidates', /expected array/],
    ];
    for (const [path, body, status, pointer, reason] of cases) {
      const r = await post(`${url}${path}`, body);
      const what = `${path} ${JSON.stringify(body).slice(0, 80)}`;
      assert.equal(r.status, status, what);
      assert.equal(r.body.error, 'invalid_request', what);
      assert.equal(r.body.issues[0].pointer, pointer, what);
      assert.match(r.body.issues[0].reason, reason, what);
      assert.match(r.body.message, reason, what);
    }
    const big = await post(`${url}/v1/score`, { rows: [{ user: 'x'.repeat(5000) }] });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'body_too_large');
    const bad = await post(`${url}/v1/score`, null, { raw: '{"rows": [' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_request');
    const text = await post(`${url}/v1/score`, null, { raw: 'rows', contentType: 'text/plain' });
    assert.equal(text.status, 415);
    const nf = await get(`${url}/v2/score`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error, 'not_found');
    // Still serving after all of that.
    assert.equal((await post(`${url}/v1/score`, { rows: [ROWS[0]] })).status, 200);
  });
});

/** A random JSON value (seeded): nested objects / arrays, strings (some of them column names), numbers, booleans, null. */
function randomJson(rng: Rng, depth: number): unknown {
  const pick = rng.int(depth > 3 ? 4 : 6);
  const names = ['rows', 'candidates', 'context', 'top_k', 'user', 'price', 'tags', 'item', 'x', '__proto__', ''];
  switch (pick) {
    case 0:
      return rng.next() < 0.5 ? null : rng.next() < 0.5;
    case 1:
      return [0, -1, 1.5, 1e308, -0, 42, 7][rng.int(7)];
    case 2:
      return ['', 'u1', 'i3', 'abc', '12', 't1|t2', '\u0000', 'é'][rng.int(8)];
    case 3:
      return names[rng.int(names.length)];
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [names[rng.int(names.length)]!, randomJson(rng, depth + 1)]));
  }
}

test('fuzz: random JSON bodies on /v1/score and /v1/rank get 200 or a 4xx JSON error, never a 5xx; the server keeps serving', async () => {
  await withServer({ limits: { maxRows: 50, maxCandidates: 50 }, batcher: { maxQueueRows: 1000, maxWaitMs: 0 } }, async (url) => {
    const rng = new Rng(99);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      // Mostly well-shaped requests with random contents, some entirely random bodies.
      const shaped = rng.next() < 0.7;
      const path = rng.next() < 0.5 ? '/v1/score' : '/v1/rank';
      const rows = () => Array.from({ length: 1 + rng.int(3) }, () => randomJson(rng, 2));
      const body = !shaped ? randomJson(rng, 0) : path === '/v1/score' ? { rows: rows() } : { context: randomJson(rng, 2), candidates: rows() };
      const r = await post(`${url}${path}`, body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${r.status} for ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      if (r.status !== 200) {
        assert.equal(typeof r.body.error, 'string');
        assert.ok(Array.isArray(r.body.issues));
      }
    }
    assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, JSON.stringify([...statuses]));
    assert.equal((await post(`${url}/v1/score`, { rows: [ROWS[0]] })).status, 200);
  });
});

test('GET /healthz, /readyz (503 until a model is loaded), /metrics, /openapi.json', async () => {
  await withServer({ modelPath: join(dir, 'missing.frk') }, async (url, s) => {
    assert.equal(s.model, null);
    assert.equal((await get(`${url}/healthz`)).status, 200);
    const nr = await get(`${url}/readyz`);
    assert.equal(nr.status, 503);
    assert.equal(nr.body.error, 'not_ready');
    const sc = await post(`${url}/v1/score`, { rows: [{}] });
    assert.equal(sc.status, 503);
    assert.equal(sc.body.error, 'not_ready');
    assert.equal(sc.headers.get('retry-after'), '1');
    const ok = await post(`${url}/admin/reload`, { path: good.path });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.model.version, 1);
    const ready = await get(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.model.sha256.length, 64);

    await post(`${url}/v1/score`, { rows: ROWS });
    await post(`${url}/v1/score`, { rows: [{ nope: 1 }] });
    const m = await get(`${url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const text = m.body as string;
    assert.match(text, /finerank_http_requests_total\{route="\/v1\/score",code="200"\} 1\n/);
    assert.match(text, /finerank_http_requests_total\{route="\/v1\/score",code="400"\} 1\n/);
    assert.match(text, /finerank_http_requests_total\{route="\/v1\/score",code="503"\} 1\n/);
    assert.match(text, /finerank_http_errors_total\{route="\/v1\/score",kind="invalid_request"\} 1\n/);
    assert.match(text, /finerank_http_request_duration_seconds_count\{route="\/v1\/score"\} 3\n/);
    assert.match(text, /finerank_batch_rows_sum 3\n/);
    assert.match(text, /finerank_batch_rows_count 1\n/);
    assert.match(text, /finerank_queue_rows 0\n/);
    assert.match(text, /finerank_model_info\{version="1",sha256="[0-9a-f]{64}",model="deepfm"\} 1\n/);
    assert.match(text, /finerank_process_resident_memory_bytes \d+/);

    const doc = (await get(`${url}/openapi.json`)).body;
    assert.equal(doc.openapi, '3.1.0');
    const req = doc.paths['/v1/rank'].post.requestBody.content['application/json'].schema;
    // Generated from the validators that check requests: the same JSON schema, listing the model's columns.
    const schemas = apiSchemas(good.fm.inputColumns, { maxRows: 10_000, maxCandidates: 10_000, bodyLimitBytes: 1 }, ['click']);
    const direct = z.toJSONSchema(schemas.rankRequest, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete direct.$schema;
    assert.deepEqual(req as unknown, direct as unknown);
    assert.deepEqual(Object.keys(req.properties.candidates.items.properties), ['user', 'hour', 'item', 'category', 'price', 'tags']);
    assert.equal(req.properties.candidates.items.additionalProperties, false);
    assert.equal(req.properties.candidates.maxItems, 10_000);
    for (const p of ['/v1/score', '/v1/rank', '/admin/reload', '/healthz', '/readyz', '/metrics']) assert.ok(doc.paths[p], p);
  });
});

test('micro-batching: concurrent requests are scored as one batch, each gets its own rows', async () => {
  await withServer({ batcher: { maxWaitMs: 1000, maxBatchRows: 1000 } }, async (url, s) => {
    const reqs = [[ROWS[0]!], [ROWS[1]!, ROWS[2]!], [ROWS[2]!, ROWS[0]!, ROWS[1]!]];
    const res = await Promise.all(reqs.map((rows) => post(`${url}/v1/score`, { rows })));
    res.forEach((r, i) => {
      assert.equal(r.status, 200);
      assertClose(
        r.body.results.map((x: { score: number }) => x.score),
        expected(good, reqs[i]!),
        1e-6,
      );
    });
    const text = await s.metrics.registry.metrics();
    assert.match(text, /finerank_batch_requests_count 1\n/);
    assert.match(text, /finerank_batch_requests_sum 3\n/);
    assert.match(text, /finerank_batch_rows_sum 6\n/);
  });
});

test('bounded queue: past maxQueueRows requests get 503 with Retry-After, the queued ones are answered', async () => {
  await withServer(
    { batcher: { maxWaitMs: 1500, maxBatchRows: 1000, maxQueueRows: 10 }, limits: { maxRows: 4, maxCandidates: 4 }, retryAfterSeconds: 3 },
    async (url) => {
      const rows = [ROWS[0]!, ROWS[1]!, ROWS[2]!, ROWS[0]!];
      const res = await Promise.all(Array.from({ length: 5 }, () => post(`${url}/v1/score`, { rows })));
      const codes = res.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, 200, 503, 503, 503]);
      for (const r of res.filter((x) => x.status === 503)) {
        assert.equal(r.body.error, 'overloaded');
        assert.equal(r.headers.get('retry-after'), '3');
        assert.match(r.body.message, /queue is full \(8 rows waiting, limit 10\)/);
      }
      assert.equal((await post(`${url}/v1/score`, { rows })).status, 200, 'serves again once the queue drained');
    },
  );
});

test('hot reload: a good artifact swaps in, a corrupt one is refused and the old model keeps serving; queued requests finish on their model', async () => {
  await withServer({ batcher: { maxWaitMs: 1000 } }, async (url, s) => {
    const before = await post(`${url}/v1/score`, { rows: ROWS });
    assertClose(
      before.body.results.map((x: { score: number }) => x.score),
      expected(good, ROWS),
    );
    // A request waiting in the queue when the reload happens is scored by the model that encoded it.
    const inFlight = post(`${url}/v1/score`, { rows: ROWS });
    await untilQueued(s);
    const re = await post(`${url}/admin/reload`, { path: other.path });
    assert.equal(re.status, 200);
    assert.equal(re.body.model.version, 2);
    const old = await inFlight;
    assert.equal(old.body.model.version, 1);
    assertClose(
      old.body.results.map((x: { score: number }) => x.score),
      expected(good, ROWS),
    );
    const after = await post(`${url}/v1/score`, { rows: ROWS });
    assert.equal(after.body.model.version, 2);
    assertClose(
      after.body.results.map((x: { score: number }) => x.score),
      expected(other, ROWS),
    );

    const bad = await post(`${url}/admin/reload`, { path: corrupt });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error, 'artifact_refused');
    assert.match(bad.body.message, /corrupt\.frk: checksum mismatch .*; model version 2 keeps serving/);
    assert.equal(bad.body.issues[0].pointer, '/path');
    const missing = await post(`${url}/admin/reload`, { path: join(dir, 'nope.frk') });
    assert.equal(missing.status, 422);
    assert.match(missing.body.message, /model file not found/);
    const still = await post(`${url}/v1/score`, { rows: ROWS });
    assert.equal(still.body.model.version, 2);
    assertClose(
      still.body.results.map((x: { score: number }) => x.score),
      expected(other, ROWS),
    );
    assert.equal(s.model!.version, 2);
    // Without a path: the current path again (what SIGHUP does).
    const same = await post(`${url}/admin/reload`, {});
    assert.equal(same.body.model.version, 3);
    assert.equal(same.body.model.path, other.path);
    const text = await s.metrics.registry.metrics();
    assert.match(text, /finerank_model_reloads_total\{result="refused"\} 2\n/);
  });
});

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

test(
  'admin access: loopback-only by default; a client on another address gets 403 and scoring still works for it',
  { skip: externalIPv4() === undefined ? 'no non-loopback IPv4 interface' : false },
  async () => {
    const ip = externalIPv4()!;
    await withServer({ host: '0.0.0.0' }, async (url, s) => {
      const port = new URL(url).port;
      const r = await post(`http://${ip}:${port}/admin/reload`, { path: other.path });
      assert.equal(r.status, 403);
      assert.match(r.body.message, new RegExp(`loopback clients only \\(you are ${ip.replaceAll('.', '\\.')}\\)`));
      assert.equal(s.model!.version, 1);
      assert.equal((await post(`http://${ip}:${port}/v1/score`, { rows: [ROWS[0]] })).status, 200);
      assert.equal((await post(`http://127.0.0.1:${port}/admin/reload`, { path: other.path })).status, 200);
    });
  },
);

test('admin access: off refuses /admin/reload with 403', async () => {
  await withServer({ admin: 'off' }, async (url, s) => {
    const r = await post(`${url}/admin/reload`, { path: other.path });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'forbidden');
    assert.equal(s.model!.version, 1);
  });
});

test('graceful close: in-flight requests finish, then the port is closed', async () => {
  const s = createScoringServer({ modelPath: good.path, port: 0, batcher: { maxWaitMs: 1000 } });
  const url = await s.start();
  const pending = post(`${url}/v1/score`, { rows: ROWS });
  await untilQueued(s);
  const closed = s.close();
  const r = await pending;
  assert.equal(r.status, 200);
  assertClose(
    r.body.results.map((x: { score: number }) => x.score),
    expected(good, ROWS),
  );
  await closed;
  await assert.rejects(fetch(`${url}/healthz`));
});

test('bad options are refused with a clear message', () => {
  assert.throws(() => createScoringServer({ modelPath: good.path, limits: { maxRows: 0 } }), /maxRows must be a positive integer, got 0/);
  assert.throws(
    () => createScoringServer({ modelPath: good.path, batcher: { maxQueueRows: 10 } }),
    /maxQueueRows \(10\) must be at least the largest request/,
  );
  assert.throws(() => createScoringServer({ modelPath: good.path, admin: 'everyone' as never }), /admin access must be one of: loopback, any, off/);
  assert.throws(() => createScoringServer({ modelPath: good.path, retryAfterSeconds: 0.5 }), /retryAfterSeconds must be a positive integer, got 0.5/);
});
