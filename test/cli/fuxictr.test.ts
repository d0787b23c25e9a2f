import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { fromFuxiCtr } from '../../src/cli/fuxictr.js';
import { listModels, modelEntry } from '../../src/models/registry.js';
import { BARS_PRESET } from '../../src/train/options.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, '..', '..', 'src', 'cli', 'main.js');
/** ../shared/bars-frappe-configs.md beside the checkout (the same folder in CI). */
const CONFIGS = join(HERE, '..', '..', '..', '..', 'shared', 'bars-frappe-configs.md');

/** The published Frappe_x1 entries: `## Name` then a yaml block. */
function publishedEntries(): Array<{ title: string; entry: Record<string, unknown> }> {
  const text = readFileSync(CONFIGS, 'utf8');
  const out: Array<{ title: string; entry: Record<string, unknown> }> = [];
  for (const m of text.matchAll(/^## (.+)\n+```yaml\n([\s\S]*?)```/gm))
    out.push({ title: m[1]!.trim(), entry: parseYaml(m[2]!) as Record<string, unknown> });
  return out;
}

const known = (name: string) =>
  listModels().some((e) => {
    try {
      return modelEntry(name).name === e.name;
    } catch {
      return false;
    }
  });

test(
  'every published BARS Frappe entry of a registered model translates; the protocol is the bars preset',
  { skip: !existsSync(CONFIGS) && 'shared/bars-frappe-configs.md not found beside the checkout' },
  () => {
    const entries = publishedEntries();
    assert.ok(entries.length >= 10, `only ${entries.length} entries parsed`);
    let translated = 0;
    for (const { title, entry } of entries) {
      if (!known(String(entry.model))) continue;
      const x = fromFuxiCtr(entry, title);
      translated++;
      assert.equal(x.train.optimizer.lr, entry.learning_rate, title);
      assert.equal(x.train.batchSize, entry.batch_size, title);
      assert.equal(x.train.epochs, entry.epochs, title);
      assert.equal(x.train.patience, entry.patience, title);
      assert.equal(x.train.seed, entry.seed, title);
      assert.equal(x.train.clipNorm, BARS_PRESET.clipNorm, title);
      assert.equal(x.train.embeddingOptimizer.type, 'table_adam', title);
      assert.equal(x.train.embeddingL2, Number(entry.embedding_regularizer ?? entry.regularizer), title);
      assert.equal(x.minCount, 1, title);
      if (entry.embedding_dim !== undefined) assert.equal(x.modelOptions.embeddingDim, entry.embedding_dim, title);
    }
    assert.ok(translated >= 4, `only ${translated} entries of registered models`);
    const dcn = entries.find((e) => e.entry.model === 'DCN')!;
    const d = fromFuxiCtr(dcn.entry, 'DCN');
    assert.equal(d.modelOptions.numCrossLayers, 3);
    assert.deepEqual(d.modelOptions.dnnHiddenUnits, [400, 400, 400]);
    assert.equal(d.modelOptions.netDropout, 0.2);
    assert.equal(d.modelOptions.batchNorm, true);
  },
);

test('fuxictr: I/O keys ignored, unknown keys and unsupported settings refused by name', () => {
  const base = { model: 'DeepFM', embedding_dim: 10, hidden_units: [64], learning_rate: 1e-3 };
  assert.doesNotThrow(() =>
    fromFuxiCtr(
      {
        ...base,
        model_root: './checkpoints/',
        num_workers: 3,
        verbose: 1,
        metrics: ['logloss', 'AUC'],
        task: 'binary_classification',
        loss: 'binary_crossentropy',
        dataset_id: 'frappe_x1',
      },
      'c.yaml',
    ),
  );
  assert.throws(
    () => fromFuxiCtr({ ...base, cin_layer_units: [64], foo: 1 }, 'c.yaml'),
    /c\.yaml: fuxictr keys not supported for model 'deepfm': cin_layer_units, foo; supported: model, embedding_dim/,
  );
  assert.throws(
    () => fromFuxiCtr({ ...base, monitor: { AUC: 1, logloss: -1 } }, 'c.yaml'),
    /monitor .* not supported; supported: AUC, logloss, gAUC/,
  );
  assert.throws(() => fromFuxiCtr({ ...base, optimizer: 'sgd' }, 'c.yaml'), /optimizer 'sgd' is not supported; supported: adam/);
  assert.throws(() => fromFuxiCtr({ ...base, embedding_dropout: 0.1 }, 'c.yaml'), /embedding_dropout 0.1 is not supported/);
  assert.throws(() => fromFuxiCtr({ ...base, loss: 'mse' }, 'c.yaml'), /loss 'mse' is not supported/);
  assert.throws(() => fromFuxiCtr({ ...base, model: 'NoSuchNet' }, 'c.yaml'), /unknown model 'NoSuchNet'/);
  const lr = fromFuxiCtr({ model: 'LR', regularizer: 1e-5, learning_rate: 1e-3 }, 'lr');
  assert.equal(lr.train.embeddingL2, 1e-5);
  assert.equal(lr.train.denseL2, 1e-5);
});

test(
  'a published DeepFM entry trains unchanged from a config with a finerank data section (epochs cut by flag)',
  { skip: !existsSync(CONFIGS) && 'shared/bars-frappe-configs.md not found' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'finerank-fuxi-'));
    try {
      const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 240_000 });
      assert.equal(cli(['gen', 'frappe-like', '--out', join(dir, 'data'), '--rows', '5000', '--seed', '4']).status, 0);
      const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
      const entry = publishedEntries().find((e) => e.entry.model === 'DeepFM')!.entry;
      const config = {
        data: {
          train: `data/${meta.splits.train!.file}`,
          valid: `data/${meta.splits.valid!.file}`,
          test: `data/${meta.splits.test!.file}`,
          schema: 'data/schema.json',
        },
        fuxictr: entry,
      };
      writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
      const t = cli(['train', '--config', join(dir, 'c.json'), '--epochs', '1', '--json']);
      assert.equal(t.status, 0, t.stderr);
      const r = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(r.preset, 'fuxictr');
      assert.equal(typeof r.test_auc, 'number');
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, model: 'dcn' }));
      assert.match(
        cli(['train', '--config', join(dir, 'bad.json')]).stderr,
        /a fuxictr section replaces model, model_options, preset and train; remove model/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
