import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { CountMinSketch } from '../../src/features/count-min.js';
import { murmur3String } from '../../src/features/hash.js';
import { FeatureMap, FeatureMapFitter } from '../../src/features/featuremap.js';
import { chunkFromRows, type RawChunk } from '../../src/readers/chunk.js';
import { defineSchema, label, sequence, sparse, varlen } from '../../src/features/schema.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import { BadRowLog } from '../../src/readers/errors.js';
import { loadTrainConfig } from '../../src/cli/config.js';

/** Zipf-like keys: many rare values and a few frequent ones. */
function zipfKeys(n: number, distinct: number, seed: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`v${Math.floor(Math.pow(rng.next(), 3) * distinct)}`);
  return out;
}

test('count-min sketch: never below min(true count, cap), exact without collisions, saturates at cap', () => {
  const keys = zipfKeys(20_000, 5_000, 3);
  const truth = new Map<string, number>();
  for (const k of keys) truth.set(k, (truth.get(k) ?? 0) + 1);
  // A tiny sketch (64 counters per row for ~2 000 distinct keys): heavy collisions.
  const tiny = new CountMinSketch({ bytes: 256, cap: 1000 });
  assert.equal(tiny.width, 32); // cap > 255: 2-byte counters, 4 rows
  const big = new CountMinSketch({ bytes: 1 << 24, cap: 7 });
  assert.equal(big.bytes, 1 << 24); // 1-byte counters
  for (const k of keys) {
    tiny.add(murmur3String(k, 1));
    big.add(murmur3String(k, 1));
  }
  let over = 0;
  let exactBig = 0;
  for (const [k, c] of truth) {
    const h = murmur3String(k, 1);
    assert.ok(tiny.estimate(h) >= Math.min(c, 1000), `${k}: ${tiny.estimate(h)} < ${c}`);
    if (tiny.estimate(h) > c) over++;
    assert.ok(big.estimate(h) >= Math.min(c, 7));
    assert.ok(big.estimate(h) <= 7);
    if (big.estimate(h) === Math.min(c, 7)) exactBig++;
  }
  assert.ok(over > truth.size / 2, `the tiny sketch should overestimate most keys (${over} of ${truth.size})`);
  assert.equal(exactBig, truth.size); // 4M counters per row: no key shares all four cells
  assert.equal(new CountMinSketch({ bytes: 4, cap: 1 }).estimate(123), 0);
  assert.throws(() => new CountMinSketch({ bytes: 3, cap: 2 }), /too small/);
});

const schema = (minUser: number, minItem: number, maxSize?: number) =>
  defineSchema({
    columns: [
      label('click'),
      sparse('user', { encoder: { type: 'vocab', minCount: minUser, ...(maxSize !== undefined ? { maxSize } : {}) } }),
      sparse('item', { encoder: { type: 'vocab', minCount: minItem } }),
      sparse('city'), // minCount 1: counted exactly in one pass, not through the sketch
      varlen('tags', { maxLen: 3, encoder: { type: 'vocab', minCount: 3 } }),
      sequence('hist', { maxLen: 3, shareWith: 'item' }),
    ],
  });

