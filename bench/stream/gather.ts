/**
 * Micro-benchmark of gathering shuffled batches from a shuffle window: column-wise
 * (`gatherBatch` over a window of columns, the code before session 7) against row-major
 * (`RowWindow.gather`, the streaming source's window since then). A Criteo-shaped window of
 * `--window` rows (26 Int32 + 13 Float32 columns + a label), 4096-row batches in a shuffled
 * order, two passes each; prints process CPU nanoseconds per gathered row and the 1-minute
 * load average, ending with one JSON line. Checks that both gather the same bits first.
 *
 *   node dist/bench/stream/gather.js [--window 1000000] [--reps 2]
 */
import { parseArgs } from '../common/args.js';
import { machineInfo } from '../common/machine.js';
import { gatherBatch } from '../../src/data/data-source.js';
import { RowWindow } from '../../src/data/streaming/row-window.js';
import { Rng } from '../../src/engine/random.js';
import type { Batch } from '../../src/features/batch.js';

const a = parseArgs(process.argv.slice(2), { window: 'string', reps: 'string' });
const W = Number(a.window ?? 1_000_000);
const reps = Number(a.reps ?? 2);
if (!Number.isInteger(W) || W < 4096 || !Number.isInteger(reps) || reps < 1) throw new Error('--window ≥ 4096 and --reps ≥ 1 must be integers');
const bs = 4096;

const cols: Batch = { size: W, sparse: {}, dense: {}, varlen: {}, labels: {} };
for (let c = 0; c < 26; c++) cols.sparse[`C${c + 1}`] = Int32Array.from({ length: W }, (_, i) => (i * 7 + c) | 0);
for (let c = 0; c < 13; c++) cols.dense[`I${c + 1}`] = Float32Array.from({ length: W }, (_, i) => i * 0.5 + c);
cols.labels.label = Float32Array.from({ length: W }, (_, i) => i & 1);
const win = new RowWindow(cols, W, W);
win.append(cols, 0, W);
const order = Int32Array.from({ length: W }, (_, i) => i);
new Rng(3).shuffle(order);

const first = order.subarray(0, bs);
const x = gatherBatch(cols, first),
  y = win.gather(first);
for (const k in x.sparse) if (!x.sparse[k]!.every((v, i) => v === y.sparse[k]![i])) throw new Error(`column ${k} differs`);
for (const k in x.dense) if (!x.dense[k]!.every((v, i) => Object.is(v, y.dense[k]![i]))) throw new Error(`column ${k} differs`);

function nsPerRow(gather: (rows: Int32Array) => Batch): number {
  let sink = 0;
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) for (let at = 0; at + bs <= W; at += bs) sink += gather(order.subarray(at, at + bs)).size;
  const c = process.cpuUsage(c0);
  return Math.round(((c.user + c.system) * 1000) / sink);
}

const load = machineInfo().load_avg_1m;
const columnWise = nsPerRow((rows) => gatherBatch(cols, rows));
const rowMajor = nsPerRow((rows) => win.gather(rows));
const out = {
  window_rows: W,
  column_wise_cpu_ns_per_row: columnWise,
  row_major_cpu_ns_per_row: rowMajor,
  speedup: Math.round((columnWise / rowMajor) * 100) / 100,
  load_avg_1m: load,
  machine: `${machineInfo().machine} (shared: other jobs may compete for the cores)`,
};
console.error(`gather: ${W}-row window, 40 columns: column-wise ${columnWise} ns/row, row-major ${rowMajor} ns/row (CPU), load ${load}`);
console.log(JSON.stringify(out));
