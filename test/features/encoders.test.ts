import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur3Bytes, murmur3String } from '../../src/features/hash.js';
import { BytesTable } from '../../src/features/bytes-table.js';
import { HashEncoder, NumericEncoder, Reservoir, VocabEncoder } from '../../src/features/encoders.js';
import { defineSchema, dense, label, type DenseFeature } from '../../src/features/schema.js';
import { Rng } from '../../src/engine/random.js';
import { OOV_ID, PADDING_ID } from '../../src/features/batch.js';

test('murmur3_32 matches the reference vectors, for bytes and strings alike', () => {
  const b = (s: string) => Buffer.from(s, 'utf8');
  const cases: Array<[string, number, number]> = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['hello', 0, 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
  ];
  for (const [s, seed, want] of cases) {
    assert.equal(murmur3String(s, seed), want, `string ${JSON.stringify(s)} seed ${seed}`);
    assert.equal(murmur3Bytes(b(s), 0, b(s).length, seed), want, `bytes ${JSON.stringify(s)}`);
  }
  for (const s of ['café', '日本語', 'emoji 😀', 'ab\u0080']) assert.equal(murmur3String(s, 7), murmur3Bytes(b(s), 0, b(s).length, 7), s);
});

test('BytesTable: string and byte keys find the same entries, across growth', () => {
  const t = new BytesTable(4);
  const keys = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `ключ-${i}` : `k${i}`));
  keys.forEach((k, i) => assert.equal(t.insertString(k), i));
  assert.equal(t.size, 5000);
  keys.forEach((k, i) => {
    const b = Buffer.from('xx' + k + 'yy');
    assert.equal(t.findBytes(b, 2, b.length - 2), i);
    assert.equal(t.findString(k), i);
    assert.equal(t.keyString(i), k);
  });
  assert.equal(t.findString('missing'), -1);
  assert.equal(t.findString(''), -1);
  assert.equal(t.insertString(''), 5000);
  assert.equal(t.findBytes(Buffer.from('a'), 0, 0), 5000);
});

test('BytesTable.share: the same entries from shared memory, in place; inserting afterwards leaves the shared arrays alone', () => {
  const t = new BytesTable(4);
  const keys = Array.from({ length: 3000 }, (_, i) => (i % 5 === 0 ? `é-${i}` : `v${i}`));
  keys.forEach((k, i) => {
    const e = t.insertString(k); // before reading t.payload: inserting may grow it
    t.payload[e] = i * 2;
  });
  const d = t.share();
  assert.equal(t.share(), d, 'sharing twice returns the same arrays');
  for (const a of [d.slots, d.hashes, d.meta, d.arena, d.payload]) assert.ok(a.buffer instanceof SharedArrayBuffer);
  const copy = structuredClone(d); // what a worker receives: views of the same memory
  d.payload[7] = -1;
  assert.equal(copy.payload[7], -1, 'a clone of shared arrays is the same memory');
  d.payload[7] = 14;
  const w = BytesTable.fromShared(copy);
  assert.equal(w.size, 3000);
  keys.forEach((k, i) => {
    const b = Buffer.from(k);
    assert.equal(w.findString(k), i);
    assert.equal(w.findBytes(b, 0, b.length), i);
    assert.equal(w.keyString(i), k);
    assert.equal(w.payload[i], i * 2);
    assert.equal(t.findString(k), i, 'the sharing table keeps working on the shared arrays');
  });
  assert.equal(w.findString('missing'), -1);
  assert.equal(t.insertString('new key'), 3000);
  assert.equal(t.findString('new key'), 3000);
  assert.equal(w.findString('new key'), -1, 'an insert after sharing copies first');
  assert.equal(w.size, 3000);
  assert.equal(BytesTable.fromShared(structuredClone(d)).findString('new key'), -1);
  const empty = new BytesTable(1);
  const e = BytesTable.fromShared(empty.share());
  assert.equal(e.findString('x'), -1);
  assert.equal(e.insertString('x'), 0, 'a shared view can still grow (privately)');
});

