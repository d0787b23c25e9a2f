import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateFieldCtr, type FieldCtrSpec } from '../../src/data/synth/criteo.js';
import { loadSchema } from '../../src/features/schema.js';
import { trainOnFiles } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { acceptedOptions, resolveModelOptions } from '../../src/models/registry.js';
import { splitFiles } from '../../src/data/synth/common.js';

/**
 * Learnability on data whose logit needs pairwise interactions: 6 categorical fields of 40
 * values, all 15 field pairs interacting through hidden 3-dimensional factors, plus
 * first-order weights. LR can only fit the first-order part; FM, DeepFM and DCN have the
 * mechanism. The oracle (true probabilities) is the ceiling.
 */
const FIELDS = ['a', 'b', 'c', 'd', 'e', 'f'];
const SPEC: FieldCtrSpec = {
  preset: 'pairwise-test',
  description: 'learnability test: 6 fields × 40 values, all pairs interacting',
  label: 'click',
  numeric: [],
  categorical: FIELDS.map((name) => ({ name, vocab: 40, zipf: 0.3, missing: 0, firstOrderStd: 0.3 })),
  hiddenDim: 3,
  pairs: FIELDS.flatMap((a, i) => FIELDS.slice(i + 1).map((b) => ({ a, b, strength: 0.45 }))),
  triples: [],
  targetRate: 0.3,
  valueStyle: 'int',
  splitFractions: [0.8, 0.1, 0.1],
};

const TRAIN = { ...TRAIN_DEFAULTS, epochs: 12, batchSize: 256, progress: false, optimizer: { type: 'adam' as const, lr: 2e-3 }, patience: 2 };
const MODEL = { embeddingDim: 8, embeddingInitStd: 0.01, dnnHiddenUnits: [64, 32], numCrossLayers: 2 };

test('FM, DeepFM and DCN beat LR on interaction data; the best comes within 0.01 of the oracle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-learn-'));
  try {
    const meta = generateFieldCtr(SPEC, { outDir: dir, rows: 100_000, seed: 7 });
    const schema = loadSchema(join(dir, meta.schemaFile));
    const oracle = meta.splits.test.oracle.click!.auc;
    const auc: Record<string, number> = {};
    for (const model of ['lr', 'fm', 'deepfm', 'dcn']) {
      const opts = acceptedOptions(model, MODEL);
      const out = await trainOnFiles({
        data: {
          ...splitFiles(dir, meta),
          onBadRow: 'error',
        },
        schema,
        label: null,
        model,
        modelOptions: resolveModelOptions(model, opts),
        train: TRAIN,
      });
      auc[model] = out.test!.auc;
    }
    const report = `test AUC ${JSON.stringify(auc)}, oracle ${oracle.toFixed(4)}`;
    for (const m of ['fm', 'deepfm', 'dcn']) assert.ok(auc[m]! > auc.lr! + 0.03, `${m} does not beat LR by 0.03: ${report}`);
    const best = Math.max(auc.fm!, auc.deepfm!, auc.dcn!);
    assert.ok(best > oracle - 0.01, `best model is more than 0.01 below the oracle: ${report}`);
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
