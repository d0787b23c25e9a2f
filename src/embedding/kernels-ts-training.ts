/**
 * The TypeScript twins of the embedding kernels only training calls: the sparse-gradient
 * accumulator (duplicate ids merged through an open-addressing hash) and the row-wise
 * optimizer steps (SGD, Adagrad, LazyAdam, FTRL, table Adam). A module of their own so that
 * a scoring-only build leaves them out (the web scorer's bundle substitutes
 * src/export/web/training-absent.ts for it, see src/export/web/bundle.ts). Same contracts,
 * order of operations and rounding as native/embedding.cc (see ./kernels-ts.ts).
 */
import type { AccumulatorArrays, EmbeddingKernels, RowMode } from './kernels.js';
import { TOUCH_CHUNK, touchRows } from './touch-rows.js';

/** The names of the training-only embedding kernels. */
export type EmbeddingTrainingKernelName = 'accumulate' | 'sgd' | 'adagrad' | 'lazyAdam' | 'ftrl' | 'tableAdam';

const EMPTY = -1;
const ent = new Int32Array(TOUCH_CHUNK);

/**
 * Merges n gradient rows (ids[from + p], row grad[gradOffset + p·gradStride …] × scale) into
 * the accumulator. Returns the positions done; acc.state[1] = 0 (all), 1 (grow needed) or
 * 2 (the id at the returned position is out of range). Per chunk: resolve ids to entries
 * (hash probes, new ids get a zeroed entry), then add the rows.
 */
function accumulateSegment(
  acc: AccumulatorArrays,
  rows: number,
  pad: number,
  dim: number,
  ids: Int32Array,
  from: number,
  n: number,
  grad: Float32Array,
  gradOffset: number,
  gradStride: number,
  scale: number,
): number {
  const keys = acc.keys,
    slots = acc.slots,
    entryIds = acc.entryIds,
    entryHash = acc.entryHash,
    values = acc.entryValues;
  const st = acc.state,
    cap = entryIds.length,
    size = keys.length,
    mask = size - 1,
    shift = 32 - Math.log2(size);
  const dim4 = dim & ~3;
  let count = st[0]!;
  for (let c = 0; c < n; c += TOUCH_CHUNK) {
    const m = Math.min(n - c, TOUCH_CHUNK);
    let r = 0,
      stop = 0;
    for (; r < m; r++) {
      const id = ids[from + c + r]!;
      if (id >>> 0 >= rows) {
        stop = 2;
        break;
      }
      if (id === pad) {
        ent[r] = -1;
        continue;
      }
      let h = Math.imul(id, 0x9e3779b1) >>> shift;
      let k = keys[h]!;
      while (k !== id && k !== EMPTY) {
        h = (h + 1) & mask;
        k = keys[h]!;
      }
      if (k === id) {
        ent[r] = slots[h]!;
        continue;
      }
      if (count === cap) {
        stop = 1;
        break;
      }
      keys[h] = id;
      slots[h] = count;
      entryIds[count] = id;
      entryHash[count] = h;
      values.fill(0, count * dim, count * dim + dim);
      ent[r] = count;
      count++;
      if (count * 2 > size) {
        r++;
        stop = 1;
        break;
      }
    }
    let src = gradOffset + c * gradStride;
    for (let j = 0; j < r; j++, src += gradStride) {
      const e = ent[j]!;
      if (e < 0) continue;
      const dst = e * dim;
      if (scale === 1) {
        let d = 0;
        for (; d < dim4; d += 4) {
          values[dst + d]! += grad[src + d]!;
          values[dst + d + 1]! += grad[src + d + 1]!;
          values[dst + d + 2]! += grad[src + d + 2]!;
          values[dst + d + 3]! += grad[src + d + 3]!;
        }
        for (; d < dim; d++) values[dst + d]! += grad[src + d]!;
      } else {
        for (let d = 0; d < dim; d++) values[dst + d]! += scale * grad[src + d]!;
      }
    }
    if (stop !== 0) {
      st[0] = count;
      st[1] = stop;
      return c + r;
    }
  }
  st[0] = count;
  st[1] = 0;
  return n;
}

function accumulate(
  acc: AccumulatorArrays,
  rows: number,
  pad: number,
  dim: number,
  ids: Int32Array,
  idsOffset: number,
  start: number,
  count: number,
  grad: Float32Array,
  gradOffset: number,
  gradStride: number,
  scale: number,
  lengths: Int32Array | null,
  maxLen: number,
  rowMode: RowMode,
): number {
  if (lengths === null) {
    return (
      start + accumulateSegment(acc, rows, pad, dim, ids, idsOffset + start, count - start, grad, gradOffset + start * gradStride, gradStride, scale)
    );
  }
  const L = maxLen;
  let p = start;
  while (p < count) {
    const b = Math.floor(p / L),
      j = p - b * L,
      len = lengths[b]!;
    if (j >= len) {
      p = (b + 1) * L;
      continue;
    }
    const g = rowMode === 0 ? gradOffset + p * gradStride : gradOffset + b * gradStride;
    const stride = rowMode === 0 ? gradStride : 0;
    const s = rowMode === 2 ? 1 / len : scale;
    const done = accumulateSegment(acc, rows, pad, dim, ids, idsOffset + p, len - j, grad, g, stride, s);
    if (acc.state[1] !== 0) return p + done;
    p = (b + 1) * L;
  }
  acc.state[1] = 0;
  return count;
}

