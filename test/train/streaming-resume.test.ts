import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import { Trainer } from '../../src/train/trainer.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';
import { loadDataSource } from '../../src/data/load.js';
import type { DataSource } from '../../src/data/data-source.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import { StreamingDataSource } from '../../src/data/streaming/source.js';
import type { FeatureMap } from '../../src/features/featuremap.js';
import { fixtureSchema, makeRows, writeCsv } from '../data/fixtures.js';

const MODEL_OPTS = { embeddingDim: 4, embeddingInitStd: 0.01, dnnHiddenUnits: [16], dnnDropout: 0.1, batchNorm: false };
const OPTS: TrainOptions = { ...TRAIN_DEFAULTS, epochs: 3, batchSize: 64, progress: false, optimizer: { type: 'adam', lr: 3e-3 } };

async function data(): Promise<{ dir: string; train: string; valid: string; fm: FeatureMap }> {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-stream-resume-'));
  const train = join(dir, 'train.csv'),
    valid = join(dir, 'valid.csv');
  writeCsv(train, makeRows(900, 11));
  writeCsv(valid, makeRows(300, 12));
  return { dir, train, valid, fm: await fitFeatureMap(train, fixtureSchema()) };
}

async function fit(fm: FeatureMap, train: DataSource, valid: DataSource, opts: TrainOptions, initSeed = 21, afterStep?: (s: number) => void) {
  const rng = new Rng(initSeed);
  const model = createModel('deepfm', { spec: fm.featureSpec(), rng }, MODEL_OPTS);
  const res = await new Trainer(model, opts, 'click', afterStep ? { afterStep } : {}, [rng]).fit(train, valid);
  return { model, res };
}

test('a killed streaming run resumes exactly (same weights as the uninterrupted run), with and without the cache', async () => {
  const { dir, train, valid, fm } = await data();
  try {
    for (const cache of [false, true]) {
      const src = () => ({
        train: new StreamingDataSource(train, fm, { shuffleWindow: 200, blockBytes: 4096, cacheDir: cache ? join(dir, 'cache') : null }),
        valid: new StreamingDataSource(valid, fm, { cacheDir: cache ? join(dir, 'cache') : null }),
      });
      const a = src();
      const full = await fit(fm, a.train, a.valid, OPTS);
      const ckpt = join(dir, `ckpt-${cache}`);
      const opts = { ...OPTS, checkpointDir: ckpt, checkpointEverySteps: 5 };
      const killAt = 22; // epoch 2 of 3 (15 steps per epoch), mid-epoch, after the checkpoint at step 20
      const b = src();
      await assert.rejects(
        fit(fm, b.train, b.valid, opts, 21, (s) => {
          if (s === killAt) throw new Error('simulated crash');
        }),
        /simulated crash/,
      );
      const c = src(); // a fresh process: new sources, new model with another init seed
      const resumed = await fit(fm, c.train, c.valid, opts, 999);
      assert.equal(resumed.res.steps, full.res.steps);
      if (cache) assert.equal(c.train.lastOrigin, 'cache', 'the resumed run reads the cache written before the crash');
      for (const [k, v] of full.model.stateDict())
        assert.deepEqual(resumed.model.stateDict().get(k), v, `weights of ${k} differ after resume (cache ${cache})`);
      assert.deepEqual(
        resumed.res.history.map((h) => h.valid?.auc),
        full.res.history.map((h) => h.valid?.auc),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('streaming with a window ≥ the file trains exactly as in memory (same weights, same validation AUCs)', async () => {
  const { dir, train, valid, fm } = await data();
  try {
    const mem = await fit(fm, await loadDataSource(fm, train), await loadDataSource(fm, valid), OPTS);
    const str = await fit(
      fm,
      new StreamingDataSource(train, fm, { shuffleWindow: 900, cacheDir: join(dir, 'c') }),
      new StreamingDataSource(valid, fm, { cacheDir: null }),
      OPTS,
    );
    for (const [k, v] of mem.model.stateDict()) assert.deepEqual(str.model.stateDict().get(k), v, `weights of ${k}`);
    assert.deepEqual(
      str.res.history.map((h) => h.valid?.auc),
      mem.res.history.map((h) => h.valid?.auc),
    );
    // A smaller window gives another (still seeded) order, hence other weights: the test above can fail.
    const other = await fit(
      fm,
      new StreamingDataSource(train, fm, { shuffleWindow: 100, cacheDir: null }),
      new StreamingDataSource(valid, fm, { cacheDir: null }),
      OPTS,
    );
    assert.notDeepEqual(other.model.stateDict(), mem.model.stateDict());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the trainer reports the time it waited for batches: a source that sleeps before each batch shows up in dataWaitSeconds', async () => {
  const { dir, train, valid, fm } = await data();
  try {
    const mem = await loadDataSource(fm, train);
    const opts = { ...OPTS, epochs: 1 };
    const quick = await fit(fm, mem, await loadDataSource(fm, valid), opts);
    const sleepMs = 25;
    const slow: DataSource = {
      rows: mem.rows,
      async *batches(o) {
        for await (const b of mem.batches(o)) {
          await new Promise((r) => setTimeout(r, sleepMs));
          yield b;
        }
      },
    };
    const waited = await fit(fm, slow, await loadDataSource(fm, valid), opts);
    const steps = waited.res.steps; // 900 rows / 64 = 15 batches
    assert.equal(steps, 15);
    // Timers never fire early by more than a millisecond: at least 24 ms per batch was waited.
    assert.ok(waited.res.dataWaitSeconds >= (steps * (sleepMs - 1)) / 1000, `waited ${waited.res.dataWaitSeconds} s`);
    assert.ok(waited.res.dataWaitSeconds > quick.res.dataWaitSeconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
