import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLabelFiles, parseLabelConfig, parseDuration, type LabelConfig } from '../../src/labels/index.js';
import { Rng } from '../../src/engine/random.js';
import { parquetWriteBuffer } from 'hyparquet-writer';

/**
 * Writes an event log (rows of [user, item, type, time, value?, ctx?], sorted by time unless
 * `asGiven`) and a config, builds the labels and returns the report and the output files.
 */
async function run(given: (string | number)[][], cfgRaw: Record<string, unknown>, opts: { ext?: string; asGiven?: boolean } = {}) {
  const rows = opts.asGiven ? given : [...given].sort((a, b) => Number(a[3]) - Number(b[3]));
  const dir = mkdtempSync(join(tmpdir(), 'finerank-labels-'));
  try {
    const ext = opts.ext ?? 'csv';
    const file = join(dir, `events.${ext}`);
    if (ext === 'parquet') {
      const col = (k: number) => rows.map((r) => (r[k] === undefined || r[k] === '' ? null : String(r[k])));
      writeFileSync(
        file,
        Buffer.from(
          parquetWriteBuffer({
            columnData: [
              { name: 'user', data: col(0), type: 'STRING' },
              { name: 'item', data: col(1), type: 'STRING' },
              { name: 'type', data: col(2), type: 'STRING' },
              { name: 'ts', data: rows.map((r) => Number(r[3])), type: 'DOUBLE' },
              { name: 'value', data: rows.map((r) => (r[4] === undefined ? null : Number(r[4]))), type: 'DOUBLE' },
              { name: 'ctx', data: col(5), type: 'STRING' },
            ],
          }),
        ),
      );
    } else if (ext === 'csv')
      writeFileSync(
        file,
        ['user,item,type,ts,value,ctx', ...rows.map((r) => [r[0], r[1], r[2], r[3], r[4] ?? '', r[5] ?? ''].join(','))].join('\n') + '\n',
      );
    else
      writeFileSync(
        file,
        rows.map((r) => JSON.stringify({ user: r[0], item: r[1], type: r[2], ts: r[3], value: r[4] ?? null, ctx: r[5] ?? null })).join('\n') + '\n',
      );
    const cfg = parseLabelConfig(
      {
        events: `events.${ext}`,
        columns: { user: 'user', item: 'item', type: 'type', time: 'ts', value: 'value' },
        ...(cfgRaw.split ? {} : { output: 'out.csv' }),
        ...cfgRaw,
      },
      'labels.yaml',
      dir,
    );
    const report = await buildLabelFiles(cfg);
    const files = readdirSync(dir);
    const texts = Object.fromEntries(files.filter((f) => f.endsWith('.csv')).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const read = (name: string) => {
      assert.ok(texts[name] !== undefined, `no output ${name}`);
      const lines = texts[name]!.trim().split('\n');
      const head = lines[0]!.split(',');
      return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i]!, v])));
    };
    return { report, read, files, cfg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Output rows of one file as `user/item/time → label values`. */
function byKey(rows: Record<string, string>[], labels: string[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [`${r.user}/${r.item}/${r.ts}`, labels.map((l) => r[l]).join(' ')]));
}

const END = (t: number): (string | number)[] => ['zz', 'end', 'tick', t]; // an unrelated event that moves the log's end

test('parseDuration: seconds and unit strings; malformed is NaN', () => {
  assert.equal(parseDuration(90), 90);
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration('7d'), 604800);
  assert.ok(Number.isNaN(parseDuration('7 days')));
  assert.ok(Number.isNaN(parseDuration(-1)));
});

test('click window: inclusive end, outside → 0, last-touch attribution between repeated impressions', async () => {
  const { read, report } = await run(
    [
      ['u1', 'a', 'impression', 100],
      ['u1', 'a', 'click', 160], // 60 s: inside
      ['u1', 'b', 'impression', 100],
      ['u1', 'b', 'click', 200], // exactly at the window end: inside
      ['u1', 'c', 'impression', 100],
      ['u1', 'c', 'click', 201], // 1 s past: outside
      ['u2', 'a', 'impression', 100],
      ['u2', 'a', 'impression', 150],
      ['u2', 'a', 'click', 170], // goes to the 150 one only
      ['u3', 'a', 'click', 90],
      ['u3', 'a', 'impression', 100], // click before the impression: never counts
      ['u4', 'a', 'impression', 120],
      ['u4', 'a', 'click', 120], // same second as the impression: counts
      END(10_000),
    ],
    { labels: [{ kind: 'click', name: 'clk', window: 100 }] },
  );
  const got = byKey(read('out.csv'), ['clk']);
  assert.deepEqual(got, {
    'u1/a/100': '1',
    'u1/b/100': '1',
    'u1/c/100': '0',
    'u2/a/100': '0',
    'u2/a/150': '1',
    'u3/a/100': '0',
    'u4/a/120': '1',
  });
  assert.equal(report.engine.unattributed.clk, 2); // u1/c at 201 and u3's early click
  assert.equal(report.engine.positives.clk, 4);
});

