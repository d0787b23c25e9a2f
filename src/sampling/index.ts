/** Sampling against popularity bias: hot-item downsampling, negative downsampling, popularity-aware negatives, each with its importance weight. */
export { loadSampleConfig, parseSampleConfig, parseSamplingSpec, type SampleConfig, type SamplingRule, type SamplingSpec } from './config.js';
export { word2vecKeep, capKeep, popularityNegativeWeight, recalibrateNegativeDownsampling } from './rules.js';
export { AliasTable } from './alias.js';
export { sampleFile, type SampleReport, type SampleFileOptions } from './sampler.js';
