import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { FeatureMap } from '../../src/features/featuremap.js';
import { encodeRankRows, encodeScoreRows } from '../../src/serve/encode-request.js';
import { ApiError } from '../../src/serve/api-errors.js';
import { writeFixtureArtifact, tempDir } from './serve-fixture.js';

let dir: string;
let fm: FeatureMap;
before(async () => {
  dir = tempDir();
  fm = (await writeFixtureArtifact(dir, 'm.frk')).fm;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const CANDIDATES = [{ item: 'i1', category: 'c1' }, { item: 'unseen', category: 'c2', price: 3 }, {}, { item: 'i7', price: null, category: 'c3' }];

test('encodeRankRows: the context encoded once and broadcast gives the batch of the joined rows', () => {
  const contexts = [
    { user: 'u1', hour: 5, price: 12.5, tags: ['t1', 't3'] },
    { user: 'nobody', tags: 't2|t4|t0|t1' },
    { hour: '9' },
    { user: 'u2', item: 'i3', category: 'c5', price: 2, tags: [] as string[] },
  ];
  for (const context of contexts) {
    const candidates = CANDIDATES.map((c) => Object.fromEntries(Object.entries(c).filter(([k]) => !(k in context))));
    const joined = fm.transformRows(
      candidates.map((c) => ({ ...context, ...c })),
      { inputsOnly: true },
    );
    const got = encodeRankRows(fm, context, candidates);
    assert.deepEqual(got, joined, JSON.stringify(context));
  }
  assert.deepEqual(encodeRankRows(fm, {}, CANDIDATES), fm.transformRows(CANDIDATES, { inputsOnly: true }));
});

test('encode errors name the field by JSON pointer', () => {
  const pointerOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      return e.issues[0]!.pointer;
    }
    throw new Error('no error');
  };
  assert.equal(
    pointerOf(() => encodeRankRows(fm, { price: 'cheap' }, [{ item: 'i1' }])),
    '/context/price',
  );
  assert.equal(
    pointerOf(() => encodeRankRows(fm, { user: 'u1' }, [{}, { price: 'x' }])),
    '/candidates/1/price',
  );
  assert.equal(
    pointerOf(() => encodeRankRows(fm, { user: 'u1' }, [{}, {}, { user: 'u2' }])),
    '/candidates/2/user',
  );
  assert.equal(
    pointerOf(() => encodeScoreRows(fm, [{}, {}, { price: 'x' }])),
    '/rows/2/price',
  );
});
