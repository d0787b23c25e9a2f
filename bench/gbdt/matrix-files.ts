import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../../src/features/batch.js';
import type { FeatureSpec } from '../../src/features/fields.js';
import { treeFeatureNames, treeMatrix } from '../../src/gbdt/model.js';
import type { FeatureMatrix } from '../../src/gbdt/matrix.js';

/**
 * The benchmark's exchange format, read by both sides: per split `<split>.X.f32` (float32,
 * column-major: feature after feature, `rows` values each; NaN = missing) and `<split>.y.f32`
 * (labels), plus `matrix.json` with the feature names, which of them are categorical ids,
 * and the rows of every split.
 */
export interface MatrixMeta {
  names: string[];
  categorical: string[];
  rows: Record<string, number>;
}

/** Writes one encoded split (tree inputs of `spec`: dense values, then sparse ids as float32). */
export function writeSplit(dir: string, split: string, batch: Batch, spec: FeatureSpec, label: string): void {
  const m = treeMatrix(batch, spec);
  const X = new Float32Array(m.rows * m.columns.length);
  m.columns.forEach((c, f) => X.set(c, f * m.rows));
  writeFileSync(join(dir, `${split}.X.f32`), new Uint8Array(X.buffer));
  writeFileSync(join(dir, `${split}.y.f32`), new Uint8Array(batch.labels[label]!.buffer, batch.labels[label]!.byteOffset, batch.size * 4));
}

/** The meta of a spec's tree inputs. */
export function matrixMeta(spec: FeatureSpec, rows: Record<string, number>): MatrixMeta {
  return { names: treeFeatureNames(spec), categorical: spec.fields.filter((f) => f.kind === 'sparse').map((f) => f.name), rows };
}

/** Reads one split back as a feature matrix and labels. */
export function readSplit(dir: string, split: string): { m: FeatureMatrix; y: Float32Array } {
  const meta = JSON.parse(readFileSync(join(dir, 'matrix.json'), 'utf8')) as MatrixMeta;
  const rows = meta.rows[split];
  if (rows === undefined) throw new Error(`${dir}/matrix.json has no split '${split}'`);
  const buf = readFileSync(join(dir, `${split}.X.f32`));
  const X = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  if (X.length !== rows * meta.names.length) throw new Error(`${split}.X.f32 holds ${X.length} values, expected ${rows} × ${meta.names.length}`);
  const columns = meta.names.map((_, f) => X.subarray(f * rows, (f + 1) * rows));
  const yb = readFileSync(join(dir, `${split}.y.f32`));
  return { m: { rows, names: meta.names, columns }, y: new Float32Array(yb.buffer, yb.byteOffset, yb.length / 4) };
}
