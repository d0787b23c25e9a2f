/**
 * Small datasets for the data/feature tests, written in every supported format with the
 * same content: categorical values are libsvm feature indices so that the libsvm file can
 * carry the same raw values as the CSV one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Rng } from '../../src/engine/random.js';
import { defineSchema, dense, group, label, sparse, varlen, type Schema } from '../../src/features/schema.js';

/** One row of the fixture dataset. */
export interface Row {
  click: number;
  user: number; // libsvm index 0..49
  item: number; // libsvm index 100..179
  price: number | null; // libsvm index 500 (as value)
  tags: number[]; // libsvm indices 300..319
  ts: number;
}

/** Deterministic rows. */
export function makeRows(n: number, seed = 1): Row[] {
  const rng = new Rng(seed);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const nt = rng.int(4);
    const tags: number[] = [];
    for (let k = 0; k < nt; k++) tags.push(300 + rng.int(20));
    rows.push({
      click: rng.next() < 0.3 ? 1 : 0,
      user: Math.min(49, Math.floor(Math.pow(rng.next(), 2) * 50)),
      item: 100 + rng.int(80),
      price: rng.next() < 0.1 ? null : Math.round(rng.uniform(0, 500) * 100) / 100,
      tags,
      ts: 1000 + i,
    });
  }
  return rows;
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'finerank-data-'));
}

/** The schema matching the fixtures (no dataset part: the format comes from the extension). */
export function fixtureSchema(): Schema {
  return defineSchema({
    columns: [
      label('click'),
      sparse('user', { encoder: { type: 'vocab', minCount: 2 } }),
      sparse('item'),
      dense('price', { transform: ['log1p', 'standardize'], missing: 'mean' }),
      varlen('tags', { maxLen: 3 }),
      group('user'),
    ],
  });
}

/** Writes the rows as CSV (or TSV with sep '\t'). */
export function writeCsv(path: string, rows: Row[], sep = ','): void {
  const lines = [['click', 'user', 'item', 'price', 'tags', 'ts'].join(sep)];
  for (const r of rows) lines.push([r.click, r.user, r.item, r.price ?? '', r.tags.join('|'), r.ts].join(sep));
  writeFileSync(path, lines.join('\n') + '\n');
}

/** Writes the rows as JSONL (numbers as numbers, tags as arrays, missing price as null). */
export function writeJsonl(path: string, rows: Row[]): void {
  writeFileSync(
    path,
    rows
      .map((r) => JSON.stringify({ click: r.click, user: r.user, item: String(r.item), price: r.price, tags: r.tags.map(String), ts: r.ts }))
      .join('\n') + '\n',
  );
}

/** Writes the rows as Parquet (tags as a `|`-joined string). */
export function writeParquet(path: string, rows: Row[], rowGroupSize = 64): void {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'click', data: rows.map((r) => r.click), type: 'INT32' },
      { name: 'user', data: rows.map((r) => String(r.user)), type: 'STRING' },
      { name: 'item', data: rows.map((r) => r.item), type: 'INT32' },
      { name: 'price', data: rows.map((r) => r.price), type: 'DOUBLE' },
      { name: 'tags', data: rows.map((r) => r.tags.join('|')), type: 'STRING' },
      { name: 'ts', data: rows.map((r) => BigInt(r.ts)), type: 'INT64' },
    ],
    rowGroupSize,
  });
  writeFileSync(path, new Uint8Array(buf));
}

/** libsvm fields of the fixtures (the label is the leading value). */
export const libsvmFields = [
  { name: 'user', range: [0, 49] as [number, number] },
  { name: 'item', range: [100, 179] as [number, number] },
  { name: 'tags', range: [300, 319] as [number, number] },
  { name: 'price', range: [500, 500] as [number, number], as: 'value' as const },
];

/** Writes the rows as libsvm: `click user:1 item:1 tag:1 ... 500:price`. */
export function writeLibsvm(path: string, rows: Row[]): void {
  const lines = rows.map((r) => {
    const t = [String(r.click), `${r.user}:1`, `${r.item}:1`, ...r.tags.map((x) => `${x}:1`)];
    if (r.price !== null) t.push(`500:${r.price}`);
    return t.join(' ');
  });
  writeFileSync(path, lines.join('\n') + '\n');
}
