import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from '../../src/readers/csv.js';
import { readJsonl } from '../../src/readers/jsonl.js';
import { readLibsvm } from '../../src/readers/libsvm.js';
import { readParquet } from '../../src/readers/parquet.js';
import { batches } from '../../src/data/batcher.js';
import { BadRowLog, DataError } from '../../src/readers/errors.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, label, sparse } from '../../src/features/schema.js';
import type { RawChunk } from '../../src/readers/chunk.js';
import { tempDir, makeRows, writeParquet } from './fixtures.js';

const schema = defineSchema({ columns: [label('click'), sparse('user'), dense('price')] });
const HEADER = 'click,user,price\n';

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

/** Fits and transforms a CSV text; returns rows produced. */
async function run(
  text: string,
  opts: { onBadRow?: 'error' | 'skip'; badRows?: BadRowLog; blockBytes?: number } = {},
): Promise<{ file: string; rows: number }> {
  const file = join(tempDir(), 'bad.csv');
  writeFileSync(file, text);
  const chunks = (log: BadRowLog | undefined) => readCsv(file, { onBadRow: opts.onBadRow, badRows: log, blockBytes: opts.blockBytes });
  // The fit pass counts its own skipped rows; the transform pass reports into opts.badRows.
  const fitLog = new BadRowLog();
  const fmap = await FeatureMap.fit(schema, chunks(fitLog), { onBadRow: opts.onBadRow, badRows: fitLog });
  let rows = 0;
  for await (const b of batches(chunks(opts.badRows), fmap, { batchSize: 100, onBadRow: opts.onBadRow, badRows: opts.badRows })) rows += b.size;
  return { file, rows };
}

async function expectDataError(
  p: Promise<unknown>,
  want: { line?: number; column?: string; problem: RegExp; expected?: RegExp; file?: string },
): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    if (want.file !== undefined) assert.equal(e.file, want.file);
    assert.equal(e.line, want.line, `line in: ${e.message}`);
    assert.equal(e.column, want.column, `column in: ${e.message}`);
    assert.match(e.problem, want.problem);
    if (want.expected) assert.match(e.expected ?? '', want.expected);
    // The message names all three.
    assert.ok(e.message.startsWith(e.file + (e.line !== undefined ? `:${e.line}` : '')), e.message);
    if (e.column !== undefined) assert.ok(e.message.includes(`column "${e.column}"`), e.message);
    return e;
  }
  assert.fail('expected a DataError, but nothing was thrown');
}

const cases: Array<{ name: string; text: string; line: number; column: string; problem: RegExp; expected: RegExp }> = [
  { name: 'too few columns', text: HEADER + '1,a,2\n0,b\n', line: 3, column: 'price', problem: /2 fields, 1 too few/, expected: /3 fields/ },
  { name: 'too many columns', text: HEADER + '1,a,2\n0,b,3,4\n', line: 3, column: '#4', problem: /4 fields, 1 too many/, expected: /3 fields/ },
  {
    name: 'non-numeric dense value',
    text: HEADER + '1,a,2\n0,b,3\n1,c,abc\n',
    line: 4,
    column: 'price',
    problem: /"abc" is not a number/,
    expected: /decimal number/,
  },
  {
    name: 'unterminated quote',
    text: HEADER + '1,a,2\n0,"b,3\n1,c,4\n',
    line: 3,
    column: 'user',
    problem: /unterminated quoted field/,
    expected: /closing "/,
  },
  {
    name: 'character after a closing quote',
    text: HEADER + '1,"a"x,2\n',
    line: 2,
    column: 'user',
    problem: /unexpected character "x" after a closing quote/,
    expected: /separator or the end of the line/,
  },
  {
    name: 'quote inside an unquoted field',
    text: HEADER + '1,a"b,2\n',
    line: 2,
    column: 'user',
    problem: /quote character inside an unquoted field/,
    expected: /fully quoted/,
  },
  {
    name: 'unknown label value',
    text: HEADER + '1,a,2\n0,b,3\nyes,c,4\n',
    line: 4,
    column: 'click',
    problem: /unknown label value "yes"/,
    expected: /1, \+1, 0, -1/,
  },
  { name: 'missing label', text: HEADER + '1,a,2\n,b,3\n', line: 3, column: 'click', problem: /missing label/, expected: /positive/ },
];

for (const c of cases) {
  test(`bad input: ${c.name} names file, line and column`, async () => {
    await expectDataError(run(c.text), { line: c.line, column: c.column, problem: c.problem, expected: c.expected });
    // Same error with tiny blocks (records split across reads).
    await expectDataError(run(c.text, { blockBytes: 3 }), { line: c.line, column: c.column, problem: c.problem, expected: c.expected });
  });
}

test('bad rows are skipped and counted with onBadRow: skip, never silently dropped', async () => {
  const text = HEADER + '1,a,2\n0,b\n1,c,abc\nyes,d,4\n1,"e"x,5\n0,f,6\n0,"g,7\n';
  const log = new BadRowLog();
  const { rows, file } = await run(text, { onBadRow: 'skip', badRows: log });
  // Good rows: lines 2 and 7. Bad: 3 (columns), 4 (number), 5 (label), 6 (quote), 8 (unterminated).
  assert.equal(rows, 2);
  const s = log.summary();
  assert.equal(s.skipped, 5);
  assert.equal(log.count, 5);
  assert.deepEqual(new Set(s.examples.map((e) => e.line)), new Set([3, 4, 5, 6, 8]));
  assert.ok(s.examples.every((e) => e.file === file && e.column !== undefined));
  assert.equal(
    Object.values(s.byReason).reduce((a, b) => a + b, 0),
    5,
  );
});

