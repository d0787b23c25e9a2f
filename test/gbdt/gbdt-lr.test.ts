import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/engine/random.js';
import { validateSchema, type Schema } from '../../src/features/schema.js';
import { trainOnFiles, type TrainJob } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { loadArtifact, saveArtifact } from '../../src/serve/artifact.js';
import { scoreFile } from '../../src/serve/score.js';
import { noGrad } from '../../src/engine/tensor.js';
import type { GbdtModel } from '../../src/gbdt/model.js';
import { runCli as cli } from '../support/cli.js';

/**
 * Data whose logit needs both mechanisms of GBDT+LR: threshold interactions of numeric
 * features (a XOR-like cell of a and b, a step in c: trees find them, a linear model cannot)
 * plus a random effect per value of a 1500-value id (a per-id weight: LR learns it, trees over
 * ordered ids cannot), with 20% of a missing.
 */
function writeData(dir: string, seed: number): Record<string, unknown> {
  const rng = new Rng(seed);
  const V = 1500;
  const effect = Float64Array.from({ length: V }, () => rng.normal());
  const split = (name: string, rows: number) => {
    const lines = ['click,a,b,c,id'];
    for (let r = 0; r < rows; r++) {
      const a = rng.normal(),
        b = rng.normal(),
        c = rng.normal(),
        id = rng.int(V);
      const z = 1.6 * (a > 0 !== b > 0.5 ? 1 : -1) + 1.2 * Number(c < -0.5) + 1.2 * effect[id]! - 1;
      const y = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      lines.push(`${y},${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},u${id}`);
    }
    writeFileSync(join(dir, `${name}.csv`), `${lines.join('\n')}\n`);
  };
  split('train', 40_000);
  split('valid', 8_000);
  split('test', 10_000);
  return {
    dataset: { format: 'csv', header: true },
    columns: [
      { name: 'click', role: 'label' },
      { name: 'a', role: 'dense', transform: ['standardize'] },
      { name: 'b', role: 'dense', transform: ['standardize'] },
      { name: 'c', role: 'dense', transform: ['standardize'] },
      { name: 'id', role: 'sparse' },
    ],
  };
}

const TREES = { nEstimators: 40, maxDepth: 4, learningRate: 0.3 };
const TRAIN = { ...TRAIN_DEFAULTS, epochs: 6, batchSize: 256, progress: false, optimizer: { type: 'adam' as const, lr: 0.02 }, patience: 1 };

function job(dir: string, schema: Schema, model: string, opts: Record<string, unknown>): TrainJob {
  return {
    data: { train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), test: join(dir, 'test.csv'), onBadRow: 'error' },
    schema,
    label: null,
    model,
    modelOptions: resolveModelOptions(model, opts),
    train: TRAIN,
  };
}

