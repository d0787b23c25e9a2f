import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli, lastJson } from '../support/cli.js';

test('finerank train --model autofis runs search and retrain in one run; the artifact and finerank info list the kept pairs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-autofis-cli-'));
  try {
    const g = cli(['gen', 'frappe-like', '--out', join(dir, 'data'), '--rows', '4000', '--seed', '4']);
    assert.equal(g.code, 0, g.stderr);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as {
      splits: Record<string, { file: string }>;
      schemaFile?: string;
    };
    const fields = ['user', 'item', 'daytime', 'weekday', 'isweekend', 'homework', 'cost', 'weather', 'country', 'city'];
    const bounds = [0, 957, 5039, 5046, 5053, 5055, 5058, 5060, 5069, 5149, 5382];
    const config = {
      data: {
        train: `data/${meta.splits.train!.file}`,
        valid: `data/${meta.splits.valid!.file}`,
        test: `data/${meta.splits.test!.file}`,
        format: 'libfm',
        fields: fields.map((name, i) => ({ name, range: [bounds[i]!, bounds[i + 1]! - 1] })),
        min_count: 1,
      },
      model: 'autofis',
      preset: 'bars',
      model_options: { embedding_dim: 8, hidden_units: [16], search_epochs: 2, grda_c: 0.05 },
      train: { epochs: 2, batch_size: 256 },
      output: 'autofis.frk',
    };
    writeFileSync(join(dir, 'autofis.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'autofis.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const searchLine = t.stderr.split('\n').find((l) => l.includes('search kept')) ?? '';
    const m = /search kept (\d+) of 45 pairs(?:: (.*))?; retrain stage/.exec(searchLine);
    assert.ok(m !== null, `no search summary in the log: ${t.stderr}`);
    const kept = m[2] === undefined ? [] : m[2].split(', ');
    assert.equal(kept.length, Number(m[1]));
    assert.ok(kept.length < 45, 'the search dropped no pair');
    const info = cli(['info', join(dir, 'autofis.frk'), '--json']);
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual(lastJson(info.stdout).keptPairs, kept);
    const text = cli(['info', join(dir, 'autofis.frk')]);
    assert.match(text.stdout, new RegExp(`kept pairs +${kept.length}`));
    const e = cli(['eval', join(dir, 'autofis.frk'), '--data', join(dir, 'data', meta.splits.test!.file), '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.ok(Math.abs((lastJson(e.stdout).auc as number) - (lastJson(t.stdout).test_auc as number)) < 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
