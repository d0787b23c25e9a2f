import type { Batch } from '../features/batch.js';
import { DataError } from '../readers/errors.js';
import type { FeatureMap } from '../features/featuremap.js';
import { ApiError, invalidRequest, jsonPointer, MAX_ISSUES, type ApiIssue } from './api-errors.js';
import type { RawRow } from './api-schemas.js';

/**
 * Encodes validated raw rows with a model's feature map (unknown categorical values go to
 * the OOV row, missing values follow the schema's missing policy). A value the feature map
 * refuses (e.g. text in a numeric field) becomes a 400 naming it by JSON pointer, built by
 * `pointerOf(row, column)`. `onlyColumns` limits the encoding to those source columns.
 */
export function encodeRows(
  fm: FeatureMap,
  rows: readonly RawRow[],
  pointerOf: (row: number, column: string) => string,
  onlyColumns?: ReadonlySet<string>,
): Batch {
  try {
    return fm.transformRows(rows, { inputsOnly: true, onBadRow: 'error', ...(onlyColumns !== undefined ? { onlyColumns } : {}) });
  } catch (e) {
    if (e instanceof DataError && e.line !== undefined && e.column !== undefined) {
      throw invalidRequest([
        { pointer: pointerOf(e.line - 1, e.column), reason: e.expected === undefined ? e.problem : `${e.problem}; expected ${e.expected}` },
      ]);
    }
    throw e;
  }
}

/** Encodes the rows of a /v1/score request; errors point at `/rows/<i>/<column>`. */
export function encodeScoreRows(fm: FeatureMap, rows: readonly RawRow[]): Batch {
  return encodeRows(fm, rows, (r, c) => jsonPointer(['rows', r, c]));
}

/**
 * Encodes a /v1/rank request: each candidate joined with the shared context. The context's
 * columns are encoded once and broadcast over the candidates (the same batch as encoding
 * every joined row, at a fraction of the cost: a context usually holds most fields). A field
 * given both in the context and in a candidate is refused (which one should win is the
 * client's decision, not ours). Errors point at `/candidates/<i>/<column>` or `/context/<column>`.
 */
export function encodeRankRows(fm: FeatureMap, context: RawRow, candidates: readonly RawRow[]): Batch {
  const ctxCols = new Set(Object.keys(context).filter((k) => context[k] !== undefined));
  if (ctxCols.size > 0 && candidates.some((c) => repeatsContext(c, ctxCols))) throw invalidRequest(repeatedContextIssues(ctxCols, candidates));
  const candPointer = (r: number, col: string) => jsonPointer(['candidates', r, col]);
  if (ctxCols.size === 0) return encodeRows(fm, candidates, candPointer);
  const candCols = new Set(fm.inputColumns.filter((c) => !ctxCols.has(c)));
  const ctx = encodeRows(fm, [context], (_r, col) => jsonPointer(['context', col]), ctxCols);
  const batch = encodeRows(fm, candidates, candPointer, candCols);
  broadcastRow(ctx, batch);
  return batch;
}

/** True when the candidate gives a field of the context (its own few keys are checked, not every context field). */
function repeatsContext(candidate: RawRow, ctxCols: ReadonlySet<string>): boolean {
  for (const k in candidate) if (ctxCols.has(k) && candidate[k] !== undefined) return true;
  return false;
}

/** One issue per context field repeated in a candidate (candidates in order, then context fields in order), at most MAX_ISSUES. */
function repeatedContextIssues(ctxCols: ReadonlySet<string>, candidates: readonly RawRow[]): ApiIssue[] {
  const issues: ApiIssue[] = [];
  for (let i = 0; i < candidates.length && issues.length < MAX_ISSUES; i++) {
    const c = candidates[i]!;
    for (const k of ctxCols) {
      if (c[k] !== undefined && issues.length < MAX_ISSUES)
        issues.push({ pointer: jsonPointer(['candidates', i, k]), reason: `field '${k}' is also given in /context; give it in one place` });
    }
  }
  return issues;
}

/** Adds every field of the one-row batch `row` to `into`, repeated for each of its rows, and marks them shared. */
function broadcastRow(row: Batch, into: Batch): void {
  const n = into.size;
  into.sharedFields = new Set([...Object.keys(row.sparse), ...Object.keys(row.dense), ...Object.keys(row.varlen)]);
  for (const [k, v] of Object.entries(row.sparse)) into.sparse[k] = new Int32Array(n).fill(v[0]!);
  for (const [k, v] of Object.entries(row.dense)) into.dense[k] = new Float32Array(n).fill(v[0]!);
  for (const [k, v] of Object.entries(row.varlen)) {
    const ids = new Int32Array(n * v.maxLen);
    for (let r = 0; r < n; r++) ids.set(v.ids.subarray(0, v.maxLen), r * v.maxLen);
    into.varlen[k] = { ids, lengths: new Int32Array(n).fill(v.lengths[0]!), maxLen: v.maxLen };
  }
}

/** A 503 telling the client to come back (queue full, not ready, shutting down). */
export function unavailable(kind: string, message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(503, kind, message, [], { 'retry-after': String(retryAfterSeconds) });
}
