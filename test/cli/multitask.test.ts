import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auc } from '../../src/metrics/auc.js';
import { runCli as cli, lastJson } from '../support/cli.js';

/** Columns of a headed CSV by name (values as strings). */
function csvColumns(path: string): Record<string, string[]> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const names = head!.split(',');
  const out: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, [] as string[]]));
  for (const r of rows) r.split(',').forEach((v, i) => out[names[i]!]!.push(v));
  return out;
}

test('two tasks through the CLI: train with tasks (one masked by where), per-task metrics, artifact, eval and predict columns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-mt-'));
  try {
    const g = cli(['gen', 'multitask', '--out', join(dir, 'data'), '--rows', '8000', '--seed', '5']);
    assert.equal(g.code, 0, g.stderr);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => `data/${meta.splits[s]!.file}`;
    const config = {
      data: { train: file('train'), valid: file('valid'), test: file('test'), schema: 'data/schema.json' },
      model: 'shared_bottom',
      model_options: { embedding_dim: 8, bottom_hidden_units: [32], tower_hidden_units: [16] },
      tasks: [
        { name: 'ctr', label: 'click' },
        { name: 'cvr', label: 'conversion', where: 'click', weight: 0.5 },
      ],
      train: { epochs: 2, batch_size: 256, monitor_task: 'mean', optimizer: { type: 'adam', lr: 0.005 } },
      output: 'mt.frk',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = lastJson(t.stdout);
    for (const k of ['valid_auc_ctr', 'valid_auc_cvr', 'test_auc_ctr', 'test_logloss_ctr', 'test_auc_cvr', 'test_logloss_cvr']) {
      assert.equal(typeof r[k], 'number', `${k} missing: ${t.stdout}`);
    }
    assert.ok((r.test_auc_ctr as number) > 0.55, `CTR AUC ${r.test_auc_ctr}`);
    assert.equal(r.test_auc, r.test_auc_ctr, "test_auc is the first task's");

    const testFile = join(dir, file('test'));
    const p = cli(['predict', join(dir, 'mt.frk'), '--data', testFile, '--out', join(dir, 'p.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const pred = csvColumns(join(dir, 'p.csv'));
    assert.deepEqual(Object.keys(pred), ['ctr', 'cvr']);
    const truth = csvColumns(testFile);
    assert.equal(pred.ctr!.length, truth.click!.length);
    // The cvr task counts only clicked rows: its AUC is the AUC over rows with click = 1.
    const clicked = truth.click!.map((v, i) => (v === '1' ? i : -1)).filter((i) => i >= 0);
    const cvrAuc = auc(
      clicked.map((i) => Number(pred.cvr![i])),
      clicked.map((i) => Number(truth.conversion![i])),
    );
    assert.ok(Math.abs(cvrAuc - (r.test_auc_cvr as number)) < 1e-4, `cvr AUC over clicked rows ${cvrAuc} vs reported ${r.test_auc_cvr}`);
    const allRowsAuc = auc(pred.cvr!.map(Number), truth.conversion!.map(Number));
    assert.notEqual(allRowsAuc.toFixed(6), cvrAuc.toFixed(6), 'the where-mask changes which rows count');

    const e = cli(['eval', join(dir, 'mt.frk'), '--data', testFile, '--json']);
    assert.equal(e.code, 0, e.stderr);
    const er = lastJson(e.stdout) as { tasks: Record<string, { auc: number }> };
    assert.ok(Math.abs(er.tasks.ctr!.auc - (r.test_auc_ctr as number)) < 1e-9);
    assert.ok(Math.abs(er.tasks.cvr!.auc - (r.test_auc_cvr as number)) < 1e-9);
    const text = cli(['eval', join(dir, 'mt.frk'), '--data', testFile]);
    assert.match(text.stdout, /task ctr:[\s\S]*task cvr:/);

    // A single-task model refuses two tasks, naming the multi-task models.
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, model: 'deepfm', model_options: {} }));
    const bad = cli(['train', '--config', join(dir, 'bad.json')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /model 'deepfm' predicts one task, but 2 are configured \(ctr, cvr\); multi-task models: shared_bottom/);
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ ...config, tasks: [{ name: 'ctr', label: 'clicks' }] }));
    assert.match(
      cli(['train', '--config', join(dir, 'bad2.json')]).stderr,
      /tasks\[0\]\.label must be a label column of the schema \(click, conversion\), got "clicks"/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
