import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { MicroBatcher, QueueFullError, SCORE_ALONE_ROWS } from '../../src/serve/micro-batcher.js';
import { encodeRankRows } from '../../src/serve/encode-request.js';
import { loadServedModel, type ServedModel } from '../../src/serve/model-slot.js';
import { scoreServed } from '../../src/serve/scorer.js';
import { writeFixtureArtifact, tempDir, fixtureRows } from './serve-fixture.js';

let dir: string;
let m1: ServedModel;
let m2: ServedModel;

before(async () => {
  dir = tempDir();
  m1 = loadServedModel((await writeFixtureArtifact(dir, 'a.frk', 1)).path, 1);
  m2 = loadServedModel((await writeFixtureArtifact(dir, 'b.frk', 2)).path, 2);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const encode = (m: ServedModel, n: number, seed: number) => m.featureMap.transformRows(fixtureRows(n, seed), { inputsOnly: true });

test('micro-batcher: whole requests of one model per batch, up to maxBatchRows; each gets its own rows scored by its model', async () => {
  const seen: Array<[number, number]> = [];
  const b = new MicroBatcher({ maxBatchRows: 10, maxWaitMs: 30, maxQueueRows: 100 }, (rows, requests) => seen.push([rows, requests]));
  const jobs: Array<[ServedModel, number, number]> = [
    [m1, 3, 1],
    [m1, 4, 2],
    [m1, 5, 3],
    [m2, 2, 4],
    [m1, 1, 5],
  ];
  const batches = jobs.map(([m, n, s]) => encode(m, n, s));
  assert.equal(b.queuedRows, 0);
  const pending = jobs.map(([m], i) => b.submit(m, batches[i]!));
  assert.equal(b.queuedRows, 15);
  const res = await Promise.all(pending);
  // [3 + 4] (adding 5 would pass 10 rows), [5] (the next is another model), [2] (m2), [1].
  assert.deepEqual(seen, [
    [7, 2],
    [5, 1],
    [2, 1],
    [1, 1],
  ]);
  res.forEach((r, i) => {
    const [m] = jobs[i]!;
    assert.deepEqual(r.tasks, ['click']);
    const alone = scoreServed(m, batches[i]!).probs.click!;
    const got = r.probs.click!;
    assert.equal(got.length, alone.length);
    for (let k = 0; k < got.length; k++) assert.ok(Math.abs(got[k]! - alone[k]!) <= 1e-6, `job ${i} row ${k}`);
  });
  assert.equal(b.queuedRows, 0);
  await b.whenIdle();
});

test('micro-batcher: past maxQueueRows submit rejects with QueueFullError; a request larger than maxBatchRows is scored alone', async () => {
  const seen: number[] = [];
  const b = new MicroBatcher({ maxBatchRows: 4, maxWaitMs: 20, maxQueueRows: 8 }, (rows) => seen.push(rows));
  const first = b.submit(m1, encode(m1, 6, 1));
  await assert.rejects(
    b.submit(m1, encode(m1, 3, 2)),
    (e: unknown) => e instanceof QueueFullError && /6 rows waiting, limit 8/.test((e as Error).message),
  );
  const second = b.submit(m1, encode(m1, 2, 3));
  await Promise.all([first, second]);
  assert.deepEqual(seen, [6, 2]);
  assert.throws(() => new MicroBatcher({ maxBatchRows: 0, maxWaitMs: 1, maxQueueRows: 1 }), /maxBatchRows must be a positive integer/);
  assert.throws(() => new MicroBatcher({ maxBatchRows: 1, maxWaitMs: -1, maxQueueRows: 1 }), /maxWaitMs must be a number ≥ 0/);
});

test('micro-batcher: rank requests of SCORE_ALONE_ROWS candidates and more get a forward pass of their own (their context computed once); smaller ones are joined', async () => {
  const rank = (n: number, seed: number) => {
    const rows = fixtureRows(n, seed);
    const context = { user: rows[0]!.user, hour: rows[0]!.hour };
    const candidates = rows.map(({ item, category, price, tags }) => ({ item, category, price, tags }));
    return encodeRankRows(m1.featureMap, context, candidates);
  };
  const seen: Array<[number, number]> = [];
  const b = new MicroBatcher({ maxBatchRows: 4096, maxWaitMs: 30, maxQueueRows: 8192 }, (rows, requests) => seen.push([rows, requests]));
  const big = SCORE_ALONE_ROWS;
  const batches = [rank(5, 1), rank(big, 2), rank(7, 3), rank(big + 10, 4), encode(m1, 3, 5)];
  const res = await Promise.all(batches.map((x) => b.submit(m1, x)));
  // The three small ones (5 + 7 + 3 rows) in one pass, then each large rank request alone.
  assert.deepEqual(seen, [
    [15, 3],
    [big, 1],
    [big + 10, 1],
  ]);
  res.forEach((r, i) => {
    const alone = scoreServed(m1, batches[i]!).probs.click!;
    const got = r.probs.click!;
    assert.equal(got.length, batches[i]!.size);
    for (let k = 0; k < got.length; k++) assert.ok(Math.abs(got[k]! - alone[k]!) <= 1e-5, `job ${i} row ${k}`);
  });
  await b.whenIdle();
});
