/**
 * The label builder's configuration (`finerank labels --config FILE`, YAML or JSON): where
 * the event log is, which of its columns hold user, item, event type, timestamp and value,
 * which event type is an impression, the labels to build (each with its window) and an
 * optional time split with a gap. Validated with zod; errors name the path in the file,
 * e.g. `labels.yaml: labels[1].window must be a duration ...`.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SchemaError } from '../readers/errors.js';
import { readConfigFile, type DataFormat } from '../features/schema.js';

/** How timestamps are written in the event log. */
export type TimeUnit = 's' | 'ms' | 'iso';

/** A label: one output column computed from the events after each impression. */
export type LabelRule =
  /** 1 when the same user clicks the same item within `window` after the impression. */
  | { kind: 'click'; name: string; event: string; window: number }
  /** 1 when a `event` (e.g. purchase) of the same user and item follows an attributed click within `window`. */
  | { kind: 'conversion'; name: string; event: string; clickEvent: string; clickWindow: number; window: number }
  /** 1 when a `event` of the same user and item within `window` has value ≥ `min` (e.g. dwell seconds). */
  | { kind: 'dwell'; name: string; event: string; window: number; min: number }
  /** The largest value in [0, 1] of `event`s of the same user and item within `window` (0 without one); binary when `min` is set. */
  | { kind: 'completion'; name: string; event: string; window: number; min?: number }
  /** 1 when the user has any event (of `events`, default any type) in (t + after, t + within]. */
  | { kind: 'return'; name: string; events?: string[]; after: number; within: number };

/** A user-history feature built point-in-time: the user's last items of `event` strictly before the impression. */
export interface HistoryRule {
  name: string;
  event: string;
  maxLen: number;
  sep: string;
}

/** The validated configuration, durations in seconds and paths resolved against the config file. */
export interface LabelConfig {
  events: string;
  format?: DataFormat;
  separator?: string;
  columns: { user: string; item: string; type: string; time: string; value?: string };
  timeUnit: TimeUnit;
  impressionEvent: string;
  /** Columns of the impression row copied to the output (context features). */
  keep: string[];
  labels: LabelRule[];
  history: HistoryRule[];
  /** How far (seconds) an event may arrive after a later-timestamped one and still be used. */
  maxLateness: number;
  /** Impressions whose label windows are not over by the last event: dropped (default) or kept. */
  incomplete: 'drop' | 'keep';
  onBadRow: 'error' | 'skip';
  /** Without split: one output file. */
  output?: string;
  split?: { at: number; gap: number; train: string; test: string };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses a duration: a number of seconds or a string like `90s`, `30m`, `2h`, `7d`, `1.5h`; NaN when malformed. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : NaN;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * UNITS[m[2] || 's']!;
}

const duration = z.union([z.number(), z.string()]).refine((v) => !Number.isNaN(parseDuration(v)), {
  message: 'must be a duration: seconds as a number, or a string like "90s", "30m", "2h", "7d"',
});
const name = z.string().min(1);

const labelInput = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('click'), name, event: name.default('click'), window: duration }),
  z.strictObject({
    kind: z.literal('conversion'),
    name,
    event: name,
    click_event: name.default('click'),
    click_window: duration,
    window: duration,
  }),
  z.strictObject({ kind: z.literal('dwell'), name, event: name, window: duration, min: z.number() }),
  z.strictObject({ kind: z.literal('completion'), name, event: name, window: duration, min: z.number().min(0).max(1).optional() }),
  z.strictObject({ kind: z.literal('return'), name, events: z.array(name).min(1).optional(), after: duration.default(0), within: duration }),
]);

const configInput = z.strictObject({
  events: name,
  format: z.enum(['csv', 'tsv', 'jsonl', 'parquet']).optional(),
  separator: z.string().length(1).optional(),
  columns: z.strictObject({ user: name, item: name, type: name, time: name, value: name.optional() }),
  time_unit: z.enum(['s', 'ms', 'iso']).default('s'),
  impression_event: name.default('impression'),
  keep: z.array(name).default([]),
  labels: z.array(labelInput).min(1),
  history: z.array(z.strictObject({ name, event: name, max_len: z.number().int().positive(), sep: z.string().length(1).default('|') })).default([]),
  max_lateness: duration.default(0),
  incomplete: z.enum(['drop', 'keep']).default('drop'),
  on_bad_row: z.enum(['error', 'skip']).default('error'),
  output: name.optional(),
  split: z.strictObject({ at: z.union([z.number(), z.string()]), gap: duration.optional(), train: name, test: name }).optional(),
});

/** Formats a zod path like `labels[1].window`. */
function fmtPath(path: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : (s ? '.' : '') + String(p);
  return s;
}

/** The longest time after an impression that any label looks at (seconds). */
export function labelHorizon(labels: readonly LabelRule[]): number {
  let h = 0;
  for (const l of labels) {
    const end = l.kind === 'conversion' ? l.clickWindow + l.window : l.kind === 'return' ? l.within : l.window;
    h = Math.max(h, end);
  }
  return h;
}

