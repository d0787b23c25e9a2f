import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../support/cli.js';

/**
 * `train.recalibrate: intercept` through the CLI: a model trained on an importance-weighted
 * negative-downsampled file gets one logit shift fitted on the validation split, stored in the
 * artifact and applied by `eval` (mean prediction = observed rate on that split), while the
 * ranking (AUC) is the unrecalibrated model's; weighted sampling under Adam without it is warned
 * about; refused without a validation split, for an
 * unknown value.
 */
test('train.recalibrate intercept: shift fitted on validation, stored in the artifact, applied by eval; AUC unchanged; warning; refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-recalibrate-'));
  try {
    assert.equal(cli(['gen', 'criteo-small', '--out', join(dir, 'd'), '--rows', '20000', '--seed', '4']).code, 0);
    const base = {
      data: { train: 'd/train.csv', valid: 'd/valid.csv', test: 'd/test.csv', schema: 'd/schema.json' },
      model: 'lr',
      sampling: { label: 'label', seed: 3, rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }] },
    };
    const train = (name: string, extra: Record<string, unknown>, data: Record<string, unknown> = {}) => {
      const cfg = {
        ...base,
        data: { ...base.data, ...data },
        output: `${name}.frk`,
        train: { epochs: 3, batch_size: 256, seed: 1, progress: false, ...extra },
      };
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(cfg));
      return cli(['train', '--config', join(dir, `${name}.json`), '--json']);
    };
    const evalOn = (name: string, split: string) => {
      const e = cli(['eval', join(dir, `${name}.frk`), '--data', join(dir, 'd', `${split}.csv`), '--json']);
      assert.equal(e.code, 0, e.stderr);
      return JSON.parse(e.stdout) as { auc: number; meanPrediction: number; positiveRate: number };
    };
    const plain = train('plain', {});
    assert.equal(plain.code, 0, plain.stderr);
    const rec = train('rec', { recalibrate: 'intercept' });
    assert.equal(rec.code, 0, rec.stderr);
    // Weighted sampling under Adam without recalibration is warned about; with it, not.
    assert.match(
      plain.stderr,
      /warning: sampling: negative_downsample corrected by importance weights under optimizer adam and embedding_optimizer lazy_adam/,
    );
    assert.doesNotMatch(rec.stderr, /warning: sampling/);
    const m = /recalibrate intercept: logit shift (-?[0-9.]+) on (\d+) validation rows/.exec(rec.stderr);
    assert.ok(m !== null, rec.stderr);
    assert.ok(readFileSync(join(dir, 'rec.frk')).includes('"logitOffset":{"label":'), 'the artifact stores the shift');
    const pv = evalOn('plain', 'valid'),
      rv = evalOn('rec', 'valid');
    // Three epochs of Adam on the weighted sample leave the plain model off on validation; the recalibrated one is exact there.
    assert.ok(Math.abs(pv.meanPrediction / pv.positiveRate - 1) > 0.01, `plain model already calibrated: ${JSON.stringify(pv)}`);
    assert.ok(Math.abs(rv.meanPrediction / rv.positiveRate - 1) < 1e-4, JSON.stringify(rv));
    // predict (the servers' scoreBatch path) applies it too: its scores average to the validation rate.
    const pr = cli(['predict', join(dir, 'rec.frk'), '--data', join(dir, 'd', 'valid.csv')]);
    assert.equal(pr.code, 0, pr.stderr);
    const scores = pr.stdout.trim().split('\n').slice(1).map(Number);
    const meanScore = scores.reduce((a, b) => a + b, 0) / scores.length;
    assert.ok(Math.abs(meanScore / rv.positiveRate - 1) < 1e-4, `predict mean ${meanScore} vs ${rv.positiveRate}`);
    // Same sample, seed and training: the shift changes no ranking.
    const pt = evalOn('plain', 'test'),
      rt = evalOn('rec', 'test');
    assert.ok(Math.abs(pt.auc - rt.auc) < 1e-6, `AUC ${pt.auc} vs ${rt.auc}`);
    assert.notEqual(pt.meanPrediction, rt.meanPrediction);

    const noValid = train('novalid', { recalibrate: 'intercept' }, { valid: null });
    assert.notEqual(noValid.code, 0);
    assert.match(noValid.stderr, /recalibrate: 'intercept' fits the shift on the validation split/);
    const bogus = train('bogus', { recalibrate: 'platt' });
    assert.notEqual(bogus.code, 0);
    assert.match(bogus.stderr, /recalibrate must be 'none' or 'intercept', got 'platt'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
