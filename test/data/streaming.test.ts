import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeRows, tempDir, writeCsv } from './fixtures.js';
import { defineSchema, dense, group, label, sparse, varlen, type Schema } from '../../src/features/schema.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import type { Batch } from '../../src/features/batch.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { loadDataSource } from '../../src/data/load.js';
import type { DataSource, PassOptions } from '../../src/data/data-source.js';
import { StreamingDataSource } from '../../src/data/streaming/source.js';
import { cachePath } from '../../src/data/streaming/cache.js';
import { windowRng } from '../../src/data/streaming/window-shuffle.js';
import { decideStreaming, parseBytes } from '../../src/train/streaming-choice.js';
import {
  defaultShuffleWindow,
  encodedBytesPerRow,
  estimateRows,
  MAX_DEFAULT_WINDOW,
  MIN_FILE_WINDOW,
} from '../../src/data/streaming/default-window.js';

const N = 1000;

/** The fixture schema plus the row's timestamp as a raw dense column: a row id in every batch. */
function schemaWithId(itemMinCount = 1): Schema {
  return defineSchema({
    columns: [
      label('click'),
      sparse('user', { encoder: { type: 'vocab', minCount: 2 } }),
      sparse('item', { encoder: { type: 'vocab', minCount: itemMinCount } }),
      dense('price', { transform: ['log1p', 'standardize'], missing: 'mean' }),
      varlen('tags', { maxLen: 3 }),
      group('user'),
      dense('ts'),
    ],
  });
}

async function setup(rows = N): Promise<{ dir: string; path: string; fm: FeatureMap }> {
  const dir = tempDir();
  const path = join(dir, 'train.csv');
  writeCsv(path, makeRows(rows, 7));
  const fm = await fitFeatureMap(path, schemaWithId());
  return { dir, path, fm };
}

async function collect(src: DataSource, o: PassOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of src.batches(o)) out.push(b);
  return out;
}

const ids = (bs: Batch[]): number[] => bs.flatMap((b) => Array.from(b.dense.ts!));

