import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reliability, rocCurve, builtinGroupOf } from '../../src/report/index.js';
import { VocabEncoder } from '../../src/features/encoders.js';
import { auc } from '../../src/metrics/index.js';
import { runCli as cli } from '../support/cli.js';
import { launchChromiumOrSkip } from '../support/chromium.js';

test('reliability bins and ECE, hand-computed', () => {
  // bin [0, .5): preds .1, .3 → mean .2, labels 0, 1 → .5; bin [.5, 1]: .8, 1.0 → .9, labels 1, 1 → 1
  const r = reliability([0.1, 0.3, 0.8, 1.0], [0, 1, 1, 1], 2);
  assert.equal(r.bins[0]!.rows, 2);
  assert.ok(Math.abs(r.bins[0]!.meanPrediction - 0.2) < 1e-12);
  assert.equal(r.bins[1]!.positiveRate, 1);
  assert.ok(Math.abs(r.ece - (0.5 * 0.3 + 0.5 * 0.1)) < 1e-12);
  // rows subset
  assert.ok(Math.abs(reliability([0.1, 0.3, 0.8, 1.0], [0, 1, 1, 1], 2, [2, 3]).ece - 0.1) < 1e-12);
});

test('ROC curve: ties move both rates; the trapezoid area equals the exact AUC', () => {
  const p = [0.9, 0.8, 0.8, 0.4, 0.3, 0.3, 0.1];
  const y = [1, 1, 0, 0, 1, 0, 0];
  const { fpr, tpr } = rocCurve(p, y);
  assert.deepEqual(fpr, [0, 0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(
    tpr.map((t) => Math.round(t * 3)),
    [0, 1, 2, 2, 3, 3],
  );
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i]! - fpr[i - 1]!) * (tpr[i]! + tpr[i - 1]!)) / 2;
  assert.ok(Math.abs(area - auc(p, y)) < 1e-12);
  assert.deepEqual(rocCurve([0.2, 0.3], [1, 1]), { fpr: [], tpr: [] });
});

test('built-in groups from training counts: activity thresholds, popularity deciles, unseen', () => {
  const enc = new VocabEncoder({ type: 'vocab', minCount: 1 });
  const counts: Record<string, number> = {};
  for (let k = 0; k < 20; k++) counts[`v${k}`] = 100 - 4 * k; // v0 most popular (100) … v19 (24)
  counts.rare = 3;
  for (const [v, c] of Object.entries(counts)) for (let i = 0; i < c; i++) enc.countString(v);
  enc.finish();
  const ids = ['v0', 'v19', 'rare', 'nope'].map((v) => enc.lookupString(v));
  assert.deepEqual(builtinGroupOf('builtin:activity', ids, enc, { cold: 5, heavy: 50 }), ['heavy', 'cold'.replace('cold', 'warm'), 'cold', 'cold']);
  // 21 known values: v0 → d01; rare (id 22, the 21st) → d10; nope → unseen
  assert.deepEqual(builtinGroupOf('builtin:popularity', ids, enc, { cold: 5, heavy: 50 }), ['d01', 'd10', 'd10', 'unseen']);
  assert.deepEqual(builtinGroupOf('builtin:unseen-item', ids, enc, { cold: 5, heavy: 50 }), ['seen', 'seen', 'seen', 'unseen']);
});