test('conversion: within the attribution window after an attributed click; not without a click or after the window', async () => {
  const labels = [
    { kind: 'click', name: 'clk', window: '1h' },
    { kind: 'conversion', name: 'cv', event: 'buy', click_window: '1h', window: '1d' },
  ];
  const { read, report } = await run(
    [
      ['u1', 'a', 'impression', 0],
      ['u1', 'a', 'click', 600],
      ['u1', 'a', 'buy', 600 + 86400], // exactly 1 d after the click: yes
      ['u2', 'a', 'impression', 0],
      ['u2', 'a', 'click', 600],
      ['u2', 'a', 'buy', 600 + 86401], // 1 s late: no
      ['u3', 'a', 'impression', 0],
      ['u3', 'a', 'buy', 100], // no click: no
      ['u4', 'a', 'impression', 0],
      ['u4', 'a', 'click', 3601],
      ['u4', 'a', 'buy', 4000], // click outside the click window: no
      ['u5', 'b', 'impression', 0],
      ['u5', 'a', 'click', 10],
      ['u5', 'b', 'buy', 20], // click on another item: no
      END(200_000),
    ],
    { labels },
  );
  assert.deepEqual(byKey(read('out.csv'), ['clk', 'cv']), {
    'u1/a/0': '1 1',
    'u2/a/0': '1 0',
    'u3/a/0': '0 0',
    'u4/a/0': '0 0',
    'u5/b/0': '0 0',
  });
  assert.equal(report.engine.unattributed.cv, 4);
  assert.equal(report.horizon, 3600 + 86400);
});

test('dwell ≥ threshold, completion ratio (max in window, optional threshold) and the value column checks', async () => {
  const labels = [
    { kind: 'dwell', name: 'long', event: 'dwell', window: 600, min: 30 },
    { kind: 'completion', name: 'ratio', event: 'play', window: 600 },
    { kind: 'completion', name: 'half', event: 'play', window: 600, min: 0.5 },
  ];
  const { read } = await run(
    [
      ['u1', 'a', 'impression', 0],
      ['u1', 'a', 'dwell', 50, 30],
      ['u1', 'a', 'play', 60, 0.25],
      ['u1', 'a', 'play', 70, 0.75],
      ['u2', 'a', 'impression', 0],
      ['u2', 'a', 'dwell', 50, 29.5],
      ['u2', 'a', 'play', 700, 1], // play after the window
      END(5000),
    ],
    { labels },
  );
  assert.deepEqual(byKey(read('out.csv'), ['long', 'ratio', 'half']), { 'u1/a/0': '1 0.75 1', 'u2/a/0': '0 0 0' });

  await assert.rejects(
    run(
      [
        ['u1', 'a', 'impression', 0],
        ['u1', 'a', 'play', 5, 1.5],
      ],
      { labels },
    ),
    /events\.csv:3: column "value": completion ratio 1\.5 is outside \[0, 1\]/,
  );
  await assert.rejects(
    run(
      [
        ['u1', 'a', 'impression', 0],
        ['u1', 'a', 'dwell', 5, 'long'],
      ],
      { labels },
    ),
    /events\.csv:3: column "value": value "long" is not a number/,
  );
});

