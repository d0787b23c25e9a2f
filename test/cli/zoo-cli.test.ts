import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** FuxiCTR-named model options (the BARS Frappe blocks' model keys, smaller widths so the test stays short). */
const RUNS: Record<string, Record<string, unknown>> = {
  dcnv2: {
    model_structure: 'parallel',
    num_cross_layers: 2,
    use_low_rank_mixture: true,
    low_rank: 8,
    num_experts: 2,
    stacked_dnn_hidden_units: [500, 500, 500],
    parallel_dnn_hidden_units: [32],
    dnn_activations: 'relu',
    net_dropout: 0.2,
    batch_norm: true,
  },
  autoint: {
    attention_layers: 2,
    num_heads: 2,
    attention_dim: 16,
    use_residual: true,
    use_scale: true,
    layer_norm: true,
    use_wide: false,
    dnn_hidden_units: [32],
    dnn_activations: 'relu',
    net_dropout: 0.1,
    batch_norm: true,
  },
  fgcnn: {
    share_embedding: false,
    channels: [6, 8],
    kernel_heights: [7, 7],
    pooling_sizes: [2, 2],
    recombined_channels: [2, 2],
    conv_activation: 'Tanh',
    conv_batch_norm: true,
    dnn_hidden_units: [32],
    dnn_activations: 'ReLU',
    dnn_batch_norm: false,
    net_dropout: 0,
  },
};

test('finerank train → eval with DCN-Mix, AutoInt+ and FGCNN under FuxiCTR option names (frappe-like, bars preset)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-zoo-cli-'));
  try {
    const g = cli(['gen', 'frappe-like', '--out', join(dir, 'data'), '--rows', '6000', '--seed', '4']);
    assert.equal(g.code, 0, g.stderr);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    for (const [model, options] of Object.entries(RUNS)) {
      const config = {
        data: {
          train: `data/${meta.splits.train!.file}`,
          valid: `data/${meta.splits.valid!.file}`,
          test: `data/${meta.splits.test!.file}`,
          format: 'libfm',
          fields: FIELDS,
          min_count: 1,
        },
        model,
        preset: 'bars',
        model_options: options,
        train: { epochs: 4, batch_size: 256 },
        output: `${model}.frk`,
      };
      writeFileSync(join(dir, `${model}.json`), JSON.stringify(config));
      const t = cli(['train', '--config', join(dir, `${model}.json`), '--json']);
      assert.equal(t.code, 0, `${model}: ${t.stderr}`);
      const r = lastJson(t.stdout);
      assert.equal(r.model, model);
      assert.ok((r.test_auc as number) > 0.6, `${model}: test AUC ${r.test_auc}`);
      console.log(`${model}: test AUC ${(r.test_auc as number).toFixed(4)}`);
      const e = cli(['eval', join(dir, `${model}.frk`), '--data', join(dir, 'data', meta.splits.test!.file), '--json']);
      assert.equal(e.code, 0, `${model}: ${e.stderr}`);
      assert.ok(Math.abs((lastJson(e.stdout).auc as number) - (r.test_auc as number)) < 1e-9, `${model}: eval AUC differs from train's test AUC`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
