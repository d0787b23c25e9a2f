/**
 * The one place that decides whether a training job holds its splits in memory or streams
 * them, from the `data.streaming` / `data.memory_budget` / `data.shuffle_buffer` /
 * `data.cache` / `data.cache_dir` settings.
 */
import { freemem } from 'node:os';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BadRowLog, BadRowPolicy } from '../readers/errors.js';
import type { FeatureMap } from '../features/featuremap.js';
import type { DataSource } from '../data/data-source.js';
import { loadDataSource } from '../data/load.js';
import { StreamingDataSource } from '../data/streaming/source.js';
import { defaultShuffleWindow } from '../data/streaming/default-window.js';

/** Streaming settings of a training job (all optional). */
export interface StreamingSettings {
  /** true / false force streaming / in-memory; 'auto' (default) streams above the memory budget. */
  streaming?: boolean | 'auto';
  /** Bytes the in-memory splits may take (default: a quarter of the free RAM at start). */
  memoryBudget?: number;
  /** Rows per shuffle window when streaming (default: `defaultShuffleWindow`, data/streaming/default-window.ts). */
  shuffleBuffer?: number;
  /** Write and use the encoded cache when streaming (default true). */
  cache?: boolean;
  /** Folder of the encoded cache (default: `.finerank-cache` next to the training file). */
  cacheDir?: string;
  /**
   * Bounded vocabulary fitting (`data.vocab_fit: sketch`): bytes of the count-min sketch
   * (`data.vocab_sketch_memory`, default 64 MiB); absent: exact counting (docs/streaming.md).
   */
  vocabSketchBytes?: number;
}

/** Default bytes of the count-min sketch of bounded vocabulary fitting. */
export const DEFAULT_VOCAB_SKETCH_BYTES = 64 * 2 ** 20;

/** Fraction of the free RAM used as the default memory budget. */
export const DEFAULT_BUDGET_FRACTION = 0.25;

/**
 * Whether to stream: forced by `streaming: true|false`, else when the splits' total size on
 * disk exceeds the budget (the file size stands in for the encoded size: for CSV/libfm text
 * the encoded columns are smaller, for Parquet they can be larger).
 */
export function decideStreaming(paths: readonly string[], s: StreamingSettings = {}): { stream: boolean; reason: string } {
  const mode = s.streaming ?? 'auto';
  if (mode === true) return { stream: true, reason: 'data.streaming: true' };
  if (mode === false) return { stream: false, reason: 'data.streaming: false' };
  const bytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
  const budget = memoryBudget(s);
  const mib = (x: number) => `${(x / 2 ** 20).toFixed(0)} MiB`;
  return bytes > budget
    ? { stream: true, reason: `data files ${mib(bytes)} > memory budget ${mib(budget)}` }
    : { stream: false, reason: `data files ${mib(bytes)} ≤ memory budget ${mib(budget)}` };
}

/** The memory budget in bytes: `memory_budget`, else a quarter of the free RAM now. */
export function memoryBudget(s: StreamingSettings = {}): number {
  return s.memoryBudget ?? Math.floor(freemem() * DEFAULT_BUDGET_FRACTION);
}

/** Parses a memory size: a number of bytes, or a string like "512MB", "2GiB", "1.5G". */
export function parseBytes(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i.exec(v);
    if (m !== null) {
      const unit = (m[2] ?? 'b').toLowerCase()[0]!;
      const mult = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[unit]!;
      const n = Math.floor(Number(m[1]) * mult);
      if (n > 0) return n;
    }
  }
  throw new Error(`${where}: expected a positive size in bytes or a string like "512MB" / "2GiB", got ${JSON.stringify(v)}`);
}

/** A split opened for training or evaluation, and whether it streams. */
export interface OpenedSplits {
  train: DataSource;
  valid: DataSource | null;
  test: DataSource | null;
  streaming: boolean;
  reason: string;
}

/** Opens the splits of a job in memory or streaming, as `decideStreaming` says. */
export async function openSplits(
  fm: FeatureMap,
  files: { train: string; valid: string | null; test: string | null },
  load: { onBadRow: BadRowPolicy; badRows: BadRowLog },
  s: StreamingSettings = {},
  log: (line: string) => void = () => {},
): Promise<OpenedSplits> {
  const paths = [files.train, files.valid, files.test].filter((p): p is string => p !== null);
  const { stream, reason } = decideStreaming(paths, s);
  if (!stream) {
    const open = (p: string | null) => (p === null ? Promise.resolve(null) : loadDataSource(fm, p, load));
    return {
      train: await loadDataSource(fm, files.train, load),
      valid: await open(files.valid),
      test: await open(files.test),
      streaming: false,
      reason,
    };
  }
  const cacheDir = s.cache === false ? null : (s.cacheDir ?? join(dirname(files.train), '.finerank-cache'));
  let shuffleWindow = s.shuffleBuffer;
  if (shuffleWindow === undefined) {
    const d = defaultShuffleWindow(files.train, fm.schema, memoryBudget(s));
    shuffleWindow = d.rows;
    log(`data: ${d.reason}`);
  }
  const opts = { shuffleWindow, onBadRow: load.onBadRow, badRows: load.badRows, cacheDir, log };
  const open = (p: string | null) => (p === null ? null : new StreamingDataSource(p, fm, opts));
  return { train: new StreamingDataSource(files.train, fm, opts), valid: open(files.valid), test: open(files.test), streaming: true, reason };
}