/** Parses a timestamp cell in the given unit to seconds; NaN when malformed. */
export function parseTime(text: string, unit: TimeUnit): number {
  if (unit === 'iso') {
    // Date.parse accepts many shapes; require at least a full date.
    if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return NaN;
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms / 1000 : NaN;
  }
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)) return NaN;
  const v = Number(text);
  return unit === 'ms' ? v / 1000 : v;
}

/**
 * Validates a parsed config object (`file` names it in errors; relative paths resolve
 * against `baseDir`). Refuses what cannot be honoured: duplicate output column names, a
 * dwell/completion label without a value column, a split gap shorter than the label horizon.
 */
export function parseLabelConfig(raw: unknown, file: string, baseDir: string): LabelConfig {
  const r = configInput.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = fmtPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as unknown as { keys: string[] }).keys;
      throw new SchemaError(file, path, `has unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`);
    }
    if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined)
      throw new SchemaError(file, path, `is required (${issue.message})`);
    if (issue.code === 'invalid_union' && issue.path[0] === 'labels') {
      throw new SchemaError(file, fmtPath(issue.path.slice(0, 2)) + '.kind', 'must be one of click, conversion, dwell, completion, return');
    }
    throw new SchemaError(file, path, issue.message);
  }
  const c = r.data;
  const labels: LabelRule[] = c.labels.map((l) => {
    switch (l.kind) {
      case 'click':
        return { kind: 'click', name: l.name, event: l.event, window: parseDuration(l.window) };
      case 'conversion':
        return {
          kind: 'conversion',
          name: l.name,
          event: l.event,
          clickEvent: l.click_event,
          clickWindow: parseDuration(l.click_window),
          window: parseDuration(l.window),
        };
      case 'dwell':
        return { kind: 'dwell', name: l.name, event: l.event, window: parseDuration(l.window), min: l.min };
      case 'completion':
        return { kind: 'completion', name: l.name, event: l.event, window: parseDuration(l.window), ...(l.min !== undefined ? { min: l.min } : {}) };
      case 'return': {
        const after = parseDuration(l.after),
          within = parseDuration(l.within);
        return { kind: 'return', name: l.name, ...(l.events ? { events: l.events } : {}), after, within };
      }
    }
  });
  labels.forEach((l, i) => {
    if ((l.kind === 'dwell' || l.kind === 'completion') && c.columns.value === undefined) {
      throw new SchemaError(file, `labels[${i}]`, `(${l.kind}) needs columns.value, the column holding the event's value`);
    }
    if (l.kind === 'return' && !(l.within > l.after)) throw new SchemaError(file, `labels[${i}].within`, `must be longer than after (${l.after} s)`);
    if (l.kind !== 'return' && l.kind !== 'conversion' && l.event === c.impression_event) {
      throw new SchemaError(file, `labels[${i}].event`, `must differ from impression_event "${c.impression_event}"`);
    }
  });
  const out = ['user', 'item', 'time'].map((k) => c.columns[k as 'user' | 'item' | 'time']);
  const names = [...out, ...c.keep, ...labels.map((l) => l.name), ...c.history.map((h) => h.name)];
  const seen = new Set<string>();
  names.forEach((n) => {
    if (seen.has(n))
      throw new SchemaError(file, 'labels', `output column "${n}" appears twice (user, item, time, keep, label and history names must differ)`);
    seen.add(n);
  });
  const horizon = labelHorizon(labels);
  let split: LabelConfig['split'];
  if (c.split) {
    const at = typeof c.split.at === 'number' ? (c.time_unit === 'ms' ? c.split.at / 1000 : c.split.at) : parseTime(c.split.at, c.time_unit);
    if (!Number.isFinite(at)) throw new SchemaError(file, 'split.at', `must be a timestamp in the log's time unit (${c.time_unit})`);
    const gap = c.split.gap === undefined ? horizon : parseDuration(c.split.gap);
    if (gap < horizon)
      throw new SchemaError(
        file,
        'split.gap',
        `is ${gap} s, shorter than the longest label window (${horizon} s): a training label would see events after the split`,
      );
    split = { at, gap, train: resolve(baseDir, c.split.train), test: resolve(baseDir, c.split.test) };
  }
  if (split === undefined && c.output === undefined) throw new SchemaError(file, 'output', 'is required (or give split.train and split.test)');
  if (split !== undefined && c.output !== undefined)
    throw new SchemaError(file, 'output', 'must be left out when split is given (the rows go to split.train and split.test)');
  return {
    events: resolve(baseDir, c.events),
    ...(c.format ? { format: c.format } : {}),
    ...(c.separator ? { separator: c.separator } : {}),
    columns: c.columns,
    timeUnit: c.time_unit,
    impressionEvent: c.impression_event,
    keep: c.keep,
    labels,
    history: c.history.map((h) => ({ name: h.name, event: h.event, maxLen: h.max_len, sep: h.sep })),
    maxLateness: parseDuration(c.max_lateness),
    incomplete: c.incomplete,
    onBadRow: c.on_bad_row,
    ...(c.output !== undefined ? { output: resolve(baseDir, c.output) } : {}),
    ...(split ? { split } : {}),
  };
}

/** Reads and validates a label config file (YAML or JSON). */
export function loadLabelConfig(path: string): LabelConfig {
  return parseLabelConfig(readConfigFile(path), path, dirname(resolve(path)));
}
