import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { GRDA } from '../../src/train/optim.js';
import { generateFieldCtr } from '../../src/data/synth/criteo.js';
import { twoTruePairsSpec } from '../support/two-true-pairs.js';
import { loadSchema } from '../../src/features/schema.js';
import { trainOnFiles } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { createModel } from '../../src/models/registry.js';
import { AutoFIS } from '../../src/models/autofis.js';
import { retrainOptions } from '../../src/train/autofis-search.js';
import { tinySpecAndBatch } from '../support/tiny-batch.js';
import { modelGradcheck } from '../support/model-gradcheck.js';
import { splitFiles } from '../../src/data/synth/common.js';

test('GRDA: accumulator from w₀, threshold c·lr^{1/2+μ}·n^μ, soft-thresholded weights (hand-computed), exact zeros', () => {
  const w = Tensor.from([0.5, -0.2, 0.012], [3], true);
  const opt = new GRDA([w], { lr: 0.1, c: 0.1, mu: 0.5 });
  const grads = [
    [1, -1, 0],
    [-2, 0.5, 0],
  ];
  // Step 1: a = w₀ − 0.1·g = [0.4, −0.1, 0.012]; λ₁ = 0.1·0.1^{1}·1 = 0.01.
  w.grad = Float32Array.from(grads[0]!);
  opt.step();
  assert.deepEqual(
    [...w.data].map((x) => Number(x.toFixed(6))),
    [0.39, -0.09, 0.002],
  );
  // Step 2: a = [0.6, −0.15, 0.012]; λ₂ = 0.01·√2 = 0.0141421: the third weight is exactly 0.
  w.grad = Float32Array.from(grads[1]!);
  opt.step();
  const l2 = 0.01 * Math.SQRT2;
  assert.ok(Math.abs(w.data[0]! - (0.6 - l2)) < 1e-6 && Math.abs(w.data[1]! - (-0.15 + l2)) < 1e-6, `got ${[...w.data]}`);
  assert.equal(w.data[2], 0);
  // The state round-trips.
  const again = new GRDA([Tensor.from([0, 0, 0], [3], true)], { lr: 0.1, c: 0.1, mu: 0.5 });
  again.loadStateDict(opt.stateDict());
  assert.deepEqual(again.stateDict(), opt.stateDict());
});

test('AutoFIS: one gate per pair (search) or per kept pair (retrain); kept pairs are validated', () => {
  const { spec } = tinySpecAndBatch(3);
  const search = createModel('autofis', { spec, rng: new Rng(1) }, { embedding_dim: 3, hidden_units: [] }) as AutoFIS;
  // Embedded fields a, b, c, tags, hist (pooled): 10 pairs.
  assert.deepEqual(search.pairNames, ['a:b', 'a:c', 'a:tags', 'a:hist', 'b:c', 'b:tags', 'b:hist', 'c:tags', 'c:hist', 'tags:hist']);
  assert.ok([...search.gates!.data].every((g) => Math.abs(g - 0.6) <= 0.001));
  const opts = retrainOptions({ embedding_dim: 3, hidden_units: [], stage: 'search' }, ['b:tags', 'a:b']);
  const retrain = createModel('autofis', { spec, rng: new Rng(1) }, opts) as AutoFIS;
  assert.deepEqual(retrain.pairNames, ['a:b', 'b:tags']);
  assert.equal(retrain.gates!.size, 2);
  const none = createModel('autofis', { spec, rng: new Rng(1) }, retrainOptions({}, [])) as AutoFIS;
  assert.equal(none.gates, null);
  assert.throws(() => createModel('autofis', { spec, rng: new Rng(1) }, { stage: 'retrain', kept_pairs: ['b:a'] }), /kept pair 'b:a' is not a pair/);
  assert.throws(() => createModel('autofis', { spec, rng: new Rng(1) }, { kept_pairs: ['a:b'] }), /belongs to stage 'retrain'/);
  assert.throws(() => createModel('autofis', { spec, rng: new Rng(1) }, { stage: 'prune' }), /'stage' must be one of search, retrain/);
});

test('AutoFIS retrain stage (a subset of pairs gathered): gradient matches finite differences', () => {
  const { spec, batch } = tinySpecAndBatch(11);
  const opts = retrainOptions({ embedding_dim: 3, embedding_init_std: 0.5, hidden_units: [4] }, ['a:c', 'b:hist', 'tags:hist']);
  const model = createModel('autofis', { spec, rng: new Rng(4) }, opts);
  model.train();
  assert.ok(modelGradcheck(model, batch) > 10);
});

/**
 * AutoFIS's mechanism: five fields of which only (a, b) and (c, d) interact. The search
 * (GRDA on the gates) must end with the eight useless pairs' gates exactly 0 and the two
 * true pairs' gates non-zero; `finerank train`'s single run then retrains over those two.
 */
const SPEC = twoTruePairsSpec('autofis-search-test');

test('AutoFIS search keeps exactly the true pairs and the same run retrains over them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-autofis-'));
  try {
    const meta = generateFieldCtr(SPEC, { outDir: dir, rows: 20_000, seed: 5 });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const lines: string[] = [];
    const out = await trainOnFiles(
      {
        data: {
          ...splitFiles(dir, meta),
          onBadRow: 'error',
        },
        schema,
        label: null,
        model: 'autofis',
        modelOptions: { embedding_dim: 8, embedding_init_std: 0.01, hidden_units: [], search_epochs: 3, grda_c: 0.04 },
        train: { ...TRAIN_DEFAULTS, epochs: 2, batchSize: 256, progress: false, optimizer: { type: 'adam' as const, lr: 3e-3 } },
      },
      { log: (l) => lines.push(l) },
    );
    const kept = (out.modelOptions?.kept_pairs ?? []) as string[];
    const report = `${lines.filter((l) => l.includes('search')).join(' | ')}; test AUC ${out.test!.auc.toFixed(4)}`;
    assert.deepEqual([...kept].sort(), ['a:b', 'c:d'], report);
    assert.equal(out.modelOptions?.stage, 'retrain');
    assert.deepEqual((out.model as AutoFIS).pairNames, ['a:b', 'c:d']);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
