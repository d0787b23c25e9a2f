/** Features: schema, encoders, the fitted feature map, and the stable hash. */
export * from './schema.js';
export * from './encoders.js';
export * from './featuremap.js';
export { murmur3Bytes, murmur3String, hashUnit } from './hash.js';
export { BytesTable } from './bytes-table.js';
