import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from '../../src/readers/csv.js';
import { readJsonl } from '../../src/readers/jsonl.js';
import { readLibsvm } from '../../src/readers/libsvm.js';
import { readParquet } from '../../src/readers/parquet.js';
import { readRaw, type RawChunk } from '../../src/readers/index.js';
import { batches, concatBatches } from '../../src/data/batcher.js';
import type { Batch } from '../../src/features/batch.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { fixtureSchema, libsvmFields, makeRows, tempDir, writeCsv, writeJsonl, writeLibsvm, writeParquet } from './fixtures.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function plain(b: Batch): unknown {
  return {
    size: b.size,
    sparse: Object.fromEntries(Object.entries(b.sparse).map(([k, v]) => [k, Array.from(v)])),
    dense: Object.fromEntries(Object.entries(b.dense).map(([k, v]) => [k, Array.from(v)])),
    varlen: Object.fromEntries(
      Object.entries(b.varlen).map(([k, v]) => [k, { ids: Array.from(v.ids), lengths: Array.from(v.lengths), maxLen: v.maxLen }]),
    ),
    labels: Object.fromEntries(Object.entries(b.labels).map(([k, v]) => [k, Array.from(v)])),
    group: b.group ? Array.from(b.group) : undefined,
    weight: b.weight ? Array.from(b.weight) : undefined,
  };
}

test('CSV, TSV, JSONL, Parquet and libsvm readers yield the same batches', async () => {
  const dir = tempDir();
  const rows = makeRows(300, 3);
  const schema = fixtureSchema();
  const files = {
    csv: join(dir, 'd.csv'),
    tsv: join(dir, 'd.tsv'),
    jsonl: join(dir, 'd.jsonl'),
    parquet: join(dir, 'd.parquet'),
    libsvm: join(dir, 'd.libsvm'),
  };
  writeCsv(files.csv, rows);
  writeCsv(files.tsv, rows, '\t');
  writeJsonl(files.jsonl, rows);
  writeParquet(files.parquet, rows, 64);
  writeLibsvm(files.libsvm, rows);
  const cols = ['click', 'user', 'item', 'price', 'tags'];
  const sources: Record<string, () => AsyncIterable<RawChunk>> = {
    csv: () => readCsv(files.csv, { blockBytes: 997 }),
    tsv: () => readRaw(files.tsv, { blockBytes: 4096 }),
    jsonl: () => readJsonl(files.jsonl, { columns: cols, blockBytes: 1500 }),
    parquet: () => readParquet(files.parquet, { columns: cols, chunkRows: 50 }),
    libsvm: () => readLibsvm(files.libsvm, { fields: libsvmFields, label: 'click', blockBytes: 700 }),
  };
  const results: Record<string, unknown> = {};
  const maps: Record<string, string> = {};
  for (const [name, src] of Object.entries(sources)) {
    const fmap = await FeatureMap.fit(schema, src());
    maps[name] = JSON.stringify(fmap.toJSON());
    const out = await collect(batches(src(), fmap, { batchSize: 64 }));
    assert.deepEqual(
      out.map((b) => b.size),
      [64, 64, 64, 64, 44],
      `${name}: batch sizes`,
    );
    results[name] = plain(concatBatches(out));
  }
  for (const name of Object.keys(sources)) {
    assert.equal(maps[name], maps['csv'], `${name}: fitted feature map differs from CSV's`);
    assert.deepEqual(results[name], results['csv'], `${name}: batches differ from CSV's`);
  }
  // Spot-check real values against the raw rows.
  const b = concatBatches(await collect(batches(sources['csv']!(), FeatureMap.fromJSON(JSON.parse(maps['csv']!)), { batchSize: 1000 })));
  assert.deepEqual(
    Array.from(b.labels['click']!),
    rows.map((r) => r.click),
  );
  const tagLen = rows.map((r) => Math.min(3, r.tags.length));
  assert.deepEqual(Array.from(b.varlen['tags']!.lengths), tagLen);
  for (let r = 0; r < rows.length; r++) {
    for (let j = tagLen[r]!; j < 3; j++) assert.equal(b.varlen['tags']!.ids[r * 3 + j], 0, 'padding after the last tag');
  }
});

