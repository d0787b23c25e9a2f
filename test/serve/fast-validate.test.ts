import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/random.js';
import { apiSchemas } from '../../src/serve/api-schemas.js';
import { quickRankCheck, quickScoreCheck } from '../../src/serve/fast-validate.js';

const COLUMNS = ['user', 'hour', 'item', 'price', 'tags'];
const LIMITS = { maxRows: 4, maxCandidates: 4, bodyLimitBytes: 1 << 20 };
const schemas = apiSchemas(COLUMNS, LIMITS, ['click']);
const columnSet = new Set(COLUMNS);

/** Values a field may get: valid ones and broken ones. */
const VALUES: unknown[] = ['u1', '', 3, -2.5, 0, true, null, ['a', 2, false], [], NaN, Infinity, {}, [null], [['x']], [{ a: 1 }], [NaN], undefined];
const KEYS = [...COLUMNS, 'usr', '__proto__x'];

function randomRow(rng: Rng): unknown {
  const r = rng.next();
  if (r < 0.05) return null;
  if (r < 0.08) return ['user'];
  if (r < 0.1) return 'user';
  const row: Record<string, unknown> = {};
  const n = Math.floor(rng.next() * 4);
  for (let i = 0; i < n; i++)
    row[KEYS[Math.floor(rng.next() * (rng.next() < 0.9 ? COLUMNS.length : KEYS.length))]!] = VALUES[Math.floor(rng.next() * VALUES.length)];
  return row;
}

function randomList(rng: Rng): unknown {
  if (rng.next() < 0.05) return {};
  return Array.from({ length: Math.floor(rng.next() * 6) }, () => randomRow(rng));
}

test('quick request checks accept only what the zod validators accept, and accept the valid bodies', () => {
  const rng = new Rng(11);
  let quickYes = 0,
    zodYes = 0;
  for (let i = 0; i < 4000; i++) {
    const score: Record<string, unknown> = { rows: randomList(rng) };
    if (rng.next() < 0.05) score.extra = 1;
    const rank: Record<string, unknown> = { candidates: randomList(rng) };
    if (rng.next() < 0.5) rank.context = randomRow(rng);
    if (rng.next() < 0.3) rank.top_k = [1, 3, 0, -1, 2.5, '2', null, 2 ** 60][Math.floor(rng.next() * 8)];
    if (rng.next() < 0.03) rank.extra = 1;
    for (const [body, quick, zod] of [
      [score, quickScoreCheck(score, columnSet, LIMITS), schemas.scoreRequest.safeParse(score).success],
      [rank, quickRankCheck(rank, columnSet, LIMITS), schemas.rankRequest.safeParse(rank).success],
    ] as const) {
      // The checks must never accept what zod refuses, and (these bodies come from JSON-like
      // values only) must accept what zod accepts, so valid requests skip zod.
      assert.equal(quick, zod, JSON.stringify(body));
      if (quick) quickYes++;
      if (zod) zodYes++;
    }
  }
  assert.ok(quickYes > 500 && zodYes < 7500, `a mix of valid (${zodYes}) and invalid bodies`);
  // Not JSON-like at all: a class instance, a top-level array, a non-object.
  class Row {
    user = 'u1';
  }
  assert.equal(quickScoreCheck({ rows: [new Row()] }, columnSet, LIMITS), false);
  assert.equal(quickScoreCheck([{ rows: [] }], columnSet, LIMITS), false);
  assert.equal(quickRankCheck('x', columnSet, LIMITS), false);
});
