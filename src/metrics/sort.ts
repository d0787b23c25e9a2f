/**
 * The one sort behind the metrics. Scores are ranked with an O(n) stable LSD radix sort of
 * their IEEE-754 bit patterns (a few linear passes for 10M rows, no comparator calls);
 * labels, weights, groups and slices are then gathered into rank order ("rank space") so
 * every later walk reads memory sequentially or at increasing positions.
 */

/** Below this size a comparator sort beats the radix sort's histogram passes. */
const SMALL = 2048;
/** Radix digit width in bits (2048 buckets keep the scatter targets cache-resident). */
const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;

/** Scores sorted ascending. */
export interface Ranked {
  /** order[k] = the row holding the k-th smallest score; equal scores keep row order. */
  order: Uint32Array;
  /**
   * sorted[k] = that score (−0 normalized to +0, so ties compare with ===): float32 when
   * every score is float32-exact (no information lost), else float64.
   */
  sorted: Float32Array | Float64Array;
}

/**
 * Sorts scores ascending (stable). Throws on NaN, naming the row. Floats map to
 * order-preserving unsigned keys (negatives: flip all bits; others: flip the sign bit).
 * When every score is float32-exact (model outputs usually are) one 32-bit key per row
 * suffices: 3 radix passes. Otherwise 64-bit double keys: low words, then high words.
 */
export function rankScores(scores: ArrayLike<number>, name = 'scores'): Ranked {
  const n = scores.length;
  if (n < SMALL) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = scores[i]!;
      if (v !== v) throw new Error(`${name}[${i}] is NaN: expected a number`);
      values[i] = v + 0;
    }
    const order = identity(n);
    order.sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : a - b));
    return { order, sorted: gatherF64(values, order) };
  }
  // Try 32-bit keys: copy to float32 and keep going while every value is float32-exact.
  const f = new Float32Array(n);
  const bits = new Uint32Array(f.buffer);
  let exact = true;
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    f[i] = v + 0;
    if (f[i] !== v) {
      if (v !== v) throw new Error(`${name}[${i}] is NaN: expected a number`);
      exact = false;
      break;
    }
    const b = bits[i]!;
    bits[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  }
  if (exact) {
    const r = radixSortPairs(bits, null);
    // Invert the key transform of the sorted keys in place: they become the sorted floats.
    const keys = r.keys;
    for (let k = 0; k < n; k++) {
      const key = keys[k]!;
      keys[k] = key & 0x80000000 ? (key ^ 0x80000000) >>> 0 : ~key >>> 0;
    }
    return { order: r.idx, sorted: new Float32Array(keys.buffer, keys.byteOffset, n) };
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    if (v !== v) throw new Error(`${name}[${i}] is NaN: expected a number`);
    values[i] = v + 0;
  }
  const words = new Uint32Array(values.buffer);
  const lo = new Uint32Array(n);
  let hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1]!;
    const l = words[2 * i]!;
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~l >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = l;
    }
  }
  // LSD over the 64-bit key: low words first, then the high words gathered in that order.
  let order = radixSortPairs(lo, null).idx;
  const hiOrdered = new Uint32Array(n);
  for (let i = 0; i < n; i++) hiOrdered[i] = hi[order[i]!]!;
  hi = hiOrdered;
  order = radixSortPairs(hi, order).idx;
  return { order, sorted: gatherF64(values, order) };
}

/**
 * Stable sort of the items `items[start, end)` by a signed 32-bit key per item
 * (`key[item]`, e.g. the group id of a rank position): returns a new array in which items
 * with equal keys keep their relative order.
 */
export function stableSortByKey(items: Uint32Array, key: Int32Array, start = 0, end = items.length): Uint32Array {
  const n = end - start;
  const idx = items.slice(start, end);
  if (n < SMALL) {
    const p = identity(n);
    p.sort((a, b) => {
      const ka = key[idx[a]!]!;
      const kb = key[idx[b]!]!;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = idx[p[i]!]!;
    return out;
  }
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) keys[i] = (key[idx[i]!]! ^ 0x80000000) >>> 0;
  return radixSortPairs(keys, idx).idx;
}

/**
 * Stable counting sort of items by a dense slot id in [0, k) (`slot[item]`): the items of
 * slot s end up in `items[starts[s], starts[s+1])`, in their previous relative order.
 */
export function partitionBySlot(items: Uint32Array, slot: Int32Array, k: number): { items: Uint32Array; starts: Uint32Array } {
  const n = items.length;
  const starts = new Uint32Array(k + 1);
  for (let i = 0; i < n; i++) starts[slot[items[i]!]! + 1]!++;
  for (let s = 0; s < k; s++) starts[s + 1]! += starts[s]!;
  const fill = starts.slice(0, k);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const r = items[i]!;
    out[fill[slot[r]!]!++] = r;
  }
  return { items: out, starts };
}