test('CSV parsing: quotes, separators and newlines in fields, CRLF, BOM, blank lines, any block size', async () => {
  const dir = tempDir();
  const f = join(dir, 'q.csv');
  const text = '\ufeffa,b,c\r\n"x, y","say ""hi""",3\r\n\r\n"multi\nline",,-1.5e2\n"",plain,"7"\nlast,"q""",8';
  writeFileSync(f, text);
  const expect = [
    ['x, y', 'say "hi"', '3'],
    ['multi\nline', null, '-1.5e2'],
    [null, 'plain', '7'],
    ['last', 'q"', '8'],
  ];
  const lines = [2, 4, 6, 7];
  for (const bs of [1, 2, 3, 5, 7, 11, 64, 1 << 20]) {
    const got: Array<Array<string | null>> = [];
    const gotLines: number[] = [];
    for await (const c of readCsv(f, { blockBytes: bs })) {
      assert.deepEqual(c.columns, ['a', 'b', 'c']);
      for (let r = 0; r < c.length; r++) {
        got.push([c.cell(r, 0), c.cell(r, 1), c.cell(r, 2)]);
        gotLines.push(c.lines[r]!);
      }
    }
    assert.deepEqual(got, expect, `block size ${bs}`);
    assert.deepEqual(gotLines, lines, `line numbers, block size ${bs}`);
  }
});

test('CSV without header uses declared columns; TSV separator', async () => {
  const dir = tempDir();
  const f = join(dir, 'n.tsv');
  writeFileSync(f, '1\tu1\t2.5\n0\tu2\t\n');
  const chunks = await collect(readCsv(f, { header: false, columns: ['click', 'user', 'price'], separator: '\t' }));
  assert.equal(chunks.length, 1);
  const c = chunks[0]!;
  assert.equal(c.length, 2);
  assert.equal(c.headerLine, undefined);
  assert.deepEqual([c.cell(0, 1), c.cell(1, 2), c.lines[1]], ['u1', null, 2]);
});

test('libsvm: field map, libffm field:idx:val tokens, comments and qid', async () => {
  const dir = tempDir();
  const f = join(dir, 'x.libfm');
  writeFileSync(f, '1 qid:3 0:1 5:1 # comment\n-1 1:1 3:1 4:1\n0 0:1:1 1:4:1\n');
  const rows = await collect(readLibsvm(f, { fieldMap: { 0: 'a', 1: 'a', 3: 'b', 4: 'b', 5: 'c' }, label: 'y' }));
  const c = rows[0]!;
  assert.deepEqual(c.columns, ['y', 'a', 'b', 'c']);
  assert.deepEqual(
    Array.from({ length: 3 }, (_, r) => [0, 1, 2, 3].map((k) => c.values[k]![r])),
    [
      ['1', '0', null, '5'],
      ['-1', '1', ['3', '4'], null],
      // field 0 (= a) holds index 1; field 1 (= b) holds index 4
      ['0', '1', '4', null],
    ],
  );
});

test('JSONL: missing keys are missing values, arrays are multi-values', async () => {
  const dir = tempDir();
  const f = join(dir, 'x.jsonl');
  writeFileSync(f, '{"y":1,"u":"a","t":["p","q"]}\n\n{"y":0,"t":"p|r"}\n');
  const [c] = await collect(readJsonl(f, { columns: ['y', 'u', 't'] }));
  assert.equal(c!.length, 2);
  assert.deepEqual(Array.from(c!.lines), [1, 3]);
  assert.equal(c!.values[1]![1], undefined);
  assert.deepEqual(c!.values[2]![0], ['p', 'q']);
});

test('Parquet: reads row groups in chunks with row numbers', async () => {
  const dir = tempDir();
  const f = join(dir, 'x.parquet');
  const rows = makeRows(150, 5);
  writeParquet(f, rows, 40);
  const chunks = await collect(readParquet(f, { columns: ['user', 'ts'], chunkRows: 25 }));
  assert.ok(chunks.every((c) => c.length <= 25));
  const lines = chunks.flatMap((c) => Array.from(c.lines));
  assert.deepEqual(
    lines,
    rows.map((_, i) => i + 1),
  );
  const users = chunks.flatMap((c) => Array.from(c.values[0] as ArrayLike<unknown>));
  assert.deepEqual(
    users,
    rows.map((r) => String(r.user)),
  );
  assert.equal(typeof chunks[0]!.values[1]![0], 'bigint');
});

test('streaming is bounded: each CSV chunk holds at most one block plus a partial record', async () => {
  const dir = tempDir();
  const f = join(dir, 'big.csv');
  const rows = makeRows(3000, 4);
  writeCsv(f, rows);
  const longest = 64;
  let n = 0,
    chunks = 0;
  for await (const c of readCsv(f, { blockBytes: 2048 })) {
    assert.ok(c.buf.length <= 2048 + longest, `chunk buffer ${c.buf.length} bytes`);
    n += c.length;
    chunks++;
  }
  assert.equal(n, 3000);
  assert.ok(chunks > 30, `${chunks} chunks`);
});
