import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiError, invalidRequest, zodIssues } from './api-errors.js';
import {
  apiSchemas,
  DEFAULT_LIMITS,
  type ApiSchemas,
  type RankRequest,
  type RequestLimits,
  type ScoreRequest,
  type ReloadRequest,
} from './api-schemas.js';
import { encodeRankRows, encodeScoreRows, unavailable } from './encode-request.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { DEFAULT_BATCHER, MicroBatcher, QueueFullError, type BatcherOptions } from './micro-batcher.js';
import { loadServedModel, type ServedModel } from './model-slot.js';
import { openApiDocument } from './openapi.js';
import type { TaskScores } from './scorer.js';
import { quickRankCheck, quickScoreCheck } from './fast-validate.js';
import { scoredResponseJson } from './response-json.js';
import { rankOrder } from './rank-order.js';
import { setPoolMinLength } from '../engine/tensor.js';

/** Who may call POST /admin/reload: loopback clients (default), anyone, or no one. */
export type AdminAccess = 'loopback' | 'any' | 'off';

/** Options of `createScoringServer`. */
export interface ServeOptions {
  /** The artifact loaded by `start()` and by a reload without a path (SIGHUP). */
  modelPath: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  limits?: Partial<RequestLimits>;
  batcher?: Partial<BatcherOptions>;
  admin?: AdminAccess;
  /** Seconds a 503 tells the client to wait (Retry-After). Default 1. */
  retryAfterSeconds?: number;
  /** Version number of the model loaded by `start()` (default 1; a replacement cluster worker starts at the cluster's version). */
  firstVersion?: number;
  /** Set when this server is one worker of `finerank serve --workers N` (src/serve/cluster.ts). */
  cluster?: ClusterHooks;
}

/**
 * What a cluster worker's server defers to the primary process: POST /admin/reload reloads
 * every worker (`reloadAll`, rejecting with the `ApiError` to answer), GET /metrics answers
 * the metrics of all workers summed (`metricsText`). `workerId` goes out in the
 * `X-Finerank-Worker` header of every response.
 */
export interface ClusterHooks {
  workerId: number;
  reloadAll(path?: string): Promise<ReloadResult>;
  metricsText(): Promise<string>;
}

/** What a successful reload reports. */
export interface ReloadResult {
  version: number;
  sha256: string;
  path: string;
  name: string;
}

/** A running (or startable) scoring server. */
export interface ScoringServer {
  app: FastifyInstance;
  metrics: ServerMetrics;
  /** The model serving now (null before the first load). */
  readonly model: ServedModel | null;
  /** Rows waiting in the micro-batch queue. */
  readonly queuedRows: number;
  /** Listens, then loads the model (readiness flips when it is loaded); resolves with the URL. Throws when the model cannot be loaded. */
  start(): Promise<string>;
  /** Loads an artifact (default: the current path) and swaps it in; the old model keeps serving when it is refused. */
  reload(path?: string): ReloadResult;
  /** Graceful shutdown: refuses new requests, lets in-flight ones finish, closes connections. */
  close(): Promise<void>;
}

/**
 * Smallest pooled array length (elements) of a serving process (`setPoolMinLength`): the
 * forward of a rank request reuses its arrays of 1,000 elements and more across requests
 * instead of allocating them anew (each fresh one is external memory that brings the next
 * garbage collection, a pause in some request's latency, closer).
 */
export const SERVING_POOL_MIN_LENGTH = 1024;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Builds the HTTP scoring server (fastify): POST /v1/score, POST /v1/rank, POST /admin/reload,
 * GET /healthz, /readyz, /metrics, /openapi.json. Requests are validated by zod schemas
 * generated from the served model's input columns (the same ones /openapi.json shows);
 * every failure is a JSON error with a 4xx/503 status, never a crash.
 */
