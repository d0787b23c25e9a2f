/**
 * Embedding lookup ops. Forward gathers table rows into a fresh Float32Array; backward sends
 * the output gradient to the tables' row-sparse accumulators (`EmbeddingTable.
 * accumulateGradStrided`), never to a dense table-sized gradient. A table takes part in the
 * autograd graph through its `anchor` (a size-0 leaf tensor): the result requires a gradient
 * when some table used is trainable and grad mode is on.
 *
 * Every row looked up and reached by backward enters the table's sparse gradient, even when
 * its gradient is zero (e.g. a non-maximal row of max pooling) — the same rows torch's
 * nn.Embedding(sparse=True) reports. Padding ids give zero vectors and no gradient.
 * Ids are copied when the graph is recorded, so callers may reuse their id buffers.
 * Results are allocated from the engine's buffer pool (`allocFloat32`), so inside a `tidy`
 * scope (the trainer's step, the scorer) they reuse the previous batch's memory.
 */
import { Tensor, fromOp, isGradEnabled, allocFloat32, allocZeroedFloat32, releaseFloat32 } from '../engine/tensor.js';
import type { PaddedIds } from '../features/batch.js';
import type { EmbeddingTable } from './table.js';
import { embeddingKernels } from './kernels.js';
import { denseKernels } from '../engine/kernels/index.js';
import { sendSlabGrad } from '../engine/ops/shape.js';

/**
 * A result outside the graph (no recording): made through `fromOp` with no parents, so a
 * `tidy` scope (the scorer, eval loops) recycles its pooled array like any op result's;
 * a plain `new Tensor` would leave a fresh multi-megabyte array to the garbage collector
 * every batch (page faults on the next batch's first touch).
 */
function untracked(out: Float32Array, shape: number[]): Tensor {
  return fromOp(out, shape, [], () => {});
}

/**
 * The lookups' backward closures copy the gradient into the tables' sparse accumulators and
 * keep no reference to it, so `backward()` recycles the array afterwards (the [B, F, D]
 * gradient of `embedFields` is a pooled array the next step's backward reuses instead of
 * a fresh one whose pages fault on first touch).
 */
const RELEASES_GRAD = { releasesGrad: true } as const;

/** Whether an op over these tables will record the graph. */
function recording(tables: readonly EmbeddingTable[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of tables) if (t.trainable) return true;
  return false;
}

/** Distinct anchors of the tables (a shared table is one parent). */
function anchorsOf(tables: readonly EmbeddingTable[]): Tensor[] {
  const out: Tensor[] = [];
  for (const t of tables) if (!out.includes(t.anchor)) out.push(t.anchor);
  return out;
}

/**
 * Copies `count` rows of `table` for ids[idsOffset …] into out at outOffset, rows outStride
 * apart (an embedding kernel); throws the table's range error on a bad id.
 */
function gatherRows(
  table: EmbeddingTable,
  ids: Int32Array,
  idsOffset: number,
  count: number,
  out: Float32Array,
  outOffset: number,
  outStride: number,
): void {
  const bad = embeddingKernels().gatherRows(table.weight, table.dim, ids, idsOffset, count, out, outOffset, outStride);
  if (bad >= 0) table.rangeError(ids[bad]!);
}

/** Checks a PaddedIds value: ids.length = B·maxLen and 0 ≤ lengths[b] ≤ maxLen. Returns B. */
function checkPadded(op: string, table: EmbeddingTable, p: PaddedIds): number {
  const B = p.lengths.length,
    L = p.maxLen;
  if (!Number.isInteger(L) || L < 0) throw new Error(`${op} on table '${table.name}': maxLen must be a non-negative integer, got ${L}`);
  if (p.ids.length !== B * L) {
    throw new Error(`${op} on table '${table.name}': ids has ${p.ids.length} values, expected lengths.length × maxLen = ${B} × ${L} = ${B * L}`);
  }
  for (let b = 0; b < B; b++) {
    const len = p.lengths[b]!;
    if (len < 0 || len > L) throw new Error(`${op} on table '${table.name}': lengths[${b}] = ${len} is outside [0, ${L}]`);
  }
  return B;
}

