import { existsSync, readFileSync } from 'node:fs';

/**
 * Loads a recorded reference (bench/<name>/reference.json): a JSON object whose `results`
 * maps a metric name to its recorded value, plus free-form provenance (`machine`,
 * `recorded`, `command`). Returns null when the file does not exist.
 */
export function loadReference(path: string): { results: Record<string, number | null>; meta: Record<string, unknown> } | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: expected a JSON object`);
  const obj = raw as Record<string, unknown>;
  const results = obj.results;
  if (results === null || typeof results !== 'object' || Array.isArray(results)) {
    throw new Error(`${path}: expected an object field 'results' mapping metric names to numbers`);
  }
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(results as Record<string, unknown>)) {
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new Error(`${path}: results.${k} must be a number or null, got ${JSON.stringify(v)}`);
    }
    out[k] = v as number | null;
  }
  const meta = { ...obj };
  delete meta.results;
  return { results: out, meta };
}

/** One metric compared with its recorded value. */
export interface Delta {
  metric: string;
  now: number | null;
  recorded: number | null;
  /** (now − recorded) / recorded, null when either is missing. */
  relative: number | null;
}

/** Compares current metrics with recorded ones, for every metric present in either. */
export function compareWithReference(now: Record<string, number | null>, recorded: Record<string, number | null>): Delta[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(now)])];
  return keys.map((metric) => {
    const a = now[metric] ?? null;
    const b = recorded[metric] ?? null;
    return { metric, now: a, recorded: b, relative: a !== null && b !== null && b !== 0 ? (a - b) / b : null };
  });
}