test('empty file and missing file', async () => {
  const dir = tempDir();
  const empty = join(dir, 'empty.csv');
  writeFileSync(empty, '');
  await expectDataError(drain(readCsv(empty)), { file: empty, line: 1, column: undefined, problem: /file is empty/, expected: /header line/ });
  const missing = join(dir, 'nope.csv');
  await expectDataError(drain(readCsv(missing)), {
    file: missing,
    line: undefined,
    column: undefined,
    problem: /file not found/,
    expected: /existing/,
  });
  await expectDataError(drain(readJsonl(missing)), { file: missing, problem: /file not found/ });
  await expectDataError(drain(readParquet(missing)), { file: missing, problem: /file not found/ });
  const emptyJ = join(dir, 'e.jsonl');
  writeFileSync(emptyJ, '\n\n');
  await expectDataError(drain(readJsonl(emptyJ)), { file: emptyJ, line: 1, problem: /file is empty/ });
});

test('schema naming a column that is not in the header', async () => {
  const file = join(tempDir(), 'h.csv');
  writeFileSync(file, 'click,uid,price\n1,a,2\n');
  const e = await expectDataError(FeatureMap.fit(schema, readCsv(file)), {
    file,
    line: 1,
    column: 'user',
    problem: /column "user" .* is not in the data/,
    expected: /click, uid, price/,
  });
  assert.match(e.message, /h\.csv:1: column "user"/);
  const jf = join(tempDir(), 'h.jsonl');
  writeFileSync(jf, '{"click":1,"uid":"a","price":2}\n');
  await expectDataError(drain(readJsonl(jf, { columns: ['click', 'user', 'price'] })), {
    file: jf,
    line: 1,
    column: 'user',
    problem: /does not appear/,
  });
  const pf = join(tempDir(), 'h.parquet');
  writeParquet(pf, makeRows(5));
  await expectDataError(drain(readParquet(pf, { columns: ['click', 'usr'] })), {
    file: pf,
    line: undefined,
    column: 'usr',
    problem: /not in the Parquet schema/,
  });
  // A header that does not match the declared columns.
  await expectDataError(drain(readCsv(file, { columns: ['click', 'user', 'price'] })), {
    file,
    line: 1,
    column: 'uid',
    problem: /header field 2 is "uid" but the schema declares "user"/,
  });
});

test('JSONL and libsvm syntax errors name file, line and column', async () => {
  const dir = tempDir();
  const jf = join(dir, 'x.jsonl');
  writeFileSync(jf, '{"click":1}\n{"click":0,}\n');
  const e = await expectDataError(drain(readJsonl(jf)), { file: jf, line: 2, column: 'char 12', problem: /invalid JSON/, expected: /JSON object/ });
  assert.ok(e.column!.startsWith('char '));
  writeFileSync(jf, '{"click":1}\n[1,2]\n');
  await expectDataError(drain(readJsonl(jf)), { file: jf, line: 2, column: 'char 1', problem: /array, not an object/ });
  const sf = join(dir, 'x.libsvm');
  writeFileSync(sf, '1 0:1 3:1\n0 2:1 x:1\n1 9:1\n');
  const fields = [
    { name: 'a', range: [0, 2] as [number, number] },
    { name: 'b', range: [3, 5] as [number, number] },
  ];
  await expectDataError(drain(readLibsvm(sf, { fields })), { file: sf, line: 2, column: '#3', problem: /feature index "x"/ });
  writeFileSync(sf, '1 0:1 3:1\n1 9:1\n');
  await expectDataError(drain(readLibsvm(sf, { fields })), {
    file: sf,
    line: 2,
    column: '#2',
    problem: /feature index 9 belongs to no declared field/,
  });
  const log = new BadRowLog();
  let rows = 0;
  for await (const c of readLibsvm(sf, { fields, onBadRow: 'skip', badRows: log })) rows += (c as RawChunk).length;
  assert.equal(rows, 1);
  assert.equal(log.count, 1);
});

test('dense missing: error policy names the row; several values in a sparse field', async () => {
  const s2 = defineSchema({ columns: [label('click'), sparse('user', { missing: 'error' }), dense('price', { missing: 'error' })] });
  const file = join(tempDir(), 'm.csv');
  writeFileSync(file, HEADER + '1,a,2\n0,b,\n');
  await expectDataError(FeatureMap.fit(s2, readCsv(file)), { file, line: 3, column: 'price', problem: /missing value/, expected: /missing: error/ });
  writeFileSync(file, HEADER + '1,a,2\n0,,1\n');
  await expectDataError(FeatureMap.fit(s2, readCsv(file)), { file, line: 3, column: 'user', problem: /missing value/ });
  const jf = join(tempDir(), 'm.jsonl');
  writeFileSync(jf, '{"click":1,"user":["a","b"],"price":1}\n');
  await expectDataError(FeatureMap.fit(schema, readJsonl(jf)), { file: jf, line: 1, column: 'user', problem: /2 values in a single-valued/ });
});
