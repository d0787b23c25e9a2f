import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipfSampler } from '../../src/data/synth/zipf.js';
import { OracleAccumulator } from '../../src/data/synth/oracle.js';
import { mix32, hex8 } from '../../src/data/synth/ids.js';
import { CategoryItemIndex, pilotBias, sigmoid, splitSizes } from '../../src/data/synth/common.js';
import { run } from '../../src/cli/commands/gen.js';
import { auc } from '../../src/metrics/auc.js';
import { logloss } from '../../src/metrics/logloss.js';
import { Rng } from '../../src/engine/random.js';

test('ZipfSampler: frequencies follow (v+1)^-s', () => {
  for (const [V, s] of [
    [50, 1.1],
    [100_000, 1.2],
  ] as const) {
    const z = new ZipfSampler(V, s);
    let h = 0;
    for (let v = 0; v < V; v++) h += Math.pow(v + 1, -s);
    assert.ok(Math.abs(z.probs[0]! - 1 / h) < 1e-12);
    const rng = new Rng(1);
    const n = 200_000;
    const counts = new Float64Array(V);
    for (let i = 0; i < n; i++) counts[z.sample(rng)]!++;
    for (const v of [0, 1, 4, 9]) {
      const p = z.probs[v]!;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts[v]! - n * p) < 5 * sd, `V=${V} rank ${v}: ${counts[v]} vs ${n * p}`);
    }
  }
});

test('OracleAccumulator: exact metrics, and the histogram fallback stays close', () => {
  const rng = new Rng(2);
  const exact = new OracleAccumulator();
  const hist = new OracleAccumulator(1000);
  const p: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 30000; i++) {
    const q = 1 / (1 + Math.exp(-(rng.normal() * 1.5 - 1)));
    const l = rng.next() < q ? 1 : 0;
    exact.add(q, l);
    hist.add(q, l);
    p.push(Math.fround(q));
    y.push(l);
  }
  const e = exact.result();
  const h = hist.result();
  assert.equal(e.exactAuc, true);
  assert.equal(h.exactAuc, false);
  assert.equal(e.auc, auc(p, y));
  assert.ok(Math.abs(e.logloss - logloss(p, y)) < 1e-6);
  assert.ok(Math.abs(h.auc - e.auc) < 1e-3, `${h.auc} vs ${e.auc}`);
  assert.equal(h.logloss, e.logloss);
  assert.equal(h.rows, 30000);
});

test('value ids: mix32 is a bijection on a range, hex8 formats 8 digits', () => {
  const seen = new Set<number>();
  for (let v = 0; v < 100000; v++) seen.add(mix32(v + 12345));
  assert.equal(seen.size, 100000);
  assert.equal(hex8(0xdeadbeef), 'deadbeef');
  assert.equal(hex8(0x1f), '0000001f');
});

test('CategoryItemIndex: groups items by category in index order, draws by Zipf rank inside the category', () => {
  const itemCat = Int32Array.from([2, 0, 2, 1, 0, 2, 2]);
  const index = new CategoryItemIndex(itemCat, 3, 1);
  assert.deepEqual(Array.from(index.start), [0, 2, 3, 7]);
  assert.deepEqual(Array.from(index.items), [1, 4, 3, 0, 2, 5, 6]);
  // Category 2 has items 0, 2, 5, 6 at ranks 0..3: frequencies ∝ 1, 1/2, 1/3, 1/4.
  const rng = new Rng(3);
  const counts = new Map<number, number>();
  const n = 40_000;
  for (let i = 0; i < n; i++) {
    const item = index.sample(2, rng);
    counts.set(item, (counts.get(item) ?? 0) + 1);
  }
  assert.deepEqual(
    [...counts.keys()].sort((a, b) => a - b),
    [0, 2, 5, 6],
  );
  const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
  [0, 2, 5, 6].forEach((item, rank) => {
    const p = 1 / (rank + 1) / h;
    assert.ok(Math.abs(counts.get(item)! / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `item ${item}`);
  });
  for (let i = 0; i < 100; i++) assert.equal(index.sample(1, rng), 3);
});

test('pilotBias: the bias brings the pilot rows to the target rate', () => {
  // Rows are one N(0, 1) logit each; the pilot's mean σ(b + z) must equal the target.
  const draw = (rng: Rng, row: { z: number }): void => {
    row.z = rng.normal();
  };
  const b = pilotBias(
    5,
    'test:pilot',
    0.2,
    () => ({ z: 0 }),
    draw,
    (row) => row.z,
  );
  const rng = Rng.derive(5, 'test:pilot');
  const row = { z: 0 };
  let mean = 0;
  for (let i = 0; i < 20_000; i++) {
    draw(rng, row);
    mean += sigmoid(b + row.z) / 20_000;
  }
  assert.ok(Math.abs(mean - 0.2) < 1e-9, `mean ${mean}`);
});

test('splitSizes: rounding and errors', () => {
  assert.deepEqual(splitSizes(1000, [0.8, 0.1, 0.1]), [800, 100, 100]);
  assert.deepEqual(splitSizes(288609, [0.7, 0.2, 0.1]), [202026, 57722, 28861]);
  assert.throws(() => splitSizes(2, [0.8, 0.1, 0.1]), /rows must be an integer >= 3/);
  assert.throws(() => splitSizes(100, [0.8, 0.3, 0.1]), /sum to 1/);
});

test('finerank gen: writes the files and refuses bad usage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-gen-'));
  const log = console.log;
  const err = console.error;
  const out: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    assert.equal(await run(['criteo-small', '--out', dir, '--rows', '3000', '--seed', '7', '--format', 'libfm']), 0);
    for (const f of ['train.libfm', 'valid.libfm', 'test.libfm', 'schema.json', 'meta.json']) assert.ok(existsSync(join(dir, f)), f);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    assert.equal(meta.rows, 3000);
    assert.equal(meta.seed, 7);
    assert.ok(
      out.some((l) => /oracle AUC 0\.\d{4}/.test(l)),
      out.join('\n'),
    );
    assert.equal(await run(['nope', '--out', dir]), 2);
    assert.equal(await run(['criteo-small']), 2);
    assert.equal(await run(['sequence', '--out', dir, '--format', 'libfm']), 2);
    assert.equal(await run(['criteo-small', '--out', dir, '--rows', 'many']), 2);
    assert.equal(await run(['criteo-small', '--out', dir, '--bogus']), 2);
    assert.ok(out.some((l) => l.includes("unknown preset 'nope'")));
    assert.ok(out.some((l) => l.includes('cannot be written as libfm')));
  } finally {
    console.log = log;
    console.error = err;
    rmSync(dir, { recursive: true, force: true });
  }
});
