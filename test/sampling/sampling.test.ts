import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AliasTable,
  capKeep,
  parseSampleConfig,
  popularityNegativeWeight,
  recalibrateNegativeDownsampling,
  sampleFile,
  word2vecKeep,
  type SamplingSpec,
} from '../../src/sampling/index.js';
import { Rng } from '../../src/engine/random.js';
import { applySampling } from '../../src/sampling/train-hook.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import type { Schema } from '../../src/features/schema.js';

function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-sample-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function readCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i]!, v])));
}

test('keep probabilities and weights, hand-computed', () => {
  // word2vec: f = 0.01, t = 1e-4 → √0.01 + 0.01 = 0.11
  assert.ok(Math.abs(word2vecKeep(0.01, 1e-4) - 0.11) < 1e-12);
  assert.equal(word2vecKeep(1e-5, 1e-4), 1);
  assert.equal(capKeep(1000, 100), 0.1);
  assert.equal(capKeep(50, 100), 1);
  // q_i = 0.1, the user's positives hold 0.3 of the mass, 2 positives, 4 negatives each → 0.7 / 0.8
  assert.ok(Math.abs(popularityNegativeWeight(0.1, 0.3, 2, 4) - 0.875) < 1e-12);
  // p' = 0.5 at w = 0.1 → 0.5 / (0.5 + 5) = 1/11
  assert.ok(Math.abs(recalibrateNegativeDownsampling(0.5, 0.1) - 1 / 11) < 1e-12);
});

test('AliasTable draws in proportion to the weights', () => {
  const t = new AliasTable([1, 0, 3, 6]);
  const rng = new Rng(3);
  const n = 200_000,
    c = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) c[t.sample(rng)]!++;
  assert.equal(c[1], 0);
  [0.1, 0, 0.3, 0.6].forEach((p, i) =>
    assert.ok(Math.abs(c[i]! / n - p) < 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9, `index ${i}: ${c[i]! / n} vs ${p}`),
  );
  assert.throws(() => new AliasTable([0, 0]), /all weights are 0/);
});

test('hot_item (cap) and negative_downsample: kept shares, weights 1/keep, Σ weights ≈ rows, seeded and reproducible', () =>
  withDir(async (dir) => {
    const rows = ['user,item,click'];
    const rng = new Rng(1);
    for (let i = 0; i < 4000; i++) rows.push(`u${i % 50},hot,${rng.next() < 0.2 ? 1 : 0}`);
    for (let i = 0; i < 40; i++) rows.push(`u${i},rare${i % 4},${i % 2}`);
    writeFileSync(join(dir, 'in.csv'), rows.join('\n') + '\n');
    const spec: SamplingSpec = {
      item: 'item',
      label: 'click',
      weight: 'w',
      seed: 5,
      rules: [
        { kind: 'hot_item', cap: 400, correction: 'weight' },
        { kind: 'negative_downsample', rate: 0.5, correction: 'weight' },
      ],
    };
    const r = await sampleFile(spec, join(dir, 'in.csv'), join(dir, 'out.csv'));
    const out = readCsv(join(dir, 'out.csv'));
    assert.equal(r.rowsIn, 4040);
    assert.equal(out.length, r.rowsOut);
    const hotKept = out.filter((o) => o.item === 'hot');
    // 400 of 4000 expected before the negative rule (binomial sd ≈ 19).
    assert.ok(Math.abs(r.rowsIn - 40 - r.dropped.hot_item! - 400) < 80, `hot kept ${4000 - r.dropped.hot_item!}`);
    for (const o of hotKept) assert.equal(Number(o.w), o.click === '1' ? 10 : 20);
    for (const o of out.filter((x) => x.item !== 'hot')) assert.equal(Number(o.w), o.click === '1' ? 1 : 2);
    assert.equal(out.filter((o) => o.item !== 'hot' && o.click === '1').length, 20); // rare positives all kept
    assert.ok(Math.abs(r.weightSum - 4040) < 0.1 * 4040, `Σ weights ${r.weightSum}`);
    assert.equal(r.weighted, true);
    assert.equal(r.negativeSampleRate, 1);
    // Same seed → same bytes; another seed → another sample.
    await sampleFile(spec, join(dir, 'in.csv'), join(dir, 'again.csv'));
    assert.equal(readFileSync(join(dir, 'again.csv'), 'utf8'), readFileSync(join(dir, 'out.csv'), 'utf8'));
    await sampleFile({ ...spec, seed: 6 }, join(dir, 'in.csv'), join(dir, 'other.csv'));
    assert.notEqual(readFileSync(join(dir, 'other.csv'), 'utf8'), readFileSync(join(dir, 'out.csv'), 'utf8'));
    // closed form: no weight change, the rate is reported for the trainer.
    const cf = await sampleFile(
      { ...spec, rules: [{ kind: 'negative_downsample', rate: 0.25, correction: 'closed_form' }] },
      join(dir, 'in.csv'),
      join(dir, 'cf.csv'),
    );
    assert.equal(cf.negativeSampleRate, 0.25);
    assert.ok(readCsv(join(dir, 'cf.csv')).every((o) => o.w === '1'));
    // hot_item closed form: the same rows as with weights (same seed), every weight 1, and the
    // output is not marked weighted (keep depends only on the item: P(y | x) is unchanged).
    const hotW = await sampleFile(
      { ...spec, rules: [{ kind: 'hot_item', cap: 400, correction: 'weight' }] },
      join(dir, 'in.csv'),
      join(dir, 'hw.csv'),
    );
    const hotC = await sampleFile(
      { ...spec, rules: [{ kind: 'hot_item', cap: 400, correction: 'closed_form' }] },
      join(dir, 'in.csv'),
      join(dir, 'hc.csv'),
    );
    assert.equal(hotC.rowsOut, hotW.rowsOut);
    assert.equal(hotW.weighted, true);
    assert.equal(hotC.weighted, false);
    assert.equal(hotC.negativeSampleRate, 1);
    const hw = readCsv(join(dir, 'hw.csv')),
      hc = readCsv(join(dir, 'hc.csv'));
    assert.deepEqual(
      hc.map((o) => `${o.item}${o.click}`),
      hw.map((o) => `${o.item}${o.click}`),
    );
    assert.ok(hc.every((o) => o.w === '1'));
    assert.ok(hw.some((o) => o.w === '10'));
  }));

