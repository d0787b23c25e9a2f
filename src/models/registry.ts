import { DNN_DEFAULTS, EMBEDDING_DEFAULTS, RankingModel, type ModelContext } from './base.js';
import { LR } from './lr.js';
import { FM } from './fm.js';
import { WideDeep } from './wide-deep.js';
import { DeepFM } from './deepfm.js';
import { DCN } from './dcn.js';

/** A registered model: its defaults and a constructor from validated options. */
export interface ModelEntry {
  /** Canonical name. */
  name: string;
  /** One line: what the model is. */
  summary: string;
  /** Default options (every accepted option appears here). */
  defaults: Record<string, unknown>;
  create(ctx: ModelContext, opts: Record<string, unknown>): RankingModel;
}

const ENTRIES: ModelEntry[] = [
  { name: 'lr', summary: 'logistic regression on one-hot features', defaults: { embeddingInitStd: 1e-4 }, create: (c, o) => new LR(c, o as never) },
  { name: 'fm', summary: 'factorization machine (Rendle 2010)', defaults: { ...EMBEDDING_DEFAULTS }, create: (c, o) => new FM(c, o as never) },
  { name: 'widedeep', summary: 'Wide & Deep: linear + DNN logits (Cheng et al. 2016)', defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS }, create: (c, o) => new WideDeep(c, o as never) },
  { name: 'deepfm', summary: 'DeepFM: FM + DNN over shared embeddings (Guo et al. 2017)', defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS }, create: (c, o) => new DeepFM(c, o as never) },
  { name: 'dcn', summary: 'Deep & Cross Network: cross net ‖ DNN → linear (Wang et al. 2017)', defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS, numCrossLayers: 3 }, create: (c, o) => new DCN(c, o as never) },
];

const ALIASES: Record<string, string> = { 'wide&deep': 'widedeep', wdl: 'widedeep', wide_deep: 'widedeep', 'wide-deep': 'widedeep', logistic: 'lr' };

/** Every registered model. */
export function listModels(): ModelEntry[] {
  return ENTRIES.slice();
}

/** The registry entry of a model name (case-insensitive, common aliases accepted). */
export function modelEntry(name: string): ModelEntry {
  const key = name.toLowerCase();
  const canonical = ALIASES[key] ?? key;
  const e = ENTRIES.find((x) => x.name === canonical);
  if (e === undefined) throw new Error(`unknown model '${name}'; known models: ${ENTRIES.map((x) => x.name).join(', ')}`);
  return e;
}

/**
 * Merges user options over a model's defaults, refusing unknown keys and values whose
 * type differs from the default's (numbers, booleans, strings, number arrays).
 */
export function resolveModelOptions(name: string, user: Record<string, unknown> = {}): Record<string, unknown> {
  const e = modelEntry(name);
  const out: Record<string, unknown> = { ...e.defaults };
  for (const [k, v] of Object.entries(user)) {
    if (!(k in e.defaults)) throw new Error(`model '${e.name}' has no option '${k}'; options: ${Object.keys(e.defaults).join(', ')}`);
    const d = e.defaults[k];
    const ok = Array.isArray(d) ? Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0) : typeof v === typeof d;
    if (!ok) throw new Error(`model '${e.name}' option '${k}' must be ${Array.isArray(d) ? 'a list of positive integers' : `a ${typeof d}`}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/** Builds a model by name from (partial) options. */
export function createModel(name: string, ctx: ModelContext, user: Record<string, unknown> = {}): RankingModel {
  return modelEntry(name).create(ctx, resolveModelOptions(name, user));
}
