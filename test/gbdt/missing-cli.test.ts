/**
 * Missing dense values through the CLI (`missing: keep`): the schema keeps them as NaN, the
 * booster learns where they go. The data's click rate depends on whether `x` is missing
 * (0.8) or not (0.2), and the observed values are spread symmetrically around 0, the default
 * fill value, so with one stump (n_estimators 1, max_depth 1) only a split on missingness
 * separates the rates: `keep` must reach the generating AUC, the default fill must not. The
 * kept model also has to carry NaN into `predict` (a missing row scores high, an x = 0 row
 * low), and a non-tree model must refuse a `keep` field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { runCli, lastJson } from '../support/cli.js';

function writeSplits(dir: string): void {
  const rng = new Rng(21);
  for (const [split, rows] of [
    ['train', 4000],
    ['test', 2000],
  ] as const) {
    const lines = ['click,x,z'];
    for (let r = 0; r < rows; r++) {
      const missing = rng.next() < 0.3;
      const x = missing ? '' : (rng.next() * 2 - 1).toFixed(3);
      const click = rng.next() < (missing ? 0.8 : 0.2) ? 1 : 0;
      lines.push(`${click},${x},${rng.normal().toFixed(3)}`);
    }
    writeFileSync(join(dir, `${split}.csv`), `${lines.join('\n')}\n`);
  }
}

const schema = (missing?: string) => ({
  columns: [
    { name: 'click', role: 'label' },
    { name: 'x', role: 'dense', ...(missing !== undefined ? { missing } : {}) },
    { name: 'z', role: 'dense', transform: ['standardize'], ...(missing !== undefined ? { missing } : {}) },
  ],
});

test('CLI: missing: keep lets the booster learn the missing direction; the default fill cannot; non-tree models refuse it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-gbdt-missing-'));
  try {
    writeSplits(dir);
    const train = (name: string, s: object, model = 'gbdt') => {
      writeFileSync(join(dir, `${name}.schema.json`), JSON.stringify(s));
      writeFileSync(
        join(dir, `${name}.json`),
        JSON.stringify({
          data: { train: 'train.csv', test: 'test.csv', schema: `${name}.schema.json` },
          model,
          model_options: model === 'gbdt' ? { n_estimators: 1, max_depth: 1, learning_rate: 1 } : {},
          train: { epochs: 1 },
          output: `${name}.frk`,
        }),
      );
      return runCli(['train', '--config', join(dir, `${name}.json`), '--json', '--quiet']);
    };
    const kept = train('keep', schema('keep'));
    assert.equal(kept.code, 0, kept.stderr);
    const filled = train('fill', schema());
    assert.equal(filled.code, 0, filled.stderr);
    const aucKeep = lastJson(kept.stdout).test_auc as number,
      aucFill = lastJson(filled.stdout).test_auc as number;
    // A split on missingness alone gives AUC ≈ 0.77 here (two scores: P(missing) 0.3, click rates 0.8 / 0.2);
    // the default fill (0, inside the observed range) lets one stump reach only ≈ 0.63.
    assert.ok(aucKeep > 0.72, `keep: test AUC ${aucKeep}`);
    assert.ok(aucKeep > aucFill + 0.1, `keep ${aucKeep} vs fill ${aucFill}`);

    // predict carries NaN to the trees: a missing x scores above an x of 0 (the fill value).
    writeFileSync(join(dir, 'rows.csv'), 'click,x,z\n0,,0\n0,0,0\n');
    const p = runCli(['predict', join(dir, 'keep.frk'), '--data', join(dir, 'rows.csv'), '--out', join(dir, 'scores.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const [missingScore, zeroScore] = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n').slice(1).map(Number);
    assert.ok(missingScore! > 0.6 && zeroScore! < 0.4, `missing ${missingScore}, x=0 ${zeroScore}`);

    const lr = train('lr', schema('keep'), 'lr');
    assert.notEqual(lr.code, 0);
    assert.match(lr.stderr, /missing: keep \(x, z\).*only the tree models/);

    writeFileSync(
      join(dir, 'bucket.schema.json'),
      JSON.stringify({
        columns: [
          { name: 'click', role: 'label' },
          { name: 'x', role: 'dense', missing: 'keep', transform: [{ bucketize: { quantiles: 4 } }] },
        ],
      }),
    );
    const b = train('bucket', JSON.parse(readFileSync(join(dir, 'bucket.schema.json'), 'utf8')) as object);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /columns\[1\]\.missing.*keep cannot be combined with bucketize/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