test('VocabEncoder.share / fromShared: the same ids as the original and its JSON round trip, without the values in the JSON', () => {
  const v = new VocabEncoder({ type: 'vocab', minCount: 2, maxSize: 50 });
  const r = new Rng(5);
  const data = Array.from({ length: 2000 }, () => `x${Math.floor(r.next() * r.next() * 300)}`);
  data.forEach((x) => v.countString(x));
  v.finish();
  const s = v.share();
  assert.deepEqual(s.json, { type: 'vocab', minCount: 2, maxSize: 50, values: [], counts: [] });
  const w = VocabEncoder.fromShared(s.json, structuredClone(s.table));
  const j = VocabEncoder.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
  assert.equal(w.size, v.size);
  for (const x of [...new Set(data), 'other']) {
    assert.equal(w.lookupString(x), v.lookupString(x));
    assert.equal(w.lookupString(x), j.lookupString(x));
  }
  assert.deepEqual(w.values(), v.values());
});

test('VocabEncoder: min count, order by (−count, value), OOV and padding, round trip', () => {
  const v = new VocabEncoder({ type: 'vocab', minCount: 2 });
  const data = ['b', 'a', 'c', 'a', 'b', 'd', 'a', 'c', 'é', 'é', 'z'];
  data.forEach((x, i) => (i % 2 === 0 ? v.countString(x) : v.countBytes(Buffer.from(x), 0, Buffer.byteLength(x))));
  v.finish();
  // counts: a 3, b 2, c 2, é 2, d 1, z 1 → a, then b, c, é by bytes (é = c3 a9 > 'c').
  assert.deepEqual(v.values(), ['a', 'b', 'c', 'é']);
  assert.equal(v.size, 6);
  assert.deepEqual(
    ['a', 'b', 'c', 'é'].map((x) => v.lookupString(x)),
    [2, 3, 4, 5],
  );
  assert.equal(v.lookupString('d'), OOV_ID, 'below min count → OOV');
  assert.equal(v.lookupString('never seen'), OOV_ID);
  assert.equal(v.lookupBytes(Buffer.from('é'), 0, 2), 5);
  for (const x of v.values()) assert.equal(v.decode(v.lookupString(x)), x, 'decode(encode(x)) = x');
  assert.equal(v.decode(PADDING_ID), null);
  assert.equal(v.decode(OOV_ID), null);
  assert.equal(v.count(2), 3);
  const w = VocabEncoder.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
  for (const x of [...data, 'other']) assert.equal(w.lookupString(x), v.lookupString(x));
  assert.equal(w.size, v.size);
  const capped = new VocabEncoder({ type: 'vocab', minCount: 1, maxSize: 2 });
  data.forEach((x) => capped.countString(x));
  assert.deepEqual(capped.finish().values(), ['a', 'b']);
});

test('HashEncoder: stable documented ids in [2, buckets + 2), bytes = strings, round trip', () => {
  const h = new HashEncoder({ type: 'hash', buckets: 10, seed: 0 });
  assert.equal(h.size, 12);
  assert.equal(h.lookupString('hello'), 2 + (0x248bfa47 % 10));
  for (let i = 0; i < 200; i++) {
    const s = `v${i}`;
    const id = h.lookupString(s);
    assert.ok(id >= 2 && id < 12);
    assert.equal(h.lookupBytes(Buffer.from(s), 0, s.length), id);
  }
  const h2 = HashEncoder.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
  assert.equal(h2.lookupString('abc'), h.lookupString('abc'));
  assert.notEqual(
    new HashEncoder({ type: 'hash', buckets: 1 << 20, seed: 1 }).lookupString('abc'),
    new HashEncoder({ type: 'hash', buckets: 1 << 20, seed: 2 }).lookupString('abc'),
  );
});

function denseFeature(spec: Parameters<typeof dense>[1]): DenseFeature {
  const s = defineSchema({ columns: [label('y'), dense('x', spec)] });
  return s.columns[1] as DenseFeature;
}

function fit(f: DenseFeature, xs: number[]): NumericEncoder {
  const e = new NumericEncoder(f, { seed: 1 });
  e.observe(Float64Array.from(xs), xs.length, null);
  return e.finish();
}

