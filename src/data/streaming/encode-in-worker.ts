/**
 * Parsing and encoding in a worker thread, so that the training thread does not wait on text
 * parsing: `encodeInWorker` yields the same encoded chunks as reading + `fm.transform` on the
 * calling thread would, in the same order, while the worker parses ahead by at most
 * `aheadChunks` chunks or `aheadRows` rows, whichever allows more (bounded memory). Errors (DataErrors with file, line and column) are
 * re-thrown on the calling thread; rows skipped as bad are added to the caller's BadRowLog.
 */
import { Worker } from 'node:worker_threads';
import { BadRowLog, DataError, type BadRowPolicy } from '../../readers/errors.js';
import type { Batch } from '../../features/batch.js';
import type { FeatureMap } from '../../features/featuremap.js';
import type { EncodeWorkerData } from './encode-worker.js';

/** Options of `encodeInWorker`. */
export interface WorkerEncodeOptions {
  onBadRow?: BadRowPolicy;
  badRows?: BadRowLog;
  blockBytes?: number;
  /** Chunks the worker may have encoded but not yet handed over (default 3). */
  aheadChunks?: number;
  /**
   * Rows the worker may have encoded but not yet handed over (default 0: `aheadChunks`
   * alone). A streaming source sets it to its shuffle window, so that the worker parses the
   * whole next window while the trainer consumes the current one.
   */
  aheadRows?: number;
  /** Called at the end of a complete pass with the worker thread's CPU seconds (when known). */
  onWorkerCpu?: (seconds: number) => void;
}

type Message =
  | { type: 'chunk'; batch: Batch }
  | { type: 'end'; badRows: { count: number; byReason: Record<string, number>; examples: BadRowLog['examples'] }; cpuSeconds: number | null }
  | {
      type: 'error';
      error: {
        message: string;
        name: string;
        dataError: { file: string; line?: number; column?: string; problem: string; expected?: string } | null;
      };
    };

/** Encoded chunks of `path`, parsed and encoded in a worker thread (module comment). */
export async function* encodeInWorker(path: string, fm: FeatureMap, o: WorkerEncodeOptions = {}): AsyncGenerator<Batch> {
  const ahead = o.aheadChunks ?? 3;
  const data: EncodeWorkerData = {
    path,
    featureMap: fm.share(),
    onBadRow: o.onBadRow ?? 'error',
    credits: ahead,
    aheadRows: o.aheadRows ?? 0,
    ...(o.blockBytes !== undefined ? { blockBytes: o.blockBytes } : {}),
  };
  const worker = new Worker(new URL('./encode-worker.js', import.meta.url), { workerData: data });
  const queue: Message[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let exited = false;
  const push = (m: Message) => {
    queue.push(m);
    wake?.();
    wake = null;
  };
  worker.on('message', push);
  worker.on('error', (e) => {
    failure = e;
    wake?.();
    wake = null;
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
    wake = null;
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure !== null) throw failure;
        if (exited) throw new Error(`${path}: the encoding worker stopped without finishing`);
        await new Promise<void>((r) => (wake = r));
      }
      const m = queue.shift()!;
      if (m.type === 'chunk') {
        worker.postMessage({ type: 'credit', n: 1, rows: m.batch.size });
        yield m.batch;
      } else if (m.type === 'end') {
        if (o.badRows !== undefined) mergeBadRows(o.badRows, m.badRows);
        if (m.cpuSeconds !== null) o.onWorkerCpu?.(m.cpuSeconds);
        return;
      } else {
        const d = m.error.dataError;
        if (d !== null)
          throw new DataError(
            { file: d.file, ...(d.line !== undefined ? { line: d.line } : {}), ...(d.column !== undefined ? { column: d.column } : {}) },
            d.problem,
            d.expected,
          );
        const e = new Error(m.error.message);
        e.name = m.error.name;
        throw e;
      }
    }
  } finally {
    if (!exited) await worker.terminate();
  }
}

function mergeBadRows(into: BadRowLog, from: { count: number; byReason: Record<string, number>; examples: BadRowLog['examples'] }): void {
  into.count += from.count;
  for (const [k, v] of Object.entries(from.byReason)) into.byReason.set(k, (into.byReason.get(k) ?? 0) + v);
  for (const e of from.examples) if (into.examples.length < into.keep) into.examples.push(e);
}
