import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics, in their own registry (nothing global). */
export interface ServerMetrics {
  registry: Registry;
  /** Requests answered, by route and status code. */
  requests: Counter<'route' | 'code'>;
  /** Requests answered with an error, by route and kind (invalid_request, overloaded, …). */
  errors: Counter<'route' | 'kind'>;
  /** Seconds from request start to response, by route. */
  latency: Histogram<'route'>;
  /** Rows per scored batch. */
  batchRows: Histogram;
  /** Requests per scored batch. */
  batchRequests: Histogram;
  /** Rows waiting in the micro-batch queue (sampled at scrape time). */
  queueRows: Gauge;
  /** Reload attempts by result (ok / refused). */
  reloads: Counter<'result'>;
  /** 1 for the served model, labelled with its version and checksum. */
  modelInfo: Gauge<'version' | 'sha256' | 'model'>;
}

/**
 * Creates the metrics. Latency buckets run from 0.25 ms to 2.5 s (ranking requests live in
 * the low milliseconds); batch-size buckets are powers of two up to 16 384 rows. Process
 * metrics (RSS, CPU, event-loop lag) come from prom-client's default collectors.
 */
export function createMetrics(queueRows: () => number): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'finerank_' });
  const pow2 = Array.from({ length: 15 }, (_, i) => 2 ** i);
  return {
    registry,
    requests: new Counter({
      name: 'finerank_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['route', 'code'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'finerank_http_errors_total',
      help: 'HTTP requests answered with an error, by route and error kind',
      labelNames: ['route', 'kind'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'finerank_http_request_duration_seconds',
      help: 'Time from request start to response, by route',
      labelNames: ['route'],
      registers: [registry],
      buckets: [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    batchRows: new Histogram({ name: 'finerank_batch_rows', help: 'Rows per scored micro-batch', buckets: pow2, registers: [registry] }),
    batchRequests: new Histogram({
      name: 'finerank_batch_requests',
      help: 'Requests per scored micro-batch',
      buckets: pow2.slice(0, 11),
      registers: [registry],
    }),
    queueRows: new Gauge({
      name: 'finerank_queue_rows',
      help: 'Rows waiting in the micro-batch queue',
      registers: [registry],
      collect() {
        this.set(queueRows());
      },
    }),
    reloads: new Counter({
      name: 'finerank_model_reloads_total',
      help: 'Model reload attempts by result (ok, refused)',
      labelNames: ['result'],
      registers: [registry],
    }),
    modelInfo: new Gauge({
      name: 'finerank_model_info',
      help: 'The served model (value 1), with its version, checksum and name',
      labelNames: ['version', 'sha256', 'model'],
      registers: [registry],
      aggregator: 'max', // --workers N: 1 per model, not N
    }),
  };
}