/** Rows of `table` for `ids`: a [n, dim] tensor. Backward adds each output row to its id's gradient. */
export function embeddingLookup(table: EmbeddingTable, ids: Int32Array): Tensor {
  const n = ids.length,
    dim = table.dim;
  const out = allocFloat32(n * dim); // every row is written (or the range error thrown)
  gatherRows(table, ids, 0, n, out, 0, dim);
  if (!recording([table])) return untracked(out, [n, dim]);
  const saved = ids.slice();
  return fromOp(
    out,
    [n, dim],
    [table.anchor],
    (g) => {
      if (table.trainable) table.accumulateGradStrided(saved, 0, n, g, 0, dim, 1);
    },
    RELEASES_GRAD,
  );
}

/**
 * Checks the fields of a multi-field lookup (`op` names it in errors): at least one table,
 * one id array per table, one dim D shared by all tables and one batch size B. Returns D, B.
 */
function checkFields(op: string, tables: readonly EmbeddingTable[], ids: readonly Int32Array[]): { D: number; B: number } {
  const F = tables.length;
  if (F === 0) throw new Error(`${op}: no fields given`);
  if (ids.length !== F) throw new Error(`${op}: ${F} tables but ${ids.length} id arrays`);
  const D = tables[0]!.dim,
    B = ids[0]!.length;
  for (let f = 0; f < F; f++) {
    if (tables[f]!.dim !== D) {
      throw new Error(
        `${op}: field ${f} uses table '${tables[f]!.name}' of dim ${tables[f]!.dim}, field 0 uses '${tables[0]!.name}' of dim ${D}; all fields must share one dim`,
      );
    }
    if (ids[f]!.length !== B) throw new Error(`${op}: field ${f} has ${ids[f]!.length} ids, field 0 has ${B}`);
  }
  return { D, B };
}

/**
 * Gathers the fields' rows sample-major into out (sample b's F rows from out[b·outStride]),
 * throwing the table's range error for the first bad id (field order) after releasing
 * `scratch` when given (a pooled array nobody else will see).
 */
function gatherFieldRows(
  tables: readonly EmbeddingTable[],
  ids: readonly Int32Array[],
  D: number,
  out: Float32Array,
  outStride: number,
  scratch = false,
): void {
  const F = tables.length,
    B = ids[0]!.length;
  const weights = new Array<Float32Array>(F);
  for (let f = 0; f < F; f++) weights[f] = tables[f]!.weight;
  const bad = embeddingKernels().gatherFields(weights, ids, D, out, outStride);
  if (bad < 0) return;
  if (scratch) releaseFloat32(out);
  tables[Math.floor(bad / B)]!.rangeError(ids[Math.floor(bad / B)]![bad % B]!);
}

/**
 * The backward of a multi-field lookup: saves the ids (field-major copy) and sends, for each
 * trainable field table f, the gradient rows g[b·stride + f·fieldStep …] (b < B) to its sparse
 * accumulator.
 */
function fieldsBackward(
  tables: readonly EmbeddingTable[],
  ids: readonly Int32Array[],
  B: number,
  fieldStep: number,
  stride: number,
): (g: Float32Array) => void {
  const F = tables.length;
  const saved = new Int32Array(F * B);
  for (let f = 0; f < F; f++) saved.set(ids[f]!, f * B);
  const tablesCopy = tables.slice();
  return (g) => {
    for (let f = 0; f < F; f++) {
      const t = tablesCopy[f]!;
      if (t.trainable) t.accumulateGradStrided(saved, f * B, B, g, f * fieldStep, stride, 1);
    }
  };
}

/**
 * The embeddings of F categorical fields for a batch: out[b, f, :] = tables[f].weight row
 * ids[f][b], a [B, F, D] tensor. Tables may repeat (shared embeddings); all must have the
 * same dim D. One pass over the batch forward and one backward, no intermediate tensors.
 */
