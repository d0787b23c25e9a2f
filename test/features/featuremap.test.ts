import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '../../src/readers/csv.js';
import { chunkFromRows, type RawChunk } from '../../src/readers/chunk.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, group, label, sequence, sparse, varlen, weight } from '../../src/features/schema.js';
import { murmur3String } from '../../src/features/hash.js';
import type { Batch } from '../../src/features/batch.js';
import type { VocabEncoder } from '../../src/features/encoders.js';

const CSV =
  [
    'click,cvr,user,item,price,genres,hist,w',
    '1,1,u1,i1,10,a|b|c,i1|i2|i3,1',
    '0,0,u2,i2,,b,i2,0.5',
    '1,0,u1,i3,3.5,,i9|i1,2',
    '0,0,u3,i1,1,a|a,,1',
    '1,1,u1,i2,7,c|d,i3,1',
  ].join('\n') + '\n';

const schema = defineSchema({
  columns: [
    label('click'),
    label('cvr'),
    sparse('user', { encoder: { type: 'vocab', minCount: 2 }, missing: 'oov' }),
    sparse('item'),
    dense('price', { transform: ['log1p', 'standardize'], missing: 'mean' }),
    dense('price_bucket', { source: 'price', transform: { bucketize: { boundaries: [2, 8] } } }),
    varlen('genres', { maxLen: 2 }),
    sequence('hist', { maxLen: 2, shareWith: 'item' }),
    group('user'),
    weight('w'),
  ],
});

function file(text = CSV): string {
  const f = join(mkdtempSync(join(tmpdir(), 'finerank-fm-')), 'd.csv');
  writeFileSync(f, text);
  return f;
}

async function transformAll(fm: FeatureMap, chunks: AsyncIterable<RawChunk>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const c of chunks) out.push(fm.transform(c));
  return out;
}

test('fit + transform: ids, padding, sharing, labels, dense, group and weight', async () => {
  const f = file();
  const fm = await FeatureMap.fit(schema, readCsv(f));
  const [b] = await transformAll(fm, readCsv(f));
  assert.equal(b!.size, 5);
  assert.deepEqual(Array.from(b!.labels['click']!), [1, 0, 1, 0, 1]);
  assert.deepEqual(Array.from(b!.labels['cvr']!), [1, 0, 0, 0, 1]);
  // user: u1 ×3 is the only value with count ≥ 2 → id 2; others OOV (1).
  assert.deepEqual(Array.from(b!.sparse['user']!), [2, 1, 2, 1, 2]);
  assert.equal(fm.vocabSize('user'), 3);
  // item shares its vocabulary with hist: counts over both fields (kept tokens only; hist
  // keeps the last 2): i2: 2 + 2 = 4, i1: 2 + 1 = 3, i3: 1 + 2 = 3, i9: 1 → i2=2, i1=3, i3=4, i9=5.
  assert.deepEqual((fm.encoder('item') as VocabEncoder).values(), ['i2', 'i1', 'i3', 'i9']);
  assert.deepEqual(Array.from(b!.sparse['item']!), [3, 2, 4, 3, 2]);
  assert.equal(fm.vocabSize('hist'), fm.vocabSize('item'));
  const hist = b!.varlen['hist']!;
  // Sequences keep the last maxLen values: i1|i2|i3 → i2, i3.
  assert.deepEqual(Array.from(hist.ids), [2, 4, 2, 0, 5, 3, 0, 0, 4, 0]);
  assert.deepEqual(Array.from(hist.lengths), [2, 1, 2, 0, 1]);
  // Varlen keeps the first maxLen values: a|b|c → a, b; counts a 3, b 2, c 2, d 1.
  const g = b!.varlen['genres']!;
  assert.deepEqual(Array.from(g.ids), [2, 3, 3, 0, 0, 0, 2, 2, 4, 5]);
  assert.deepEqual(Array.from(g.lengths), [2, 1, 0, 2, 2]);
  // price: missing → mean of raw values (5.375); then log1p, standardize.
  const enc = fm.numeric('price');
  assert.equal(enc.fillValue, (10 + 3.5 + 1 + 7) / 4);
  const want = [10, 5.375, 3.5, 1, 7].map((x) => Math.fround(enc.transformValue(x)));
  assert.deepEqual(Array.from(b!.dense['price']!), want);
  // price_bucket: missing → fill 0; boundaries [2, 8].
  assert.deepEqual(Array.from(b!.sparse['price_bucket']!), [4, 2, 3, 2, 3]);
  assert.equal(fm.vocabSize('price_bucket'), 5);
  assert.deepEqual(
    Array.from(b!.group!),
    ['u1', 'u2', 'u1', 'u3', 'u1'].map((u) => murmur3String(u, 0) | 0),
  );
  assert.deepEqual(Array.from(b!.weight!), [1, 0.5, 2, 1, 1]);
});

