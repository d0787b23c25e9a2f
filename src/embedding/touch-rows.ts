/**
 * The touch-then-work helper of the TypeScript embedding kernels (./kernels-ts.ts,
 * ./kernels-ts-training.ts): random rows of a large table are memory-latency bound, so the
 * row loops work in chunks of TOUCH_CHUNK rows and first read one float per cache line of
 * the chunk's rows, which keeps many misses in flight.
 */

/** Rows per chunk of the touch-then-work loops (see `touchRows`). */
export const TOUCH_CHUNK = 64;
const sink = new Float64Array(1);

/**
 * Reads one float per cache line of rows ids[from … to) of a row-major [·, dim] array, so
 * that a following per-row loop finds them in cache (measured 8× faster gathers from a
 * 1M-row table than a plain per-row loop). Ids must already be in range.
 */
export function touchRows(a: Float32Array, dim: number, ids: Int32Array, from: number, to: number): void {
  let acc = 0;
  if (dim <= 16) {
    for (let i = from; i < to; i++) {
      const s = ids[i]! * dim;
      acc += a[s]! + a[s + dim - 1]!;
    }
  } else {
    for (let i = from; i < to; i++) {
      const s = ids[i]! * dim;
      for (let d = 0; d < dim; d += 16) acc += a[s + d]!;
      acc += a[s + dim - 1]!;
    }
  }
  sink[0]! += acc; // keeps the loads alive
}