export function embedFields(tables: readonly EmbeddingTable[], ids: readonly Int32Array[]): Tensor {
  const F = tables.length;
  const { D, B } = checkFields('embedFields', tables, ids);
  const out = allocFloat32(B * F * D); // every row is written (or the range error thrown)
  const rowStride = F * D;
  gatherFieldRows(tables, ids, D, out, rowStride);
  if (!recording(tables)) return untracked(out, [B, F, D]);
  return fromOp(out, [B, F, D], anchorsOf(tables), fieldsBackward(tables, ids, B, D, rowStride), RELEASES_GRAD);
}

/**
 * The field embeddings written straight into the rows of a wider input, followed by other
 * columns: out[b] = [tables[0] row ids[0][b], …, tables[F−1] row ids[F−1][b], rest[0][b], …],
 * a [B, F·D + Σ restₖ] tensor — `concat([reshape(embedFields(tables, ids), [B, F·D]), …rest], 1)`
 * without the [B, F, D] intermediate and its copy (an MLP's input: the gather writes each
 * sample's rows into its input row, `embGatherFields` with an output stride). Backward: each
 * table's rows read from the gradient's first F·D columns (stride the row width), each rest
 * part its slab. `fmSecondOrderLeading` computes FM over the leading F·D columns.
 */
export function embedFieldsConcat(tables: readonly EmbeddingTable[], ids: readonly Int32Array[], rest: readonly Tensor[]): Tensor {
  const F = tables.length;
  const { D, B } = checkFields('embedFieldsConcat', tables, ids);
  rest.forEach((t, k) => {
    if (t.rank !== 2 || t.shape[0] !== B) throw new Error(`embedFieldsConcat: rest[${k}] must be [${B}, n], got [${t.shape}]`);
  });
  const lead = F * D;
  const W = rest.reduce((n, t) => n + t.shape[1]!, lead);
  const out = allocFloat32(B * W); // every element is written (or the range error thrown)
  gatherFieldRows(tables, ids, D, out, W);
  const offsets: number[] = [];
  for (let k = 0, c = lead; k < rest.length; c += rest[k]!.shape[1]!, k++) {
    offsets.push(c);
    const n = rest[k]!.shape[1]!;
    if (n > 0 && B > 0) denseKernels().copyRows(rest[k]!.data, 0, n, B, n, out, c, W);
  }
  const recordTables = recording(tables);
  if (!recordTables && !(isGradEnabled() && rest.some((t) => t.requiresGrad))) return untracked(out, [B, W]);
  const tablesBackward = fieldsBackward(tables, ids, B, D, W);
  return fromOp(
    out,
    [B, W],
    [...anchorsOf(tables), ...rest],
    (g) => {
      tablesBackward(g);
      rest.forEach((t, k) => {
        const n = t.shape[1]!;
        if (t.requiresGrad && n > 0 && B > 0) sendSlabGrad(t, g, offsets[k]!, W, B, n);
      });
    },
    RELEASES_GRAD,
  );
}

/**
 * The sum over fields of 1-dim embeddings, out[b] = Σ_f tables[f] row ids[f][b] (the first-order
 * term of FM / LR over single-valued fields), a [B] tensor: the rows gathered sample-major into a
 * pooled scratch array and summed in float64 in field order, so the values equal
 * `sum(embedFields(tables, ids), [1, 2])`. Backward: g[b] goes to each field's row straight from
 * the [B] gradient (no [B, F, 1] gradient spread out and read back); the same sparse gradients.
 */
