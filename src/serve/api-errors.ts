import type { z } from 'zod';

/** One problem with a request: where (a JSON pointer into the body, RFC 6901) and why. */
export interface ApiIssue {
  /** JSON pointer to the offending value ('' = the whole body). */
  pointer: string;
  reason: string;
}

/** Issues listed at most in one error response. */
export const MAX_ISSUES = 20;

/**
 * An error answered to the client as `{error, message, issues}` with an HTTP status
 * (4xx for the client's mistakes, 503 when overloaded or not ready). Never a crash.
 */
export class ApiError extends Error {
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Machine-readable kind: 'invalid_request', 'body_too_large', 'overloaded', …. */
    readonly kind: string,
    message: string,
    readonly issues: ApiIssue[] = [],
    /** Extra headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The JSON body of the response. */
  body(): { error: string; message: string; issues: ApiIssue[] } {
    return { error: this.kind, message: this.message, issues: this.issues.slice(0, MAX_ISSUES) };
  }
}

/** A JSON pointer (RFC 6901) from path segments: '~' → '~0', '/' → '~1'. */
export function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * Zod issues as API issues: one per problem, unknown keys reported one by one at their own
 * pointer (with the allowed keys when given), other messages as zod words them.
 */
export function zodIssues(
  issues: readonly z.core.$ZodIssue[],
  allowedKeys?: (path: readonly PropertyKey[]) => readonly string[] | undefined,
): ApiIssue[] {
  const out: ApiIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const allowed = allowedKeys?.(iss.path);
      for (const k of iss.keys) {
        out.push({
          pointer: jsonPointer([...iss.path, k]),
          reason: `unknown field '${k}'${allowed !== undefined ? `; expected one of: ${allowed.join(', ')}` : ''}`,
        });
      }
    } else {
      out.push({ pointer: jsonPointer(iss.path), reason: iss.message });
    }
    if (out.length >= MAX_ISSUES) break;
  }
  return out;
}

/** A 400 'invalid_request' error from issues. */
export function invalidRequest(issues: ApiIssue[]): ApiError {
  const first = issues[0];
  const msg = first === undefined ? 'invalid request' : `${first.pointer === '' ? 'body' : first.pointer}: ${first.reason}`;
  return new ApiError(400, 'invalid_request', msg, issues);
}