/** [0, 1, …, n−1] as a Uint32Array. */
export function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** out[k] = src[order[k]] (rank space) as doubles. */
export function gatherF64(src: ArrayLike<number>, order: Uint32Array): Float64Array {
  const out = new Float64Array(order.length);
  for (let k = 0; k < order.length; k++) out[k] = src[order[k]!]!;
  return out;
}

/** out[k] = src[order[k]] for bytes (labels). */
export function gatherU8(src: Uint8Array, order: Uint32Array): Uint8Array {
  const out = new Uint8Array(order.length);
  for (let k = 0; k < order.length; k++) out[k] = src[order[k]!]!;
  return out;
}

/** out[k] = src[order[k]] for int32 ids (groups, slice slots). */
export function gatherI32(src: ArrayLike<number>, order: Uint32Array): Int32Array {
  const out = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) out[k] = src[order[k]!]!;
  return out;
}

/**
 * Stable LSD radix sort of (key, idx) pairs by key, 11-bit digits (3 passes over 32 bits);
 * all three digit histograms come from one read pass, and a pass whose digit is equal for
 * all keys is skipped. `idx` null means the identity 0…n−1. Returns the sorted pairs,
 * possibly in new buffers (the inputs are consumed).
 */
function radixSortPairs(keys: Uint32Array, idx: Uint32Array | null): { keys: Uint32Array; idx: Uint32Array } {
  const n = keys.length;
  const count = new Uint32Array(3 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    count[k & MASK]!++;
    count[BUCKETS + ((k >>> BITS) & MASK)]!++;
    count[2 * BUCKETS + (k >>> (2 * BITS))]!++;
  }
  let k2: Uint32Array | null = null;
  let i2: Uint32Array | null = null;
  for (let pass = 0; pass < 3; pass++) {
    const shift = pass * BITS;
    const base = pass * BUCKETS;
    if (count[base + ((keys[0]! >>> shift) & MASK)] === n) continue;
    let sum = 0;
    for (let d = base; d < base + BUCKETS; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    if (k2 === null) k2 = new Uint32Array(n);
    if (i2 === null) i2 = new Uint32Array(n);
    const kOut = k2;
    const iOut = i2;
    if (idx === null) {
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        const p = count[base + ((k >>> shift) & MASK)]!++;
        kOut[p] = k;
        iOut[p] = i;
      }
      k2 = keys;
      i2 = null;
    } else {
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        const p = count[base + ((k >>> shift) & MASK)]!++;
        kOut[p] = k;
        iOut[p] = idx[i]!;
      }
      k2 = keys;
      i2 = idx;
    }
    keys = kOut;
    idx = iOut;
  }
  return { keys, idx: idx ?? identity(n) };
}

/**
 * Sorts 32-bit keys ascending by their low 31 bits (bit 31 is carried along as payload):
 * LSD radix, digits of 11, 11 and 9 bits, trivial passes skipped. Ties keep their order.
 * Returns the sorted keys (the input or a new buffer).
 */
export function radixSort31(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  const count = new Uint32Array(3 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    count[k & MASK]!++;
    count[BUCKETS + ((k >>> BITS) & MASK)]!++;
    count[2 * BUCKETS + ((k >>> (2 * BITS)) & 0x1ff)]!++;
  }
  let tmp: Uint32Array | null = null;
  for (let pass = 0; pass < 3; pass++) {
    const shift = pass * BITS;
    const mask = pass === 2 ? 0x1ff : MASK;
    const base = pass * BUCKETS;
    if (count[base + ((keys[0]! >>> shift) & mask)] === n) continue;
    let sum = 0;
    for (let d = base; d < base + BUCKETS; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    if (tmp === null) tmp = new Uint32Array(n);
    const out: Uint32Array = tmp;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      out[count[base + ((k >>> shift) & mask)]!++] = k;
    }
    tmp = keys;
    keys = out;
  }
  return keys;
}
