import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { FeatureMap } from '../../src/features/featuremap.js';
import { encodeRankRows, encodeScoreRows } from '../../src/serve/encode-request.js';
import { ApiError } from '../../src/serve/api-errors.js';
import { writeFixtureArtifact, tempDir } from './serve-fixture.js';
import { noGrad } from '../../src/engine/tensor.js';
import { sharedColumnsOf, sharedFieldsOf } from '../../src/engine/ops/linear-shared.js';
import { FeatureInputs } from '../../src/blocks/embeddings/feature-inputs.js';
import { prepareForInference } from '../../src/nn/inference.js';

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
    const { sharedFields, ...got } = encodeRankRows(fm, context, candidates);
    assert.deepEqual(got, joined, JSON.stringify(context));
    assert.deepEqual(sharedFields, new Set(Object.keys(context)), 'the context fields are marked shared');
  }
  assert.deepEqual(encodeRankRows(fm, {}, CANDIDATES), fm.transformRows(CANDIDATES, { inputsOnly: true }));
});

test('a rank batch scores as its joined rows: the shared context columns are multiplied once, to float rounding', async () => {
  const { model } = await writeFixtureArtifact(dir, 'shared.frk', 3);
  model.eval();
  prepareForInference(model);
  const context = { user: 'u1', hour: 5, price: 12.5, tags: ['t1', 't3'] };
  const candidates = Array.from({ length: 300 }, (_, i) => ({ item: `i${i % 9}`, category: `c${i % 4}` })); // ≥ 256: the split is taken
  const rank = encodeRankRows(fm, context, candidates);
  const joined = encodeScoreRows(
    fm,
    candidates.map((c) => ({ ...context, ...c })),
  );
  // The input layer marks exactly the context fields' columns of its flat view.
  const inputs = [...model.modules()].find((m): m is FeatureInputs => m instanceof FeatureInputs)!;
  const mask = noGrad(() => sharedColumnsOf(inputs.forward(rank).flat()));
  assert.ok(mask !== undefined, 'flat() of a rank batch is marked');
  const flat = noGrad(() => inputs.forward(joined).flat());
  const [rows, width] = flat.shape as [number, number];
  for (let j = 0; j < width; j++) {
    let same = true;
    for (let r = 1; r < rows; r++) same &&= flat.data[r * width + j] === flat.data[j];
    if (mask[j] === 1) assert.ok(same, `column ${j} is marked shared but differs between rows`);
  }
  assert.ok(mask.some((v) => v === 1) && mask.some((v) => v === 0));
  // The stacked view (FM's input) marks exactly the context fields, and they are really shared.
  const stackedRank = noGrad(() => inputs.forward(rank));
  const fields = noGrad(() => sharedFieldsOf(stackedRank.stacked()))!;
  assert.ok(fields !== undefined, 'stacked() of a rank batch is marked');
  assert.deepEqual(
    stackedRank.names.filter((_, f) => fields[f] === 1),
    stackedRank.names.filter((n) => Object.keys(context).includes(n)),
  );
  const stacked = noGrad(() => inputs.forward(joined).stacked());
  const [, F, D] = stacked.shape as [number, number, number];
  for (let f = 0; f < F; f++)
    if (fields[f] === 1)
      for (let r = 1; r < rows; r++)
        for (let d = 0; d < D; d++)
          assert.equal(stacked.data[(r * F + f) * D + d], stacked.data[f * D + d], `field ${f} is marked shared but differs`);
  assert.equal(
    noGrad(() => sharedColumnsOf(inputs.forward(joined).flat())),
    undefined,
    'a batch of rows is not marked',
  );
  const a = noGrad(() => model.forwardTasks(rank).click!.data);
  const b = noGrad(() => model.forwardTasks(joined).click!.data);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(b[i]!)), `row ${i}: ${a[i]} vs ${b[i]}`);
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
