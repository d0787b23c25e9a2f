import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The CSV at `from` without the columns named in `drop`, written to `to`. */
function dropColumns(from: string, to: string, drop: string[]): void {
  const lines = readFileSync(from, 'utf8').trim().split('\n');
  const keep = lines[0]!.split(',').flatMap((n, i) => (drop.includes(n) ? [] : [i]));
  writeFileSync(to, `${lines.map((l) => keep.map((i) => l.split(',')[i]).join(',')).join('\n')}\n`);
}

test('outputs contract: every output a named column in predict (labels optional), eval judges the outputs whose labels the file has', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-mtl-outputs-'));
  try {
    assert.equal(cli(['gen', 'multitask', '--out', join(dir, 'data'), '--rows', '4000', '--seed', '5']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => join(dir, 'data', meta.splits[s]!.file);
    // Three heads: CTR, CVR on clicked rows, and CTCVR over every impression (FuxiCTR's click/conversion setup).
    const config = {
      data: { train: file('train'), valid: file('valid'), test: file('test'), schema: join(dir, 'data', 'schema.json') },
      model: 'mmoe',
      model_options: { embedding_dim: 4, num_experts: 2, expert_hidden_units: [8], tower_hidden_units: [4] },
      tasks: [
        { name: 'ctr', label: 'click' },
        { name: 'cvr', label: 'conversion', where: 'click' },
        { name: 'ctcvr', label: 'conversion' },
      ],
      train: { epochs: 1, batch_size: 256 },
      output: join(dir, 'm.frk'),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const trained = lastJson(t.stdout);
    assert.equal(typeof trained.train_process_cpu_seconds, 'number');
    for (const k of ['test_auc_ctr', 'test_auc_cvr', 'test_auc_ctcvr']) assert.equal(typeof trained[k], 'number', k);

    // The artifact describes its outputs: predict's columns, each with the label that judges it.
    const model = join(dir, 'm.frk');
    const info = lastJson(cli(['info', model, '--json']).stdout) as { outputs: unknown };
    assert.deepEqual(info.outputs, [
      { name: 'ctr', kind: 'task', label: 'click', where: null },
      { name: 'cvr', kind: 'task', label: 'conversion', where: 'click' },
      { name: 'ctcvr', kind: 'task', label: 'conversion', where: null },
    ]);
    // predict on a file with no label columns at all: one column per output.
    dropColumns(file('test'), join(dir, 'unlabelled.csv'), ['click', 'conversion']);
    const p = cli(['predict', model, '--data', join(dir, 'unlabelled.csv'), '--out', join(dir, 'p.csv')]);
    assert.equal(p.code, 0, p.stderr);
    const pred = csvColumns(join(dir, 'p.csv'));
    assert.deepEqual(Object.keys(pred), ['ctr', 'cvr', 'ctcvr']);
    const truth = csvColumns(file('test'));
    assert.equal(pred.ctr!.length, truth.click!.length);

    // eval on the full file: every output judged; CTCVR AUC is the ctcvr head's, not pCTR·pCVR.
    const full = lastJson(cli(['eval', model, '--data', file('test'), '--json']).stdout) as {
      tasks: Record<string, { auc: number }>;
      clickConversion: { ctcvrAuc: number };
      notEvaluated?: unknown;
    };
    assert.deepEqual(Object.keys(full.tasks), ['ctr', 'cvr', 'ctcvr']);
    assert.equal(full.notEvaluated, undefined);
    const ctcvrAuc = auc(pred.ctcvr!, truth.conversion!);
    assert.ok(Math.abs(full.clickConversion.ctcvrAuc - ctcvrAuc) < 1e-4, `${full.clickConversion.ctcvrAuc} vs ${ctcvrAuc}`);
    assert.ok(Math.abs(full.tasks.ctcvr!.auc - ctcvrAuc) < 1e-4);

    // eval on a file without the conversion column: ctr judged (same AUC), cvr and ctcvr listed as not evaluated.
    dropColumns(file('test'), join(dir, 'clicks.csv'), ['conversion']);
    const e = cli(['eval', model, '--data', join(dir, 'clicks.csv'), '--json']);
    assert.equal(e.code, 0, e.stderr);
    const part = lastJson(e.stdout) as { tasks: Record<string, { auc: number }>; notEvaluated: Record<string, string>; clickConversion: unknown };
    assert.deepEqual(Object.keys(part.tasks), ['ctr']);
    assert.equal(part.tasks.ctr!.auc, full.tasks.ctr!.auc);
    assert.deepEqual(Object.keys(part.notEvaluated), ['cvr', 'ctcvr']);
    assert.match(part.notEvaluated.cvr!, /no label column 'conversion'/);
    assert.deepEqual(part.clickConversion, { notComputed: `${join(dir, 'clicks.csv')} lacks the label column 'conversion'` });
    assert.match(
      cli(['eval', model, '--data', join(dir, 'clicks.csv')]).stdout,
      /task ctr:[\s\S]*task cvr: not evaluated \(no label column 'conversion' in the data\)/,
    );

    // eval on a file with no labels is refused, naming the labels it needs.
    const none = cli(['eval', model, '--data', join(dir, 'unlabelled.csv')]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /has none of the model's label columns \(click, conversion\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
