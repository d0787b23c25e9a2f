import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as cli, lastJson } from '../support/cli.js';
import { loadArtifact } from '../../src/serve/artifact.js';

test('finerank train: streaming (window ≥ file, cache on) reproduces the in-memory run; the cache is written and reused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-stream-cli-'));
  try {
    const g = cli(['gen', 'criteo-small', '--out', join(dir, 'data'), '--rows', '3000', '--seed', '2']);
    assert.equal(g.code, 0, g.stderr);
    const config = (data: Record<string, unknown>) => {
      const c = {
        data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'data/schema.json', ...data },
        model: 'deepfm',
        model_options: { dnn_hidden_units: [16], embedding_dim: 4 },
        train: { epochs: 2, batch_size: 256, seed: 3 },
      };
      const p = join(dir, `config-${Object.values(data).join('-')}.json`);
      writeFileSync(p, JSON.stringify(c));
      return p;
    };
    const mem = cli(['train', '--config', config({ streaming: false }), '--json', '--quiet']);
    assert.equal(mem.code, 0, mem.stderr);
    const str = cli(['train', '--config', config({ streaming: true, shuffle_buffer: 100_000, cache_dir: 'cache' }), '--json']);
    assert.equal(str.code, 0, str.stderr);
    const a = lastJson(mem.stdout),
      b = lastJson(str.stdout);
    assert.equal(a.streaming, 0);
    assert.equal(b.streaming, 1);
    assert.equal(b.shuffle_buffer, 100_000);
    assert.equal(a.shuffle_buffer, undefined);
    assert.equal(b.test_auc, a.test_auc);
    assert.equal(b.valid_logloss, a.valid_logloss);
    assert.match(str.stdout + str.stderr, /building encoded cache \(no cache yet\)/);
    assert.match(str.stdout + str.stderr, /using encoded cache/);
    assert.equal(readdirSync(join(dir, 'cache')).filter((f) => f.endsWith('.frkc')).length, 3, 'one cache per split');
    // A memory budget smaller than the files streams without being forced.
    // Its default window comes from the budget (two windows ≤ half of it), floored at 10 000 rows.
    const auto = cli(['train', '--config', config({ memory_budget: '100KB', cache: false }), '--json']);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(lastJson(auto.stdout).streaming, 1);
    assert.equal(lastJson(auto.stdout).shuffle_buffer, 10_000);
    assert.match(
      auto.stderr,
      /default shuffle window 10000 rows \(a quarter of the memory budget at \d+ bytes per encoded row; set data.shuffle_buffer to choose\)/,
    );
    const bad = cli(['train', '--config', config({ streaming: 'yes' }), '--json']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /data\.streaming must be true, false or 'auto'/);
    const badBudget = cli(['train', '--config', config({ memory_budget: 'lots' }), '--json']);
    assert.notEqual(badBudget.code, 0);
    assert.match(badBudget.stderr, /data\.memory_budget: expected a positive size/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finerank train: data.vocab_fit: sketch gives the run of exact vocabulary fitting; the summary has data_wait_seconds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-sketch-cli-'));
  try {
    const g = cli(['gen', 'criteo-small', '--out', join(dir, 'data'), '--rows', '3000', '--seed', '4']);
    assert.equal(g.code, 0, g.stderr);
    // The preset's schema with minCount 3 on every categorical field (so the sketch filters).
    const schema = JSON.parse(readFileSync(join(dir, 'data', 'schema.json'), 'utf8')) as { columns: Array<Record<string, unknown>> };
    for (const c of schema.columns) if (c.role === 'sparse') c.encoder = { type: 'vocab', minCount: 3 };
    writeFileSync(join(dir, 'schema3.json'), JSON.stringify(schema));
    const run = (data: Record<string, unknown>, name: string) => {
      const p = join(dir, `${name}.json`);
      writeFileSync(
        p,
        JSON.stringify({
          data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'schema3.json', streaming: false, ...data },
          model: 'deepfm',
          model_options: { dnn_hidden_units: [16], embedding_dim: 4 },
          train: { epochs: 1, batch_size: 256, seed: 3 },
          output: `${name}.frk`,
        }),
      );
      const r = cli(['train', '--config', p, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(/fitted in two passes through a 4 KiB count-min sketch/.test(r.stderr), name === 'sketch', r.stderr);
      return lastJson(r.stdout);
    };
    const exact = run({}, 'exact');
    const sketch = run({ vocab_fit: 'sketch', vocab_sketch_memory: '4KB' }, 'sketch');
    assert.equal(sketch.test_auc, exact.test_auc);
    assert.equal(sketch.test_logloss, exact.test_logloss);
    const fmA = loadArtifact(join(dir, 'exact.frk')).featureMap!.toJSON();
    assert.deepEqual(loadArtifact(join(dir, 'sketch.frk')).featureMap!.toJSON(), fmA);
    const kept = Object.values(fmA.vocabularies).reduce((n, e) => n + (e.type === 'vocab' ? e.values.length : 0), 0);
    assert.ok(kept > 100, `${kept} values kept`);
    for (const r of [exact, sketch]) assert.ok(typeof r.data_wait_seconds === 'number' && r.data_wait_seconds >= 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
