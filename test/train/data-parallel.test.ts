import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import type { RankingModel } from '../../src/models/base.js';
import { EmbeddingTable, withoutInitialValues } from '../../src/embedding/table.js';
import { Trainer } from '../../src/train/trainer.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';
import { loadDataSource } from '../../src/data/load.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import type { FeatureMap } from '../../src/features/featuremap.js';
import type { Batch } from '../../src/features/batch.js';
import { singleTask } from '../../src/features/tasks.js';
import { backwardBatchLoss, shardScales } from '../../src/train/parallel/batch-loss.js';
import { DataParallelGroup, shardBounds } from '../../src/train/parallel/data-parallel.js';
import { shareModelStorage } from '../../src/train/parallel/shared-storage.js';
import { fixtureSchema, makeRows, writeCsv } from '../data/fixtures.js';
import { runCli as cli, lastJson } from '../support/cli.js';

// No dropout and no batch norm: the shards then compute exactly the terms of the whole batch.
const MODEL_OPTS = { embeddingDim: 4, embeddingInitStd: 0.05, dnnHiddenUnits: [16, 8], dnnDropout: 0, batchNorm: false };
const OPTS: TrainOptions = { ...TRAIN_DEFAULTS, epochs: 2, batchSize: 128, progress: false, optimizer: { type: 'adam', lr: 3e-3 } };
const TASKS = singleTask('click');

async function fixture(): Promise<{ dir: string; fm: FeatureMap; train: string; valid: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-dp-'));
  const train = join(dir, 'train.csv'),
    valid = join(dir, 'valid.csv');
  writeCsv(train, makeRows(1000, 31));
  writeCsv(valid, makeRows(300, 32));
  return { dir, fm: await fitFeatureMap(train, fixtureSchema()), train, valid };
}

function model(fm: FeatureMap, opts: Record<string, unknown> = MODEL_OPTS): RankingModel {
  return createModel('deepfm', { spec: fm.featureSpec(), rng: new Rng(5) }, opts);
}

const recipe = (fm: FeatureMap, opts: Record<string, unknown> = MODEL_OPTS) => ({
  model: 'deepfm',
  spec: fm.featureSpec(),
  modelOptions: opts,
  seed: 7,
});

/** Dense gradients by name and row gradients by table → id, copied. */
function gradients(m: RankingModel): { dense: Map<string, Float32Array>; rows: Map<string, Map<number, Float32Array>> } {
  const dense = new Map<string, Float32Array>();
  for (const [n, p] of m.namedParameters()) dense.set(n, p.grad === null ? new Float32Array(p.size) : p.grad.slice());
  const rows = new Map<string, Map<number, Float32Array>>();
  for (const [n, t] of m.namedEmbeddings()) {
    const table = t as EmbeddingTable,
      g = table.sparseGrad(),
      byId = new Map<number, Float32Array>();
    g.ids.forEach((id, i) => byId.set(id, g.values.slice(i * table.dim, (i + 1) * table.dim)));
    rows.set(n, byId);
  }
  return { dense, rows };
}

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('shardBounds and shardScales: contiguous shards; each task weighs its shard by its share of the batch weight', () => {
  assert.deepEqual(shardBounds(10, 3), [0, 3, 6, 10]);
  assert.deepEqual(shardBounds(1, 2), [0, 0, 1]);
  const batch: Batch = {
    size: 4,
    sparse: {},
    dense: {},
    varlen: {},
    labels: { click: Float32Array.of(1, 0, 1, 1), buy: Float32Array.of(0, 0, 1, 0) },
    weight: Float32Array.of(1, 2, 3, 4),
  };
  const tasks = [
    { name: 'ctr', label: 'click', weight: 1, where: null },
    { name: 'cvr', label: 'buy', weight: 1, where: 'click' },
  ];
  const s = shardScales(batch, tasks, [0, 2, 4]);
  // ctr: weights 1+2 of 10 and 3+4 of 10; cvr counts clicked rows only: 1 of 1+3+4 and 3+4 of 8.
  assert.deepEqual(
    s.map((x) => x.tasks),
    [
      [0.3, 1 / 8],
      [0.7, 7 / 8],
    ],
  );
  assert.deepEqual(
    s.map((x) => x.extra),
    [0.5, 0.5],
  );
});

