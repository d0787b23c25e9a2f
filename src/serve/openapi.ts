import { z } from 'zod';
import type { ApiSchemas } from './api-schemas.js';

/** JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of a zod validator, without the $schema key. */
function schemaOf(t: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(t, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/**
 * The OpenAPI 3.1 document of the server, generated from the very validators that check
 * requests (`ApiSchemas`) — so the row schema lists the served model's input columns.
 */
export function openApiDocument(s: ApiSchemas, info: { title: string; version: string; modelName: string | null }): Record<string, unknown> {
  const json = (t: z.ZodType, io: 'input' | 'output') => ({ 'application/json': { schema: schemaOf(t, io) } });
  const err = (description: string) => ({ description, content: json(s.errorResponse, 'output') });
  const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      description: info.modelName === null ? 'no model loaded yet' : `serving model '${info.modelName}'`,
    },
    paths: {
      '/v1/score': {
        post: {
          summary: 'Probabilities of rows of raw feature values',
          requestBody: { required: true, content: json(s.scoreRequest, 'input') },
          responses: {
            200: { description: 'one result per row, in order', content: json(s.scoreResponse, 'output') },
            400: err('invalid request (issues name fields by JSON pointer)'),
            413: err('body too large'),
            415: err('not JSON'),
            503: err('overloaded (Retry-After) or no model loaded yet'),
          },
        },
      },
      '/v1/rank': {
        post: {
          summary: 'Candidates sorted by score, given a shared context',
          requestBody: { required: true, content: json(s.rankRequest, 'input') },
          responses: {
            200: { description: 'candidates by decreasing score', content: json(s.rankResponse, 'output') },
            400: err('invalid request (issues name fields by JSON pointer)'),
            413: err('body too large'),
            415: err('not JSON'),
            503: err('overloaded (Retry-After) or no model loaded yet'),
          },
        },
      },
      '/admin/reload': {
        post: {
          summary: 'Load a new artifact (checksum verified) and swap it in atomically; loopback clients only by default',
          requestBody: { required: false, content: json(s.reloadRequest, 'input') },
          responses: {
            200: { description: 'the new model serves', content: json(s.reloadResponse, 'output') },
            403: err('not a loopback client'),
            422: err('artifact refused; the old model keeps serving'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness: 200 while the process serves HTTP', responses: { 200: { description: 'alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: 200 once a model is loaded, 503 before and while shutting down',
          responses: { 200: { description: 'ready' }, 503: err('not ready') },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics (text exposition format)', responses: { 200: text('metrics') } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1 document' } } } },
    },
  };
}
