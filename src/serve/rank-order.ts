/** Candidates at most for the packed-key sort (an index takes 21 bits next to a 32-bit score key in a float64's 53). */
const PACKED_MAX = 1 << 21;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Row indices by decreasing score, ties in row order, a NaN score (which a sound model never
 * gives) last; −0 and +0 tie.
 *
 * Each row becomes one float64 key, `d · 2^21 + index`, where d is a 32-bit integer that
 * decreases as the score increases (the float32's bits turned into an order-preserving
 * unsigned integer, then reversed; every NaN the largest); the keys sort as plain numbers
 * (the typed array's native sort, no comparator call per pair) and the index is the key's
 * low 21 bits. Exact: d · 2^21 + index < 2^53. Beyond 2^21 rows it is the comparator sort.
 */
export function rankOrder(scores: Float32Array): Uint32Array {
  const n = scores.length;
  const order = new Uint32Array(n);
  if (n >= PACKED_MAX) return comparatorRankOrder(scores);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = scores[i]!;
    let d: number;
    if (x !== x) d = 0xffffffff;
    else {
      f32[0] = x === 0 ? 0 : x; // −0 → +0: they tie
      const b = u32[0]!;
      const ascending = b >= 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
      d = 0xffffffff - ascending;
    }
    keys[i] = d * PACKED_MAX + i;
  }
  keys.sort();
  for (let i = 0; i < n; i++) order[i] = keys[i]! % PACKED_MAX;
  return order;
}

/** The same order by a comparator sort (the reference of `rankOrder`, and its path for ≥ 2^21 rows). */
export function comparatorRankOrder(scores: Float32Array): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => {
    const x = scores[a]!,
      y = scores[b]!;
    if (x > y) return -1;
    if (x < y) return 1;
    if (x === y) return a - b;
    return Number.isNaN(x) ? (Number.isNaN(y) ? a - b : 1) : -1;
  });
}
