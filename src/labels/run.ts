/**
 * `buildLabelFiles(config)`: streams an event log (CSV/TSV/JSONL/Parquet through the
 * project's readers), parses and validates each event, restores time order (ReorderBuffer),
 * labels every impression (LabelEngine) and writes the rows as CSV — one file, or a train
 * and a test file split in time with a gap. Output files are written atomically.
 */
import { readRaw } from '../readers/index.js';
import type { RawChunk } from '../readers/chunk.js';
import { BadRowLog, DataError, type BadRowSummary } from '../readers/errors.js';
import { AtomicFileWriter, csvField } from '../util/atomic-stream.js';
import { parseTime, type LabelConfig } from './config.js';
import { LabelEngine, type EngineStats, type LabeledRow } from './engine.js';
import { ReorderBuffer, type LogEvent, type ReorderStats } from './reorder.js';

/** What a label-building run did: counts for the user, all of them. */
export interface LabelRunReport {
  /** Event rows read (valid ones). */
  events: number;
  /** Malformed rows skipped (`on_bad_row: skip`), with reasons and examples. */
  badRows: BadRowSummary;
  reorder: ReorderStats;
  engine: EngineStats;
  /** Rows written per output file. */
  written: Record<string, number>;
  /** With a split: impressions in the gap before the split time, dropped. */
  gapDropped: number;
  /** The horizon (longest label window, seconds). */
  horizon: number;
}

/** Builds the label file(s) a config describes and reports the counts. */
export async function buildLabelFiles(cfg: LabelConfig): Promise<LabelRunReport> {
  const log = new BadRowLog();
  const { columns: cols } = cfg;
  const header = [cols.user, cols.item, cols.time, ...cfg.keep, ...cfg.history.map((h) => h.name), ...cfg.labels.map((l) => l.name)];
  const writers: AtomicFileWriter[] = [];
  const written: Record<string, number> = {};
  let gapDropped = 0;
  try {
    const open = (path: string) => {
      const w = new AtomicFileWriter(path);
      writers.push(w);
      w.write(header.map((h) => csvField(h)).join(',') + '\n');
      written[path] = 0;
      return w;
    };
    const out = cfg.split ? null : open(cfg.output!);
    const train = cfg.split ? open(cfg.split.train) : null;
    const test = cfg.split ? open(cfg.split.test) : null;
    const write = (row: LabeledRow) => {
      let w = out;
      if (cfg.split) {
        const t = row.event.time;
        if (t >= cfg.split.at) w = test;
        else if (t < cfg.split.at - cfg.split.gap) w = train;
        else {
          gapDropped++;
          return;
        }
      }
      const e = row.event;
      const fields = [e.user, e.item, e.timeText, ...e.kept.map((v) => v ?? ''), ...row.history, ...row.labels.map(String)];
      w!.write(fields.map((f) => csvField(f)).join(',') + '\n');
      written[w!.path]!++;
    };
    const engine = new LabelEngine(cfg.impressionEvent, cfg.labels, cfg.history, write, cfg.incomplete === 'keep');
    const buffer = new ReorderBuffer(cfg.maxLateness);
    let events = 0;
    for await (const e of readEvents(cfg, log)) {
      events++;
      if (!buffer.push(e)) continue;
      for (const r of buffer.release()) engine.push(r);
    }
    for (const r of buffer.drain()) engine.push(r);
    engine.finish();
    for (const w of writers) w.commit();
    return { events, badRows: log.summary(), reorder: buffer.stats, engine: engine.stats, written, gapDropped, horizon: engine.horizon };
  } finally {
    for (const w of writers) w.abort();
  }
}

/**
 * The events of the log, parsed: user, item, type and time are required; the value must be a
 * number for the event types of dwell labels and a number in [0, 1] for completion labels.
 * A malformed row is a DataError naming file, line and column, or with `on_bad_row: skip` a
 * counted skip.
 */
