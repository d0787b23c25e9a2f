/**
 * `finerank serve --workers N`: N worker processes (node:cluster) behind one port. The
 * primary process loads no model: it forks the workers (each runs `finerank serve` with its
 * own copy of the artifact, micro-batcher and queue), lets node:cluster hand the accepted
 * connections to them in turn (round robin), and coordinates what must reach every worker:
 * a reload (SIGHUP to the primary or POST /admin/reload to any worker), the metrics (GET
 * /metrics on any worker answers the sum over all workers, prom-client's AggregatorRegistry)
 * and the graceful shutdown (SIGTERM / SIGINT drain every worker). A worker that dies after
 * it was ready is replaced (with the cluster's current model path and version).
 */
import { servingNodeFlags } from './node-flags.js';
import cluster, { type Worker } from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { ApiError, type ApiIssue } from './api-errors.js';
import type { ClusterHooks, ReloadResult, ScoringServer } from './server.js';

/** Environment of a worker: the model path and first version (set for replacements). */
const ENV_MODEL = 'FINERANK_SERVE_MODEL';
const ENV_VERSION = 'FINERANK_SERVE_VERSION';

/** A refused reload as it travels between processes. */
interface ReloadError {
  status: number;
  kind: string;
  message: string;
  issues: ApiIssue[];
}
type ReloadOutcome = { ok: true; result: ReloadResult } | { ok: false; error: ReloadError };
type Metrics = Array<MetricObjectWithValues<MetricValue<string>>>;

/** Messages from a worker to the primary. */
type ToPrimary =
  | { finerank: 'ready'; url: string; model: ReloadResult }
  | { finerank: 'reload_request'; id: number; path?: string }
  | { finerank: 'reload_done'; id: number; outcome: ReloadOutcome }
  | { finerank: 'metrics_request'; id: number }
  | { finerank: 'metrics_data'; id: number; metrics: Metrics };
/** Messages from the primary to a worker. */
type ToWorker =
  | { finerank: 'reload'; id: number; path?: string }
  | { finerank: 'reload_answer'; id: number; outcome: ReloadOutcome }
  | { finerank: 'metrics_collect'; id: number }
  | { finerank: 'metrics_answer'; id: number; text: string }
  | { finerank: 'drain' };

/** True in a process forked by `runClusterPrimary`. */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/** The model path and first version a worker must load (its replacement values, else the command line's). */
export function workerModel(cliPath: string): { path: string; version: number } {
  const v = Number(process.env[ENV_VERSION] ?? '1');
  return { path: process.env[ENV_MODEL] ?? cliPath, version: Number.isSafeInteger(v) && v >= 1 ? v : 1 };
}

function sendToPrimary(msg: ToPrimary): void {
  process.send?.(msg);
}

/**
 * The worker's side: the hooks its server uses (reload and metrics through the primary) and
 * the listener answering the primary's requests with `server()`. `onDrain` runs when the
 * primary starts a graceful shutdown.
 */
export function clusterWorkerHooks(server: () => ScoringServer, onDrain: () => void): ClusterHooks {
  let nextId = 1;
  const reloads = new Map<number, (o: ReloadOutcome) => void>();
  const metrics = new Map<number, (t: string) => void>();
  process.on('message', (raw: unknown) => {
    const msg = raw as ToWorker;
    switch (msg?.finerank) {
      case 'reload': {
        let outcome: ReloadOutcome;
        try {
          outcome = { ok: true, result: server().reload(msg.path) };
        } catch (e) {
          const a = e instanceof ApiError ? e : new ApiError(422, 'artifact_refused', (e as Error).message);
          outcome = { ok: false, error: { status: a.status, kind: a.kind, message: a.message, issues: a.issues } };
        }
        sendToPrimary({ finerank: 'reload_done', id: msg.id, outcome });
        break;
      }
      case 'metrics_collect':
        void server()
          .metrics.registry.getMetricsAsJSON()
          .then((m) => sendToPrimary({ finerank: 'metrics_data', id: msg.id, metrics: m }));
        break;
      case 'reload_answer':
        reloads.get(msg.id)?.(msg.outcome);
        reloads.delete(msg.id);
        break;
      case 'metrics_answer':
        metrics.get(msg.id)?.(msg.text);
        metrics.delete(msg.id);
        break;
      case 'drain':
        onDrain();
        break;
    }
  });
  return {
    workerId: cluster.worker?.id ?? 0,
    reloadAll(path?: string): Promise<ReloadResult> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        reloads.set(id, (o) => (o.ok ? resolve(o.result) : reject(new ApiError(o.error.status, o.error.kind, o.error.message, o.error.issues))));
        sendToPrimary({ finerank: 'reload_request', id, ...(path !== undefined ? { path } : {}) });
      });
    },
    metricsText(): Promise<string> {
      const id = nextId++;
      return new Promise((resolve) => {
        metrics.set(id, resolve);
        sendToPrimary({ finerank: 'metrics_request', id });
      });
    },
  };
}

