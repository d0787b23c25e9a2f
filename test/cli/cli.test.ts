import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as cli, lastJson } from '../support/cli.js';

const FIELDS = [
  { name: 'user', range: [0, 956] },
  { name: 'item', range: [957, 5038] },
  { name: 'daytime', range: [5039, 5045] },
  { name: 'weekday', range: [5046, 5052] },
  { name: 'isweekend', range: [5053, 5054] },
  { name: 'homework', range: [5055, 5057] },
  { name: 'cost', range: [5058, 5059] },
  { name: 'weather', range: [5060, 5068] },
  { name: 'country', range: [5069, 5148] },
  { name: 'city', range: [5149, 5381] },
];

test('gen → train (libfm config, bars preset) → eval → predict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-cli-'));
  try {
    const g = cli(['gen', 'frappe-like', '--out', join(dir, 'data'), '--rows', '6000', '--seed', '3']);
    assert.equal(g.code, 0, g.stderr);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const config = {
      data: {
        train: `data/${meta.splits.train!.file}`,
        valid: `data/${meta.splits.valid!.file}`,
        test: `data/${meta.splits.test!.file}`,
        format: 'libfm',
        fields: FIELDS,
        min_count: 1,
      },
      model: 'deepfm',
      preset: 'bars',
      model_options: { dnn_hidden_units: [32, 32] },
      train: { epochs: 2, batch_size: 512 },
      output: 'model.frk',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = lastJson(t.stdout);
    assert.equal(typeof r.test_auc, 'number');
    assert.ok((r.test_auc as number) > 0.6, `test AUC ${r.test_auc}`);
    assert.equal(typeof r.test_logloss, 'number');
    assert.equal(r.epochs, 2);
    assert.ok(existsSync(join(dir, 'model.frk')));

    const e = cli(['eval', join(dir, 'model.frk'), '--data', join(dir, 'data', meta.splits.test!.file), '--json', '--slice', 'daytime']);
    assert.equal(e.code, 0, e.stderr);
    const er = lastJson(e.stdout);
    assert.ok(Math.abs((er.auc as number) - (r.test_auc as number)) < 1e-9, `eval AUC ${er.auc} vs train's test AUC ${r.test_auc}`);
    assert.ok(Object.keys((er.slices as Record<string, object>).daytime!).length >= 2);

    const p = cli(['predict', join(dir, 'model.frk'), '--data', join(dir, 'data', meta.splits.test!.file), '--out', join(dir, 'scores.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const scores = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
    assert.equal(scores[0], 'score');
    assert.equal(scores.length - 1, 600);
    for (const s of scores.slice(1)) assert.ok(Number(s) > 0 && Number(s) < 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo --json prints test AUC, logloss and the oracle AUC', () => {
  const d = cli(['demo', '--rows', '6000', '--epochs', '2', '--json', '--quiet']);
  assert.equal(d.code, 0, d.stderr);
  const r = lastJson(d.stdout);
  for (const k of ['test_auc', 'test_logloss', 'oracle_auc']) assert.equal(typeof r[k], 'number', `${k} missing: ${d.stdout}`);
  assert.ok((r.oracle_auc as number) > 0.7 && (r.oracle_auc as number) < 1);
});

test('bad input: clear errors, non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-cli-'));
  try {
    writeFileSync(
      join(dir, 'c.yaml'),
      'data: {train: x.libfm, format: libfm, fields: [{name: a, range: [0, 9]}]}\nmodel: deepfm\ntrain: {batch_size: -3}\n',
    );
    const a = cli(['train', '--config', join(dir, 'c.yaml')]);
    assert.notEqual(a.code, 0);
    assert.match(a.stderr, /batchSize' must be a positive integer/);
    writeFileSync(join(dir, 'c2.yaml'), 'data: {train: x.libfm, format: libfm, fields: [{name: a, range: [0, 9]}]}\nmodel: nosuchmodel\n');
    assert.match(cli(['train', '--config', join(dir, 'c2.yaml')]).stderr, /unknown model 'nosuchmodel'/);
    writeFileSync(join(dir, 'c3.yaml'), 'data: {train: missing.libfm, format: libfm, fields: [{name: a, range: [0, 9]}]}\n');
    const m = cli(['train', '--config', join(dir, 'c3.yaml')]);
    assert.notEqual(m.code, 0);
    assert.match(m.stderr, /missing\.libfm/);
    writeFileSync(join(dir, 'bad.libfm'), '1 0:1\n0 3:1\n1 zz\n');
    writeFileSync(join(dir, 'c4.yaml'), 'data: {train: bad.libfm, format: libfm, fields: [{name: a, range: [0, 9]}]}\n');
    const b = cli(['train', '--config', join(dir, 'c4.yaml')]);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /bad\.libfm:3: column "#2": token "zz" is not idx:value/);
    assert.equal(cli(['nosuchcommand']).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('info reports the backend; FINERANK_BACKEND=typescript forces the portable kernels', () => {
  const r = cli(['info', '--json'], { FINERANK_BACKEND: 'typescript' });
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j.backend, 'typescript');
  assert.ok((j.models as string[]).includes('deepfm'));
});