export async function* readEvents(cfg: LabelConfig, log: BadRowLog): AsyncGenerator<LogEvent> {
  const { columns: cols } = cfg;
  const wanted = [cols.user, cols.item, cols.type, cols.time, ...(cols.value ? [cols.value] : []), ...cfg.keep];
  const dwellTypes = new Set(cfg.labels.filter((l) => l.kind === 'dwell').map((l) => (l as { event: string }).event));
  const ratioTypes = new Set(cfg.labels.filter((l) => l.kind === 'completion').map((l) => (l as { event: string }).event));
  const format = cfg.format;
  const dataset =
    format === undefined ? undefined : { format, header: true, separator: cfg.separator ?? (format === 'tsv' ? '\t' : ','), quote: '"' };
  let seq = 0;
  for await (const chunk of readRaw(cfg.events, { ...(dataset ? { dataset } : {}), columns: wanted, onBadRow: cfg.onBadRow, badRows: log })) {
    const idx = columnIndex(chunk, wanted);
    for (let r = 0; r < chunk.length; r++) {
      const line = chunk.lines[r]!;
      const bad = (column: string, problem: string, expected: string): void => {
        const err = new DataError({ file: chunk.file, line, column }, problem, expected);
        if (cfg.onBadRow === 'error') throw err;
        log.add(err);
      };
      const user = chunk.cell(r, idx[0]!),
        item = chunk.cell(r, idx[1]!),
        type = chunk.cell(r, idx[2]!),
        timeText = chunk.cell(r, idx[3]!);
      if (user === null) {
        bad(cols.user, 'missing user', 'a user id');
        continue;
      }
      if (item === null) {
        bad(cols.item, 'missing item', 'an item id');
        continue;
      }
      if (type === null) {
        bad(cols.type, 'missing event type', 'an event type');
        continue;
      }
      if (timeText === null) {
        bad(cols.time, 'missing timestamp', `a timestamp (${cfg.timeUnit})`);
        continue;
      }
      const time = parseTime(timeText, cfg.timeUnit);
      if (!Number.isFinite(time)) {
        bad(
          cols.time,
          `timestamp "${timeText}" is not valid`,
          cfg.timeUnit === 'iso' ? 'an ISO 8601 date-time' : `a number (${cfg.timeUnit === 's' ? 'seconds' : 'milliseconds'})`,
        );
        continue;
      }
      let value = NaN;
      if (cols.value !== undefined) {
        const vt = chunk.cell(r, idx[4]!);
        const needs = dwellTypes.has(type) || ratioTypes.has(type);
        if (vt !== null) value = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(vt) ? Number(vt) : NaN;
        if (needs && Number.isNaN(value)) {
          bad(cols.value, vt === null ? `missing value for a "${type}" event` : `value "${vt}" is not a number`, 'a number');
          continue;
        }
        if (ratioTypes.has(type) && !(value >= 0 && value <= 1)) {
          bad(cols.value, `completion ratio ${value} is outside [0, 1]`, 'a ratio in [0, 1]');
          continue;
        }
      }
      const isImp = type === cfg.impressionEvent;
      const base = 4 + (cols.value ? 1 : 0);
      yield {
        user,
        item,
        type,
        time,
        value,
        timeText,
        kept: isImp ? cfg.keep.map((_, k) => chunk.cell(r, idx[base + k]!)) : [],
        rank: isImp ? 0 : 1,
        seq: seq++,
        line,
      };
    }
  }
}

/** Positions of the wanted columns in a chunk; a missing column is a located error. */
function columnIndex(chunk: RawChunk, wanted: readonly string[]): number[] {
  return wanted.map((c) => {
    const i = chunk.columns.indexOf(c);
    if (i < 0)
      throw new DataError(
        { file: chunk.file, line: chunk.headerLine ?? chunk.lines[0], column: c },
        `the event log has no column "${c}"`,
        `one of its columns: ${chunk.columns.join(', ')}`,
      );
    return i;
  });
}
