import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../support/cli.js';
import { generateMultitask, MULTITASK_DEFAULTS } from '../../src/data/synth/multitask.js';

/**
 * The report on a generated dataset shows the generator's known weak groups: `multitask`
 * with the user–item match switched on (the preset's setting before session 4: 5000 users,
 * 3000 items, match weights 0.8 / 0.6, CTR 0.2) has ⟨p_u, q_i⟩ in the click logit, a
 * user × item interaction a model can learn only for items with many training rows, so the
 * niche-item popularity deciles must be flagged for AUC and the most popular decile must not be.
 */
test('finerank report flags the niche-item deciles of finerank gen multitask, not the popular one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-weak-groups-'));
  try {
    generateMultitask(
      { ...MULTITASK_DEFAULTS, users: 5000, items: 3000, categories: 30, ctrMatch: 0.8, cvrMatch: 0.6, targetCtr: 0.2 },
      { outDir: join(dir, 'data'), rows: 50_000, seed: 1 },
    );
    writeFileSync(
      join(dir, 'cfg.json'),
      JSON.stringify({
        data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'data/schema.json' },
        model: 'fm',
        label: 'click',
        model_options: { embedding_dim: 8 },
        train: { epochs: 6, batch_size: 512, seed: 1, progress: false },
        output: 'm.frk',
      }),
    );
    const tr = cli(['train', '--config', join(dir, 'cfg.json'), '--quiet']);
    assert.equal(tr.code, 0, tr.stderr);
    const rep = cli([
      'report',
      join(dir, 'm.frk'),
      '--data',
      join(dir, 'data', 'test.csv'),
      '--group',
      'builtin:popularity',
      '--item',
      'item_id',
      '--json',
    ]);
    assert.equal(rep.code, 0, rep.stderr);
    const r = JSON.parse(rep.stdout) as {
      overall: { auc: number };
      groups: Record<string, Record<string, { rows: number; auc: number; flags: string[] }>>;
    };
    const deciles = r.groups['builtin:popularity']!;
    const aucFlagged = Object.entries(deciles)
      .filter(([, m]) => m.flags.some((f) => f.startsWith('AUC')))
      .map(([k]) => k);
    // Measured in session 3 with the then-default preset (same setting, other draws): d01 AUC 0.698 on 3 566 of 5 000 rows, not flagged; d02, d04, d06, d07 flagged (0.565–0.578).
    assert.deepEqual(deciles.d01!.flags, [], 'the popular decile is where the model is good');
    assert.ok(deciles.d01!.auc > r.overall.auc, `d01 AUC ${deciles.d01!.auc} vs ${r.overall.auc} overall`);
    assert.ok(aucFlagged.length >= 3, `niche deciles flagged for AUC: ${aucFlagged.join(', ')}`);
    assert.ok(
      aucFlagged.every((k) => k !== 'd01'),
      aucFlagged.join(', '),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
