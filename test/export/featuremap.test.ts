import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../src/readers/csv.js';
import { readRaw } from '../../src/readers/index.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, label, sequence, sparse, varlen } from '../../src/features/schema.js';
import { murmur3String } from '../../src/features/hash.js';
import { Rng } from '../../src/engine/random.js';
import type { Batch } from '../../src/features/batch.js';
import { portableFeatureMap, PORTABLE_FORMAT } from '../../src/export/featuremap-json.js';
import { EncodeError, PortableEncoder } from '../../src/export/portable-encoder.js';

const ENCODER_PY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'featuremap_encoder.py');

/** Every kind of encoding rule: vocab with OOV, hashing with a seed, shared tables, fitted steps, quantiles, truncation both ends. */
const schema = defineSchema({
  columns: [
    label('click'),
    sparse('user', { encoder: { type: 'vocab', minCount: 2 }, missing: 'oov' }),
    sparse('item'),
    sparse('city', { encoder: { type: 'hash', buckets: 37, seed: 7 }, missing: { value: '<none>' } }),
    sparse('device', { encoder: { type: 'hash', buckets: 1000, seed: 0 } }),
    dense('price', { transform: ['log1p', 'standardize'], missing: 'mean' }),
    dense('age', { transform: [{ clip: [0, 80] }, 'minmax'], missing: { fill: 30 } }),
    dense('age_bucket', { source: 'age', transform: [{ bucketize: { quantiles: 5 } }] }),
    dense('score', { transform: ['log1p', { bucketize: { boundaries: [0.5, 1, 2] } }] }),
    varlen('tags', { maxLen: 3, encoder: { type: 'vocab', minCount: 2 } }),
    sequence('hist', { maxLen: 4, shareWith: 'item' }),
  ],
});

const CITIES = ['Zürich', '北京', 'São Paulo', 'a,b', 'x"y', 'NYC', '🙂'];

/** One raw row as strings (what a CSV holds); `unseen` draws values the training data never had. */
function rawRow(rng: Rng, unseen: boolean): Record<string, string> {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.next() * a.length)]!;
  const u = unseen && rng.next() < 0.3 ? 'u_new' + Math.floor(rng.next() * 9) : 'u' + Math.floor(rng.next() * 30);
  const item = (): string => (unseen && rng.next() < 0.2 ? 'i_new' : 'i' + Math.floor(rng.next() * 20));
  const histLen = Math.floor(rng.next() * 7);
  const tagLen = Math.floor(rng.next() * 5);
  const price = rng.next() < 0.1 ? '' : (rng.next() * 1000 - 50).toFixed(Math.floor(rng.next() * 4));
  const age = rng.next() < 0.1 ? '' : String(Math.floor(rng.next() * 100) - 5);
  return {
    click: rng.next() < 0.3 ? '1' : '0',
    user: rng.next() < 0.05 ? '' : u,
    item: item(),
    city: rng.next() < 0.1 ? '' : unseen && rng.next() < 0.2 ? 'Gotham' : pick(CITIES),
    device: pick(['ios', 'android', 'web', 'tv']) + (unseen ? 'x' : ''),
    price,
    age,
    score: (rng.next() * 5 - 1).toExponential(3),
    tags: Array.from({ length: tagLen }, () => 't' + Math.floor(rng.next() * 8)).join('|') + (rng.next() < 0.1 ? '||' : ''),
    hist: Array.from({ length: histLen }, item).join('|'),
  };
}

function csvOf(rows: Record<string, string>[]): string {
  const cols = Object.keys(rows[0]!);
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c]!)).join(','))].join('\n') + '\n';
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-fmjson-'));
  const rng = new Rng(12);
  const trainRows = Array.from({ length: 400 }, () => rawRow(rng, false));
  const testRows = Array.from({ length: 300 }, () => rawRow(rng, true));
  const train = join(dir, 'train.csv');
  const testFile = join(dir, 'test.csv');
  writeFileSync(train, csvOf(trainRows));
  writeFileSync(testFile, csvOf(testRows));
  const fm = await FeatureMap.fit(schema, readCsv(train));
  const fmFile = join(dir, 'fm.json');
  writeFileSync(fmFile, JSON.stringify(portableFeatureMap(fm)));
  let batch: Batch | null = null;
  for await (const c of readCsv(testFile)) {
    assert.equal(batch, null, 'one chunk');
    batch = fm.transform(c);
  }
  return { dir, fm, fmFile, testFile, testRows, batch: batch! };
}

