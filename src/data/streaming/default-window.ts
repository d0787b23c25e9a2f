/**
 * The default shuffle window of a streaming training file (`data.shuffle_buffer` unset).
 *
 * A streaming pass holds two windows of encoded rows: the one being trained on and the next
 * one, parsed ahead by the worker (source.ts). So that streaming holds well under what loading
 * the file would, the default keeps those two windows at most half the file's rows, and within
 * half the memory budget:
 *
 *   window = min(1 000 000, max(100 000, ⌈rows / 4⌉), max(10 000, ⌊budget / (4 · bytes per row)⌋))
 *
 * - `rows` is estimated from the file size and the mean line length of its first MiB (text
 *   formats; Parquet or gzip: no estimate, the file term is left out);
 * - `bytes per row` is the encoded row's size: 4 bytes per sparse, dense, label, group and
 *   weight column, 4 · (maxLen + 1) per varlen or sequence column (Criteo: 40 columns, 160 bytes);
 * - the 100 000-row floor keeps files up to 100 000 rows in one window (the in-memory order,
 *   see window-shuffle.ts); the 1 000 000-row cap is the earlier fixed default.
 *
 * E.g. a 2M-row Criteo file with the default budget (a quarter of the free RAM): 500 000 rows.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Schema } from '../../features/schema.js';

/** Largest default window (rows). */
export const MAX_DEFAULT_WINDOW = 1_000_000;
/** Files up to this many rows are one window by default. */
export const MIN_FILE_WINDOW = 100_000;
/** Smallest window the memory budget may impose (rows). */
export const MIN_BUDGET_WINDOW = 10_000;

/** Bytes read from the start of a text file to estimate its mean line length. */
const SAMPLE_BYTES = 2 ** 20;

/** Estimated rows of a text data file: its size over the mean line length of its first MiB; null for Parquet, gzip or a sample without a line end. */
export function estimateRows(path: string, schema: Schema): number | null {
  if (schema.dataset?.format === 'parquet') return null;
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(SAMPLE_BYTES, size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return null; // gzip: the compressed size says nothing about rows
    let lines = 0,
      end = 0; // bytes up to and including the sample's last newline
    for (let i = 0; i < n; i++)
      if (buf[i] === 10) {
        lines++;
        end = i + 1;
      }
    if (n < size) return lines === 0 ? null : Math.round(size / (end / lines));
    return lines + (n > 0 && buf[n - 1] !== 10 ? 1 : 0); // the whole file was read: count exactly
  } finally {
    closeSync(fd);
  }
}

/** Bytes of one encoded row of this schema (module comment). */
export function encodedBytesPerRow(schema: Schema): number {
  let values = 0;
  for (const c of schema.columns) values += c.role === 'varlen' || c.role === 'sequence' ? c.maxLen + 1 : 1;
  return 4 * Math.max(1, values);
}

/** The default window for `path` (module comment), with the terms that decided it. */
export function defaultShuffleWindow(path: string, schema: Schema, budgetBytes: number): { rows: number; reason: string } {
  const est = estimateRows(path, schema);
  const bpr = encodedBytesPerRow(schema);
  const byFile = est === null ? Infinity : Math.max(MIN_FILE_WINDOW, Math.ceil(est / 4));
  const byBudget = Math.max(MIN_BUDGET_WINDOW, Math.floor(budgetBytes / (4 * bpr)));
  const rows = Math.min(MAX_DEFAULT_WINDOW, byFile, byBudget);
  const why =
    rows === MAX_DEFAULT_WINDOW
      ? 'the cap'
      : rows === byFile
        ? `a quarter of the ≈${est} rows of the file`
        : `a quarter of the memory budget at ${bpr} bytes per encoded row`;
  return { rows, reason: `default shuffle window ${rows} rows (${why}; set data.shuffle_buffer to choose)` };
}
