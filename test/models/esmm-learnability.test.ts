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
 * ESMM on `gen multitask` data (click → conversion; attractive items convert worse): with
 * no loss on pCVR at all — only CTR and CTCVR over every impression — its CVR tower must
 * learn pCVR over the entire space: ranked against the generator's true pCVR it must be
 * far above chance, and above ESMM's own pCTCVR (which mixes in the click propensity,
 * negatively correlated with quality here), so the product really separated the factors.
 * Small vocabularies keep it a few seconds. (ESMM against a CVR model trained on clicks
 * only: `npm run bench:multitask`.)
 */
const SPEC = { ...MULTITASK_DEFAULTS, users: 300, items: 200, categories: 10 };
const TRAIN = {
  ...TRAIN_DEFAULTS,
  epochs: 6,
  batchSize: 256,
  progress: false,
  optimizer: { type: 'adam' as const, lr: 3e-3 },
  patience: 2,
  monitorTask: 'mean',
};

test('ESMM learns pCVR over the entire impression space from the CTR and CTCVR losses alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-esmm-'));
  try {
    const meta = generateMultitask(SPEC, { outDir: dir, rows: 30_000, seed: 11, withTruth: true });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const file = (s: 'train' | 'valid' | 'test') => join(dir, meta.splits[s].file);
    const truePcvr = readTruthColumn(file('test'), 'p_cvr');
    const out = await trainOnFiles({
      data: { train: file('train'), valid: file('valid'), test: file('test'), onBadRow: 'error' },
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
    const p = await predict(out.model, await loadDataSource(out.featureMap, file('test')));
    const ctcvrVsTruePcvr = softLabelAuc(p.probs.ctcvr!, truePcvr);
    const report = `ESMM ${JSON.stringify(r)}; its pCTCVR against the true pCVR ${ctcvrVsTruePcvr.toFixed(4)}; the true pCVR itself ${softLabelAuc(truePcvr, truePcvr).toFixed(4)}`;
    assert.ok(r.cvrAucEntireSpace > 0.65, `ESMM's pCVR ranks the impressions little better than chance: ${report}`);
    assert.ok(r.cvrAucEntireSpace > ctcvrVsTruePcvr + 0.05, `ESMM's pCVR is no better a CVR ranking than its pCTCVR: ${report}`);
    assert.ok(r.ctrAuc > meta.splits.test.oracle.click!.auc - 0.1, `ESMM CTR AUC far below the oracle: ${report}`);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
