import type { FeatureMap } from '../features/featuremap.js';
import { readRaw } from '../readers/index.js';
import { BadRowLog, type BadRowPolicy } from '../readers/errors.js';
import type { Batch } from '../features/batch.js';
import { InMemoryDataSource } from './data-source.js';
import { concatBatches } from './batcher.js';

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
