/**
 * ONNX of the input layer (`FeatureInputs`): one Gather per field on its table (a table
 * shared by several fields is one initializer), multi-value fields pooled over their true
 * length (masked ReduceSum; mean divides by max(length, 1); max takes ReduceMax over the
 * valid positions, 0 for an empty row — the engine's `embedPooled`), projections as MatMul,
 * embedded numeric fields as value × vector. Views: stacked [B, F, D], flat [B, Σd + raw
 * numeric], one field [B, d], and a sequence [B, L, D] with its [B, L] validity mask.
 */
import { FeatureInputs } from '../../../blocks/embeddings/feature-inputs.js';
import type { FieldDef } from '../../../features/fields.js';
import { Linear } from '../../../nn/linear.js';
import { ExportContext, maybeChild, paramOf } from '../context.js';
import type { Value } from '../graph.js';
import * as op from '../ops.js';
import { emitLinear } from './linear.js';

/** The embedded fields of the graph's inputs, with the views models start from. */
export class EmittedInputs {
  private stackedCache: Value | null = null;
  constructor(
    private readonly cx: ExportContext,
    /** [B, 1, d_f] per embedded field, in field order. */
    readonly parts: Value[],
    readonly names: readonly string[],
    private readonly rawDense: readonly FieldDef[],
  ) {}

  /** Field embeddings [B, F, D]. */
  stacked(): Value {
    if (this.stackedCache === null) {
      if (this.parts.length === 0) throw new Error('ONNX export: input layer has no categorical field to embed');
      this.stackedCache = op.concat(this.cx.g, this.parts, 1);
    }
    return this.stackedCache;
  }

  /** One embedded field [B, d]. */
  field(name: string): Value {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`ONNX export: input layer did not embed field '${name}'`);
    const p = this.parts[i]!;
    return op.reshape(this.cx.g, p, [-1, p.shape[2]!]);
  }

  /** Flat [B, Σ d_f + raw numeric fields]. */
  flat(): Value {
    const pieces = this.parts.map((p) => op.reshape(this.cx.g, p, [-1, p.shape[2]!]));
    if (this.rawDense.length > 0) pieces.push(denseMatrix(this.cx, this.rawDense));
    if (pieces.length === 0) throw new Error('ONNX export: input layer has no field to feed');
    return op.concat(this.cx.g, pieces, 1);
  }
}

/** Numeric fields as a float [B, n] matrix. */
export function denseMatrix(cx: ExportContext, fields: readonly FieldDef[]): Value {
  return op.concat(
    cx.g,
    fields.map((f) => op.unsqueeze(cx.g, cx.dense(f.name), [1])),
    1,
  );
}

function tableOf(cx: ExportContext, fi: FeatureInputs, f: FieldDef): Value {
  const t = fi.tableNamed(f.table ?? f.name);
  return cx.g.weight(`emb_${t.name}`, t.weight, [t.rows, t.dim]);
}

/** Pooled embedding [B, D] of a multi-value field (sum / mean / max over the true length). */
function pooled(cx: ExportContext, fi: FeatureInputs, f: FieldDef): Value {
  const g = cx.g;
  const { ids, lengths, maxLen } = cx.padded(f.name);
  const rows = op.gather(g, tableOf(cx, fi, f), ids); // [B, L, D]
  const mask = op.lengthMask(g, lengths, maxLen); // [B, L]
  const mode = f.pooling ?? 'mean';
  if (mode === 'max') {
    const valid = op.unsqueeze(g, op.cast(g, mask, 'bool'), [2]);
    const m = op.reduceMax(g, op.where(g, valid, rows, g.scalar(-3.4e38)), [1]);
    const nonEmpty = op.unsqueeze(g, op.less(g, g.ints('zero', [0], []), lengths), [1]);
    return op.where(g, nonEmpty, m, g.scalar(0));
  }
  const sum = op.reduceSum(g, op.mul(g, rows, op.unsqueeze(g, mask, [2])), [1]);
  if (mode === 'sum') return sum;
  if (mode !== 'mean') throw new Error(`ONNX export: field '${f.name}' pooling '${mode}' is not exportable (supported: sum, mean, max)`);
  const count = op.max2(g, op.cast(g, op.unsqueeze(g, lengths, [1]), 'float'), g.scalar(1));
  return op.div(g, sum, count);
}

/** The graph of `fi.forward(batch)`. */
export function emitFeatureInputs(cx: ExportContext, fi: FeatureInputs): EmittedInputs {
  const g = cx.g;
  const parts: Value[] = [];
  const dense = fi.fields.filter((f) => f.kind === 'dense');
  for (const f of fi.fields) {
    if (f.kind === 'dense') continue;
    let e = f.kind === 'sparse' ? op.gather(g, tableOf(cx, fi, f), cx.sparse(f.name)) : pooled(cx, fi, f);
    const proj = maybeChild(fi, `proj_${f.name}`, Linear);
    if (proj !== null) e = emitLinear(cx, proj, e);
    parts.push(op.unsqueeze(g, e, [1]));
  }
  if (dense.length > 0) {
    const w = paramOf(fi, 'dense_embedding');
    const x = op.unsqueeze(g, denseMatrix(cx, dense), [2]); // [B, n, 1]
    const e = op.mul(g, x, cx.weight('dense_embedding', w)); // [B, n, D]
    for (let j = 0; j < dense.length; j++) parts.push(op.slice(g, e, 1, j, j + 1));
  }
  return new EmittedInputs(
    cx,
    parts,
    fi.fields.map((f) => f.name),
    fi.rawDense,
  );
}

/** A behaviour sequence: values [B, L, D] (zero at padding) and the float validity mask [B, L] (1 = a real position). */
export interface EmittedSequence {
  values: Value;
  mask: Value;
  lengths: Value;
  maxLen: number;
}

/** The graph of `fi.sequence(batch, name)`. */
export function emitSequence(cx: ExportContext, fi: FeatureInputs, name: string): EmittedSequence {
  const f = fi.sequenceFields.get(name);
  if (f === undefined) throw new Error(`ONNX export: input layer keeps no sequence '${name}'`);
  const g = cx.g;
  const { ids, lengths, maxLen } = cx.padded(name);
  const mask = op.lengthMask(g, lengths, maxLen);
  const values = op.mul(g, op.gather(g, tableOf(cx, fi, f), ids), op.unsqueeze(g, mask, [2]));
  return { values, mask, lengths, maxLen };
}
