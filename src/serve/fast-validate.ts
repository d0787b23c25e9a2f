import type { RequestLimits } from './api-schemas.js';

/**
 * Quick checks of request bodies that accept only what the zod validators accept (a subset:
 * when one says no, the server runs the zod validator, which names every problem by JSON
 * pointer). They spare a valid request zod's per-field parse and copy; the tests hold them to
 * "valid here ⇒ valid for zod" on valid and broken bodies.
 */

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A raw feature value as `FeatureValueSchema` takes it. */
function isFeatureValue(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'undefined':
      return true;
    case 'object': {
      if (v === null) return true;
      if (!Array.isArray(v)) return false;
      for (const x of v) {
        const t = typeof x;
        if (!(t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(x)))) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** A row: a plain object whose keys are input columns and whose values are feature values. */
function isRow(v: unknown, columns: ReadonlySet<string>): boolean {
  if (!isPlainObject(v)) return false;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) return false;
    if (!columns.has(k) || !isFeatureValue(v[k])) return false;
  }
  return true;
}

function isRowList(v: unknown, columns: ReadonlySet<string>, max: number): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > max) return false;
  for (const r of v) if (!isRow(r, columns)) return false;
  return true;
}

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k in v) if (!allowed.includes(k)) return false;
  return true;
}

/** True only for a body the score request validator accepts: `{rows: [row, …]}` within the limits. */
export function quickScoreCheck(body: unknown, columns: ReadonlySet<string>, limits: RequestLimits): boolean {
  return isPlainObject(body) && onlyKeys(body, ['rows']) && isRowList(body.rows, columns, limits.maxRows);
}

/** True only for a body the rank request validator accepts: `{context?, candidates: [row, …], top_k?}` within the limits. */
export function quickRankCheck(body: unknown, columns: ReadonlySet<string>, limits: RequestLimits): boolean {
  if (!isPlainObject(body) || !onlyKeys(body, ['context', 'candidates', 'top_k'])) return false;
  if (body.context !== undefined && !isRow(body.context, columns)) return false;
  const k = body.top_k;
  if (k !== undefined && !(typeof k === 'number' && Number.isSafeInteger(k) && k >= 1)) return false;
  return isRowList(body.candidates, columns, limits.maxCandidates);
}