const ctx = setup();

/** Distance in float32 units in the last place between two float32 values. */
function ulps32(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  return Math.abs(i[0]! - i[1]!);
}

test('portable feature map: hash test vectors are murmur3_x86_32 reference values', async () => {
  const { fm } = await ctx;
  const j = portableFeatureMap(fm);
  assert.equal(j.format, PORTABLE_FORMAT);
  const v = (value: string, seed: number) => j.hash.testVectors.find((t) => t.value === value && t.seed === seed)?.hash;
  // Reference values of Appleby's MurmurHash3_x86_32 (SMHasher's verification set).
  assert.equal(v('', 0), 0);
  assert.equal(murmur3String('', 1), 0x514e28b7);
  assert.equal(v('hello', 0), 0x248bfa47);
  assert.ok(v('abc', 7) !== undefined, 'vectors for the seed of every hash table');
  assert.deepEqual(Object.keys(j.tables).sort(), ['city', 'device', 'item', 'tags', 'user']);
  const hist = j.inputs.find((i) => i.name === 'hist');
  assert.deepEqual(hist, { name: 'hist', source: 'hist', kind: 'sequence', table: 'item', sep: '|', maxLen: 4, keep: 'last' });
  const price = j.inputs.find((i) => i.name === 'price')!;
  assert.ok(price.kind === 'dense' && price.missing.policy === 'fill' && price.missing.value === fm.numeric('price').fitted.rawMean);
});

test('Python reference encoder reproduces finerank ids and numbers on a test file (OOV, hashing, quoting, missing, truncation)', async () => {
  const { fmFile, testFile, batch, testRows } = await ctx;
  const r = spawnSync('/usr/bin/python3', [ENCODER_PY, fmFile, testFile], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number | { ids: number[]; length: number }>);
  assert.equal(rows.length, testRows.length);
  let exact = 0,
    denseCells = 0,
    oov = 0;
  for (const [name, ids] of Object.entries(batch.sparse)) {
    assert.deepEqual(
      rows.map((x) => x[name]),
      Array.from(ids),
      `sparse '${name}'`,
    );
    oov += ids.filter((i) => i === 1).length;
  }
  for (const [name, v] of Object.entries(batch.varlen)) {
    for (let i = 0; i < rows.length; i++) {
      const py = rows[i]![name] as { ids: number[]; length: number };
      assert.deepEqual(py.ids, Array.from(v.ids.subarray(i * v.maxLen, (i + 1) * v.maxLen)), `${name} row ${i}`);
      assert.equal(py.length, v.lengths[i], `${name} length row ${i}`);
    }
  }
  for (const [name, x] of Object.entries(batch.dense)) {
    for (let i = 0; i < rows.length; i++) {
      const py = rows[i]![name] as number;
      assert.ok(ulps32(py, x[i]!) <= 1, `${name} row ${i}: python ${py} vs finerank ${x[i]}`);
      if (Math.fround(py) === x[i]) exact++;
      denseCells++;
    }
  }
  assert.ok(oov > 50, `the test file exercises OOV ids (${oov})`);
  console.log(`# python encoder: ${denseCells} dense cells, ${exact} bit-identical float32, the rest within 1 float32 ulp; ${oov} OOV ids`);
});

