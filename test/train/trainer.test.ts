import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import { InMemoryDataSource } from '../../src/data/data-source.js';
import { Trainer, evaluateModel } from '../../src/train/trainer.js';
import { calibratedProbabilities } from '../../src/metrics/calibration.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';
import { pairwiseDataset } from '../support/synthetic-batch.js';

const MODEL_OPTS = { embeddingDim: 4, embeddingInitStd: 0.01, dnnHiddenUnits: [16, 16], dnnDropout: 0.1, batchNorm: true };

function setup(seed = 21) {
  const { spec, batch } = pairwiseDataset(3000, 1);
  const valid = new InMemoryDataSource(pairwiseDataset(1000, 2).batch);
  const rng = new Rng(seed);
  const model = createModel('deepfm', { spec, rng }, MODEL_OPTS);
  return { model, rng, train: new InMemoryDataSource(batch), valid };
}

const OPTS: TrainOptions = { ...TRAIN_DEFAULTS, epochs: 3, batchSize: 128, progress: false, optimizer: { type: 'adam', lr: 3e-3 } };

test('a run killed mid-epoch and resumed from its checkpoint ends with the same weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-resume-'));
  try {
    const a = setup();
    await new Trainer(a.model, OPTS, 'click', {}, [a.rng]).fit(a.train, a.valid);

    const b = setup();
    const killAt = 30; // epoch 2 of 3 (24 steps per epoch), mid-epoch
    const opts = { ...OPTS, checkpointDir: dir, checkpointEverySteps: 7 };
    await assert.rejects(
      new Trainer(
        b.model,
        opts,
        'click',
        {
          afterStep: (s) => {
            if (s === killAt) throw new Error('simulated crash');
          },
        },
        [b.rng],
      ).fit(b.train, b.valid),
      /simulated crash/,
    );
    // A fresh process: new model object (different init seed: the checkpoint must override it).
    const c = setup(999);
    const res = await new Trainer(c.model, opts, 'click', {}, [c.rng]).fit(c.train, c.valid);
    assert.equal(res.steps, 72);
    const wa = a.model.stateDict(),
      wc = c.model.stateDict();
    for (const [k, v] of wa) assert.deepEqual(wc.get(k), v, `weights of ${k} differ after resume`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('learning rate decays ×0.1 on each non-improving evaluation and training stops after patience', async () => {
  const noise = pairwiseDataset(2000, 5, { signal: 0 });
  const validNoise = new InMemoryDataSource(pairwiseDataset(500, 6, { signal: 0 }).batch);
  const rng = new Rng(3);
  const model = createModel('fm', { spec: noise.spec, rng }, { embeddingDim: 4, embeddingInitStd: 0.01 });
  const res = await new Trainer(model, { ...OPTS, epochs: 30, evalEverySteps: 4, patience: 3 }, 'click', {}, [rng]).fit(
    new InMemoryDataSource(noise.batch),
    validNoise,
  );
  let lr = OPTS.optimizer.lr,
    bad = 0,
    best = -Infinity;
  for (const h of res.history) {
    const auc = h.valid!.auc;
    const improved = auc > best + OPTS.minDelta;
    assert.equal(h.improved, improved, `step ${h.step}: improved flag`);
    if (improved) {
      best = auc;
      bad = 0;
    } else {
      bad++;
      lr = Math.max(lr * 0.1, OPTS.minLr);
    }
    assert.ok(Math.abs(h.lr - lr) <= 1e-12, `step ${h.step}: lr ${h.lr}, expected ${lr}`);
  }
  assert.equal(res.stoppedEarly, true, 'noise labels must trigger early stopping');
  assert.equal(bad, 3);
  assert.equal(res.bestMetric, best);
});

test('best weights are restored at the end', async () => {
  const a = setup();
  const res = await new Trainer(a.model, { ...OPTS, epochs: 4 }, 'click', {}, [a.rng]).fit(a.train, a.valid);
  const r = await evaluateModel(a.model, a.valid, 'click');
  assert.ok(Math.abs(r.auc - res.bestMetric) < 1e-12, `restored AUC ${r.auc} vs best ${res.bestMetric}`);
});

test('negative-downsampling recalibration p = p′/(p′ + (1−p′)/w)', () => {
  const logits = Float32Array.of(0, Math.log(3));
  const p = calibratedProbabilities(logits, 0.1);
  // p′ = 0.5 → 0.5 / (0.5 + 5) = 1/11; p′ = 0.75 → 0.75 / (0.75 + 2.5) = 3/13
  assert.ok(Math.abs(p[0]! - 1 / 11) < 1e-7);
  assert.ok(Math.abs(p[1]! - 3 / 13) < 1e-7);
  assert.ok(Math.abs(calibratedProbabilities(logits, 1)[1]! - 0.75) < 1e-7);
});