test('popularity_negatives: never a positive of the user, drawn ∝ count^alpha, weighted negatives estimate every non-positive item once', () =>
  withDir(async (dir) => {
    // 6 items with counts 1..6 (item k appears k times over users), category follows the item.
    const rows = ['user,item,cat'];
    const pos: Record<string, Set<string>> = {};
    let u = 0;
    for (let k = 1; k <= 6; k++)
      for (let j = 0; j < k; j++) {
        const user = `u${u++ % 5}`;
        rows.push(`${user},i${k},c${k % 2}`);
        (pos[user] ??= new Set()).add(`i${k}`);
      }
    writeFileSync(join(dir, 'in.csv'), rows.join('\n') + '\n');
    const spec: SamplingSpec = {
      item: 'item',
      user: 'user',
      label: 'label',
      weight: 'w',
      seed: 1,
      rules: [{ kind: 'popularity_negatives', perPositive: 40, alpha: 1, itemColumns: ['cat'] }],
    };
    const r = await sampleFile(spec, join(dir, 'in.csv'), join(dir, 'out.csv'));
    const out = readCsv(join(dir, 'out.csv'));
    assert.equal(r.generatedNegatives, 21 * 40);
    const negs = out.filter((o) => o.label === '0');
    assert.equal(out.filter((o) => o.label === '1').length, 21);
    for (const o of negs) {
      assert.ok(!pos[o.user!]!.has(o.item!), `${o.user} got its positive ${o.item} as a negative`);
      assert.equal(o.cat, `c${Number(o.item!.slice(1)) % 2}`); // item-side column follows the drawn item
    }
    // Horvitz–Thompson: per user, Σ weights of negatives ≈ number of non-positive items.
    for (const [user, mine] of Object.entries(pos)) {
      const s = negs.filter((o) => o.user === user).reduce((a, o) => a + Number(o.w), 0);
      const truth = 6 - mine.size;
      assert.ok(Math.abs(s - truth) < 0.15 * truth + 0.2, `${user}: Σ w = ${s}, non-positive items ${truth}`);
    }
  }));

