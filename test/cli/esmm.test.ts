import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auc } from '../../src/metrics/auc.js';
import { runCli as cli, lastJson } from '../support/cli.js';

/** Columns of a headed CSV by name. */
function csvColumns(path: string): Record<string, number[]> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const names = head!.split(',');
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (const r of rows) r.split(',').forEach((v, i) => out[names[i]!]?.push(Number(v)));
  return out;
}

test('ESMM through the CLI: tasks ctr and ctcvr, the extra cvr output in train/eval metrics and predict columns; bad task lists refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-esmm-cli-'));
  try {
    assert.equal(cli(['gen', 'multitask', '--out', join(dir, 'data'), '--rows', '6000', '--seed', '3']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => `data/${meta.splits[s]!.file}`;
    const config = {
      data: { train: file('train'), valid: file('valid'), test: file('test'), schema: 'data/schema.json' },
      model: 'esmm',
      model_options: { embedding_dim: 8, tower_hidden_units: [16] },
      tasks: [
        { name: 'ctr', label: 'click' },
        { name: 'ctcvr', label: 'conversion' },
      ],
      train: { epochs: 1, batch_size: 256 },
      output: 'esmm.frk',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = lastJson(t.stdout);
    for (const k of ['test_auc_ctr', 'test_auc_ctcvr', 'test_auc_cvr', 'valid_auc_cvr', 'test_logloss_cvr'])
      assert.equal(typeof r[k], 'number', `${k} missing: ${t.stdout}`);

    const testFile = join(dir, file('test'));
    assert.equal(cli(['predict', join(dir, 'esmm.frk'), '--data', testFile, '--out', join(dir, 'p.csv')]).code, 0);
    const pred = csvColumns(join(dir, 'p.csv'));
    assert.deepEqual(Object.keys(pred), ['ctr', 'ctcvr', 'cvr']);
    // pCTCVR = pCTR · pCVR on every row (columns are written with limited digits).
    pred.ctr!.forEach((c, i) =>
      assert.ok(Math.abs(c * pred.cvr![i]! - pred.ctcvr![i]!) < 1e-5, `row ${i}: ${c}·${pred.cvr![i]} vs ${pred.ctcvr![i]}`),
    );
    const truth = csvColumns(testFile);
    const clicked = truth.click!.flatMap((v, i) => (v === 1 ? [i] : []));
    const cvrAuc = auc(
      clicked.map((i) => pred.cvr![i]!),
      clicked.map((i) => truth.conversion![i]!),
    );
    assert.ok(Math.abs(cvrAuc - (r.test_auc_cvr as number)) < 1e-4, `cvr AUC on clicked rows ${cvrAuc} vs reported ${r.test_auc_cvr}`);

    const e = cli(['eval', join(dir, 'esmm.frk'), '--data', testFile, '--json']);
    assert.equal(e.code, 0, e.stderr);
    const er = lastJson(e.stdout) as { tasks: Record<string, { auc: number; rows: number }> };
    assert.deepEqual(Object.keys(er.tasks), ['ctr', 'ctcvr', 'cvr']);
    assert.ok(Math.abs(er.tasks.cvr!.auc - (r.test_auc_cvr as number)) < 1e-9);
    assert.match(cli(['eval', join(dir, 'esmm.frk'), '--data', testFile]).stdout, /task ctr:[\s\S]*task ctcvr:[\s\S]*task cvr:/);

    const refused = (tasks: unknown[], re: RegExp) => {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, tasks }));
      const b = cli(['train', '--config', join(dir, 'bad.json')]);
      assert.notEqual(b.code, 0);
      assert.match(b.stderr, re);
    };
    refused(
      [
        { name: 'ctr', label: 'click' },
        { name: 'ctcvr', label: 'conversion', where: 'click' },
      ],
      /task 'ctcvr' has where: click, but ESMM trains both its tasks over all impressions/,
    );
    refused(
      [
        { name: 'ctr', label: 'click' },
        { name: 'cvr', label: 'conversion' },
      ],
      /no task may be named 'cvr'/,
    );
    refused([{ name: 'ctr', label: 'click' }], /predicts two tasks, the CTR task then the CTCVR task/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
