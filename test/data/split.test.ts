import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readCsv } from '../../src/readers/csv.js';
import { takeSplit, assignSplit, type SplitSpec } from '../../src/data/split.js';
import { BytesChunk, chunkFromRows } from '../../src/readers/chunk.js';
import { makeRows, tempDir, writeCsv } from './fixtures.js';

async function linesOf(file: string, spec: SplitSpec, part: number, blockBytes: number): Promise<number[]> {
  const out: number[] = [];
  for await (const c of takeSplit(readCsv(file, { blockBytes }), spec, part)) out.push(...Array.from(c.lines));
  return out;
}

async function usersOf(file: string, spec: SplitSpec, part: number): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const c of takeSplit(readCsv(file), spec, part)) for (let r = 0; r < c.length; r++) out.add((c as BytesChunk).cell(r, 1)!);
  return out;
}

test('random split: disjoint, covering, reproducible by seed, independent of chunking', async () => {
  const file = join(tempDir(), 's.csv');
  const rows = makeRows(2000, 7);
  writeCsv(file, rows);
  const spec: SplitSpec = { by: 'random', ratios: [0.7, 0.2, 0.1], seed: 42 };
  const parts = await Promise.all([0, 1, 2].map((p) => linesOf(file, spec, p, 4096)));
  const all = parts.flat().sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 2000 }, (_, i) => i + 2),
    'every row in exactly one part',
  );
  assert.ok(Math.abs(parts[0]!.length / 2000 - 0.7) < 0.05, `train share ${parts[0]!.length}`);
  assert.ok(Math.abs(parts[2]!.length / 2000 - 0.1) < 0.03, `test share ${parts[2]!.length}`);
  assert.deepEqual(await linesOf(file, spec, 1, 313), parts[1], 'same parts with other block sizes');
  const other = await linesOf(file, { ...spec, seed: 43 }, 1, 4096);
  assert.notDeepEqual(other, parts[1], 'another seed gives another split');
});

test('group split: no group in two parts (no leakage), reproducible', async () => {
  const file = join(tempDir(), 'g.csv');
  writeCsv(file, makeRows(1500, 8));
  const spec: SplitSpec = { by: 'group', column: 'user', ratios: [0.5, 0.5], seed: 1 };
  const a = await usersOf(file, spec, 0);
  const b = await usersOf(file, spec, 1);
  assert.ok(a.size > 5 && b.size > 5, `both parts have users: ${a.size}, ${b.size}`);
  for (const u of a) assert.ok(!b.has(u), `user ${u} in both parts`);
  assert.deepEqual(await usersOf(file, spec, 0), a);
  // Values and bytes hash alike: a values chunk of the same users gets the same parts.
  const vals = chunkFromRows(
    [...a, ...b].map((u) => ({ user: u })),
    ['user'],
  );
  const parts = assignSplit(vals, spec);
  assert.deepEqual(Array.from(parts), [...a].map(() => 0).concat([...b].map(() => 1)));
});

test('time split: rows before, between and after the cutoffs', async () => {
  const file = join(tempDir(), 't.csv');
  writeCsv(file, makeRows(100, 9)); // ts = 1000 .. 1099
  const spec: SplitSpec = { by: 'time', column: 'ts', cutoffs: [1080, 1090] };
  const parts = await Promise.all([0, 1, 2].map((p) => linesOf(file, spec, p, 1024)));
  assert.deepEqual(
    parts.map((p) => p.length),
    [80, 10, 10],
  );
  assert.deepEqual(
    parts[1],
    Array.from({ length: 10 }, (_, i) => 82 + i),
  );
  const dates = chunkFromRows([{ t: '2024-01-01' }, { t: '2024-02-01T00:00:00Z' }, { t: '2024-03-05' }], ['t']);
  assert.deepEqual(Array.from(assignSplit(dates, { by: 'time', column: 't', cutoffs: ['2024-02-01', '2024-03-01'] })), [0, 1, 2]);
  assert.throws(
    () => assignSplit(chunkFromRows([{ t: 'soon' }], ['t']), { by: 'time', column: 't', cutoffs: [1] }),
    /<rows>:1: column "t": time value "soon"/,
  );
});
