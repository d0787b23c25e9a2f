import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMultitask, MULTITASK_DEFAULTS } from '../../src/data/synth/multitask.js';
import { readTruthColumn } from '../../src/data/synth/truth.js';
import { loadSchema } from '../../src/features/schema.js';
import { loadDataSource } from '../../src/data/load.js';
import { trainOnFiles } from '../../src/train/run.js';
import { predict } from '../../src/train/trainer.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { evaluateClickConversion } from '../../src/train/click-conversion.js';
import { softLabelAuc } from '../../src/metrics/click-conversion.js';

/**
 * ESMM on `gen multitask` data (click → conversion; the CVR shares item appeal and user
 * activity with the CTR, and low-CTR items are shown but rarely clicked): with no loss on
 * pCVR at all — only CTR and CTCVR over every impression — its CVR tower must learn pCVR over
 * the entire space, and rank it (against the generator's true pCVR) better than the paper's
 * BASE: the same CVR tower with its own embeddings trained on clicked rows only (Shared-Bottom
 * with the one task cvr where click). Small vocabularies keep it a few seconds; the full
 * table is `npm run bench:multitask`.
 */
const SPEC = { ...MULTITASK_DEFAULTS, users: 300, items: 400, categories: 10 };
const TRAIN = {
  ...TRAIN_DEFAULTS,
  epochs: 6,
  batchSize: 256,
  progress: false,
  optimizer: { type: 'adam' as const, lr: 3e-3 },
  patience: 2,
  monitorTask: 'mean',
};

test('ESMM learns pCVR over the entire impression space from the CTR and CTCVR losses alone, better than a CVR model trained on clicks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-esmm-'));
  try {
    const meta = generateMultitask(SPEC, { outDir: dir, rows: 30_000, seed: 11, withTruth: true });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const file = (s: 'train' | 'valid' | 'test') => join(dir, meta.splits[s].file);
    const truePcvr = readTruthColumn(file('test'), 'p_cvr');
    const data = { train: file('train'), valid: file('valid'), test: file('test'), onBadRow: 'error' as const };
    const out = await trainOnFiles({
      data,
      schema,
      label: null,
      model: 'esmm',
      train: TRAIN,
      modelOptions: resolveModelOptions('esmm', { embeddingDim: 8, embeddingInitStd: 0.01, towerHiddenUnits: [32] }),
      tasks: [
        { name: 'ctr', label: 'click', weight: 1, where: null },
        { name: 'ctcvr', label: 'conversion', weight: 1, where: null },
      ],
    });
    // The CLI-level report has the cvr output judged on clicked rows, next to the tasks.
    assert.deepEqual(Object.keys(out.testTasks!), ['ctr', 'ctcvr', 'cvr']);
    const r = await evaluateClickConversion(
      out.model,
      out.featureMap,
      file('test'),
      { ctr: 'ctr', cvr: 'cvr', ctcvr: 'ctcvr', click: 'click', conversion: 'conversion' },
      truePcvr,
    );
    assert.ok(Math.abs(r.cvrAucClicked - out.testTasks!.cvr!.auc) < 1e-9, 'the cvr output is judged on clicked rows');
    const base = await trainOnFiles({
      data,
      schema,
      label: null,
      model: 'shared_bottom',
      train: TRAIN,
      modelOptions: resolveModelOptions('shared_bottom', { embeddingDim: 8, embeddingInitStd: 0.01, bottomHiddenUnits: [], towerHiddenUnits: [32] }),
      tasks: [{ name: 'cvr', label: 'conversion', weight: 1, where: 'click' }],
    });
    const p = await predict(base.model, await loadDataSource(base.featureMap, file('test')));
    const baseEntire = softLabelAuc(p.probs.cvr!, truePcvr);
    const report = `ESMM ${JSON.stringify(r)}; clicks-only CVR over all impressions ${baseEntire.toFixed(4)}; the true pCVR itself ${softLabelAuc(truePcvr, truePcvr).toFixed(4)}`;
    assert.ok(r.cvrAucEntireSpace > 0.65, `ESMM's pCVR ranks the impressions little better than chance: ${report}`);
    assert.ok(r.cvrAucEntireSpace > baseEntire + 0.03, `ESMM's entire-space pCVR does not beat the clicks-only model: ${report}`);
    assert.ok(r.ctrAuc > meta.splits.test.oracle.click!.auc - 0.1, `ESMM CTR AUC far below the oracle: ${report}`);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
