/**
 * `finerank predict` / `eval` read the data file in its own format (extension or --format),
 * not only in the artifact's training format: a model trained from CSV scores the same rows
 * written as JSONL and TSV to the same probabilities; missing columns, formats without column
 * names and unknown formats are refused with clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { runCli as cli, lastJson } from '../support/cli.js';

const COLORS = ['red', 'green', 'blue', 'black'];

/** Rows of (click, user, color, price) where the click depends on the color and the price. */
function rows(rng: Rng, n: number): Array<{ click: number; user: string; color: string; price: number }> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const c = rng.int(COLORS.length),
      price = Math.round(rng.uniform(1, 50) * 100) / 100;
    const p = 1 / (1 + Math.exp(-([-1, 1, 0.5, -0.5][c]! - 0.03 * (price - 25))));
    out.push({ click: rng.next() < p ? 1 : 0, user: `u${rng.int(30)}`, color: COLORS[c]!, price });
  }
  return out;
}

const csv = (rs: ReturnType<typeof rows>, sep = ',') =>
  ['click,user,color,price'.replaceAll(',', sep), ...rs.map((r) => [r.click, r.user, r.color, r.price].join(sep))].join('\n') + '\n';

test('predict and eval pick the reader from the input file: a CSV-trained model scores JSONL and TSV files (same scores), clear errors otherwise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-predict-format-'));
  try {
    const rng = new Rng(17);
    const test = rows(rng, 300);
    writeFileSync(join(dir, 'train.csv'), csv(rows(rng, 1500)));
    writeFileSync(join(dir, 'valid.csv'), csv(rows(rng, 300)));
    writeFileSync(join(dir, 'test.csv'), csv(test));
    // The same rows as JSONL (keys in another order, the label left out), as TSV, and as JSONL under a .txt name.
    writeFileSync(join(dir, 'test.jsonl'), test.map((r) => JSON.stringify({ price: r.price, color: r.color, user: r.user })).join('\n') + '\n');
    writeFileSync(join(dir, 'test.tsv'), csv(test, '\t'));
    copyFileSync(join(dir, 'test.jsonl'), join(dir, 'jsonl-rows.txt'));
    const config = {
      data: {
        train: join(dir, 'train.csv'),
        valid: join(dir, 'valid.csv'),
        test: join(dir, 'test.csv'),
        schema: {
          dataset: { format: 'csv', header: true },
          columns: [
            { name: 'click', role: 'label' },
            { name: 'user', role: 'sparse' },
            { name: 'color', role: 'sparse' },
            { name: 'price', role: 'dense', transform: ['standardize'] },
          ],
        },
      },
      model: 'deepfm',
      model_options: { embedding_dim: 4, hidden_units: [8] },
      train: { epochs: 2, batch_size: 128 },
      output: join(dir, 'm.frk'),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = cli(['train', '--config', join(dir, 'config.json'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const model = join(dir, 'm.frk');

    const scores = (args: string[]): string[] => {
      const p = cli(['predict', model, ...args]);
      assert.equal(p.code, 0, p.stderr);
      const lines = p.stdout.trim().split('\n');
      assert.equal(lines[0], 'score');
      return lines.slice(1);
    };
    const fromCsv = scores(['--data', join(dir, 'test.csv')]);
    assert.equal(fromCsv.length, 300);
    assert.ok(new Set(fromCsv).size > 4, 'scores vary with the rows');
    // Before: the CSV reader ran over the JSONL file and failed on its first line.
    assert.deepEqual(scores(['--data', join(dir, 'test.jsonl')]), fromCsv);
    assert.deepEqual(scores(['--data', join(dir, 'test.tsv')]), fromCsv);
    assert.deepEqual(scores(['--data', join(dir, 'jsonl-rows.txt'), '--format', 'jsonl']), fromCsv);

    // eval reads the TSV too, to the same metrics as the CSV.
    const ev = (f: string) => {
      const r = cli(['eval', model, '--data', join(dir, f), '--json']);
      assert.equal(r.code, 0, r.stderr);
      return lastJson(r.stdout);
    };
    assert.deepEqual(ev('test.tsv'), ev('test.csv'));

    // A column the model needs is missing: named, with the file's columns.
    writeFileSync(join(dir, 'no-color.jsonl'), test.map((r) => JSON.stringify({ user: r.user, price: r.price })).join('\n') + '\n');
    const missing = cli(['predict', model, '--data', join(dir, 'no-color.jsonl')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-color\.jsonl.*column "color" \(feature "color", role sparse\) is not in the data/s);
    assert.match(missing.stderr, /user, price/);
    // A format without column names, for a model trained on named columns.
    writeFileSync(join(dir, 'rows.libsvm'), '1 0:1 3:1\n');
    const libsvm = cli(['predict', model, '--data', join(dir, 'rows.libsvm')]);
    assert.equal(libsvm.code, 1);
    assert.match(libsvm.stderr, /cannot score a libsvm file: a libsvm file has no column names.*this model reads csv, tsv, jsonl, parquet/);
    const unknown = cli(['predict', model, '--data', join(dir, 'test.csv'), '--format', 'xlsx']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown format 'xlsx': supported formats are csv, tsv, jsonl, parquet, libsvm, libfm/);
    // The wrong --format for the bytes: the reader's parse error, naming the file and line.
    const wrong = cli(['predict', model, '--data', join(dir, 'test.csv'), '--format', 'jsonl']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /test\.csv:1: invalid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