export function embedFieldsSum(tables: readonly EmbeddingTable[], ids: readonly Int32Array[]): Tensor {
  const F = tables.length;
  const { D, B } = checkFields('embedFieldsSum', tables, ids);
  if (D !== 1) throw new Error(`embedFieldsSum: the tables have dim ${D}; the sum needs dim 1`);
  const rows = allocFloat32(B * F);
  gatherFieldRows(tables, ids, 1, rows, F, true);
  const out = allocFloat32(B);
  for (let b = 0, o = 0; b < B; b++, o += F) {
    let s = 0;
    for (let f = 0; f < F; f++) s += rows[o + f]!;
    out[b] = s;
  }
  releaseFloat32(rows);
  if (!recording(tables)) return untracked(out, [B]);
  return fromOp(out, [B], anchorsOf(tables), fieldsBackward(tables, ids, B, 0, 1), RELEASES_GRAD);
}

/** Pooling of a multi-value field: sum, mean (over the true length) or element-wise max. */
export type PoolingMode = 'sum' | 'mean' | 'max';

/**
 * Pooled embeddings of a multi-value field: out[b] = pool over j < lengths[b] of
 * weight[ids[b·maxLen + j]], a [B, D] tensor. 'mean' divides by the true length; 'max' is
 * element-wise (gradient to the first maximal position of each coordinate); a row of length
 * 0 gives zeros and no gradient.
 */
export function embedPooled(table: EmbeddingTable, padded: PaddedIds, mode: PoolingMode): Tensor {
  if (mode !== 'sum' && mode !== 'mean' && mode !== 'max') throw new Error(`embedPooled: mode must be 'sum', 'mean' or 'max', got '${String(mode)}'`);
  const B = checkPadded('embedPooled', table, padded);
  const L = padded.maxLen,
    D = table.dim;
  const out = allocZeroedFloat32(B * D);
  const arg = mode === 'max' ? new Int32Array(B * D) : null;
  const bad = embeddingKernels().pool(table.weight, D, padded.ids, padded.lengths, L, mode === 'sum' ? 0 : mode === 'mean' ? 1 : 2, out, arg);
  if (bad >= 0) table.rangeError(padded.ids[bad]!);
  if (!recording([table])) return untracked(out, [B, D]);
  const saved: PaddedIds = { ids: padded.ids.slice(), lengths: padded.lengths.slice(), maxLen: L };
  return fromOp(
    out,
    [B, D],
    [table.anchor],
    (g) => {
      if (!table.trainable) return;
      if (arg === null) {
        table.accumulateGradPadded(saved, g, 0, D, mode === 'sum' ? 'sum' : 'mean');
        return;
      }
      // Max: the gradient of coordinate d goes to the arg-max position; other positions get 0
      // (they still enter the sparse gradient, as in torch).
      const gm = new Float32Array(B * L * D);
      for (let b = 0; b < B; b++) {
        if (saved.lengths[b] === 0) continue;
        const o = b * D;
        for (let d = 0; d < D; d++) gm[(b * L + arg[o + d]!) * D + d] = g[o + d]!;
      }
      table.accumulateGradPadded(saved, gm, 0, D, 'position');
    },
    RELEASES_GRAD,
  );
}

/**
 * Embeddings of a padded sequence: out[b, j] = weight[ids[b·maxLen + j]] for j < lengths[b]
 * and zeros beyond (no gradient there), a [B, maxLen, D] tensor.
 */
export function embedSequence(table: EmbeddingTable, padded: PaddedIds): Tensor {
  const B = checkPadded('embedSequence', table, padded);
  const L = padded.maxLen,
    D = table.dim;
  const out = allocZeroedFloat32(B * L * D);
  const bad = embeddingKernels().gatherPadded(table.weight, D, padded.ids, padded.lengths, L, out);
  if (bad >= 0) table.rangeError(padded.ids[bad]!);
  if (!recording([table])) return untracked(out, [B, L, D]);
  const saved: PaddedIds = { ids: padded.ids.slice(), lengths: padded.lengths.slice(), maxLen: L };
  return fromOp(
    out,
    [B, L, D],
    [table.anchor],
    (g) => {
      if (table.trainable) table.accumulateGradPadded(saved, g, 0, D, 'position');
    },
    RELEASES_GRAD,
  );
}