function sgd(ids: Int32Array, values: Float32Array, w: Float32Array, dim: number, lr: number): void {
  for (let c = 0; c < ids.length; c += TOUCH_CHUNK) {
    const e = Math.min(ids.length, c + TOUCH_CHUNK);
    touchRows(w, dim, ids, c, e);
    for (let i = c; i < e; i++) {
      const o = ids[i]! * dim,
        go = i * dim;
      for (let d = 0; d < dim; d++) w[o + d]! -= lr * values[go + d]!;
    }
  }
}

function adagrad(ids: Int32Array, values: Float32Array, w: Float32Array, s: Float32Array, dim: number, clr: number, eps: number): void {
  for (let c = 0; c < ids.length; c += TOUCH_CHUNK) {
    const e = Math.min(ids.length, c + TOUCH_CHUNK);
    touchRows(w, dim, ids, c, e);
    touchRows(s, dim, ids, c, e);
    for (let i = c; i < e; i++) {
      const o = ids[i]! * dim,
        go = i * dim;
      for (let d = 0; d < dim; d++) {
        const g = values[go + d]!;
        const acc = s[o + d]! + g * g;
        s[o + d] = acc;
        w[o + d]! -= (clr * g) / (Math.sqrt(Math.fround(acc)) + eps);
      }
    }
  }
}

function lazyAdam(
  ids: Int32Array,
  values: Float32Array,
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  dim: number,
  b1: number,
  b2: number,
  eps: number,
  stepSize: number,
): void {
  const c1 = 1 - b1,
    c2 = 1 - b2;
  for (let c = 0; c < ids.length; c += TOUCH_CHUNK) {
    const e = Math.min(ids.length, c + TOUCH_CHUNK);
    touchRows(w, dim, ids, c, e);
    touchRows(m, dim, ids, c, e);
    touchRows(v, dim, ids, c, e);
    for (let i = c; i < e; i++) {
      const o = ids[i]! * dim,
        go = i * dim;
      for (let d = 0; d < dim; d++) {
        const g = values[go + d]!;
        const mi = b1 * m[o + d]! + c1 * g,
          vi = b2 * v[o + d]! + c2 * g * g;
        m[o + d] = mi;
        v[o + d] = vi;
        w[o + d]! -= (stepSize * mi) / (Math.sqrt(vi) + eps);
      }
    }
  }
}

function ftrl(
  ids: Int32Array,
  values: Float32Array,
  w: Float32Array,
  z: Float32Array,
  n: Float32Array,
  dim: number,
  alpha: number,
  beta: number,
  l1: number,
  l2: number,
): void {
  for (let c = 0; c < ids.length; c += TOUCH_CHUNK) {
    const e = Math.min(ids.length, c + TOUCH_CHUNK);
    touchRows(w, dim, ids, c, e);
    touchRows(z, dim, ids, c, e);
    touchRows(n, dim, ids, c, e);
    for (let i = c; i < e; i++) {
      const o = ids[i]! * dim,
        go = i * dim;
      for (let d = 0; d < dim; d++) {
        const g = values[go + d]!;
        const n0 = n[o + d]!;
        const n1 = Math.fround(n0 + g * g);
        const sigma = (Math.sqrt(n1) - Math.sqrt(n0)) / alpha;
        const zi = Math.fround(z[o + d]! + g - sigma * w[o + d]!);
        z[o + d] = zi;
        n[o + d] = n1;
        const az = Math.abs(zi);
        w[o + d] = az <= l1 ? 0 : -(zi - Math.sign(zi) * l1) / ((beta + Math.sqrt(n1)) / alpha + l2);
      }
    }
  }
}

function tableAdam(
  ids: Int32Array,
  values: Float32Array,
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  pos: Int32Array,
  dim: number,
  pad: number,
  b1: number,
  b2: number,
  a: number,
  e: number,
  decay: number,
): void {
  const rows = pos.length,
    c1 = 1 - b1,
    c2 = 1 - b2;
  for (let i = 0; i < ids.length; i++) pos[ids[i]!] = i;
  for (let r = 0; r < rows; r++) {
    if (r === pad) continue;
    const o = r * dim,
      p = pos[r]!;
    if (p >= 0) {
      const go = p * dim;
      for (let d = 0; d < dim; d++) {
        const wi = w[o + d]!,
          g = values[go + d]! + decay * wi;
        const mi = b1 * m[o + d]! + c1 * g,
          vi = b2 * v[o + d]! + c2 * g * g;
        m[o + d] = mi;
        v[o + d] = vi;
        w[o + d] = wi - (a * mi) / (Math.sqrt(vi) + e);
      }
      continue;
    }
    if (decay === 0) {
      // g = 0 here: a row whose moments are all zero has an exactly zero update; skip it
      // (most rows of a large table that were never looked up).
      let zero = true;
      for (let d = 0; d < dim; d++) {
        if (m[o + d] !== 0 || v[o + d] !== 0) {
          zero = false;
          break;
        }
      }
      if (zero) continue;
    }
    for (let d = 0; d < dim; d++) {
      const wi = w[o + d]!,
        g = decay * wi;
      const mi = b1 * m[o + d]! + c1 * g,
        vi = b2 * v[o + d]! + c2 * g * g;
      m[o + d] = mi;
      v[o + d] = vi;
      w[o + d] = wi - (a * mi) / (Math.sqrt(vi) + e);
    }
  }
  for (let i = 0; i < ids.length; i++) pos[ids[i]!] = -1;
}

/** The TypeScript twins of the training-only embedding kernels. */
export const typescriptEmbeddingTrainingKernels: Pick<EmbeddingKernels, EmbeddingTrainingKernelName> = {
  accumulate,
  sgd,
  adagrad,
  lazyAdam,
  ftrl,
  tableAdam,
};