test('GBDT+LR beats LR alone and the booster alone on threshold interactions + an id effect; artifacts predict identically after save/load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-gbdt-'));
  try {
    const schema = validateSchema(writeData(dir, 12), 'test schema');
    const lr = await trainOnFiles(job(dir, schema, 'lr', {}));
    const gbdt = await trainOnFiles(job(dir, schema, 'gbdt', TREES));
    const hybrid = await trainOnFiles(job(dir, schema, 'gbdt_lr', TREES));
    const auc = { lr: lr.test!.auc, gbdt: gbdt.test!.auc, gbdt_lr: hybrid.test!.auc };
    const report = `test AUC ${JSON.stringify(auc)}`;
    assert.ok(auc.gbdt_lr > auc.lr + 0.02, `GBDT+LR does not beat LR by 0.02: ${report}`);
    assert.ok(auc.gbdt_lr > auc.gbdt + 0.02, `GBDT+LR does not beat the booster by 0.02: ${report}`);
    console.log(report);

    // Save → load → score the test file: the same probabilities, bit for bit, and the same metrics.
    for (const out of [gbdt, hybrid]) {
      const path = join(dir, `${out.model.modelName}.frk`);
      saveArtifact(path, out.model, {
        modelOptions: out.modelOptions!,
        inputSpec: out.spec,
        label: out.label,
        tasks: out.tasks,
        featureMap: out.featureMap.toJSON(),
        negativeSampleRate: 1,
        training: {},
      });
      const art = loadArtifact(path);
      const testBatch = (await import('../../src/data/load.js')).encodeFile(out.featureMap, join(dir, 'test.csv'));
      const b = await testBatch;
      out.model.eval();
      const before = noGrad(() => (out.model as GbdtModel).forward(b)).data;
      const after = noGrad(() => (art.model as GbdtModel).forward(b)).data;
      assert.deepEqual(Array.from(after), Array.from(before), `${out.model.modelName}: logits differ after save/load`);
      const scored = await scoreFile(art, join(dir, 'test.csv'));
      assert.equal(scored.probs.length, 10_000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: train --model gbdt_lr / gbdt → eval, predict, info on the artifact; bad options are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-gbdt-cli-'));
  try {
    const schema = writeData(dir, 5);
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
    const config = {
      data: { train: 'train.csv', valid: 'valid.csv', test: 'test.csv', schema: 'schema.json' },
      model: 'gbdt_lr',
      model_options: {
        n_estimators: 12,
        max_depth: 3,
        grow_policy: 'lossguide',
        max_leaves: 6,
        early_stopping_rounds: 3,
        second_model_options: ['embedding_init_std=0.001'],
      },
      train: { epochs: 2, batch_size: 1024 },
      output: 'model.frk',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json', '--quiet']);
    assert.equal(t.code, 0, t.stderr);
    const r = JSON.parse(t.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    assert.equal(r.model, 'gbdt_lr');
    assert.ok((r.trees as number) >= 1 && (r.trees as number) <= 12);
    assert.ok((r.leaves as number) <= 6 * (r.trees as number));

    const e = cli(['eval', join(dir, 'model.frk'), '--data', join(dir, 'test.csv'), '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.equal((JSON.parse(e.stdout) as { auc: number }).auc, r.test_auc, 'eval of the artifact reproduces the training-time test AUC');

    const p = cli(['predict', join(dir, 'model.frk'), '--data', join(dir, 'test.csv'), '--out', join(dir, 'scores.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const scores = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
    assert.equal(scores.length, 10_001);
    assert.ok(scores.slice(1).every((s) => Number(s) > 0 && Number(s) < 1));

    const i = cli(['info', join(dir, 'model.frk'), '--json']);
    assert.equal(i.code, 0, i.stderr);
    const info = JSON.parse(i.stdout) as {
      model: string;
      trees: { trees: number; leaves: { total: number; max: number }; topFeatures: Array<{ feature: string; splits: number }> };
    };
    assert.equal(info.model, 'gbdt_lr');
    assert.equal(info.trees.trees, r.trees);
    assert.equal(info.trees.leaves.total, r.leaves);
    assert.ok(info.trees.leaves.max <= 6);
    assert.ok(['a', 'b', 'c'].includes(info.trees.topFeatures[0]!.feature), `top feature ${info.trees.topFeatures[0]!.feature}`);
    const text = cli(['info', join(dir, 'model.frk')]);
    assert.match(text.stdout, /trees +\d+\ndepth +min \d+, mean [\d.]+, max \d+\nleaves/);

    const g = cli([
      'train',
      '--schema',
      join(dir, 'schema.json'),
      '--train',
      join(dir, 'train.csv'),
      '--test',
      join(dir, 'test.csv'),
      '--model',
      'gbdt',
      '--json',
      '--quiet',
    ]);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout.trim().split('\n').pop()!).trees, 100);

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, model_options: { n_estimators: 5, reg_alpha: 1 } }));
    const bad = cli(['train', '--config', join(dir, 'bad.json')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /no option 'regAlpha'/);
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ ...config, model_options: { grow_policy: 'symmetric' } }));
    const bad2 = cli(['train', '--config', join(dir, 'bad2.json')]);
    assert.notEqual(bad2.code, 0);
    assert.match(bad2.stderr, /grow_policy' must be depthwise or lossguide/);
    assert.throws(() => resolveModelOptions('gbdt', { nEstimators: '5' }), /option 'nEstimators' must be a number/);
    writeFileSync(join(dir, 'bad3.json'), JSON.stringify({ ...config, model_options: { objective: 'reg:squarederror' } }));
    const bad3 = cli(['train', '--config', join(dir, 'bad3.json')]);
    assert.notEqual(bad3.code, 0);
    assert.match(bad3.stderr, /only objective binary:logistic is supported here/);
    // A varlen field: the trees refuse it (it can only feed gbdt_lr's second model).
    writeFileSync(join(dir, 'tags.csv'), 'click,a,tags\n1,0.5,x|y\n0,1.5,y\n1,0.1,z\n');
    writeFileSync(
      join(dir, 'tags.json'),
      JSON.stringify({
        data: {
          train: 'tags.csv',
          schema: {
            dataset: { format: 'csv', header: true },
            columns: [
              { name: 'click', role: 'label' },
              { name: 'a', role: 'dense' },
              { name: 'tags', role: 'varlen', maxLen: 3 },
            ],
          },
        },
        model: 'gbdt',
      }),
    );
    const vl = cli(['train', '--config', join(dir, 'tags.json')]);
    assert.notEqual(vl.code, 0);
    assert.match(vl.stderr, /varlen\/sequence fields \(tags\) are supported only as inputs of gbdt_lr's second model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