export function createScoringServer(opts: ServeOptions): ScoringServer {
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  const batcherOpts: BatcherOptions = { ...DEFAULT_BATCHER, ...opts.batcher };
  const biggest = Math.max(limits.maxRows, limits.maxCandidates);
  if (batcherOpts.maxQueueRows < biggest) {
    throw new Error(`maxQueueRows (${batcherOpts.maxQueueRows}) must be at least the largest request (${biggest} rows/candidates)`);
  }
  const admin = opts.admin ?? 'loopback';
  if (!['loopback', 'any', 'off'].includes(admin)) throw new Error(`admin access must be one of: loopback, any, off; got '${admin}'`);
  const retryAfter = opts.retryAfterSeconds ?? 1;
  if (!Number.isInteger(retryAfter) || retryAfter < 1) throw new Error(`retryAfterSeconds must be a positive integer, got ${retryAfter}`);

  let current: ServedModel | null = null;
  let schemas: ApiSchemas = apiSchemas([], limits, []);
  let closing = false;

  const batcher = new MicroBatcher(batcherOpts, (rows, requests) => {
    metrics.batchRows.observe(rows);
    metrics.batchRequests.observe(requests);
  });
  const metrics = createMetrics(() => batcher.queuedRows);

  const app = Fastify({ logger: false, bodyLimit: limits.bodyLimitBytes, return503OnClosing: true, forceCloseConnections: 'idle' });
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is a 415

  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const r = schema.safeParse(body === undefined ? {} : body);
    if (r.success) return r.data;
    throw invalidRequest(zodIssues(r.error.issues, (path) => (path.length === 0 ? undefined : schemas.columns)));
  };
  const needModel = (): ServedModel => {
    if (closing) throw unavailable('shutting_down', 'the server is shutting down', retryAfter);
    if (current === null) throw unavailable('not_ready', 'no model loaded yet', retryAfter);
    return current;
  };
  const submit = async (model: ServedModel, batch: Parameters<MicroBatcher['submit']>[1]): Promise<TaskScores> => {
    try {
      return await batcher.submit(model, batch);
    } catch (e) {
      if (e instanceof QueueFullError) throw unavailable('overloaded', `${e.message}; retry later`, retryAfter);
      throw e;
    }
  };
  const modelInfo = (m: ServedModel) => ({ version: m.version, sha256: m.sha256, name: m.artifact.meta.model });

  // While draining, every response closes its connection, so keep-alive sockets that were
  // busy when shutdown began do not hold the process until their idle timeout.
  const workerHeader = opts.cluster === undefined ? null : String(opts.cluster.workerId);
  // Callback-style hooks: no promise per request and hook.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (workerHeader !== null) void reply.header('x-finerank-worker', workerHeader);
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, code: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) => {
    let api: ApiError;
    if (err instanceof ApiError) api = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      api = new ApiError(413, 'body_too_large', `request body is larger than ${limits.bodyLimitBytes} bytes`, [
        { pointer: '', reason: `at most ${limits.bodyLimitBytes} bytes` },
      ]);
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      api = new ApiError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)', [
        { pointer: '', reason: 'Content-Type must be application/json' },
      ]);
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      api = new ApiError(err.statusCode, err.statusCode === 400 ? 'invalid_request' : 'bad_request', err.message, [
        { pointer: '', reason: err.message },
      ]);
    } else {
      api = new ApiError(500, 'internal', 'internal error');
      process.stderr.write(`finerank serve: internal error on ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}\n`);
    }
    metrics.errors.inc({ route: req.routeOptions.url ?? 'unmatched', kind: api.kind });
    void reply.code(api.status).headers(api.headers).send(api.body());
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.errors.inc({ route: 'unmatched', kind: 'not_found' });
    void reply.code(404).send(new ApiError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`, [], {}).body());
  });

  // Valid bodies pass the quick checks (src/serve/fast-validate.ts); anything else goes
  // through the zod validator, which names each problem. Answers are written as JSON text
  // directly (src/serve/response-json.ts).
  app.post('/v1/score', async (req, reply) => {
    const model = needModel();
    const body = (quickScoreCheck(req.body, schemas.columnSet, limits) ? req.body : parse(schemas.scoreRequest, req.body)) as ScoreRequest;
    const scores = await submit(model, encodeScoreRows(model.featureMap, body.rows));
    return reply.type(JSON_TYPE).send(scoredResponseJson(model, scores, null));
  });

  app.post('/v1/rank', async (req, reply) => {
    const model = needModel();
    const body = (quickRankCheck(req.body, schemas.columnSet, limits) ? req.body : parse(schemas.rankRequest, req.body)) as RankRequest;
    const scores = await submit(model, encodeRankRows(model.featureMap, body.context ?? {}, body.candidates));
    const order = rankOrder(scores.probs[scores.tasks[0]!]!);
    const k = Math.min(body.top_k ?? order.length, order.length);
    return reply.type(JSON_TYPE).send(scoredResponseJson(model, scores, order.subarray(0, k)));
  });

  app.post('/admin/reload', async (req) => {
    const remote = req.socket.remoteAddress ?? '';
    if (admin === 'off' || (admin === 'loopback' && !LOOPBACK.test(remote))) {
      throw new ApiError(
        403,
        'forbidden',
        admin === 'off' ? 'reloading over HTTP is disabled (use SIGHUP)' : `reload is allowed from loopback clients only (you are ${remote})`,
      );
    }
    const body = parse(schemas.reloadRequest, req.body) as ReloadRequest;
    const r = opts.cluster === undefined ? server.reload(body.path) : await opts.cluster.reloadAll(body.path);
    return { reloaded: true, model: r };
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (current === null || closing) {
      return reply
        .code(503)
        .send(
          unavailable(closing ? 'shutting_down' : 'not_ready', closing ? 'the server is shutting down' : 'no model loaded yet', retryAfter).body(),
        );
    }
    return { status: 'ready', model: { ...modelInfo(current), path: current.path, loaded_at: current.loadedAt.toISOString() } };
  });
  app.get('/metrics', async (_req, reply) => {
    const text = opts.cluster === undefined ? await metrics.registry.metrics() : await opts.cluster.metricsText();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', async () =>
    openApiDocument(schemas, { title: 'finerank scoring server', version: '1', modelName: current?.artifact.meta.model ?? null }),
  );

  const server: ScoringServer = {
    app,
    metrics,
    get model() {
      return current;
    },
    get queuedRows() {
      return batcher.queuedRows;
    },
    async start() {
      setPoolMinLength(SERVING_POOL_MIN_LENGTH);
      const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
      server.reload(opts.modelPath);
      return url;
    },
    reload(path?: string): ReloadResult {
      const target = path ?? current?.path ?? opts.modelPath;
      let next: ServedModel;
      try {
        next = loadServedModel(target, current === null ? (opts.firstVersion ?? 1) : current.version + 1);
      } catch (e) {
        metrics.reloads.inc({ result: 'refused' });
        const keep = current === null ? 'no model is loaded' : `model version ${current.version} keeps serving`;
        throw new ApiError(422, 'artifact_refused', `${(e as Error).message}; ${keep}`, [
          { pointer: path === undefined ? '' : '/path', reason: (e as Error).message },
        ]);
      }
      // One synchronous swap: requests already encoded keep their (old) model; new ones get this one.
      current = next;
      schemas = apiSchemas(next.featureMap.inputColumns, limits, next.tasks);
      metrics.reloads.inc({ result: 'ok' });
      metrics.modelInfo.reset();
      metrics.modelInfo.set({ version: String(next.version), sha256: next.sha256, model: next.artifact.meta.model }, 1);
      return { ...modelInfo(next), path: next.path };
    },
    async close() {
      closing = true;
      await app.close();
      await batcher.whenIdle();
    },
  };
  return server;
}

const JSON_TYPE = 'application/json; charset=utf-8';