test('a saved and reloaded feature map transforms identically; unseen values map to OOV', async () => {
  const f = file();
  const fm = await FeatureMap.fit(schema, readCsv(f));
  const dir = mkdtempSync(join(tmpdir(), 'finerank-fm-'));
  fm.save(join(dir, 'fm.json'));
  const back = FeatureMap.load(join(dir, 'fm.json'));
  assert.deepEqual(back.toJSON(), fm.toJSON());
  const test = file('click,cvr,user,item,price,genres,hist,w\n1,0,u9,i7,2,z|a,i7|i1,1\n0,1,u1,i1,100,,,3\n');
  const a = await transformAll(fm, readCsv(test));
  const b = await transformAll(back, readCsv(test));
  assert.deepEqual(a, b);
  assert.deepEqual(Array.from(a[0]!.sparse['item']!), [1, 3], 'unseen item → OOV (1)');
  assert.deepEqual(Array.from(a[0]!.varlen['genres']!.ids), [1, 2, 0, 0]);
  // Unseen users stay distinct groups (hashed, not vocabulary-encoded).
  assert.notEqual(a[0]!.group![0], a[0]!.group![1]);
  // Serving rows (plain objects) encode like the CSV rows.
  const served = back.transformRows([
    { click: 1, cvr: 0, user: 'u9', item: 'i7', price: 2, genres: ['z', 'a'], hist: 'i7|i1', w: 1 },
    { click: 0, cvr: 1, user: 'u1', item: 'i1', price: '100', genres: null, hist: [], w: 3 },
  ]);
  assert.deepEqual(served, a[0]);
  // Same raw → same ids, always: fitting again on the same data gives the same map.
  const again = await FeatureMap.fit(schema, readCsv(f, { blockBytes: 17 }));
  assert.deepEqual(again.toJSON(), fm.toJSON());
});

test('fields() and vocabSizes() describe the inputs models need', async () => {
  const fm = await FeatureMap.fit(schema, readCsv(file()));
  const fields = fm.fields();
  assert.deepEqual(
    fields.map((x) => [x.name, x.kind, x.table]),
    [
      ['user', 'sparse', 'user'],
      ['item', 'sparse', 'item'],
      ['price', 'dense', undefined],
      ['price_bucket', 'sparse', 'price_bucket'],
      ['genres', 'varlen', 'genres'],
      ['hist', 'sequence', 'item'],
    ],
  );
  assert.deepEqual(fm.vocabSizes(), { user: 3, item: 6, price_bucket: 5, genres: 6, hist: 6 });
  assert.deepEqual(fm.labelNames, ['click', 'cvr']);
});

test('hash encoders need no fitting and agree between bytes and values', async () => {
  const s = defineSchema({
    columns: [
      label('y'),
      sparse('u', { encoder: { type: 'hash', buckets: 97, seed: 5 } }),
      varlen('t', { maxLen: 3, encoder: { type: 'hash', buckets: 13, seed: 0 } }),
    ],
  });
  const fm = await FeatureMap.fit(s, [chunkFromRows([{ y: 1, u: 'x', t: 'p' }], ['y', 'u', 't'])]);
  const [b] = await transformAll(fm, readCsv(file('y,u,t\n1,abc,p|q\n0,日本,\n')));
  const v = fm.transform(
    chunkFromRows(
      [
        { y: 1, u: 'abc', t: ['p', 'q'] },
        { y: 0, u: '日本', t: '' },
      ],
      ['y', 'u', 't'],
    ),
  );
  assert.deepEqual(b, v);
  assert.equal(b!.sparse['u']![0], 2 + (murmur3String('abc', 5) % 97));
  assert.equal(fm.vocabSize('u'), 99);
});

test('transformRows with inputsOnly: no label, weight or group needed; inputs encoded as with them', async () => {
  const fm = await FeatureMap.fit(schema, readCsv(file()));
  const withAll = fm.transformRows([{ click: 1, cvr: 0, user: 'u1', item: 'i2', price: 7, genres: 'c|d', hist: 'i3', w: 1 }]);
  const inputs = fm.transformRows([{ user: 'u1', item: 'i2', price: 7, genres: 'c|d', hist: 'i3' }], { inputsOnly: true });
  assert.deepEqual(inputs.sparse, withAll.sparse);
  assert.deepEqual(inputs.dense, withAll.dense);
  assert.deepEqual(inputs.varlen, withAll.varlen);
  assert.deepEqual(inputs.labels, {});
  assert.equal(inputs.weight, undefined);
  assert.equal(inputs.group, undefined);
  assert.deepEqual(fm.inputColumns, ['user', 'item', 'price', 'genres', 'hist']);
  // Without inputsOnly a row lacking its label is a bad row.
  assert.throws(() => fm.transformRows([{ user: 'u1', item: 'i2', price: 7, genres: 'c|d', hist: 'i3', w: 1 }]), /missing label/);
});

test('transformRows with onlyColumns: only the features of those source columns, encoded as with all', async () => {
  const fm = await FeatureMap.fit(schema, readCsv(file()));
  const row = { user: 'u1', item: 'i2', price: 7, genres: 'c|d', hist: 'i3' };
  const all = fm.transformRows([row], { inputsOnly: true });
  const some = fm.transformRows([{ price: 7, hist: 'i3' }], { inputsOnly: true, onlyColumns: new Set(['price', 'hist']) });
  assert.deepEqual(Object.keys(some.sparse), ['price_bucket']);
  assert.deepEqual(some.sparse.price_bucket, all.sparse.price_bucket);
  assert.deepEqual(some.dense, all.dense);
  assert.deepEqual(Object.keys(some.varlen), ['hist']);
  assert.deepEqual(some.varlen.hist, all.varlen.hist);
  assert.throws(() => fm.transformRows([row], { onlyColumns: new Set(['price']) }), /onlyColumns needs inputsOnly/);
});
