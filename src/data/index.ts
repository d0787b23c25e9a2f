/** The data layer: batch format, errors, readers, batching, splits and the pipeline helpers. */
export * from '../features/batch.js';
export * from '../readers/errors.js';
export * from '../readers/index.js';
export * from './batcher.js';
export * from './split.js';
export * from './stream.js';
