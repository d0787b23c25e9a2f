/**
 * Worker-thread entry of `encodeInWorker` (encode-in-worker.ts): reads a data file, encodes it
 * with the feature map it is given, and posts the encoded chunks to the parent, at most
 * `credits` chunks or `aheadRows` rows ahead of what the parent has taken, whichever allows
 * more (the parent grants more as it consumes).
 *
 * Messages to the parent: {type: 'chunk', batch}, {type: 'end', badRows, cpuSeconds (the
 * worker thread's CPU time, null when unknown)}, {type: 'error', error}.
 * Messages from the parent: {type: 'credit', n, rows} (n chunks of `rows` rows taken).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BadRowLog, DataError } from '../../readers/errors.js';
import { FeatureMap, type SharedFeatureMap } from '../../features/featuremap.js';
import { rawChunks } from '../stream.js';
import type { Batch } from '../../features/batch.js';
import { threadCpuSeconds } from '../../util/thread-cpu.js';

/** What the parent passes as `workerData`. */
export interface EncodeWorkerData {
  path: string;
  /** The parent's feature map, its vocabularies in shared memory (`FeatureMap.share`: no copy of the values). */
  featureMap: SharedFeatureMap;
  onBadRow: 'error' | 'skip';
  blockBytes?: number;
  credits: number;
  /** Rows the worker may run ahead of the parent (0: `credits` chunks only). */
  aheadRows?: number;
}

const port = parentPort;
if (port === null) throw new Error('encode-worker.ts must run in a worker thread');
const data = workerData as EncodeWorkerData;
let credits = data.credits;
let rowsAhead = 0; // encoded rows posted and not yet taken by the parent
let wake: (() => void) | null = null;
port.on('message', (m: { type: string; n: number; rows: number }) => {
  if (m.type === 'credit') {
    credits += m.n;
    rowsAhead -= m.rows;
    wake?.();
    wake = null;
  }
});

/** The distinct ArrayBuffers of a batch when each column owns its whole buffer (else none: copy). */
function transferables(b: Batch): ArrayBuffer[] {
  const arrays: Array<Int32Array | Float32Array> = [
    ...Object.values(b.sparse),
    ...Object.values(b.dense),
    ...Object.values(b.labels),
    ...Object.values(b.varlen).flatMap((v) => [v.ids, v.lengths]),
    ...(b.weight ? [b.weight] : []),
    ...(b.group ? [b.group] : []),
  ];
  const seen = new Set<ArrayBufferLike>();
  for (const a of arrays) {
    if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || seen.has(a.buffer) || !(a.buffer instanceof ArrayBuffer)) return [];
    seen.add(a.buffer);
  }
  return [...seen] as ArrayBuffer[];
}

async function run(): Promise<void> {
  const fm = FeatureMap.fromShared(data.featureMap, `${data.path} (feature map)`);
  const badRows = new BadRowLog();
  const read = {
    dataset: fm.schema.dataset,
    onBadRow: data.onBadRow,
    badRows,
    ...(data.blockBytes !== undefined ? { blockBytes: data.blockBytes } : {}),
  };
  for await (const chunk of rawChunks(data.path, fm.schema, read)) {
    const b = fm.transform(chunk, { onBadRow: data.onBadRow, badRows });
    if (b.size === 0) continue;
    // Post while within the chunk credits or the row budget (whichever allows more).
    while (credits <= 0 && rowsAhead >= (data.aheadRows ?? 0)) await new Promise<void>((r) => (wake = r));
    credits--;
    rowsAhead += b.size;
    port!.postMessage({ type: 'chunk', batch: b }, transferables(b));
  }
  port!.postMessage({
    type: 'end',
    badRows: { count: badRows.count, byReason: Object.fromEntries(badRows.byReason), examples: badRows.examples },
    cpuSeconds: threadCpuSeconds(),
  });
}

run().then(
  () => port.close(),
  (e: unknown) => {
    const err = e as Error;
    const d = e instanceof DataError ? { file: e.file, line: e.line, column: e.column, problem: e.problem, expected: e.expected } : null;
    port.postMessage({ type: 'error', error: { message: err.message, name: err.name, dataError: d } });
    port.close();
  },
);