test('bad rows and config errors', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, 'in.csv'), 'user,item,click\nu1,a,1\nu2,a,\nu3,b,yes\nu4,,0\n');
    const spec: SamplingSpec = {
      item: 'item',
      label: 'click',
      weight: 'w',
      seed: 1,
      rules: [{ kind: 'negative_downsample', rate: 0.5, correction: 'weight' }],
    };
    await assert.rejects(sampleFile(spec, join(dir, 'in.csv'), join(dir, 'out.csv')), /in\.csv:3: column "click": label "" is not binary/);
    assert.deepEqual(readdirSync(dir), ['in.csv']); // nothing written, no temporary left
    const r = await sampleFile(spec, join(dir, 'in.csv'), join(dir, 'out.csv'), { onBadRow: 'skip' });
    assert.equal(r.badRows.skipped, 2);
    assert.equal(r.rowsIn, 2); // the row with an empty item is valid: the empty string is its own item
    assert.match(r.badRows.examples[1]!.reason, /in\.csv:4: column "click": label "yes" is not binary/);
    const base = { input: 'in.csv', output: 'out.csv', item: 'item', label: 'click' };
    assert.throws(
      () => parseSampleConfig({ ...base, item: undefined, rules: [{ kind: 'hot_item', t: 0.1 }] }, 's.yaml', dir),
      /rules\[0\] \(hot_item\) needs item/,
    );
    assert.throws(
      () => parseSampleConfig({ ...base, rules: [{ kind: 'hot_item' }] }, 's.yaml', dir),
      /s\.yaml: rules\[0\] \(hot_item\) needs exactly one of t/,
    );
    assert.throws(
      () => parseSampleConfig({ ...base, rules: [{ kind: 'hot_items', t: 1 }] }, 's.yaml', dir),
      /s\.yaml: rules\[0\]\.kind must be one of hot_item, negative_downsample, popularity_negatives/,
    );
    assert.throws(
      () => parseSampleConfig({ ...base, rules: [{ kind: 'negative_downsample', rate: 1.5 }] }, 's.yaml', dir),
      /s\.yaml: rules\[0\]\.rate/,
    );
    assert.throws(
      () =>
        parseSampleConfig(
          {
            ...base,
            user: 'user',
            rules: [
              { kind: 'popularity_negatives', per_positive: 2 },
              { kind: 'hot_item', t: 0.01 },
            ],
          },
          's.yaml',
          dir,
        ),
      /cannot be combined/,
    );
    assert.throws(
      () => parseSampleConfig({ ...base, output: 'in.csv', rules: [{ kind: 'hot_item', t: 0.01 }] }, 's.yaml', dir),
      /output must differ from input/,
    );
  }));

test('finerank sample --config: YAML config, CSV out with the weight column, JSON counts, usage errors', () =>
  withDir(async (dir) => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { dirname } = await import('node:path');
    const main = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
    const cli = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });
    writeFileSync(
      join(dir, 'in.csv'),
      'user,item,click\n' +
        Array.from({ length: 200 }, (_, i) => `u${i % 7},${i % 3 === 0 ? 'hot' : `i${i}`},${i % 5 === 0 ? 1 : 0}`).join('\n') +
        '\n',
    );
    writeFileSync(join(dir, 's.yaml'), 'input: in.csv\noutput: out.csv\nlabel: click\nseed: 2\nrules:\n  - {kind: negative_downsample, rate: 0.5}\n');
    const r = cli(['sample', '--config', join(dir, 's.yaml'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { rowsIn: number; rowsOut: number; dropped: Record<string, number> };
    assert.equal(rep.rowsIn, 200);
    assert.equal(rep.rowsOut, 200 - rep.dropped.negative_downsample!);
    const out = readCsv(join(dir, 'out.csv'));
    assert.equal(out.length, rep.rowsOut);
    assert.equal(out.filter((o) => o.click === '1').length, 40);
    assert.ok(out.every((o) => o.weight === (o.click === '1' ? '1' : '2')));
    writeFileSync(join(dir, 'bad.yaml'), 'input: in.csv\noutput: out.csv\nrules: [{kind: negative_downsample, rate: 0.5}]\n');
    const b = cli(['sample', '--config', join(dir, 'bad.yaml')]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /bad\.yaml: rules\[0\] \(negative_downsample\) needs label/);
    assert.equal(cli(['sample']).status, 2);
  }));

test('inside train: hot_item closed_form is refused unless the item column is a sparse feature (the identity correction needs the model to see it)', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, 'train.csv'), 'item,x,click\na,1,1\nb,2,0\n');
    const job = {
      data: { train: join(dir, 'train.csv'), onBadRow: 'error' as const },
      schema: { columns: [{ role: 'label', name: 'click', source: 'click' }] } as unknown as Schema,
      train: TRAIN_DEFAULTS,
    };
    const spec: SamplingSpec = { item: 'item', weight: 'w', seed: 1, rules: [{ kind: 'hot_item', cap: 1, correction: 'closed_form' }] };
    await assert.rejects(applySampling({ ...job }, spec), /hot_item with correction closed_form needs the item column "item" as a sparse feature/);
    // With weights it runs (the weights correct any model).
    const s = await applySampling({ ...job }, { ...spec, rules: [{ kind: 'hot_item', cap: 1, correction: 'weight' }] });
    s.cleanup();
  }));