function writeData(n: number, seed: number): string {
  const rng = new Rng(seed);
  const users = zipfKeys(n, 3000, seed + 1);
  const items = zipfKeys(n, 800, seed + 2);
  const lines = ['click,user,item,city,tags,hist'];
  for (let i = 0; i < n; i++) {
    const tags = [0, 1, 2].slice(0, rng.int(4)).map(() => `t${rng.int(40)}`);
    const hist = [0, 1].map(() => `v${rng.int(1000)}`);
    // Row 7 is bad (label 'x'); with on_bad_row: skip its values must not be counted in either pass.
    lines.push([i === 7 ? 'x' : rng.int(2), users[i], items[i], `c${rng.int(30)}`, tags.join('|'), hist.join('|')].join(','));
  }
  const f = join(mkdtempSync(join(tmpdir(), 'finerank-sketch-')), 'd.csv');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

test('bounded vocabulary fitting gives exactly the vocabularies of exact counting (tiny and roomy sketches)', async () => {
  const f = writeData(6000, 11);
  for (const [mu, mi, maxSize] of [
    [2, 2, undefined],
    [3, 5, undefined],
    [4, 2, 50],
  ] as const) {
    const s = schema(mu, mi, maxSize);
    const exactLog = new BadRowLog();
    const exact = await fitFeatureMap(f, s, { onBadRow: 'skip', badRows: exactLog });
    for (const bytes of [64, 1 << 20]) {
      const log = new BadRowLog();
      const bounded = await fitFeatureMap(f, s, { onBadRow: 'skip', badRows: log, vocabSketchBytes: bytes });
      assert.deepEqual(bounded.toJSON(), exact.toJSON(), `minCounts ${mu}/${mi}, maxSize ${maxSize}, sketch ${bytes} B`);
      assert.equal(log.count, 1); // the bad row is logged once, not once per pass
    }
    // Brute force: the kept users are exactly those seen ≥ minCount times in the good rows.
    const users = new Map<string, number>();
    const lines = (await import('node:fs')).readFileSync(f, 'utf8').trim().split('\n').slice(1);
    lines.forEach((l, i) => {
      if (i === 7) return;
      const u = l.split(',')[1]!;
      users.set(u, (users.get(u) ?? 0) + 1);
    });
    const kept = [...users].filter(([, c]) => c >= mu).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const want = maxSize !== undefined ? kept.slice(0, maxSize) : kept;
    const enc = exact.encoder('user');
    assert.deepEqual(
      want.map(([u]) => enc.lookupString(u)),
      want.map((_, i) => i + 2),
    );
    assert.equal(enc.size, want.length + 2);
  }
});

test('bounded vocabulary fitting holds the sketch and the candidates, not every distinct value', async () => {
  // 120 000 rows: 100 000 values seen once, 2 000 values seen 10 times each; minCount 2.
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 100_000; i++) rows.push({ click: 0, id: `once${i}` });
  for (let r = 0; r < 10; r++) for (let i = 0; i < 2000; i++) rows.push({ click: 1, id: `often${i}` });
  const chunks: RawChunk[] = [];
  for (let i = 0; i < rows.length; i += 10_000) chunks.push(chunkFromRows(rows.slice(i, i + 10_000), ['click', 'id']));
  const s = defineSchema({ columns: [label('click'), sparse('id', { encoder: { type: 'vocab', minCount: 2 } })] });

  const exact = new FeatureMapFitter(s);
  for (const c of chunks) exact.update(c);
  assert.equal(exact.distinctCounted, 102_000);

  const bounded = new FeatureMapFitter(s, { vocabSketchBytes: 1 << 20 });
  assert.equal(bounded.sketch!.bytes, 1 << 20);
  for (const c of chunks) bounded.update(c);
  assert.equal(bounded.distinctCounted, 0); // pass 1 keeps no values, only the sketch
  assert.ok(bounded.needsRecount);
  assert.throws(() => bounded.finish(), /second pass/);
  bounded.startRecount();
  for (const c of chunks) bounded.update(c);
  const candidates = bounded.distinctCounted;
  assert.ok(candidates >= 2000 && candidates < 2000 + 1000, `${candidates} candidates for 2 000 kept values`);
  assert.deepEqual(bounded.finish().toJSON(), exact.finish().toJSON());

  await assert.rejects(FeatureMap.fit(s, chunks, { vocabSketchBytes: 1 << 20 }), /reads the rows twice/);
  assert.deepEqual((await FeatureMap.fit(s, () => chunks, { vocabSketchBytes: 1 << 16 })).toJSON(), (await FeatureMap.fit(s, chunks)).toJSON());
});

test('data.vocab_fit and data.vocab_sketch_memory: parsed, defaulted, refused when wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-sketch-cfg-'));
  const write = (data: Record<string, unknown>) => {
    const p = join(dir, 'c.json');
    writeFileSync(
      p,
      JSON.stringify({ data: { train: 't.libfm', format: 'libfm', fields: [{ name: 'a', range: [0, 9] }], min_count: 2, ...data }, model: 'lr' }),
    );
    return p;
  };
  assert.equal(loadTrainConfig(write({})).data.streaming.vocabSketchBytes, undefined);
  assert.equal(loadTrainConfig(write({ vocab_fit: 'sketch' })).data.streaming.vocabSketchBytes, 64 * 2 ** 20);
  assert.equal(loadTrainConfig(write({ vocab_fit: 'sketch', vocab_sketch_memory: '8MB' })).data.streaming.vocabSketchBytes, 8 * 2 ** 20);
  assert.throws(() => loadTrainConfig(write({ vocab_fit: 'cms' })), /data\.vocab_fit must be 'exact' or 'sketch', got "cms"/);
  assert.throws(() => loadTrainConfig(write({ vocab_sketch_memory: '8MB' })), /applies only with data\.vocab_fit: sketch/);
  assert.throws(() => loadTrainConfig(write({ vocab_fit: 'sketch', vocab_sketch_memory: 'lots' })), /vocab_sketch_memory/);
});