test('a 2- and a 3-thread backward give the loss and gradients of the whole batch (dense and row-sparse)', async () => {
  const { dir, fm, train } = await fixture();
  try {
    const data = await loadDataSource(fm, train);
    let batch: Batch | null = null;
    for await (const b of data.batches({ batchSize: 301, shuffle: true, seed: 1, epoch: 0 })) {
      batch = b;
      break;
    }
    const ref = model(fm);
    const refLoss = backwardBatchLoss(ref, TASKS, batch!);
    const want = gradients(ref);
    for (const threads of [2, 3]) {
      const m = model(fm);
      const storage = shareModelStorage(m);
      const group = await DataParallelGroup.start(m, storage, recipe(fm), TASKS, threads);
      try {
        const loss = await group.backward(batch!);
        assert.ok(Math.abs(loss - refLoss) < 1e-6, `loss ${loss} vs ${refLoss}`);
        const got = gradients(m);
        for (const [n, g] of want.dense) assertClose(got.dense.get(n)!, g, 1e-5, `${threads} threads: grad of ${n}`);
        for (const [n, rows] of want.rows) {
          const mine = got.rows.get(n)!;
          assert.deepEqual(
            [...mine.keys()].sort((a, b) => a - b),
            [...rows.keys()].sort((a, b) => a - b),
            `${threads} threads: rows of ${n}`,
          );
          for (const [id, g] of rows) assertClose(mine.get(id)!, g, 1e-5, `${threads} threads: row ${id} of ${n}`);
        }
      } finally {
        await group.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function fitWith(fm: FeatureMap, train: string, valid: string, threads: number, modelOpts = MODEL_OPTS) {
  const m = model(fm, modelOpts);
  const t = new Trainer(m, { ...OPTS, threads }, 'click', {}, [], [], recipe(fm, modelOpts));
  const res = await t.fit(await loadDataSource(fm, train), await loadDataSource(fm, valid));
  return { state: m.stateDict(), res };
}

test('data-parallel training: two 2-thread runs give identical weights; 2 threads match 1 thread to float tolerance', async () => {
  const { dir, fm, train, valid } = await fixture();
  try {
    const one = await fitWith(fm, train, valid, 1);
    const a = await fitWith(fm, train, valid, 2);
    const b = await fitWith(fm, train, valid, 2);
    assert.equal(a.res.parallel?.threads, 2);
    assert.equal(one.res.parallel, null);
    for (const [k, v] of a.state) assert.deepEqual(b.state.get(k), v, `2-thread runs differ in ${k}`);
    for (const [k, v] of one.state) assertClose(a.state.get(k)!, v, 2e-4, `2 vs 1 thread: ${k}`);
    assert.ok(Math.abs(a.res.history.at(-1)!.valid!.auc - one.res.history.at(-1)!.valid!.auc) < 1e-3);
    // With dropout each thread draws its own masks: still reproducible for a fixed thread count.
    const withDropout = { ...MODEL_OPTS, dnnDropout: 0.2 };
    const c = await fitWith(fm, train, valid, 2, withDropout);
    const d = await fitWith(fm, train, valid, 2, withDropout);
    for (const [k, v] of c.state) assert.deepEqual(d.state.get(k), v, `2-thread runs with dropout differ in ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a killed 2-thread run with dropout resumes exactly: the workers' dropout generators are in the checkpoint", async () => {
  const { dir, fm, train, valid } = await fixture();
  try {
    const withDropout = { ...MODEL_OPTS, dnnDropout: 0.3 };
    const run = async (initSeed: number, opts: TrainOptions, afterStep?: (s: number) => void) => {
      const rng = new Rng(initSeed);
      const m = createModel('deepfm', { spec: fm.featureSpec(), rng }, withDropout);
      const t = new Trainer(m, opts, 'click', afterStep ? { afterStep } : {}, [rng], [], recipe(fm, withDropout));
      const res = await t.fit(await loadDataSource(fm, train), await loadDataSource(fm, valid));
      return { state: m.stateDict(), res };
    };
    const base: TrainOptions = { ...OPTS, threads: 2 };
    const full = await run(5, base);
    const ckpt = join(dir, 'ckpt');
    const opts: TrainOptions = { ...base, checkpointDir: ckpt, checkpointEverySteps: 5 };
    // 8 steps per epoch: killed at step 12 of epoch 2, after the checkpoint at step 10.
    await assert.rejects(
      run(5, opts, (s) => {
        if (s === 12) throw new Error('simulated crash');
      }),
      /simulated crash/,
    );
    // Another thread count cannot continue the run exactly: refused, checkpoint untouched.
    await assert.rejects(run(999, { ...opts, threads: 1 }), /written by a run with threads 2, this run has threads 1.*--threads 2/);
    await assert.rejects(run(999, { ...opts, threads: 3 }), /written by a run with threads 2, this run has threads 3/);
    const resumed = await run(999, opts); // a fresh process: another init seed, fresh workers
    assert.equal(resumed.res.steps, full.res.steps);
    for (const [k, v] of full.state) assert.deepEqual(resumed.state.get(k), v, `weights of ${k} differ after resume`);
    assert.deepEqual(
      resumed.res.history.map((h) => h.valid?.auc),
      full.res.history.map((h) => h.valid?.auc),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LazyAdam row updates split over the threads give the serial step bit for bit (2 and 3 threads)', async () => {
  const { dir, fm, train, valid } = await fixture();
  const prev = process.env.FINERANK_SPLIT_OPTIMIZER;
  try {
    assert.equal(OPTS.embeddingOptimizer.type, 'lazy_adam');
    for (const threads of [2, 3]) {
      delete process.env.FINERANK_SPLIT_OPTIMIZER;
      const split = await fitWith(fm, train, valid, threads);
      process.env.FINERANK_SPLIT_OPTIMIZER = '0';
      const serial = await fitWith(fm, train, valid, threads);
      assert.equal(split.res.parallel?.optimizerSplit, true, `${threads} threads: the split ran`);
      assert.equal(serial.res.parallel?.optimizerSplit, false, `${threads} threads: FINERANK_SPLIT_OPTIMIZER=0 keeps the serial step`);
      assert.ok(split.res.parallel!.optimizer > 0, 'the update is timed');
      // The training thread's share of the rows adapts away from the even 1/N cut, and any cut gives the same values.
      const share = split.res.parallel!.rowShare;
      assert.ok(share >= 0 && share <= 1 && share !== 1 / threads, `${threads} threads: row share ${share} adapted`);
      for (const [k, v] of serial.state) assert.deepEqual(split.state.get(k), v, `${threads} threads, split vs serial step: ${k}`);
    }
  } finally {
    if (prev === undefined) delete process.env.FINERANK_SPLIT_OPTIMIZER;
    else process.env.FINERANK_SPLIT_OPTIMIZER = prev;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data-parallel training refuses what it cannot do, with the reason', async () => {
  const { dir, fm } = await fixture();
  try {
    assert.throws(() => new Trainer(model(fm), { ...OPTS, threads: 2 }, 'click'), /needs the model's recipe/);
    assert.throws(() => new Trainer(model(fm), { ...OPTS, threads: 0 }, 'click'), /threads must be a positive integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finerank train --threads 2: trains end to end, reports the threads; bad values are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-dp-cli-'));
  try {
    const g = cli(['gen', 'criteo-small', '--out', join(dir, 'data'), '--rows', '2000', '--seed', '4']);
    assert.equal(g.code, 0, g.stderr);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'data/schema.json' },
        model: 'deepfm',
        model_options: { dnn_hidden_units: [16], embedding_dim: 4, dnn_dropout: 0 },
        train: { epochs: 1, batch_size: 256, seed: 3 },
      }),
    );
    const one = cli(['train', '--config', config, '--json', '--quiet']);
    assert.equal(one.code, 0, one.stderr);
    const two = cli(['train', '--config', config, '--threads', '2', '--json', '--quiet', '-o', join(dir, 'm.frk')]);
    assert.equal(two.code, 0, two.stderr);
    const a = lastJson(one.stdout),
      b = lastJson(two.stdout);
    assert.equal(a.train_threads, 1);
    assert.equal(b.train_threads, 2);
    assert.equal(typeof b.parallel_wait_seconds, 'number');
    if (process.platform === 'linux') assert.equal(typeof b.train_cpu_seconds, 'number');
    assert.ok(Math.abs((a.test_auc as number) - (b.test_auc as number)) < 1e-3, `test AUC ${String(a.test_auc)} vs ${String(b.test_auc)}`);
    const bad = cli(['train', '--config', config, '--threads', '0', '--quiet']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /'threads' must be a positive integer, got 0/);
    const treeConfig = join(dir, 'tree.json');
    writeFileSync(
      treeConfig,
      JSON.stringify({
        data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'data/schema.json' },
        model: 'gbdt',
        train: { threads: 2 },
      }),
    );
    const tree = cli(['train', '--config', treeConfig, '--quiet']);
    assert.notEqual(tree.code, 0);
    assert.match(tree.stderr, /train\.threads .* applies to the neural models; a tree model's threads are model_options\.n_jobs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('workers build their tables without initial values: zeros, no draws, no effect outside the call', () => {
  const rng = new Rng(3),
    ref = new Rng(3);
  const t = withoutInitialValues(() => new EmbeddingTable('t', 50, 4, { std: 0.1, rng }));
  assert.ok(
    t.weight.every((v) => v === 0),
    'all zeros',
  );
  assert.equal(rng.next(), ref.next(), 'the generator was not drawn from');
  const u = new EmbeddingTable('u', 50, 4, { std: 0.1, rng: new Rng(3) });
  assert.ok(
    u.weight.some((v) => v !== 0),
    'initialised again after the call',
  );
});
