import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as cli } from '../support/cli.js';

test("DIN from a config only: a CSV whose histories are '|'-joined ids, pooling: attention in the schema; predict from the artifact", () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-din-'));
  try {
    assert.equal(cli(['gen', 'sequence', '--out', join(dir, 'data'), '--rows', '4000', '--seed', '2']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => `data/${meta.splits[s]!.file}`;
    const config = `
data:
  train: ${file('train')}
  valid: ${file('valid')}
  test: ${file('test')}
  schema:
    dataset: {format: csv, header: true}
    columns:
      - {name: label, role: label}
      - {name: user_id, role: sparse, tag: user}
      - {name: item_id, role: sparse, tag: item}
      - {name: cate_id, role: sparse, tag: item}
      - {name: hist_item_id, role: sequence, sep: "|", maxLen: 20, shareWith: item_id, pooling: attention}
      - {name: hist_cate_id, role: sequence, sep: "|", maxLen: 20, shareWith: cate_id, pooling: attention}
model: din
model_options: {embedding_dim: 8, attention_hidden_units: [16], dnn_hidden_units: [32, 16]}
train: {epochs: 1, batch_size: 256}
output: din.frk
`;
    writeFileSync(join(dir, 'din.yaml'), config);
    const t = cli(['train', '--config', join(dir, 'din.yaml'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    assert.ok(r.test_auc! > 0.5 && r.test_auc! < 1, `test AUC ${r.test_auc}`);
    const p = cli(['predict', join(dir, 'din.frk'), '--data', join(dir, file('test'))]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout.trim().split('\n')[0], 'score');
    // DIEN on the same config (its auxiliary loss draws negatives from the item and category vocabularies).
    writeFileSync(
      join(dir, 'dien.yaml'),
      config
        .replace('model: din', 'model: dien')
        .replace(/model_options: .*/, 'model_options: {embedding_dim: 4, dnn_hidden_units: [16]}')
        .replace('output: din.frk', 'output: dien.frk'),
    );
    const dien = cli(['train', '--config', join(dir, 'dien.yaml'), '--json']);
    assert.equal(dien.code, 0, dien.stderr);
    assert.ok((JSON.parse(dien.stdout.trim().split('\n').at(-1)!) as Record<string, number>).test_auc! > 0.5);
    // The same schema with DeepFM: attention pooling is refused, not silently replaced.
    writeFileSync(join(dir, 'deepfm.yaml'), config.replace('model: din', 'model: deepfm').replace(/model_options: .*/, ''));
    const d = cli(['train', '--config', join(dir, 'deepfm.yaml')]);
    assert.notEqual(d.code, 0);
    assert.match(
      d.stderr,
      /field 'hist_item_id' asks for pooling 'attention', which model 'deepfm' does not compute \(.*models that do: din, dien\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