test('portable encoder (browser scorer) = FeatureMap.transformRows on JSON rows (numbers, arrays, null)', async () => {
  const { fm, testRows } = await ctx;
  const enc = new PortableEncoder(portableFeatureMap(fm));
  const rows: Record<string, unknown>[] = testRows.map((r, i) => {
    const o: Record<string, unknown> = { ...r };
    if (i % 3 === 0 && r.age !== '') o.age = Number(r.age);
    if (i % 4 === 0) o.tags = r.tags!.split('|');
    if (i % 5 === 0) o.user = null;
    if (i % 7 === 0) delete o.city;
    return o;
  });
  const want = fm.transformRows(rows, { inputsOnly: true });
  const got = enc.encode(rows);
  assert.deepEqual(Object.keys(got.sparse).sort(), Object.keys(want.sparse).sort());
  for (const k of Object.keys(want.sparse)) assert.deepEqual(got.sparse[k], want.sparse[k], k);
  for (const k of Object.keys(want.dense)) assert.deepEqual(got.dense[k], want.dense[k], k);
  for (const k of Object.keys(want.varlen)) assert.deepEqual(got.varlen[k], want.varlen[k], k);
});

test('bad input: the encoders name the row and field; other formats and versions are refused', async () => {
  const { fm, dir } = await ctx;
  const j = portableFeatureMap(fm);
  const enc = new PortableEncoder(j);
  assert.throws(
    () => enc.encode([{ price: 1 }, { price: 'abc' }]),
    (e: unknown) => e instanceof EncodeError && e.row === 1 && e.field === 'price' && /"abc" is not a number/.test(e.message),
  );
  assert.throws(() => enc.encode([{ item: ['a', 'b'] }]), /row 0, field 'item': 2 values in a single-valued/);
  assert.throws(() => new PortableEncoder({ ...j, version: 2 }), /version 2 is not supported/);
  assert.throws(() => new PortableEncoder({ format: 'finerank.featuremap' }), /not a portable finerank feature map/);
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'click,user,item,city,device,price,age,score,tags,hist\n0,u1,i1,,ios,12,30,1,,\n0,u1,i1,,ios,1x2,30,1,,\n');
  const fmFile = join(dir, 'fm.json');
  const r = spawnSync('/usr/bin/python3', [ENCODER_PY, fmFile, bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.csv:3, column price: '1x2' is not a number/);
});

test('Python reference encoder reads the schema layout: TSV without a header line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-fmjson-tsv-'));
  const tsvSchema = defineSchema({
    dataset: { format: 'tsv', header: false, columns: ['y', 'a', 'b', 'x'] },
    columns: [label('y'), sparse('a'), sparse('b', { encoder: { type: 'hash', buckets: 11, seed: 3 } }), dense('x', { transform: ['standardize'] })],
  });
  const lines = (rows: string[][]) => rows.map((r) => r.join('\t')).join('\n') + '\n';
  const train = join(dir, 'train.tsv');
  const testFile = join(dir, 'test.tsv');
  writeFileSync(
    train,
    lines([
      ['1', 'p', 'q', '1.5'],
      ['0', 'p,1', 'r', '-2'],
      ['1', 's', 'q', '0.25'],
    ]),
  );
  writeFileSync(
    testFile,
    lines([
      ['0', 'p,1', 'zz', '3'],
      ['1', 'unseen', 'q', '-0.5'],
      ['0', '', '', ''],
    ]),
  );
  const fm = await FeatureMap.fit(tsvSchema, readRaw(train, { dataset: tsvSchema.dataset }));
  const fmFile = join(dir, 'fm.json');
  writeFileSync(fmFile, JSON.stringify(portableFeatureMap(fm)));
  let batch: Batch | null = null;
  for await (const c of readRaw(testFile, { dataset: tsvSchema.dataset })) batch = fm.transform(c);
  const r = spawnSync('/usr/bin/python3', [ENCODER_PY, fmFile, testFile], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(
    rows.map((x) => x.a),
    Array.from(batch!.sparse.a!),
  );
  assert.deepEqual(
    rows.map((x) => x.b),
    Array.from(batch!.sparse.b!),
  );
  assert.deepEqual(
    rows.map((x) => x.x),
    Array.from(batch!.dense.x!),
  );
  assert.equal(rows[0]!.a, 3, "'p,1' is a known value (the comma is no separator in TSV)");
});