/**
 * Ends a worker's IPC channel so that it can exit with its own exit code once its work is
 * done (`cluster.worker.disconnect()`: a plain `process.disconnect()` would make node:cluster
 * exit 0 at once).
 */
export function leaveCluster(): void {
  cluster.worker?.disconnect();
}

/** Tells the primary that this worker serves (its URL and model). */
export function reportWorkerReady(url: string, model: ReloadResult): void {
  sendToPrimary({ finerank: 'ready', url, model });
}

/** Options of `runClusterPrimary`. */
export interface ClusterOptions {
  workers: number;
  /** The CLI entry point (dist/src/cli/main.js) and the `serve` arguments the workers run with. */
  main: string;
  args: string[];
  modelPath: string;
  /** Lifecycle events (one JSON line each on stdout). */
  emit: (event: Record<string, unknown>) => void;
}

/**
 * Runs the primary process of `finerank serve --workers N` until it is stopped: forks the
 * workers, emits `ready` once all serve (with their pids), reloads all of them on SIGHUP or
 * an admin request (one reload at a time; the answer is refused when any worker refused),
 * answers metrics requests with the sum over workers, replaces a worker that died, and on
 * SIGTERM / SIGINT drains them all. Resolves with the exit code (1 when a worker could not
 * start).
 */