test('return within N days: any later event of the user in (t + after, t + within]', async () => {
  const labels = [{ kind: 'return', name: 'ret', after: '1h', within: '7d' }];
  const { read } = await run(
    [
      ['u1', 'a', 'impression', 0],
      ['u1', 'x', 'impression', 1800], // 30 min later: same session, no
      ['u2', 'a', 'impression', 0],
      ['u2', 'z', 'click', 86400 * 3], // 3 days later, another item: yes
      ['u3', 'a', 'impression', 0],
      ['u3', 'a', 'impression', 86400 * 7 + 1], // 1 s after 7 d: no (for the first)
      ['u4', 'a', 'impression', 0],
      ['u9', 'a', 'click', 86400], // another user: no
      END(86400 * 30),
    ],
    { labels },
  );
  const got = byKey(read('out.csv'), ['ret']);
  // Only clicks count as a return: u3's later impression does not, u2's click does.
  const clicksOnly = await run(
    [
      ['u2', 'a', 'impression', 0],
      ['u2', 'z', 'click', 86400 * 3],
      ['u3', 'a', 'impression', 0],
      ['u3', 'b', 'impression', 86400 * 2],
      ['u3', 'b', 'click', 86400 * 8],
      END(86400 * 30),
    ],
    { labels: [{ kind: 'return', name: 'ret', after: '1h', within: '7d', events: ['click'] }] },
  );
  assert.deepEqual(byKey(clicksOnly.read('out.csv'), ['ret']), { 'u2/a/0': '1', 'u3/a/0': '0', 'u3/b/172800': '1' });
  assert.equal(got['u1/a/0'], '0');
  assert.equal(got['u2/a/0'], '1');
  assert.equal(got['u3/a/0'], '0');
  assert.equal(got['u4/a/0'], '0');
});

test('out-of-order events within max_lateness give the sorted result; later ones and duplicates are counted and dropped', async () => {
  const labels = [{ kind: 'click', name: 'clk', window: 100 }];
  const sorted = [['u1', 'a', 'impression', 100], ['u1', 'a', 'click', 150], ['u2', 'b', 'impression', 200], ['u2', 'b', 'click', 260], END(1000)];
  const shuffled = [
    ['u1', 'a', 'click', 150],
    ['u2', 'b', 'impression', 200],
    ['u1', 'a', 'impression', 100],
    ['u2', 'b', 'click', 260],
    ['u2', 'b', 'click', 260],
    ['u1', 'a', 'click', 150],
    END(1000), // exact duplicates
  ];
  const a = await run(sorted, { labels });
  const b = await run(shuffled, { labels, max_lateness: 120 }, { asGiven: true });
  assert.deepEqual(byKey(b.read('out.csv'), ['clk']), byKey(a.read('out.csv'), ['clk']));
  assert.deepEqual(byKey(b.read('out.csv'), ['clk']), { 'u1/a/100': '1', 'u2/b/200': '1' });
  assert.equal(b.report.reorder.duplicates, 2);
  assert.equal(b.report.reorder.reordered, 1);
  // The same shuffle with too little lateness: the impression at 100 arrives 100 s behind the
  // latest (200) and the repeated click at 150 110 s behind (260): both dropped as late.
  const c = await run(shuffled, { labels, max_lateness: 30 }, { asGiven: true });
  assert.equal(c.report.reorder.late, 2);
  assert.equal(c.report.reorder.duplicates, 1);
  assert.deepEqual(byKey(c.read('out.csv'), ['clk']), { 'u2/b/200': '1' });
});

test('impressions whose windows outlast the log are dropped and counted (or kept when asked)', async () => {
  const labels = [{ kind: 'click', name: 'clk', window: 100 }];
  const rows = [['u1', 'a', 'impression', 0], ['u2', 'a', 'impression', 950], ['u2', 'a', 'click', 960], END(1000)];
  const a = await run(rows, { labels });
  assert.deepEqual(byKey(a.read('out.csv'), ['clk']), { 'u1/a/0': '0' });
  assert.equal(a.report.engine.incomplete, 1);
  const b = await run(rows, { labels, incomplete: 'keep' });
  assert.deepEqual(byKey(b.read('out.csv'), ['clk']), { 'u1/a/0': '0', 'u2/a/950': '1' });
});

test('time split with a gap: no training label window crosses the split; the leaking label is provably absent', async () => {
  const labels = [{ kind: 'click', name: 'clk', window: 100 }];
  const rows = [
    ['u1', 'a', 'impression', 800],
    ['u1', 'a', 'click', 850], // window ends 900 ≤ 1000 − 100: train
    ['u2', 'a', 'impression', 950],
    ['u2', 'a', 'click', 1020], // its click is after the split: would leak → in the gap
    ['u3', 'a', 'impression', 1000],
    ['u3', 'a', 'click', 1010], // at the split: test
    END(5000),
  ];
  const { read, report } = await run(rows, { labels, split: { at: 1000, train: 'train.csv', test: 'test.csv' } });
  const train = read('train.csv'),
    testRows = read('test.csv');
  assert.deepEqual(byKey(train, ['clk']), { 'u1/a/800': '1' });
  assert.deepEqual(byKey(testRows, ['clk']), { 'u3/a/1000': '1' });
  assert.equal(report.gapDropped, 1);
  // Every training row's window ends by the split time.
  for (const r of train) assert.ok(Number(r.ts) + report.horizon <= 1000);
  // A gap shorter than the longest window is refused.
  assert.throws(
    () =>
      parseLabelConfig(
        { events: 'e.csv', columns: { user: 'u', item: 'i', type: 't', time: 'ts' }, labels, split: { at: 1000, gap: 50, train: 'a', test: 'b' } },
        'labels.yaml',
        '.',
      ),
    /labels\.yaml: split\.gap is 50 s, shorter than the longest label window \(100 s\)/,
  );
});

