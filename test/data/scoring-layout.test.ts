/** `scoringLayout`: which layout `finerank predict` / `eval` read a file with, for a model trained on another layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoringLayout } from '../../src/readers/index.js';
import type { DatasetSpec } from '../../src/readers/dataset.js';

const csv: DatasetSpec = { format: 'csv', header: true, separator: ',', quote: '"' };
const headless: DatasetSpec = { format: 'csv', header: false, columns: ['y', 'a', 'b'], separator: ';', quote: "'" };
const libfm: DatasetSpec = { format: 'libfm', header: false, separator: ' ', quote: '"', fields: [{ name: 'a', range: [0, 9], as: 'index' }] };

test('scoringLayout: the training layout for the training format, a named-column layout from the extension or --format', () => {
  assert.equal(scoringLayout(csv, 'x.csv'), csv);
  assert.equal(scoringLayout(csv, 'x.data'), csv, 'no known extension: the training format');
  assert.deepEqual(scoringLayout(csv, 'x.jsonl'), { format: 'jsonl', header: true, separator: ',', quote: '"' });
  assert.deepEqual(scoringLayout(csv, 'x.ndjson.gz')?.format, 'jsonl');
  assert.deepEqual(scoringLayout(csv, 'x.parquet')?.format, 'parquet');
  assert.deepEqual(scoringLayout(csv, 'x.csv', 'jsonl')?.format, 'jsonl', '--format beats the extension');
  // CSV <-> TSV keeps a header-less column list and the quote, with the format's separator.
  assert.deepEqual(scoringLayout(headless, 'x.tsv'), { ...headless, format: 'tsv', separator: '\t' });
  assert.deepEqual(scoringLayout({ ...headless, format: 'tsv', separator: '\t' }, 'x.csv'), { ...headless, format: 'csv', separator: ',' });
  // libsvm <-> libfm keep the fields; no schema dataset: the readers' own choice, or --format's plain layout.
  assert.deepEqual(scoringLayout(libfm, 'x.libsvm'), { ...libfm, format: 'libsvm' });
  assert.equal(scoringLayout(undefined, 'x.jsonl'), undefined);
  assert.deepEqual(scoringLayout(undefined, 'x.txt', 'tsv'), { format: 'tsv', header: true, separator: '\t', quote: '"' });
});

test('scoringLayout: formats without column names for a named-column model, named columns for a libsvm/libfm model, unknown formats: refused', () => {
  assert.throws(
    () => scoringLayout(csv, 'x.libsvm'),
    /x\.libsvm: cannot score a libsvm file: a libsvm file has no column names.*reads csv, tsv, jsonl, parquet/,
  );
  assert.throws(() => scoringLayout(libfm, 'x.csv'), /cannot score a csv file: this model was trained on libfm files.*reads libsvm, libfm/);
  assert.throws(() => scoringLayout(csv, 'x.csv', 'excel'), /unknown format 'excel': supported formats are csv, tsv, jsonl, parquet, libsvm, libfm/);
});
