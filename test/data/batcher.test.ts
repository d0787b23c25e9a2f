import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rebatch, concatBatches, sliceBatch } from '../../src/data/batcher.js';
import type { Batch } from '../../src/features/batch.js';

/** A batch whose row r carries the value start + r in every column. */
function numbered(start: number, n: number): Batch {
  const ids = new Int32Array(n),
    f = new Float32Array(n),
    pad = new Int32Array(n * 2),
    len = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    ids[r] = start + r;
    f[r] = start + r;
    pad[r * 2] = start + r;
    pad[r * 2 + 1] = -(start + r);
    len[r] = (start + r) % 3;
  }
  return {
    size: n,
    sparse: { a: ids },
    dense: { x: f },
    labels: { y: f.slice() },
    varlen: { v: { ids: pad, lengths: len, maxLen: 2 } },
    group: ids.slice(),
    weight: f.slice(),
  };
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function inputs(): Batch[] {
  return [numbered(0, 7), numbered(7, 30), numbered(37, 1), numbered(38, 12)];
}

function checkRowsConsistent(b: Batch): number[] {
  const ids = Array.from(b.sparse['a']!);
  for (let r = 0; r < b.size; r++) {
    const v = ids[r]!;
    assert.equal(b.dense['x']![r], v);
    assert.equal(b.labels['y']![r], v);
    assert.equal(b.group![r], v);
    assert.equal(b.weight![r], v);
    assert.equal(b.varlen['v']!.ids[r * 2], v);
    assert.equal(b.varlen['v']!.ids[r * 2 + 1], 0 - v || 0);
    assert.equal(b.varlen['v']!.lengths[r], v % 3);
  }
  return ids;
}

test('rebatch keeps the order and cuts exact batch sizes', async () => {
  const out = await collect(rebatch(inputs(), { batchSize: 16 }));
  assert.deepEqual(
    out.map((b) => b.size),
    [16, 16, 16, 2],
  );
  const ids = out.flatMap(checkRowsConsistent);
  assert.deepEqual(
    ids,
    Array.from({ length: 50 }, (_, i) => i),
  );
  const dropped = await collect(rebatch(inputs(), { batchSize: 16, dropLast: true }));
  assert.deepEqual(
    dropped.map((b) => b.size),
    [16, 16, 16],
  );
});

test('shuffle buffer: a permutation, reproducible by seed, different across seeds', async () => {
  for (const buffer of [1, 5, 20, 1000]) {
    const a = (await collect(rebatch(inputs(), { batchSize: 8, shuffleBuffer: buffer, seed: 3 }))).flatMap(checkRowsConsistent);
    const b = (await collect(rebatch(inputs(), { batchSize: 8, shuffleBuffer: buffer, seed: 3 }))).flatMap(checkRowsConsistent);
    const c = (await collect(rebatch(inputs(), { batchSize: 8, shuffleBuffer: buffer, seed: 4 }))).flatMap(checkRowsConsistent);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
      `permutation, buffer ${buffer}`,
    );
    assert.deepEqual(a, b, `same seed, buffer ${buffer}`);
    if (buffer > 1) assert.notDeepEqual(a, c, `different seed, buffer ${buffer}`);
    if (buffer >= 50) {
      // A buffer holding all rows moves rows far from their input position.
      const displaced = a.filter((v, i) => Math.abs(v - i) > 10).length;
      assert.ok(displaced > 10, `rows displaced: ${displaced}`);
    }
  }
});

test('shuffle buffer bounds how far a row can move forward', async () => {
  // With buffer k, row i cannot be emitted before position i − k (it enters the buffer at i).
  const k = 5;
  const out = (await collect(rebatch(inputs(), { batchSize: 4, shuffleBuffer: k, seed: 9 }))).flatMap(checkRowsConsistent);
  out.forEach((v, pos) => assert.ok(pos >= v - k, `row ${v} emitted at ${pos}`));
});

test('sliceBatch and concatBatches copy rows', () => {
  const b = numbered(10, 6);
  const s = sliceBatch(b, 2, 3);
  assert.deepEqual(checkRowsConsistent(s), [12, 13, 14]);
  s.sparse['a']![0] = 99;
  assert.equal(b.sparse['a']![2], 12);
  const c = concatBatches([numbered(0, 2), numbered(2, 3)]);
  assert.deepEqual(checkRowsConsistent(c), [0, 1, 2, 3, 4]);
});
