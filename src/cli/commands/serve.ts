import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { clusterWorkerHooks, isServeWorker, leaveCluster, reportWorkerReady, runClusterPrimary, workerModel } from '../../serve/cluster.js';
import { kernels } from '../../engine/kernels/index.js';
import { createScoringServer, type AdminAccess, type ScoringServer } from '../../serve/server.js';
import { DEFAULT_LIMITS } from '../../serve/api-schemas.js';
import { DEFAULT_BATCHER } from '../../serve/micro-batcher.js';

const HELP = `usage: finerank serve MODEL_FILE [options]

Serves a model artifact over HTTP: POST /v1/score, POST /v1/rank, GET /healthz, /readyz,
/metrics, /openapi.json, POST /admin/reload. SIGHUP reloads MODEL_FILE (checksum verified;
a refused file leaves the old model serving); SIGTERM / SIGINT drain in-flight requests
and exit. Lifecycle events are printed to stdout as JSON lines. See docs/serving.md.

options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port N                 port (default 8080; 0 picks a free one)
  --max-batch-rows N       rows per micro-batch at most (default ${DEFAULT_BATCHER.maxBatchRows})
  --max-wait-ms MS         longest wait of a request for its batch to fill (default ${DEFAULT_BATCHER.maxWaitMs})
  --max-queue-rows N       rows waiting at most; past it requests get 503 + Retry-After (default ${DEFAULT_BATCHER.maxQueueRows})
  --max-rows N             rows per /v1/score request at most (default ${DEFAULT_LIMITS.maxRows})
  --max-candidates N       candidates per /v1/rank request at most (default ${DEFAULT_LIMITS.maxCandidates})
  --body-limit BYTES       request body size at most (default ${DEFAULT_LIMITS.bodyLimitBytes})
  --admin loopback|any|off who may POST /admin/reload (default loopback)
  --retry-after S          seconds a 503 (queue full, not ready) tells clients to wait (default 1)
  --workers N              worker processes behind the port (default 1); each loads the model and has
                           its own queue; reload, SIGTERM drain and /metrics (summed) cover all of them`;

function intFlag(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** `finerank serve`: the HTTP scoring server with hot reload (SIGHUP) and graceful shutdown (SIGTERM). */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'max-batch-rows': { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'max-queue-rows': { type: 'string' },
      'max-rows': { type: 'string' },
      'max-candidates': { type: 'string' },
      'body-limit': { type: 'string' },
      admin: { type: 'string' },
      'retry-after': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(HELP);
    return 2;
  }
  const admin = values.admin ?? 'loopback';
  if (!['loopback', 'any', 'off'].includes(admin)) throw new Error(`--admin must be one of: loopback, any, off; got '${admin}'`);
  const prune = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const workers = intFlag('workers', values.workers, 1) ?? 1;
  const worker = isServeWorker();
  const model = worker ? workerModel(positionals[0]!) : { path: positionals[0]!, version: 1 };
  let stop: (signal: string) => void = () => {};
  const server: ScoringServer = createScoringServer({
    modelPath: model.path,
    firstVersion: model.version,
    ...(worker
      ? {
          cluster: clusterWorkerHooks(
            () => server,
            () => stop('primary'),
          ),
        }
      : {}),
    host: values.host ?? '127.0.0.1',
    port: intFlag('port', values.port, 0) ?? 8080,
    admin: admin as AdminAccess,
    retryAfterSeconds: intFlag('retry-after', values['retry-after'], 1) ?? 1,
    limits: prune({
      maxRows: intFlag('max-rows', values['max-rows'], 1),
      maxCandidates: intFlag('max-candidates', values['max-candidates'], 1),
      bodyLimitBytes: intFlag('body-limit', values['body-limit'], 1),
    }),
    batcher: prune({
      maxBatchRows: intFlag('max-batch-rows', values['max-batch-rows'], 1),
      maxWaitMs: intFlag('max-wait-ms', values['max-wait-ms'], 0),
      maxQueueRows: intFlag('max-queue-rows', values['max-queue-rows'], 1),
    }),
  });
  if (workers > 1 && !worker) {
    // The primary: the options were checked by building the server above; the workers serve.
    return runClusterPrimary({ workers, main: fileURLToPath(new URL('../main.js', import.meta.url)), args, modelPath: model.path, emit });
  }
  const say = worker ? () => {} : emit; // a worker's lifecycle is reported by the primary
  // SIGHUP reloads (registered first, so that an early one does not end the process).
  const onHup = () => {
    if (worker) return; // the primary reloads every worker
    try {
      const r = server.reload();
      say({ event: 'reloaded', ...r });
    } catch (e) {
      say({ event: 'reload_refused', error: (e as Error).message });
    }
  };
  process.on('SIGHUP', onHup);
  let url: string;
  try {
    url = await server.start();
  } catch (e) {
    process.off('SIGHUP', onHup);
    await server.close().catch(() => {});
    if (worker) leaveCluster();
    throw e;
  }
  const m = server.model!;
  if (worker) reportWorkerReady(url, { version: m.version, sha256: m.sha256, path: m.path, name: m.artifact.meta.model });
  say({ event: 'ready', url, model: m.artifact.meta.model, version: m.version, sha256: m.sha256, path: m.path, kernels: kernels().detail });

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onStop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      say({ event: 'draining', signal });
      server.close().then(
        () => {
          say({ event: 'stopped' });
          process.off('SIGHUP', onHup);
          if (worker) leaveCluster(); // the IPC channel would keep the worker alive
          resolveExit(0);
        },
        (e: unknown) => {
          console.error(`finerank serve: shutdown failed: ${(e as Error).message}`);
          resolveExit(1);
        },
      );
    };
    stop = onStop;
    process.once('SIGTERM', () => onStop('SIGTERM'));
    process.once('SIGINT', () => onStop('SIGINT'));
  });
}
