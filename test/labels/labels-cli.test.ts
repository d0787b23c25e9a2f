import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.js';

const cli = (args: string[]) => runCli(args, {}, 60_000);

test('finerank labels --config (YAML, JSONL log, ISO times, split): files, counts and config errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-labels-cli-'));
  try {
    const ev = (user: string, item: string, type: string, ts: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ user, item, type, ts, ...extra });
    writeFileSync(
      join(dir, 'events.jsonl'),
      [
        ev('u1', 'a', 'impression', '2026-01-01T00:00:00Z', { page: 'home' }),
        ev('u1', 'a', 'click', '2026-01-01T00:05:00Z'),
        ev('u1', 'a', 'buy', '2026-01-01T06:00:00Z'),
        ev('u2', 'b', 'impression', '2026-01-02T00:00:00Z', { page: 'search' }), // its conversion window (to 01-03 00:30) crosses the split: gap
        ev('u2', 'b', 'click', '2026-01-02T00:10:00Z'),
        ev('u3', 'c', 'impression', '2026-01-03T00:00:00Z', { page: 'home' }),
        ev('u3', 'c', 'impression', '2026-01-03T00:00:00Z', { page: 'home' }), // duplicate
        ev('u9', 'z', 'tick', '2026-01-10T00:00:00Z'),
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'labels.yaml'),
      [
        'events: events.jsonl',
        'columns: {user: user, item: item, type: type, time: ts}',
        'time_unit: iso',
        'keep: [page]',
        'labels:',
        '  - {kind: click, name: click, window: 30m}',
        '  - {kind: conversion, name: buy, event: buy, click_window: 30m, window: 1d}',
        'split: {at: "2026-01-03T00:00:00Z", train: train.csv, test: test.csv}',
      ].join('\n'),
    );
    const r = cli(['labels', '--config', join(dir, 'labels.yaml'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      events: number;
      gapDropped: number;
      reorder: { duplicates: number };
      horizon: number;
    };
    assert.equal(rep.events, 8);
    assert.equal(rep.gapDropped, 1);
    assert.equal(rep.reorder.duplicates, 1);
    assert.equal(rep.horizon, 1800 + 86400);
    assert.equal(readFileSync(join(dir, 'train.csv'), 'utf8'), 'user,item,ts,page,click,buy\nu1,a,2026-01-01T00:00:00Z,home,1,1\n');
    assert.equal(readFileSync(join(dir, 'test.csv'), 'utf8'), 'user,item,ts,page,click,buy\nu3,c,2026-01-03T00:00:00Z,home,0,0\n');

    writeFileSync(
      join(dir, 'bad.yaml'),
      'events: events.jsonl\ncolumns: {user: user, item: item, type: type, time: ts}\nlabels: [{kind: click, name: c, window: 1h}]\noutput: o.csv\nspilt: {}\n',
    );
    const b = cli(['labels', '--config', join(dir, 'bad.yaml')]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /bad\.yaml: has unknown key "spilt"/);
    assert.equal(cli(['labels']).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
