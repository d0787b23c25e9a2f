import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { bceWithLogits } from '../../src/engine/ops/index.js';
import { createModel, resolveModelOptions, acceptedOptions } from '../../src/models/registry.js';
import type { DeepMCP } from '../../src/models/deepmcp.js';
import { Trainer } from '../../src/train/trainer.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles } from '../../src/train/run.js';
import { loadDataSource } from '../../src/data/load.js';
import { InMemoryDataSource } from '../../src/data/data-source.js';
import { generateSequence, SEQUENCE_DEFAULTS } from '../../src/data/synth/sequence.js';
import { loadSchema } from '../../src/features/schema.js';
import { auc } from '../../src/metrics/auc.js';
import { gradcheck } from '../support/gradcheck.js';
import { tinySpecAndBatch } from '../support/tiny-batch.js';

const OPTS = {
  embeddingDim: 4,
  embeddingInitStd: 0.5,
  dnnHiddenUnits: [5],
  matchUserFields: ['b', 'tags'],
  matchItemFields: ['a', 'c'],
  matchHiddenUnits: [4],
  matchDim: 3,
  corrHiddenUnits: [4],
  corrDim: 3,
  matchLossAlpha: 0.7,
  corrLossBeta: 0.4,
};

test('DeepMCP: joint loss = α·match + β·correlation; its gradient matches finite differences; eval serves the prediction subnet only', () => {
  const { spec, batch } = tinySpecAndBatch(11, 7);
  const rng = new Rng(4);
  const model = createModel('deepmcp', { spec, rng, tasks: ['click'] }, OPTS) as DeepMCP;
  model.train();
  const state = rng.getState();
  noGrad(() => model.forwardTasks(batch));
  const aux = model.extraLoss()!.item();
  rng.setState(state);
  const parts = model.subnetLosses(batch);
  assert.ok(Math.abs(aux - (0.7 * parts.match + 0.4 * parts.correlation)) < 1e-5, `aux ${aux} vs ${JSON.stringify(parts)}`);
  // Matching loss against its definition: BCE of σ(⟨v_u, v_a⟩) on the click label.
  const naiveMatch = bceWithLogits({ data: model.matchLogits(batch), shape: [7], size: 7 } as never, batch.labels.click!).item();
  assert.ok(Math.abs(parts.match - naiveMatch) < 1e-6);
  // End-to-end gradient of the auxiliary loss (same negatives on every evaluation: the rng is rewound).
  gradcheck(
    () => {
      rng.setState(state);
      model.forwardTasks(batch);
      return model.extraLoss()!;
    },
    model.parameters(),
    { maxCoords: 6 },
  );
  // The trainer's loss is BCE(prediction) + the auxiliary loss of the same forward.
  rng.setState(state);
  const logits = noGrad(() => model.forwardTasks(batch).click!);
  const expected = bceWithLogits(logits, batch.labels.click!).item() + model.extraLoss()!.item();
  rng.setState(state);
  const trainer = new Trainer(
    model,
    { ...TRAIN_DEFAULTS, optimizer: { type: 'sgd', lr: 0 }, embeddingOptimizer: { type: 'sgd' }, clipNorm: 0 },
    'click',
  );
  assert.ok(Math.abs(trainer.step(batch) - expected) < 1e-5);
  // Eval: no auxiliary loss, and the output does not depend on the matching or correlation towers.
  model.eval();
  const before = noGrad(() => model.forwardTasks(batch).click!).data.slice();
  assert.equal(model.extraLoss(), null);
  for (const [name, p] of model.namedParameters()) if (/^(matching|correlation)\./.test(name)) p.data.fill(0.3);
  assert.deepEqual(noGrad(() => model.forwardTasks(batch).click!).data.slice(), before);
  // α = β = 0: no auxiliary loss at all.
  const plain = createModel('deepmcp', { spec, rng: new Rng(4), tasks: ['click'] }, { ...OPTS, matchLossAlpha: 0, corrLossBeta: 0 });
  plain.train();
  noGrad(() => plain.forwardTasks(batch));
  assert.equal(plain.extraLoss(), null);
});

test('DeepMCP refuses inputs its subnets cannot use, naming the fix', () => {
  const { spec } = tinySpecAndBatch(11);
  const make = (o: Record<string, unknown>, s = spec) => createModel('deepmcp', { spec: s, rng: new Rng(1), tasks: ['click'] }, { ...OPTS, ...o });
  assert.throws(() => make({ matchUserFields: [] }), /user-side fields: tag some columns 'user'/);
  assert.throws(() => make({ matchItemFields: ['nope'] }), /match_item_fields names 'nope'/);
  assert.throws(() => make({ corrSequenceField: 'tags' }), /corr_sequence_field 'tags' is not a sequence field/);
  assert.throws(() => make({}, { ...spec, fields: spec.fields.filter((f) => f.kind !== 'sequence') }), /needs the user's item sequence/);
  assert.throws(() => make({ numNegatives: 0 }), /num_negatives must be a positive integer/);
});

test('DeepMCP learnability: its matching and correlation subnets are trained (against the same model with α = β = 0)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-deepmcp-'));
  try {
    const meta = generateSequence({ ...SEQUENCE_DEFAULTS, users: 800, items: 600, maxLen: 10 }, { outDir: dir, rows: 16_000, seed: 3 });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const file = (s: 'train' | 'valid' | 'test') => join(dir, meta.splits[s].file);
    const run = async (weights: number) => {
      const opts = {
        embeddingDim: 8,
        embeddingInitStd: 0.01,
        dnnHiddenUnits: [32],
        matchHiddenUnits: [16],
        matchDim: 8,
        corrHiddenUnits: [16],
        corrDim: 8,
        matchLossAlpha: weights,
        corrLossBeta: weights,
      };
      const out = await trainOnFiles({
        data: { train: file('train'), valid: file('valid'), test: file('test'), onBadRow: 'error' },
        schema,
        label: null,
        model: 'deepmcp',
        modelOptions: resolveModelOptions('deepmcp', acceptedOptions('deepmcp', opts)),
        train: { ...TRAIN_DEFAULTS, epochs: 3, batchSize: 256, progress: false, optimizer: { type: 'adam', lr: 3e-3 }, seed: 5 },
      });
      const test = (await loadDataSource(out.featureMap, file('test'))) as InMemoryDataSource;
      const model = out.model as DeepMCP;
      const losses = model.subnetLosses(test.all);
      return { ...losses, matchAuc: auc(model.matchLogits(test.all), test.all.labels.label!), ctrAuc: out.test!.auc };
    };
    const trained = await run(1);
    const control = await run(0);
    const report = `α=β=1 ${JSON.stringify(trained)}; α=β=0 ${JSON.stringify(control)}`;
    assert.ok(trained.matchAuc > 0.6 && trained.matchAuc > control.matchAuc + 0.05, `matching subnet not trained: ${report}`);
    assert.ok(trained.match < control.match - 0.02, `matching loss did not fall: ${report}`);
    assert.ok(trained.correlation < control.correlation - 0.2, `correlation (skip-gram) loss did not fall: ${report}`);
    assert.ok(trained.ctrAuc > 0.6, `prediction subnet did not learn: ${report}`);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
