import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli, lastJson } from '../support/cli.js';

test('DeepMCP through the CLI on `gen sequence` data: train, predict one score column (prediction subnet), eval; a schema without tags is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-deepmcp-cli-'));
  try {
    assert.equal(cli(['gen', 'sequence', '--out', join(dir, 'data'), '--rows', '4000', '--seed', '2']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => `data/${meta.splits[s]!.file}`;
    const config = {
      data: { train: file('train'), valid: file('valid'), test: file('test'), schema: 'data/schema.json' },
      model: 'deepmcp',
      model_options: { embedding_dim: 8, dnn_hidden_units: [16], match_dim: 8, corr_dim: 8, match_loss_alpha: 0.5, corr_loss_beta: 0.5 },
      train: { epochs: 1, batch_size: 256 },
      output: 'deepmcp.frk',
    };
    writeFileSync(join(dir, 'deepmcp.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'deepmcp.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = lastJson(t.stdout);
    assert.ok((r.test_auc as number) > 0.5, `test AUC ${r.test_auc}`);
    const testFile = join(dir, file('test'));
    const p = cli(['predict', join(dir, 'deepmcp.frk'), '--data', testFile]);
    assert.equal(p.code, 0, p.stderr);
    const lines = p.stdout.trim().split('\n');
    assert.equal(lines[0], 'score');
    assert.equal(lines.length - 1, readFileSync(testFile, 'utf8').trim().split('\n').length - 1);
    const e = cli(['eval', join(dir, 'deepmcp.frk'), '--data', testFile, '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.ok(Math.abs((lastJson(e.stdout).auc as number) - (r.test_auc as number)) < 1e-6);
    // Without user/item tags the matching subnet has no inputs: refused, naming the way out.
    const schema = JSON.parse(readFileSync(join(dir, 'data', 'schema.json'), 'utf8')) as { columns: Array<Record<string, unknown>> };
    for (const c of schema.columns) delete c.tag;
    writeFileSync(join(dir, 'untagged.json'), JSON.stringify(schema));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, data: { ...config.data, schema: 'untagged.json' } }));
    const b = cli(['train', '--config', join(dir, 'bad.json')]);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /matching subnet needs user-side fields: tag some columns 'user' in the schema, or list them in match_user_fields/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
