import type { FeatureMap, FieldInfo } from '../features/featuremap.js';
import { readRaw } from '../data/readers/index.js';
import { BadRowLog, type BadRowPolicy } from '../data/errors.js';
import type { Batch } from '../data/batch.js';
import type { InputSpec } from '../models/input-spec.js';
import { InMemoryDataSource } from './data-source.js';
import { concatBatches } from '../data/batcher.js';

/** The model inputs described by a fitted feature map (vocab sizes, tables, parts, pooling). */
export function inputSpecFromFeatureMap(fm: FeatureMap): InputSpec {
  const spec: InputSpec = { sparse: [], varlen: [], dense: [], labels: fm.labelNames };
  const parts = (f: FieldInfo) => ({ linear: f.use !== 'deep', deep: f.use !== 'linear' });
  for (const f of fm.fields()) {
    if (f.kind === 'dense') {
      spec.dense.push({ name: f.name, ...parts(f) });
      continue;
    }
    const base = { name: f.name, vocabSize: f.vocabSize!, table: f.table ?? f.name, ...parts(f) };
    if (f.kind === 'sparse') spec.sparse.push(base);
    else spec.varlen.push({ ...base, maxLen: f.maxLen!, pooling: f.pooling === 'attention' || f.pooling === undefined ? 'mean' : f.pooling, kind: f.kind });
  }
  return spec;
}

/** Options of reading a data file through a feature map. */
export interface LoadOptions {
  onBadRow?: BadRowPolicy;
  badRows?: BadRowLog;
}

/** Encodes a whole data file with a feature map into one in-memory batch. */
export async function encodeFile(fm: FeatureMap, path: string, opts: LoadOptions = {}): Promise<Batch> {
  const parts: Batch[] = [];
  for await (const chunk of readRaw(path, { dataset: fm.schema.dataset, onBadRow: opts.onBadRow, badRows: opts.badRows })) {
    const b = fm.transform(chunk, opts);
    if (b.size > 0) parts.push(b);
  }
  if (parts.length === 0) throw new Error(`${path}: no data rows`);
  return concatBatches(parts);
}

/** A data file encoded into memory as a data source for training or evaluation. */
export async function loadDataSource(fm: FeatureMap, path: string, opts: LoadOptions = {}): Promise<InMemoryDataSource> {
  return new InMemoryDataSource(await encodeFile(fm, path, opts));
}