test('finerank report: JSON equals finerank eval --slice; built-ins cover every row; flags follow the thresholds; the page renders in headless Chromium', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-report-'));
  try {
    assert.equal(cli(['gen', 'multitask', '--out', join(dir, 'data'), '--rows', '12000', '--seed', '2']).code, 0);
    writeFileSync(
      join(dir, 'cfg.json'),
      JSON.stringify({
        data: { train: 'data/train.csv', valid: 'data/valid.csv', test: 'data/test.csv', schema: 'data/schema.json' },
        model: 'shared_bottom',
        model_options: { embedding_dim: 8, bottom_hidden_units: [32], tower_hidden_units: [16] },
        tasks: [
          { name: 'ctr', label: 'click' },
          { name: 'cvr', label: 'conversion', where: 'click' },
        ],
        train: { epochs: 3, batch_size: 256, seed: 1, progress: false },
        output: 'm.frk',
      }),
    );
    const tr = cli(['train', '--config', join(dir, 'cfg.json'), '--quiet']);
    assert.equal(tr.code, 0, tr.stderr);
    const model = join(dir, 'm.frk'),
      data = join(dir, 'data', 'test.csv');
    const rep = cli([
      'report',
      model,
      '--data',
      data,
      '--group',
      'device',
      '--group',
      'builtin:activity',
      '--group',
      'builtin:popularity',
      '--group',
      'builtin:unseen-item',
      '--item',
      'item_id',
      '--min-rows',
      '50',
      '-o',
      join(dir, 'report.html'),
      '--json',
    ]);
    assert.equal(rep.code, 0, rep.stderr);
    const r = JSON.parse(rep.stdout) as { overall: Record<string, number>; groups: Record<string, Record<string, Record<string, unknown>>> };
    const ev = cli(['eval', model, '--data', data, '--slice', 'device', '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout) as Record<string, unknown> & { slices: Record<string, Record<string, Record<string, unknown>>> };
    for (const k of ['rows', 'positives', 'auc', 'logloss', 'calibration', 'meanPrediction', 'positiveRate', 'gauc', 'avgAuc'])
      assert.equal(r.overall[k], e[k], `overall ${k}`);
    assert.deepEqual(Object.keys(r.groups.device!), Object.keys(e.slices.device!));
    for (const [v, m] of Object.entries(e.slices.device!))
      for (const [k, x] of Object.entries(m)) assert.equal(r.groups.device![v]![k], x, `device=${v} ${k}`);
    // Another task: only its where-rows (clicks), equal to eval's per-task slices.
    const cvr = JSON.parse(cli(['report', model, '--data', data, '--task', 'cvr', '--group', 'device', '--json']).stdout) as typeof r & {
      where: string;
    };
    assert.equal(cvr.where, 'click');
    const ecvr = (
      e as unknown as { tasks: Record<string, Record<string, unknown> & { slices: Record<string, Record<string, Record<string, unknown>>> }> }
    ).tasks.cvr!;
    assert.ok(cvr.overall.rows! < r.overall.rows!);
    for (const k of ['rows', 'positives', 'auc', 'logloss', 'calibration']) assert.equal(cvr.overall[k], ecvr[k], `cvr overall ${k}`);
    for (const [v, m] of Object.entries(ecvr.slices.device!))
      for (const [k, x] of Object.entries(m)) assert.equal(cvr.groups.device![v]![k], x, `cvr device=${v} ${k}`);
    assert.match(cli(['report', model, '--data', data, '--task', 'ctcvr', '--json']).stderr, /the model has no task 'ctcvr' \(tasks: ctr, cvr\)/);
    // Built-ins cover every row.
    for (const g of ['builtin:activity', 'builtin:popularity', 'builtin:unseen-item']) {
      assert.equal(
        Object.values(r.groups[g]!).reduce((s, m) => s + (m.rows as number), 0),
        r.overall.rows,
        g,
      );
    }
    assert.ok(
      ['cold', 'warm', 'heavy'].every((k) => k in r.groups['builtin:activity']!),
      JSON.stringify(Object.keys(r.groups['builtin:activity']!)),
    );
    // An absurd threshold flags every group of enough rows; a lax one none.
    const strict = JSON.parse(
      cli(['report', model, '--data', data, '--group', 'device', '--max-calibration-gap', '0', '--max-auc-gap', '0', '--min-rows', '1', '--json'])
        .stdout,
    ) as typeof r;
    assert.ok(Object.values(strict.groups.device!).some((m) => (m.flags as string[]).length > 0));
    const lax = JSON.parse(
      cli(['report', model, '--data', data, '--group', 'device', '--max-calibration-gap', '100', '--max-auc-gap', '1', '--json']).stdout,
    ) as typeof r;
    assert.ok(Object.values(lax.groups.device!).every((m) => (m.flags as string[]).length === 0));
    // Errors are clear.
    assert.match(
      cli(['report', model, '--data', data, '--group', 'builtin:nope', '--json']).stderr,
      /unknown built-in group 'builtin:nope' \(built-ins: builtin:activity/,
    );
    assert.match(cli(['report', model, '--data', data, '--group', 'builtin:popularity', '--json']).stderr, /built-in item groups need --item COLUMN/);
    assert.match(
      cli(['report', model, '--data', data, '--group', 'price', '--item', 'item_id', '--json']).stderr,
      /slice column 'price' must be a sparse feature/,
    );

    // The page: self-contained, renders with no console errors.
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.ok(
      !/<script[^>]+src=|<link[^>]+href=|https?:\/\//.test(html.replace(/<script>[\s\S]*?<\/script>/g, '')),
      'the page must not load anything',
    );
    const browser = await launchChromiumOrSkip(t);
    if (browser === null) return;
    try {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (err) => problems.push(String(err)));
      page.on('request', (req) => {
        if (!req.url().startsWith('file:')) problems.push(`network request: ${req.url()}`);
      });
      await page.goto('file://' + join(dir, 'report.html'));
      await page.waitForSelector('body[data-rendered="yes"]', { timeout: 30_000 });
      assert.deepEqual(problems, []);
      // Every canvas got a chart with pixels drawn on it.
      const drawn = await page.$$eval('canvas', (cs) =>
        cs.map((c) => {
          const g = (c as HTMLCanvasElement).getContext('2d')!;
          const d = g.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
          let ink = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
          return ink;
        }),
      );
      assert.equal(drawn.length, 2 + 2 * 4); // ROC, reliability, and AUC + calibration bars for 4 groupings
      assert.ok(
        drawn.every((n) => n > 500),
        `ink per canvas: ${drawn.join(', ')}`,
      );
      if (process.env.FINERANK_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.FINERANK_REPORT_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
