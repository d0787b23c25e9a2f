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

/** Expected AUC on labels drawn y_i ~ Bernoulli(p_i), by brute force over ordered pairs of distinct rows. */
function bruteSoftAuc(s: number[], p: number[]): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++) {
      if (i === j) continue;
      const w = p[i]! * (1 - p[j]!);
      den += w;
      num += w * (s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0);
    }
  return num / den;
}

type CC = { ctrAuc: number; cvrAucClicked: number; cvrAucEntireSpace: number; ctcvrAuc: number; truthColumn: string | null };

test('finerank eval judges click → conversion models as ESMM does: CTR, CVR on clicks, CVR over all impressions vs p_cvr, CTCVR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-eval-cc-'));
  try {
    assert.equal(cli(['gen', 'multitask', '--out', join(dir, 'data'), '--rows', '5000', '--seed', '4', '--with-truth']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => `data/${meta.splits[s]!.file}`;
    const testFile = join(dir, file('test'));
    const truth = csvColumns(testFile);
    const base = {
      data: { train: file('train'), valid: file('valid'), test: file('test'), schema: 'data/schema.json' },
      train: { epochs: 1, batch_size: 256 },
    };
    const models = {
      esmm: {
        model: 'esmm',
        model_options: { embedding_dim: 8, tower_hidden_units: [16] },
        tasks: [
          { name: 'ctr', label: 'click' },
          { name: 'ctcvr', label: 'conversion' },
        ],
      },
      shared_bottom: {
        model: 'shared_bottom',
        model_options: { embedding_dim: 8, bottom_hidden_units: [16], tower_hidden_units: [8] },
        tasks: [
          { name: 'ctr', label: 'click' },
          { name: 'cvr', label: 'conversion', where: 'click' },
        ],
      },
    };
    for (const [name, m] of Object.entries(models)) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify({ ...base, ...m, output: `${name}.frk` }));
      const t = cli(['train', '--config', join(dir, `${name}.json`)]);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(cli(['predict', join(dir, `${name}.frk`), '--data', testFile, '--out', join(dir, `${name}.csv`)]).code, 0);
      const p = csvColumns(join(dir, `${name}.csv`));
      const e = cli(['eval', join(dir, `${name}.frk`), '--data', testFile, '--json']);
      assert.equal(e.code, 0, e.stderr);
      const cc = (lastJson(e.stdout) as { clickConversion: CC }).clickConversion;
      assert.equal(cc.truthColumn, 'p_cvr', name);
      const clicked = truth.click!.flatMap((v, i) => (v === 1 ? [i] : []));
      const ctcvr = p.ctcvr ?? p.ctr!.map((c, i) => c * p.cvr![i]!);
      // predict writes rounded probabilities, so ties differ slightly from the full-precision scores eval ranks.
      const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 2e-3, `${name} ${what}: eval ${got} vs ${want}`);
      near(cc.ctrAuc, auc(p.ctr!, truth.click!), 'CTR AUC');
      near(
        cc.cvrAucClicked,
        auc(
          clicked.map((i) => p.cvr![i]!),
          clicked.map((i) => truth.conversion![i]!),
        ),
        'CVR AUC on clicks',
      );
      near(cc.cvrAucEntireSpace, bruteSoftAuc(p.cvr!, truth.p_cvr!), 'CVR AUC over all impressions');
      near(cc.ctcvrAuc, auc(ctcvr, truth.conversion!), 'CTCVR AUC');
      const text = cli(['eval', join(dir, `${name}.frk`), '--data', testFile]).stdout;
      assert.match(text, /click -> conversion:[\s\S]*CVR AUC over all impressions\s+0\.\d{4} \(against p_cvr\)[\s\S]*CTCVR AUC\s+0\.\d{4}/);
    }
    // Without a truth column the entire-space AUC is left out, not guessed.
    const noTruth = join(dir, 'no-truth.csv');
    writeFileSync(
      noTruth,
      readFileSync(testFile, 'utf8')
        .split('\n')
        .map((l) => l.split(',').slice(0, 9).join(','))
        .join('\n'),
    );
    const nt = (lastJson(cli(['eval', join(dir, 'esmm.frk'), '--data', noTruth, '--json']).stdout) as { clickConversion: CC }).clickConversion;
    assert.equal(nt.truthColumn, null);
    assert.equal(nt.cvrAucEntireSpace, null);
    const missing = cli(['eval', join(dir, 'esmm.frk'), '--data', noTruth, '--truth-column', 'p_cvr']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no column 'p_cvr'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
