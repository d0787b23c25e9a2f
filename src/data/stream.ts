/**
 * The data pipeline in two calls:
 *
 * ```ts
 * const schema = loadSchema('schema.yaml');
 * const split = { spec: { by: 'random', ratios: [0.8, 0.1, 0.1], seed: 1 }, part: 0 } as const;
 * const fmap = await fitFeatureMap('train.csv', schema, { split });      // training part only
 * for await (const batch of streamBatches('train.csv', fmap, { batchSize: 4096, shuffleBuffer: 100_000, seed: 1, split })) { ... }
 * ```
 *
 * Files stream in blocks (bounded memory); the schema's `dataset` part says how the file is
 * laid out (else the extension does); bad rows raise DataErrors or, with
 * `onBadRow: 'skip'`, are counted in `badRows` (a `BadRowLog`: report `badRows.summary()`).
 */
import type { Batch } from '../features/batch.js';
import { batches, type BatchOptions } from './batcher.js';
import { readRaw, type ReadOptions } from '../readers/index.js';
import type { RawChunk } from '../readers/chunk.js';
import { takeSplit, type SplitSpec } from './split.js';
import { FeatureMap, type FitOptions, type TransformOptions } from '../features/featuremap.js';
import type { Schema } from '../features/schema.js';
import { BadRowLog } from '../readers/errors.js';

/** Reading options plus an optional split part. */
export interface DatasetOptions extends Omit<ReadOptions, 'dataset' | 'columns'> {
  /** Keep only one part of a split (0-based part index). */
  split?: { spec: SplitSpec; part: number };
}

/** Raw chunks of a file laid out as the schema's dataset part says, optionally one split part. */
export function rawChunks(path: string, schema: Schema, opts: DatasetOptions = {}): AsyncIterable<RawChunk> {
  const needed = [...new Set(schema.columns.map((c) => c.source))];
  if (opts.split && opts.split.spec.by !== 'random' && !needed.includes(opts.split.spec.column)) needed.push(opts.split.spec.column);
  const chunks = readRaw(path, { ...opts, dataset: schema.dataset, columns: schema.dataset?.columns ? undefined : needed });
  return opts.split ? takeSplit(chunks, opts.split.spec, opts.split.part) : chunks;
}

/** Fits a feature map on a file (or one split part of it), streaming (twice with `vocabSketchBytes`). */
export async function fitFeatureMap(path: string, schema: Schema, opts: DatasetOptions & FitOptions = {}): Promise<FeatureMap> {
  let pass = 0;
  // The reader's bad rows (e.g. a wrong column count) are logged on the first pass only.
  return FeatureMap.fit(schema, () => rawChunks(path, schema, pass++ === 0 ? opts : { ...opts, badRows: new BadRowLog() }), opts);
}

/** Streams a file as encoded batches (optionally shuffled through a bounded buffer). */
export function streamBatches(path: string, fmap: FeatureMap, opts: DatasetOptions & BatchOptions & TransformOptions): AsyncGenerator<Batch> {
  return batches(rawChunks(path, fmap.schema, opts), fmap, opts);
}
