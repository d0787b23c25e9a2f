import { z } from 'zod';

/** Size limits of requests (all configurable on the command line). */
export interface RequestLimits {
  /** Rows of one /v1/score request at most. */
  maxRows: number;
  /** Candidates of one /v1/rank request at most. */
  maxCandidates: number;
  /** Request body bytes at most (larger: 413). */
  bodyLimitBytes: number;
}

/** Default limits. */
export const DEFAULT_LIMITS: RequestLimits = { maxRows: 10_000, maxCandidates: 10_000, bodyLimitBytes: 16 * 1024 * 1024 };

/**
 * One raw feature value, as in the training files: a string, a number, a boolean, null
 * (missing), or for multi-value fields a list of strings / numbers / booleans.
 */
export const FeatureValueSchema = z
  .union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number(), z.boolean()]))])
  .meta({ description: 'A raw feature value as in the training data; null or absent = missing; a list for a multi-value field.' });

/** The request and response validators of one served model (its input columns are the row keys). */
export interface ApiSchemas {
  columns: readonly string[];
  /** The same columns as a set (the quick request checks). */
  columnSet: ReadonlySet<string>;
  row: z.ZodType;
  scoreRequest: z.ZodType<ScoreRequest>;
  rankRequest: z.ZodType<RankRequest>;
  scoreResponse: z.ZodType;
  rankResponse: z.ZodType;
  reloadRequest: z.ZodType<ReloadRequest>;
  reloadResponse: z.ZodType;
  errorResponse: z.ZodType;
}

/** Raw feature values by input column name. */
export type RawRow = Record<string, unknown>;

/** Body of POST /v1/score. */
export interface ScoreRequest {
  rows: RawRow[];
}

/** Body of POST /v1/rank. */
export interface RankRequest {
  context?: RawRow;
  candidates: RawRow[];
  top_k?: number;
}

/** Body of POST /admin/reload. */
export interface ReloadRequest {
  path?: string;
}

/**
 * The validators of the API for a model whose input columns are `columns`: a row is a
 * strict object over those columns (each optional: absent = missing, handled by the
 * schema's missing policy), so a misspelt field is refused, not silently ignored. The same
 * objects check requests and generate /openapi.json.
 */
export function apiSchemas(columns: readonly string[], limits: RequestLimits, tasks: readonly string[]): ApiSchemas {
  const shape: Record<string, z.ZodOptional<typeof FeatureValueSchema>> = {};
  for (const c of columns) shape[c] = FeatureValueSchema.optional();
  const row = z.strictObject(shape).meta({ description: "Raw feature values by input column name (the training files' column names)." });
  const modelInfo = z.object({
    version: z.int().describe('1 for the model loaded at start, +1 per successful reload'),
    sha256: z.string().describe('SHA-256 of the artifact file'),
    name: z.string().describe('registry name of the model'),
  });
  const taskProbs = z.object(Object.fromEntries(tasks.map((t) => [t, z.number()]))).describe('probability per task');
  const scored = z.object({ score: z.number().describe(`probability of the first task ('${tasks[0] ?? ''}')`), probabilities: taskProbs });
  const scoreRequest = z.strictObject({
    rows: z.array(row).min(1, 'at least one row').max(limits.maxRows, `at most ${limits.maxRows} rows per request`),
  });
  const rankRequest = z.strictObject({
    context: row.optional().describe('features shared by every candidate (user, context); a candidate may not repeat them'),
    candidates: z.array(row).min(1, 'at least one candidate').max(limits.maxCandidates, `at most ${limits.maxCandidates} candidates per request`),
    top_k: z.int().min(1, 'top_k must be at least 1').optional().describe('return the best top_k candidates only (all when larger)'),
  });
  return {
    columns,
    columnSet: new Set(columns),
    row,
    scoreRequest: scoreRequest as unknown as z.ZodType<ScoreRequest>,
    rankRequest: rankRequest as unknown as z.ZodType<RankRequest>,
    scoreResponse: z.object({ model: modelInfo, tasks: z.array(z.string()), results: z.array(scored).describe('one per request row, in order') }),
    rankResponse: z.object({
      model: modelInfo,
      tasks: z.array(z.string()),
      results: z
        .array(scored.extend({ index: z.int().describe('position of the candidate in the request') }))
        .describe('candidates by decreasing score (ties: request order)'),
    }),
    reloadRequest: z.strictObject({
      path: z.string().min(1).optional().describe('artifact to load (default: the path the server was started with)'),
    }),
    reloadResponse: z.object({ reloaded: z.boolean(), model: modelInfo.extend({ path: z.string() }) }),
    errorResponse: z.object({
      error: z
        .string()
        .describe(
          'kind: invalid_request, body_too_large, unsupported_media_type, not_found, overloaded, not_ready, artifact_refused, forbidden, internal',
        ),
      message: z.string(),
      issues: z.array(z.object({ pointer: z.string().describe('JSON pointer into the request body'), reason: z.string() })),
    }),
  };
}