test('streaming with a window ≥ the file gives exactly the in-memory batches (shuffled and in order)', async () => {
  const { dir, path, fm } = await setup();
  try {
    const mem = await loadDataSource(fm, path);
    const stream = new StreamingDataSource(path, fm, { shuffleWindow: N, cacheDir: null, blockBytes: 4096 });
    for (const o of [
      { batchSize: 64, shuffle: true, seed: 5, epoch: 0 },
      { batchSize: 64, shuffle: true, seed: 5, epoch: 3 },
      { batchSize: 100, shuffle: true, seed: 9, epoch: 1 },
      { batchSize: 64, shuffle: false, seed: 0, epoch: 0 },
    ]) {
      const a = await collect(mem, o),
        b = await collect(stream, o);
      assert.equal(b.length, a.length);
      assert.ok(a.length >= 10);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `batch ${i} of ${JSON.stringify(o)}`);
    }
    assert.equal(stream.rows, N);
    // A larger window than the file is the same single window.
    const big = new StreamingDataSource(path, fm, { shuffleWindow: 10 * N, cacheDir: null });
    assert.deepEqual(
      ids(await collect(big, { batchSize: 64, shuffle: true, seed: 5, epoch: 0 })),
      ids(await collect(mem, { batchSize: 64, shuffle: true, seed: 5, epoch: 0 })),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a window smaller than the file: every row once, rows stay in their window, each window a seeded permutation', async () => {
  const { dir, path, fm } = await setup();
  try {
    const W = 128;
    const stream = new StreamingDataSource(path, fm, { shuffleWindow: W, cacheDir: null, blockBytes: 3000 });
    const seen0 = ids(await collect(stream, { batchSize: 50, shuffle: true, seed: 2, epoch: 0 }));
    const seen1 = ids(await collect(stream, { batchSize: 50, shuffle: true, seed: 2, epoch: 1 }));
    for (const seen of [seen0, seen1]) {
      assert.equal(seen.length, N);
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        Array.from({ length: N }, (_, i) => 1000 + i),
      );
      seen.forEach((ts, p) => assert.equal(Math.floor((ts - 1000) / W), Math.floor(p / W), `row ${ts} at position ${p} left its window`));
      // Window w is the permutation drawn by windowRng(seed, epoch, w): check window 2 by hand.
    }
    const order = Int32Array.from({ length: W }, (_, i) => i);
    windowRng(2, 1, 2).shuffle(order);
    assert.deepEqual(
      seen1.slice(2 * W, 3 * W),
      Array.from(order, (i) => 1000 + 2 * W + i),
    );
    assert.notDeepEqual(seen0, seen1, 'epochs must differ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pass from startBatch k yields exactly batches k, k+1, … of the full pass (text and cache)', async () => {
  const { dir, path, fm } = await setup();
  try {
    const stream = new StreamingDataSource(path, fm, { shuffleWindow: 300, cacheDir: join(dir, 'cache'), blockBytes: 5000 });
    const o = { batchSize: 64, shuffle: true, seed: 4, epoch: 2 };
    const full = await collect(stream, o); // text pass, writes the cache
    assert.equal(stream.lastOrigin, 'text');
    for (const origin of ['cache', 'cache'] as const) {
      for (const k of [1, 4, 5, 9, full.length - 1, full.length]) {
        const part = await collect(stream, { ...o, startBatch: k });
        assert.equal(stream.lastOrigin, origin);
        assert.deepEqual(part, full.slice(k), `from batch ${k} (${origin})`);
      }
    }
    const textOnly = new StreamingDataSource(path, fm, { shuffleWindow: 300, cacheDir: null, blockBytes: 5000 });
    for (const k of [3, 5, 14]) assert.deepEqual(await collect(textOnly, { ...o, startBatch: k }), full.slice(k), `text from batch ${k}`);
    const unshuffled = await collect(textOnly, { ...o, shuffle: false });
    assert.deepEqual(await collect(textOnly, { ...o, shuffle: false, startBatch: 7 }), unshuffled.slice(7));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the encoded cache: written by a complete pass, then used; same batches as from text', async () => {
  const { dir, path, fm } = await setup();
  try {
    const cacheDir = join(dir, 'cache');
    const lines: string[] = [];
    const s = new StreamingDataSource(path, fm, { shuffleWindow: 256, cacheDir, blockBytes: 4096, log: (l) => lines.push(l) });
    const o = { batchSize: 64, shuffle: true, seed: 1, epoch: 0 };
    // An abandoned pass leaves neither a cache nor a temporary file.
    for await (const _ of s.batches(o)) break;
    assert.equal(existsSync(cacheDir) ? readdirSync(cacheDir).length : 0, 0, 'abandoned pass must not leave files');
    const fromText = await collect(s, o);
    assert.equal(s.lastOrigin, 'text');
    assert.match(s.cacheMiss ?? '', /no cache yet/);
    assert.deepEqual(readdirSync(cacheDir), [cachePath(cacheDir, path).split('/').pop()]);
    const fromCache = await collect(s, o);
    assert.equal(s.lastOrigin, 'cache');
    assert.deepEqual(fromCache, fromText);
    // A new source object (a new process) uses the cache too.
    const s2 = new StreamingDataSource(path, fm, { shuffleWindow: 256, cacheDir });
    assert.deepEqual(await collect(s2, o), fromText);
    assert.equal(s2.lastOrigin, 'cache');
    assert.equal(s2.rows, N);
    assert.ok(lines.some((l) => l.includes('using encoded cache')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Builds a cache, applies `damage`, and checks the next source rebuilds it (reason matching `why`) with correct batches. */
async function rebuiltAfter(
  damage: (ctx: { dir: string; path: string; cache: string }) => Promise<FeatureMap | void> | FeatureMap | void,
  why: RegExp,
): Promise<void> {
  const { dir, path, fm } = await setup();
  try {
    const cacheDir = join(dir, 'cache');
    const o = { batchSize: 64, shuffle: true, seed: 1, epoch: 0 };
    await collect(new StreamingDataSource(path, fm, { shuffleWindow: 256, cacheDir }), o);
    const cache = cachePath(cacheDir, path);
    assert.ok(existsSync(cache));
    const fm2 = (await damage({ dir, path, cache })) ?? fm;
    const s = new StreamingDataSource(path, fm2, { shuffleWindow: 256, cacheDir });
    const got = await collect(s, o);
    assert.equal(s.lastOrigin, 'text', 'a damaged or stale cache must not be used');
    assert.match(s.cacheMiss ?? '', why);
    const expected = await collect(new StreamingDataSource(path, fm2, { shuffleWindow: 256, cacheDir: null }), o);
    assert.deepEqual(got, expected);
    await collect(s, o);
    assert.equal(s.lastOrigin, 'cache', 'the rebuilt cache is used on the next pass');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a truncated cache is detected and rebuilt', async () => {
  await rebuiltAfter(({ cache }) => truncateSync(cache, statSync(cache).size - 7), /truncated|bad magic/);
  await rebuiltAfter(({ cache }) => truncateSync(cache, 5), /truncated/);
});

test('a corrupt cache (one flipped byte in a chunk, or in the footer) is detected and rebuilt', async () => {
  await rebuiltAfter(({ cache }) => {
    const b = readFileSync(cache);
    b[100] = b[100]! ^ 0x40;
    writeFileSync(cache, b);
  }, /CRC-32/);
  await rebuiltAfter(({ cache }) => {
    const b = readFileSync(cache);
    b[b.length - 40] = b[b.length - 40]! ^ 0x01;
    writeFileSync(cache, b);
  }, /corrupt footer/);
});

test('the cache is rebuilt when the input, the schema or the feature map changes', async () => {
  // Same size, new content and mtime.
  await rebuiltAfter(({ path }) => {
    const b = readFileSync(path);
    const i = b.lastIndexOf(Buffer.from('\n1'));
    b[i + 1] = '0'.charCodeAt(0);
    writeFileSync(path, b);
  }, /stale: input/);
  // Only the mtime.
  await rebuiltAfter(({ path }) => utimesSync(path, new Date(), new Date(Date.now() + 5000)), /modification time/);
  // A feature map fitted differently (min count of 'item' raised).
  await rebuiltAfter(async ({ path }) => {
    return fitFeatureMap(path, schemaWithId(20));
  }, /stale: (schema|feature map) changed/);
});

test('the default shuffle window: two windows ≤ half the file and ≤ half the budget, a small file in one window', async () => {
  const { dir, path } = await setup();
  try {
    const schema = schemaWithId();
    // label, user, item, price, tags (maxLen 3 + length), group, ts: 10 values of 4 bytes.
    assert.equal(encodedBytesPerRow(schema), 40);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').length; // header + N rows
    assert.equal(estimateRows(path, schema), lines, 'a file under 1 MiB is counted exactly');
    const big = defaultShuffleWindow(path, schema, 2 ** 40);
    assert.equal(big.rows, MIN_FILE_WINDOW, 'a small file: one window (the in-memory order)');
    assert.ok(big.rows >= N);
    // 600 000 lines of 10 bytes (6 MB): estimated from the first MiB, a quarter of it.
    const long = join(dir, 'long.csv');
    writeFileSync(long, 'abcdefghi\n'.repeat(600_000));
    assert.equal(estimateRows(long, schema), 600_000);
    const q = defaultShuffleWindow(long, schema, 2 ** 40);
    assert.equal(q.rows, 150_000);
    assert.match(q.reason, /150000 rows \(a quarter of the ≈600000 rows of the file; set data.shuffle_buffer/);
    // The budget: two windows within half of it (4 windows' bytes ≤ budget).
    const byBudget = defaultShuffleWindow(long, schema, 40 * 4 * 20_000);
    assert.equal(byBudget.rows, 20_000);
    assert.match(byBudget.reason, /memory budget at 40 bytes per encoded row/);
    assert.equal(defaultShuffleWindow(long, schema, 1).rows, 10_000, 'never below 10 000 rows');
    // The cap: 8M estimated rows (a 1 MiB sample of 10-byte lines in an 80 MB sparse file).
    const huge = join(dir, 'huge.csv');
    writeFileSync(huge, 'abcdefghi\n'.repeat(2 ** 17));
    truncateSync(huge, 80_000_000);
    assert.equal(defaultShuffleWindow(huge, schema, 2 ** 40).rows, MAX_DEFAULT_WINDOW);
    // No estimate from compressed bytes: the file term is left out (here the cap decides).
    const gz = join(dir, 'long.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(long)));
    assert.equal(estimateRows(gz, schema), null);
    assert.equal(defaultShuffleWindow(gz, schema, 2 ** 40).rows, MAX_DEFAULT_WINDOW);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FeatureMap.contentSha256 (the cache key): the same for a JSON round trip and a shared copy, different for another fit', async () => {
  const { dir, path, fm } = await setup();
  try {
    const d = fm.contentSha256();
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.equal(FeatureMap.fromJSON(JSON.parse(JSON.stringify(fm.toJSON()))).contentSha256(), d);
    assert.equal(FeatureMap.fromShared(structuredClone(fm.share())).contentSha256(), d);
    assert.equal(fm.contentSha256(), d, 'sharing does not change it');
    assert.notEqual((await fitFeatureMap(path, schemaWithId(2))).contentSha256(), d, 'another minCount: other values');
    const j = fm.toJSON();
    const v = j.vocabularies.user as { counts: number[] };
    v.counts[0]! += 1;
    assert.notEqual(FeatureMap.fromJSON(j).contentSha256(), d, 'another count');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decideStreaming: forced either way, else file size against the budget; sizes parse with units', async () => {
  const { dir, path } = await setup();
  try {
    const size = statSync(path).size;
    assert.equal(decideStreaming([path], { streaming: true }).stream, true);
    assert.equal(decideStreaming([path], { streaming: false, memoryBudget: 1 }).stream, false);
    assert.equal(decideStreaming([path, path], { memoryBudget: 2 * size - 1 }).stream, true);
    assert.equal(decideStreaming([path, path], { memoryBudget: 2 * size }).stream, false);
    assert.equal(parseBytes('512MB', 'x'), 512 * 2 ** 20);
    assert.equal(parseBytes('1.5GiB', 'x'), 1.5 * 2 ** 30);
    assert.equal(parseBytes(1000, 'x'), 1000);
    assert.throws(() => parseBytes('lots', 'cfg: data.memory_budget'), /cfg: data.memory_budget: expected a positive size/);
    assert.throws(() => parseBytes(-1, 'x'), /positive size/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parsing in a worker thread: same chunks as on the calling thread; bad rows raise the same located error or are counted once', async () => {
  const { dir, path, fm } = await setup();
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n');
    text.splice(400, 0, '1,3,105,not-a-number,301,1399'); // file line 401: bad price
    writeFileSync(path, text.join('\n') + '\n');
    const o = { batchSize: 64, shuffle: true, seed: 3, epoch: 0 };
    const errorOf = async (parseWorker: boolean) => {
      const s = new StreamingDataSource(path, fm, { cacheDir: null, parseWorker, blockBytes: 2048 });
      try {
        await collect(s, o);
      } catch (e) {
        return e as Error;
      }
      return null;
    };
    const inWorker = await errorOf(true),
      here = await errorOf(false);
    assert.ok(here !== null && inWorker !== null, 'a bad row must fail the pass');
    assert.equal(inWorker.message, here.message);
    assert.equal(inWorker.name, 'DataError');
    assert.match(inWorker.message, /train\.csv:401/);
    assert.match(inWorker.message, /price/);
    const { BadRowLog } = await import('../../src/readers/errors.js');
    const logs = [new BadRowLog(), new BadRowLog()];
    const passes = await Promise.all(
      [true, false].map(async (parseWorker, i) => {
        const s = new StreamingDataSource(path, fm, { cacheDir: null, parseWorker, onBadRow: 'skip', badRows: logs[i]!, blockBytes: 2048 });
        const first = await collect(s, o);
        await collect(s, o); // a second pass does not count the bad row again
        return first;
      }),
    );
    assert.deepEqual(passes[0], passes[1]);
    assert.equal(ids(passes[0]!).length, N);
    for (const log of logs) assert.equal(log.count, 1);
    assert.deepEqual(logs[0]!.examples, logs[1]!.examples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable cache folder is a clear error naming the folder and the settings to change', async () => {
  const { dir, path, fm } = await setup(200);
  try {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const s = new StreamingDataSource(path, fm, { cacheDir: join(blocker, 'cache') });
    await assert.rejects(
      collect(s, { batchSize: 64, shuffle: false, seed: 0, epoch: 0 }),
      /cannot write the encoded cache in .*not-a-folder.*data\.cache_dir.*data\.cache: false/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