test('history features use only events strictly before the impression; keep copies impression columns', async () => {
  const { read } = await run(
    [
      ['u1', 'a', 'click', 10],
      ['u1', 'b', 'click', 20],
      ['u1', 'c', 'impression', 30, '', 'home'],
      ['u1', 'c', 'click', 30],
      ['u1', 'd', 'click', 40],
      ['u1', 'e', 'impression', 50, '', 'search'],
      END(1000),
    ],
    { labels: [{ kind: 'click', name: 'clk', window: 5 }], history: [{ name: 'hist', event: 'click', max_len: 2 }], keep: ['ctx'] },
  );
  const rows = read('out.csv');
  assert.deepEqual(
    rows.map((r) => [r.item, r.hist, r.ctx, r.clk]),
    [
      ['c', 'a|b', 'home', '1'],
      ['e', 'c|d', 'search', '0'],
    ],
  );
});

test('brute force: random logs, shuffled within the lateness, with duplicates, match a direct computation', async () => {
  const rng = new Rng(7);
  const W = 50,
    RET_AFTER = 20,
    RET_WITHIN = 200;
  const events: (string | number)[][] = [];
  for (let k = 0; k < 600; k++) {
    const u = `u${Math.floor(rng.next() * 8)}`,
      it = `i${Math.floor(rng.next() * 4)}`;
    const t = Math.floor(rng.next() * 2000);
    events.push([u, it, rng.next() < 0.5 ? 'impression' : 'click', t]);
  }
  events.push(END(3000));
  const sorted = [...events].sort((a, b) => (a[3] as number) - (b[3] as number) || (a[2] === 'impression' ? 0 : 1) - (b[2] === 'impression' ? 0 : 1));
  // Brute force on the de-duplicated, time-ordered log.
  const seen = new Set<string>();
  const log = sorted.filter((e) => {
    const k = e.join('|');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const imps = log.map((e, i) => ({ e, i })).filter((x) => x.e[2] === 'impression');
  const clk = new Map<number, number>();
  for (const x of imps) clk.set(x.i, 0);
  log.forEach((c, ci) => {
    if (c[2] !== 'click') return;
    // last touch: the latest impression (in the ordered log, before the click) of the pair within W
    let best = -1;
    for (const x of imps) if (x.i < ci && x.e[0] === c[0] && x.e[1] === c[1] && (c[3] as number) - (x.e[3] as number) <= W) best = x.i;
    if (best >= 0) clk.set(best, 1);
  });
  const expected: Record<string, string> = {};
  for (const x of imps) {
    const t = x.e[3] as number;
    const ret = log.some((o) => o[0] === x.e[0] && (o[3] as number) - t > RET_AFTER && (o[3] as number) - t <= RET_WITHIN) ? 1 : 0;
    const key = `${x.e[0]}/${x.e[1]}/${t}`;
    const v = `${clk.get(x.i)} ${ret}`;
    // Repeated identical impressions are one impression (duplicates); keep the label of the last in order.
    expected[key] = v;
  }
  // Shuffle: each event may move at most 30 s behind the running maximum.
  const shuffled = [...sorted];
  for (let k = 0; k < shuffled.length - 1; k++) {
    const j = k + 1 + Math.floor(rng.next() * 3);
    if (j < shuffled.length && (shuffled[j]![3] as number) - (shuffled[k]![3] as number) <= 30 && rng.next() < 0.5)
      [shuffled[k], shuffled[j]] = [shuffled[j]!, shuffled[k]!];
  }
  const labels = [
    { kind: 'click', name: 'clk', window: W },
    { kind: 'return', name: 'ret', after: RET_AFTER, within: RET_WITHIN },
  ];
  const { read, report } = await run(shuffled, { labels, max_lateness: 60 }, { asGiven: true });
  assert.equal(report.reorder.late, 0);
  assert.ok(report.reorder.reordered > 0, 'the shuffle must reorder something');
  assert.equal(report.reorder.duplicates, events.length - log.length);
  assert.deepEqual(byKey(read('out.csv'), ['clk', 'ret']), expected);
});

test('bad rows: located errors by default, counted skips with on_bad_row: skip; JSONL works the same', async () => {
  const labels = [{ kind: 'click', name: 'clk', window: 100 }];
  const rows = [['u1', 'a', 'impression', 0], ['u1', 'a', 'click', 'noon'], ['', 'a', 'click', 5], ['u1', 'a', 'click', 10], END(500)];
  await assert.rejects(
    run(rows, { labels }, { asGiven: true }),
    /events\.csv:3: column "ts": timestamp "noon" is not valid; expected a number \(seconds\)/,
  );
  const s = await run(rows, { labels, on_bad_row: 'skip' }, { asGiven: true });
  assert.equal(s.report.badRows.skipped, 2);
  assert.deepEqual(byKey(s.read('out.csv'), ['clk']), { 'u1/a/0': '1' });
  const j = await run(
    rows.filter((r) => r[3] !== 'noon' && r[0] !== ''),
    { labels },
    { ext: 'jsonl' },
  );
  assert.deepEqual(byKey(j.read('out.csv'), ['clk']), { 'u1/a/0': '1' });
  const pq = await run(
    [...rows.filter((r) => r[3] !== 'noon' && r[0] !== ''), ['u2', 'b', 'impression', 20, 3.5, 'x']],
    { labels: [...labels, { kind: 'dwell', name: 'dw', event: 'dwell', window: 100, min: 1 }] },
    { ext: 'parquet' },
  );
  assert.deepEqual(byKey(pq.read('out.csv'), ['clk', 'dw']), { 'u1/a/0': '1 0', 'u2/b/20': '0 0' });
  // An error leaves no output file and no temporary behind.
  const dir = mkdtempSync(join(tmpdir(), 'finerank-labels-'));
  try {
    writeFileSync(join(dir, 'e.csv'), 'user,item,type,ts\nu,a,impression,0\nu,a,click,x\n');
    const cfg: LabelConfig = parseLabelConfig(
      { events: 'e.csv', columns: { user: 'user', item: 'item', type: 'type', time: 'ts' }, labels, output: 'o.csv' },
      'l.yaml',
      dir,
    );
    await assert.rejects(buildLabelFiles(cfg));
    assert.equal(existsSync(join(dir, 'o.csv')), false);
    assert.deepEqual(readdirSync(dir), ['e.csv']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors name the path', () => {
  const base = { events: 'e.csv', columns: { user: 'u', item: 'i', type: 't', time: 'ts' }, output: 'o.csv' };
  assert.throws(
    () => parseLabelConfig({ ...base, labels: [{ kind: 'click', name: 'c', window: 'soon' }] }, 'l.yaml', '.'),
    /l\.yaml: labels\[0\]\.window must be a duration/,
  );
  assert.throws(
    () => parseLabelConfig({ ...base, labels: [{ kind: 'clicks', name: 'c', window: 5 }] }, 'l.yaml', '.'),
    /l\.yaml: labels\[0\]\.kind must be one of click, conversion, dwell, completion, return/,
  );
  assert.throws(
    () => parseLabelConfig({ ...base, labels: [{ kind: 'click', name: 'c', window: 5, windw: 3 }] }, 'l.yaml', '.'),
    /labels\[0\] has unknown key "windw"/,
  );
  assert.throws(
    () => parseLabelConfig({ ...base, labels: [{ kind: 'dwell', name: 'd', event: 'dwell', window: 5, min: 3 }] }, 'l.yaml', '.'),
    /labels\[0\] \(dwell\) needs columns\.value/,
  );
  assert.throws(
    () => parseLabelConfig({ ...base, labels: [{ kind: 'click', name: 'u', window: 5 }] }, 'l.yaml', '.'),
    /output column "u" appears twice/,
  );
  assert.throws(
    () =>
      parseLabelConfig({ ...base, columns: { user: 'u', item: 'i', time: 'ts' }, labels: [{ kind: 'click', name: 'c', window: 5 }] }, 'l.yaml', '.'),
    /l\.yaml: columns\.type is required/,
  );
});