test('numeric transforms: standardize, minmax, log1p, clip, inverse round trip', () => {
  const xs = [1, 2, 3, 4, NaN, 10];
  const std = fit(denseFeature({ transform: 'standardize', missing: 'mean' }), xs);
  const mean = 4,
    sd = Math.sqrt((9 + 4 + 1 + 0 + 36) / 5);
  assert.ok(Math.abs(std.fitted.mean - mean) < 1e-12);
  assert.ok(Math.abs(std.fitted.std - sd) < 1e-12);
  assert.equal(std.fillValue, 4, 'missing: mean fills the raw mean');
  assert.ok(Math.abs(std.transformValue(10) - 6 / sd) < 1e-12);
  const mm = fit(denseFeature({ transform: ['log1p', 'minmax'] }), [0, 3, NaN, -1]);
  // missing → fill 0 (counted); log1p signed: -1 → −log 2.
  assert.equal(mm.fitted.min, -Math.log(2));
  assert.equal(mm.fitted.max, Math.log(4));
  assert.equal(mm.transformValue(3), 1);
  assert.equal(mm.transformValue(-1), 0);
  for (const x of [-0.5, 0, 0.7, 2.5]) assert.ok(Math.abs(mm.inverse(mm.transformValue(x)) - x) < 1e-12, `inverse at ${x}`);
  const clip = fit(denseFeature({ transform: [{ clip: [0, 5] }] }), [1]);
  assert.deepEqual(
    [-3, 2, 9].map((x) => clip.transformValue(x)),
    [0, 2, 5],
  );
  const col = Float64Array.from([1, 2, 3, 4, 10]);
  std.transformInPlace(col, 5);
  assert.deepEqual(
    Array.from(col),
    [1, 2, 3, 4, 10].map((x) => std.transformValue(x)),
    'column and value paths agree',
  );
  const back = NumericEncoder.fromJSON(std.feature, JSON.parse(JSON.stringify(std.toJSON())));
  assert.equal(back.transformValue(7), std.transformValue(7));
});

test('bucketize: explicit boundaries and quantiles (reservoir), ids 2 + #boundaries ≤ x', () => {
  const b = fit(denseFeature({ transform: { bucketize: { boundaries: [0, 10, 100] } } }), [1]);
  assert.deepEqual(
    [-5, 0, 5, 10, 99, 1000].map((x) => b.bucketId(b.transformValue(x))),
    [2, 3, 3, 4, 4, 5],
  );
  assert.equal(b.bucketCount, 6);
  const xs = Array.from({ length: 100000 }, (_, i) => i);
  const q = fit(denseFeature({ transform: ['log1p', 'standardize', { bucketize: { quantiles: 4 } }] }), xs);
  const bounds = q.fitted.boundaries!;
  assert.equal(bounds.length, 3);
  // Quantiles are taken on the raw scale and mapped through the (monotone) transforms.
  const expect = [25000, 50000, 75000].map((x) => q.transformValue(x));
  bounds.forEach((v, i) => assert.ok(Math.abs(v - expect[i]!) < 1e-9, `boundary ${i}: ${v} vs ${expect[i]}`));
  const counts = [0, 0, 0, 0];
  for (const x of xs) counts[q.bucketId(q.transformValue(x)) - 2]!++;
  assert.deepEqual(counts, [25000, 25000, 25000, 25000]);
});

test('reservoir: uniform sample of bounded size, reproducible by seed', () => {
  const take = (seed: number) => {
    const r = new Reservoir(1000, new Rng(seed));
    for (let i = 0; i < 100000; i++) r.add(i);
    return r.sorted();
  };
  const a = take(1);
  assert.equal(a.length, 1000);
  assert.deepEqual(a, take(1));
  assert.notDeepEqual(a, take(2));
  const median = a[500]!;
  assert.ok(Math.abs(median - 50000) < 5000, `median ${median}`);
});

test('VocabEncoder order equals sorting by (−count, UTF-8 bytes) on random keys', () => {
  const rng = new Rng(11);
  const alphabet = ['a', 'b', 'ab', 'é', '\u00ff', 'z', '日', '\u0001'];
  const counts = new Map<string, number>();
  const v = new VocabEncoder({ type: 'vocab', minCount: 1 });
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const len = rng.int(9);
    for (let j = 0; j < len; j++) s += alphabet[rng.int(alphabet.length)];
    const reps = 1 + rng.int(3);
    for (let r = 0; r < reps; r++) v.countString(s);
    counts.set(s, (counts.get(s) ?? 0) + reps);
  }
  const want = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(v.finish().values(), want);
});
