import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auc } from '../../src/metrics/auc.js';
import { logloss } from '../../src/metrics/logloss.js';
import { calibration } from '../../src/metrics/calibration.js';
import { groupAuc } from '../../src/metrics/gauc.js';
import { evaluate } from '../../src/metrics/evaluate.js';

/** The repository root: the first ancestor of this file holding package.json (works from src and dist). */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
}

interface Fixture {
  name: string;
  eps: number;
  scores: number[];
  labels: number[];
  weights?: number[];
  groups?: number[];
  expected: { auc: number; logloss: number; calibration: number; gauc?: number; avg_auc?: number; valid_groups?: number; skipped_groups?: number };
}

const dir = join(repoRoot(), 'test', 'fixtures', 'metrics');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const TOL = 1e-9;
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= TOL, `${what}: ${a} vs scikit-learn ${b}`);

test('scikit-learn fixtures are present', () => {
  assert.ok(files.length >= 6, `expected fixtures in ${dir}`);
});

for (const file of files) {
  test(`matches scikit-learn on fixture ${file}`, () => {
    const f = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
    const e = f.expected;
    close(auc(f.scores, f.labels, f.weights), e.auc, `${f.name} auc`);
    close(logloss(f.scores, f.labels, f.weights, f.eps), e.logloss, `${f.name} logloss`);
    close(calibration(f.scores, f.labels, f.weights), e.calibration, `${f.name} calibration`);
    const groups = f.groups ? Int32Array.from(f.groups) : undefined;
    if (groups) {
      const g = groupAuc(f.scores, f.labels, groups, f.weights);
      close(g.gauc, e.gauc!, `${f.name} gauc`);
      close(g.avgAuc, e.avg_auc!, `${f.name} avgAuc`);
      assert.equal(g.validGroups, e.valid_groups);
      assert.equal(g.skippedGroups, e.skipped_groups);
    }
    const rep = evaluate(f.scores, f.labels, { weights: f.weights, groups, eps: f.eps });
    close(rep.auc, e.auc, `${f.name} evaluate.auc`);
    close(rep.logloss, e.logloss, `${f.name} evaluate.logloss`);
    if (groups) close(rep.gauc!, e.gauc!, `${f.name} evaluate.gauc`);
  });
}
