import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from '../../src/features/batch.js';
import { gatherBatch, viewRows } from '../../src/data/data-source.js';
import { RowWindow } from '../../src/data/streaming/row-window.js';
import { Rng } from '../../src/engine/random.js';

/** A batch with every kind of column, floats including NaN, -0 and infinities. */
function randomBatch(n: number, rng: Rng): Batch {
  const ints = (k: number) => Int32Array.from({ length: k }, () => rng.int(1 << 30) - (1 << 29));
  const floats = (k: number) =>
    Float32Array.from({ length: k }, (_, i) => (i % 17 === 3 ? NaN : i % 19 === 4 ? -0 : i % 23 === 5 ? -Infinity : rng.normal()));
  return {
    size: n,
    sparse: { a: ints(n), b: ints(n) },
    dense: { x: floats(n), y: floats(n) },
    labels: { click: floats(n) },
    varlen: { tags: { ids: ints(n * 3), lengths: ints(n), maxLen: 3 }, hist: { ids: ints(n * 5), lengths: ints(n), maxLen: 5 } },
    weight: floats(n),
    group: ints(n),
  };
}

/** The batch's columns as bytes (bit-exact comparison, NaN and -0 included). */
function bytesOf(b: Batch): Record<string, number[]> {
  const u8 = (a: Int32Array | Float32Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const out: Record<string, number[]> = { size: [b.size] };
  for (const k in b.sparse) out[`sparse.${k}`] = u8(b.sparse[k]!);
  for (const k in b.dense) out[`dense.${k}`] = u8(b.dense[k]!);
  for (const k in b.labels) out[`labels.${k}`] = u8(b.labels[k]!);
  for (const k in b.varlen) {
    out[`varlen.${k}.ids`] = u8(b.varlen[k]!.ids);
    out[`varlen.${k}.lengths`] = u8(b.varlen[k]!.lengths);
    out[`varlen.${k}.maxLen`] = [b.varlen[k]!.maxLen];
  }
  if (b.weight) out.weight = u8(b.weight);
  if (b.group) out.group = u8(b.group);
  return out;
}

test('RowWindow: rows appended in pieces (growing) gather bit for bit what gatherBatch gathers from the columns', () => {
  const rng = new Rng(11);
  const all = randomBatch(1000, rng);
  const win = new RowWindow(all, 1000, 16); // starts small: grows several times
  for (const [s, e] of [
    [0, 1],
    [1, 300],
    [300, 301],
    [301, 1000],
  ] as const) {
    // Append from a separate chunk each time (offsets inside a chunk too).
    const chunk = viewRows(all, Math.max(0, s - 5), e);
    win.append(chunk, s - Math.max(0, s - 5), e - Math.max(0, s - 5));
  }
  assert.equal(win.fill, 1000);
  for (const rows of [Int32Array.from({ length: 256 }, () => rng.int(1000)), Int32Array.of(999, 0, 500), new Int32Array(0)]) {
    assert.deepEqual(bytesOf(win.gather(rows)), bytesOf(gatherBatch(all, rows)));
  }
  // Reused after a reset (the next window overwrites the rows).
  win.fill = 0;
  const next = randomBatch(10, rng);
  win.append(next, 0, 10);
  const rows = Int32Array.of(9, 3, 3, 0);
  assert.deepEqual(bytesOf(win.gather(rows)), bytesOf(gatherBatch(next, rows)));
});

test('RowWindow: a chunk without a column of the first one is refused with the column named', () => {
  const rng = new Rng(2);
  const first = randomBatch(4, rng);
  const win = new RowWindow(first, 8, 8);
  const other = randomBatch(4, rng);
  delete other.dense.y;
  assert.throws(() => win.append(other, 0, 4), /encoded chunks differ in layout \(no "y"\)/);
});
