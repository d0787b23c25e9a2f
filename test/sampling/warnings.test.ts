import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleFile } from '../../src/sampling/sampler.js';
import { samplingWarnings } from '../../src/sampling/train-hook.js';
import type { SamplingSpec } from '../../src/sampling/config.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';

const negWeight: SamplingSpec = { label: 'y', weight: 'w', seed: 1, rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'weight' }] };
const sgd: TrainOptions = { ...TRAIN_DEFAULTS, optimizer: { type: 'sgd', lr: 0.1 }, embeddingOptimizer: { type: 'sgd' } };

test('samplingWarnings: importance weights under adaptive optimizers without recalibrate; none for closed form, SGD or recalibrate', () => {
  const w = samplingWarnings(negWeight, TRAIN_DEFAULTS);
  assert.equal(w.length, 1);
  assert.match(
    w[0]!,
    /negative_downsample corrected by importance weights under optimizer adam and embedding_optimizer lazy_adam.*recalibrate: intercept.*closed_form/,
  );
  assert.deepEqual(samplingWarnings(negWeight, { ...TRAIN_DEFAULTS, recalibrate: 'intercept' }), []);
  assert.deepEqual(samplingWarnings(negWeight, sgd), []);
  assert.match(samplingWarnings(negWeight, { ...sgd, embeddingOptimizer: { type: 'adagrad' } })[0]!, /under embedding_optimizer adagrad/);
  const closed: SamplingSpec = { ...negWeight, rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' }] };
  assert.deepEqual(samplingWarnings(closed, TRAIN_DEFAULTS), []);
  const pop: SamplingSpec = {
    item: 'i',
    user: 'u',
    label: 'y',
    weight: 'w',
    seed: 1,
    rules: [{ kind: 'popularity_negatives', perPositive: 2, alpha: 0.75, itemColumns: [] }],
  };
  const pw = samplingWarnings(pop, TRAIN_DEFAULTS);
  assert.equal(pw.length, 1);
  assert.doesNotMatch(pw[0]!, /closed_form/, 'popularity negatives have no closed form to recommend');
});

test('hot_item: the sample reports its largest weight; weights above 10 draw the heavy-weight warning under any optimizer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-sample-warn-'));
  try {
    // Item a: 40 rows, item b: 2 rows; cap 2 keeps a's rows with probability 2/40 (weight 20), all of b's.
    const rows = ['item,y', ...Array.from({ length: 40 }, (_, i) => `a,${i % 2}`), 'b,0', 'b,1'];
    writeFileSync(join(dir, 'in.csv'), rows.join('\n') + '\n');
    const spec: SamplingSpec = { item: 'item', label: 'y', weight: 'w', seed: 3, rules: [{ kind: 'hot_item', cap: 2, correction: 'weight' }] };
    const r = await sampleFile(spec, join(dir, 'in.csv'), join(dir, 'out.csv'), { format: 'csv', onBadRow: 'error' });
    assert.ok(r.rowsOut > 2, `kept ${r.rowsOut}`);
    assert.ok(Math.abs(r.maxWeight - 20) < 1e-9, `max weight ${r.maxWeight}`);
    const w = samplingWarnings(spec, sgd, r.maxWeight);
    assert.equal(w.length, 1);
    assert.match(w[0]!, /hot_item weights reach 20\.0 .*correction: closed_form/);
    assert.deepEqual(samplingWarnings(spec, sgd, 10), [], 'a weight of 10 is not heavy');
    const closed: SamplingSpec = { ...spec, rules: [{ kind: 'hot_item', cap: 2, correction: 'closed_form' }] };
    const rc = await sampleFile(closed, join(dir, 'in.csv'), join(dir, 'out2.csv'), { format: 'csv', onBadRow: 'error' });
    assert.equal(rc.maxWeight, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
