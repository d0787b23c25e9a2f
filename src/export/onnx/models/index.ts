/**
 * Every model's ONNX export, by registry name. A model registered in src/models/registry.ts
 * without an entry here cannot be exported (`modelExportOf` says so by name, and
 * test/export/onnx-parity.test.ts fails for it).
 */
import type { ModelExport } from '../model-export.js';
import { fmExport, lrExport } from './shallow.js';
import { dcnExport, deepFmExport, wideDeepExport } from './parallel.js';
import { esmmExport, mmoeExport, moeExport, pleExport, sharedBottomExport } from './multitask.js';
import { deepMcpExport, dienExport, dinExport } from './sequence.js';
import { gbdtExport, gbdtLrExport } from './trees.js';
import { autoFisExport, fgcnnExport } from './generated-fields.js';
import { afmExport, autoIntExport, dcnV2Export, ffmExport, fibinetExport, nfmExport, pnnExport, xDeepFmExport } from './crossing.js';

const EXPORTS: readonly ModelExport[] = [
  lrExport,
  fmExport,
  ffmExport,
  wideDeepExport,
  deepFmExport,
  dcnExport,
  nfmExport,
  pnnExport,
  dcnV2Export,
  xDeepFmExport,
  afmExport,
  fibinetExport,
  autoIntExport,
  fgcnnExport,
  autoFisExport,
  sharedBottomExport,
  mmoeExport,
  moeExport,
  pleExport,
  esmmExport,
  dinExport,
  dienExport,
  deepMcpExport,
  gbdtExport,
  gbdtLrExport,
];

/** The ONNX export of a registered model; an error listing the exportable models when it has none. */
export function modelExportOf(model: string): ModelExport {
  const e = EXPORTS.find((x) => x.model === model);
  if (e === undefined) throw new Error(`model '${model}' has no ONNX export yet; exportable models: ${exportableModels().join(', ')}`);
  return e;
}

/** Names of the models with an ONNX export. */
export function exportableModels(): string[] {
  return EXPORTS.map((x) => x.model);
}