export function runClusterPrimary(opts: ClusterOptions): Promise<number> {
  // Workers get a larger young generation (fewer GC pauses in request latencies) unless the primary's flags set one.
  cluster.setupPrimary({ exec: opts.main, args: ['serve', ...opts.args], execArgv: servingNodeFlags(process.execArgv) });
  let modelPath = resolvePath(opts.modelPath);
  let version = 1;
  let nextId = 1;
  let stopping = false;
  let started = false;
  const ready = new Map<number, Worker>();
  let reloadChain: Promise<unknown> = Promise.resolve();

  /** Sends a request to every ready worker and collects the answers (a worker that exits meanwhile answers null). */
  const askAll = <T>(make: (id: number) => ToWorker, answer: (m: ToPrimary, id: number) => T | undefined): Promise<Array<T | null>> =>
    Promise.all(
      [...ready.values()].map(
        (w) =>
          new Promise<T | null>((resolve) => {
            const id = nextId++;
            const onMessage = (raw: unknown) => {
              const a = answer(raw as ToPrimary, id);
              if (a !== undefined) done(a);
            };
            const onExit = () => done(null);
            const done = (v: T | null) => {
              w.off('message', onMessage);
              w.off('exit', onExit);
              resolve(v);
            };
            w.on('message', onMessage);
            w.on('exit', onExit);
            w.send(make(id));
          }),
      ),
    );

  const reloadAll = (path: string | undefined): Promise<ReloadOutcome> => {
    const run = async (): Promise<ReloadOutcome> => {
      const outcomes = (
        await askAll<ReloadOutcome>(
          (id) => ({ finerank: 'reload', id, ...(path !== undefined ? { path } : {}) }),
          (m, id) => (m.finerank === 'reload_done' && m.id === id ? m.outcome : undefined),
        )
      ).filter((o): o is ReloadOutcome => o !== null);
      const ok = outcomes.filter((o): o is Extract<ReloadOutcome, { ok: true }> => o.ok);
      const refused = outcomes.filter((o): o is Extract<ReloadOutcome, { ok: false }> => !o.ok);
      if (ok.length > 0) {
        modelPath = ok[0]!.result.path;
        version = ok[0]!.result.version;
      }
      if (refused.length === 0 && ok.length > 0) return ok[0]!;
      if (refused.length === 0) return { ok: false, error: { status: 503, kind: 'not_ready', message: 'no worker is serving', issues: [] } };
      const e = refused[0]!.error;
      const message =
        ok.length === 0
          ? e.message
          : `${refused.length} of ${outcomes.length} workers refused the reload (${e.message}); the others serve version ${version}`;
      return { ok: false, error: { ...e, message } };
    };
    const p = reloadChain.then(run, run);
    reloadChain = p;
    return p;
  };

  const metricsText = async (): Promise<string> => {
    const all = (
      await askAll<Metrics>(
        (id) => ({ finerank: 'metrics_collect', id }),
        (m, id) => (m.finerank === 'metrics_data' && m.id === id ? m.metrics : undefined),
      )
    ).filter((m): m is Metrics => m !== null);
    return AggregatorRegistry.aggregate(all).metrics();
  };

  return new Promise<number>((resolveExit) => {
    let failed: string | null = null;
    const fork = (env: Record<string, string>): Worker => {
      const w = cluster.fork(env);
      w.on('message', (raw: unknown) => {
        const msg = raw as ToPrimary;
        switch (msg?.finerank) {
          case 'ready':
            ready.set(w.id, w);
            if (started) opts.emit({ event: 'worker_restarted', worker: w.id, pid: w.process.pid, version: msg.model.version });
            else if (ready.size === opts.workers) {
              started = true;
              const pids = [...ready.values()].map((x) => x.process.pid);
              const { name, ...model } = msg.model;
              opts.emit({ event: 'ready', url: msg.url, model: name, ...model, workers: opts.workers, pids });
            }
            break;
          case 'reload_request':
            void reloadAll(msg.path).then((outcome) => w.send({ finerank: 'reload_answer', id: msg.id, outcome } satisfies ToWorker));
            break;
          case 'metrics_request':
            void metricsText().then(
              (text) => w.send({ finerank: 'metrics_answer', id: msg.id, text } satisfies ToWorker),
              (e: unknown) =>
                w.send({ finerank: 'metrics_answer', id: msg.id, text: `# metrics failed: ${(e as Error).message}\n` } satisfies ToWorker),
            );
            break;
        }
      });
      w.on('exit', (code, signal) => {
        const wasReady = ready.delete(w.id);
        if (!stopping) {
          if (!started) {
            // A worker that cannot start (e.g. a missing model): stop the others and fail.
            failed ??= `worker ${w.id} exited (${signal ?? `code ${code}`}) before it was ready`;
            stopAll('startup_failed');
          } else {
            opts.emit({ event: 'worker_exit', worker: w.id, pid: w.process.pid, code, signal });
            if (wasReady) fork({ [ENV_MODEL]: modelPath, [ENV_VERSION]: String(version) });
          }
        }
        if (stopping && Object.keys(cluster.workers ?? {}).length === 0) finish();
      });
      return w;
    };
    const finish = () => {
      process.off('SIGHUP', onHup);
      if (failed !== null) {
        process.stderr.write(`finerank serve: ${failed}\n`);
        resolveExit(1);
      } else {
        opts.emit({ event: 'stopped' });
        resolveExit(0);
      }
    };
    const stopAll = (reason: string) => {
      if (stopping) return;
      stopping = true;
      if (failed === null) opts.emit({ event: 'draining', signal: reason });
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      if (live.length === 0) return finish();
      // A failed start kills the others (none serves yet); a shutdown lets each drain.
      for (const w of live) {
        if (failed !== null) w.process.kill('SIGKILL');
        else if (w.isConnected()) w.send({ finerank: 'drain' } satisfies ToWorker);
      }
    };
    const onHup = () => {
      void reloadAll(undefined).then((o) =>
        opts.emit(o.ok ? { event: 'reloaded', ...o.result } : { event: 'reload_refused', error: o.error.message }),
      );
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => stopAll('SIGTERM'));
    process.once('SIGINT', () => stopAll('SIGINT'));
    for (let i = 0; i < opts.workers; i++) fork({});
  });
}
