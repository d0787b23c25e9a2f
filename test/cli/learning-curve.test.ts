import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningCurveLines } from '../../src/cli/learning-curve.js';
import { runCli as cli, lastJson } from '../support/cli.js';

test('learning curve: bar lengths follow the AUCs on the axis lowest − 0.01 … oracle + 0.002, oracle marked with |', () => {
  const lines = learningCurveLines(
    [
      { epoch: 1, auc: 0.75 },
      { epoch: 2, auc: 0.8 },
      { epoch: 3, auc: 0.832 },
    ],
    0.832,
    40,
  );
  assert.equal(lines.length, 4);
  assert.equal(lines[0], 'valid AUC per epoch (bars from 0.74; | = oracle 0.8320)');
  // Axis 0.74 … 0.834 over 40 cells: 0.75 → 4.26 cells, 0.80 → 25.5 cells, 0.832 → 39.15 cells; oracle column 39.
  const bars = lines.slice(1).map((l) => l.slice('epoch 1   0.7500  '.length));
  assert.equal(bars[0], '████▎' + ' '.repeat(34) + '|');
  assert.equal(bars[1], '█'.repeat(25) + '▌' + ' '.repeat(13) + '|');
  assert.equal(bars[2], '█'.repeat(39) + '▏'); // the bar covers the oracle column
  assert.match(lines[2]!, /^epoch 2   0\.8000  /);
  assert.deepEqual(learningCurveLines([], 0.8), []);
});

test('demo prints the learning curve (terminal) and the per-epoch valid AUCs with the valid oracle (--json)', () => {
  const d = cli(['demo', '--rows', '4000', '--epochs', '2']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /valid AUC per epoch \(bars from 0\.\d\d; \| = oracle 0\.\d{4}\)\nepoch 1 +0\.\d{4} .*\nepoch 2 +0\.\d{4} /);
  const j = lastJson(cli(['demo', '--rows', '4000', '--epochs', '2', '--json', '--quiet']).stdout);
  const aucs = j.valid_auc_per_epoch as number[];
  assert.equal(aucs.length, 2);
  for (const a of aucs) assert.ok(a > 0 && a < 1);
  assert.ok((j.valid_oracle_auc as number) > 0.7 && (j.valid_oracle_auc as number) < 1);
});
