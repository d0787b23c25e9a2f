import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/engine/random.js';
import { auc } from '../../src/metrics/auc.js';
import { runCli as cli } from '../support/cli.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The README's `# census.yaml` block, verbatim. */
function readmeConfig(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /```yaml\n(# census\.yaml\n[\s\S]*?)```/.exec(readme);
  assert.ok(m !== null, 'README has no census.yaml block');
  return m[1]!;
}

const EDU = ['hs', 'college', 'bachelor', 'master', 'phd'];
const OCC = ['clerk', 'sales', 'tech', 'manager', 'craft', 'service'];
const REL = ['husband', 'wife', 'own-child', 'unmarried', 'other'];
const sig = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Census-like rows with two labels driven by different columns: income by education,
 * occupation and hours; never-married by age and relationship. Returns the CSV and each
 * row's true probabilities.
 */
function census(rng: Rng, n: number): { csv: string; pIncome: number[]; pSingle: number[] } {
  const lines = ['income_50k,never_married,age,hours_per_week,education,occupation,relationship'];
  const pIncome: number[] = [],
    pSingle: number[] = [];
  for (let i = 0; i < n; i++) {
    const age = 18 + rng.int(60),
      hours = 10 + rng.int(60);
    const e = rng.int(EDU.length),
      o = rng.int(OCC.length),
      r = rng.int(REL.length);
    const pi = sig(-2 + 0.8 * e + [0, 0.3, 1, 1.5, -0.5, -1][o]! + 0.03 * (hours - 40));
    const ps = sig(2.5 - 0.09 * (age - 18) + [-2, -2, 2, 1, 0][r]!);
    pIncome.push(pi);
    pSingle.push(ps);
    lines.push([rng.next() < pi ? 1 : 0, rng.next() < ps ? 1 : 0, age, hours, EDU[e], OCC[o], REL[r]].join(','));
  }
  return { csv: lines.join('\n') + '\n', pIncome, pSingle };
}

test('README tabular multi-label config: MMoE learns two unrelated labels from numeric and categorical columns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-census-'));
  try {
    mkdirSync(join(dir, 'census'));
    const rng = new Rng(8);
    const test = census(rng, 2000);
    writeFileSync(join(dir, 'census', 'train.csv'), census(rng, 12000).csv);
    writeFileSync(join(dir, 'census', 'valid.csv'), census(rng, 2000).csv);
    writeFileSync(join(dir, 'census', 'test.csv'), test.csv);
    writeFileSync(join(dir, 'census.yaml'), readmeConfig());
    const t = cli(['train', '--config', join(dir, 'census.yaml'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const r = JSON.parse(t.stdout.trim().split('\n').pop()!) as Record<string, number>;
    const labels = test.csv
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
    const oracle = {
      income: auc(
        test.pIncome,
        labels.map((x) => x[0]!),
      ),
      marital: auc(
        test.pSingle,
        labels.map((x) => x[1]!),
      ),
    };
    const report = `model ${r.test_auc_income?.toFixed(4)} / ${r.test_auc_marital?.toFixed(4)}, oracle ${oracle.income.toFixed(4)} / ${oracle.marital.toFixed(4)}`;
    for (const task of ['income', 'marital'] as const) {
      assert.ok(r[`test_auc_${task}`]! > oracle[task] - 0.03, `${task}: ${report}`);
    }
    const p = cli(['predict', join(dir, 'census.frk'), '--data', join(dir, 'census', 'test.csv')]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout.split('\n')[0], 'income,marital');
    console.log(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
