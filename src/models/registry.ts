import type { FeatureSpec } from '../features/fields.js';
import { camelCase } from '../util/case.js';
import { EMBEDDING_DEFAULTS, contextTasks, type ModelContext, type RankingModel } from './base.js';
import { LR } from './lr.js';
import { FM } from './fm.js';
import { WideDeep } from './wide-deep.js';
import { DeepFM } from './deepfm.js';
import { DCN } from './dcn.js';
import { SharedBottom } from './shared-bottom.js';
import { DIN } from './din.js';
import { DIEN } from './dien.js';
import { DeepMCP } from './deepmcp.js';
import { NFM } from './nfm.js';
import { PNN } from './pnn.js';
import { DCNv2 } from './dcnv2.js';
import { XDeepFM } from './xdeepfm.js';
import { AFM } from './afm.js';
import { FFM } from './ffm.js';
import { FiBiNET } from './fibinet.js';
import { AutoInt } from './autoint.js';
import { FGCNN } from './fgcnn.js';
import { AutoFIS } from './autofis.js';
import { MMoE } from './mmoe.js';
import { PLE } from './ple.js';
import { ESMM } from './esmm.js';
import { GbdtLrModel, GbdtModel, GBDT_MODEL_DEFAULTS } from '../gbdt/model.js';

/** A model option value: what a YAML/JSON config can hold for it. */
export type OptionValue = number | boolean | string | number[] | string[];

const STRING_LIST = Symbol('string list');

/** A default list whose items are strings (field names), told apart from a number list even when empty. */
export function stringList(items: string[] = []): string[] {
  return Object.assign(items.slice(), { [STRING_LIST]: true });
}

function isStringList(d: OptionValue): boolean {
  return Array.isArray(d) && (STRING_LIST in d || (d as unknown[]).some((x) => typeof x === 'string'));
}

/** A registered model as the rest of the system sees it. */
export interface ModelEntry {
  /** Canonical name. */
  readonly name: string;
  /** One line: what the model is. */
  readonly summary: string;
  /** Default options (every accepted option appears here, camelCase). */
  readonly defaults: Readonly<Record<string, OptionValue>>;
  /** Other accepted option names (FuxiCTR's per-model names, earlier finerank names) → canonical. */
  readonly aliases: Readonly<Record<string, string>>;
  /** True for models with one logit per task (multi-task); false: exactly one task. */
  readonly multiTask: boolean;
  /** Builds the model from options already validated by `resolveModelOptions`. */
  create(ctx: ModelContext, opts: Record<string, OptionValue>): RankingModel;
}

/**
 * Declares a model once: name, summary, defaults, aliases. The constructor's option type is
 * inferred from the defaults, so a default of the wrong type, or an option the model reads
 * but does not declare, is a compile error.
 */
function defineModel<D extends Record<string, OptionValue>>(def: {
  name: string;
  summary: string;
  defaults: D;
  aliases?: Record<string, keyof D & string>;
  multiTask?: boolean;
  create: (ctx: ModelContext, opts: D) => RankingModel;
}): ModelEntry {
  return {
    name: def.name,
    summary: def.summary,
    defaults: def.defaults,
    aliases: def.aliases ?? {},
    multiTask: def.multiTask ?? false,
    // Options reach here only through resolveModelOptions, which checks every key and type against `defaults`.
    create: (ctx, opts) => def.create(ctx, { ...def.defaults, ...opts }),
  };
}

/** DNN options under FuxiCTR's MLP_Block names (DeepFM, Wide&Deep, NFM, ...). */
const DNN_DEFAULTS = { hiddenUnits: [400, 400, 400], hiddenActivations: 'relu', netDropout: 0, batchNorm: false };
/** Names finerank used before it followed FuxiCTR (kept so existing configs keep working). */
const DNN_ALIASES = {
  dnnHiddenUnits: 'hiddenUnits',
  dnnActivation: 'hiddenActivations',
  dnnActivations: 'hiddenActivations',
  dnnDropout: 'netDropout',
} as const;

/** Expert, gate and tower options of MMoE, MoE and PLE (FuxiCTR multitask model_zoo defaults). */
const EXPERT_DEFAULTS = {
  ...EMBEDDING_DEFAULTS,
  expertHiddenUnits: [512, 256, 128],
  gateHiddenUnits: [128, 64],
  towerHiddenUnits: [128, 64],
  hiddenActivations: 'relu',
  netDropout: 0,
  batchNorm: false,
};

const ENTRIES: ModelEntry[] = [
  defineModel({
    name: 'lr',
    summary: 'logistic regression on one-hot features',
    defaults: { embeddingInitStd: 1e-4 },
    create: (c, o) => new LR(c, o),
  }),
  defineModel({
    name: 'fm',
    summary: 'factorization machine (Rendle 2010)',
    defaults: { ...EMBEDDING_DEFAULTS },
    create: (c, o) => new FM(c, o),
  }),
  defineModel({
    name: 'ffm',
    summary: 'field-aware factorization machine (Juan et al. 2016)',
    defaults: { ...EMBEDDING_DEFAULTS },
    create: (c, o) => new FFM(c, o),
  }),
  defineModel({
    name: 'widedeep',
    summary: 'Wide & Deep: linear + DNN logits (Cheng et al. 2016)',
    defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS },
    aliases: DNN_ALIASES,
    create: (c, o) => new WideDeep(c, o),
  }),
  defineModel({
    name: 'deepfm',
    summary: 'DeepFM: FM + DNN over shared embeddings (Guo et al. 2017)',
    defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS },
    aliases: DNN_ALIASES,
    create: (c, o) => new DeepFM(c, o),
  }),
  defineModel({
    name: 'dcn',
    summary: 'Deep & Cross Network: cross net ‖ DNN → linear (Wang et al. 2017)',
    defaults: { ...EMBEDDING_DEFAULTS, dnnHiddenUnits: [400, 400, 400], dnnActivations: 'relu', netDropout: 0, batchNorm: false, numCrossLayers: 3 },
    aliases: {
      crossingLayers: 'numCrossLayers',
      hiddenUnits: 'dnnHiddenUnits',
      hiddenActivations: 'dnnActivations',
      dnnActivation: 'dnnActivations',
      dnnDropout: 'netDropout',
    },
    create: (c, o) => new DCN(c, o),
  }),
  defineModel({
    name: 'din',
    summary: 'Deep Interest Network: candidate attention over the behaviour sequence (Zhou et al. 2018)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      dinTargetField: stringList(),
      dinSequenceField: stringList(),
      attentionHiddenUnits: [64],
      attentionHiddenActivations: 'dice',
      attentionDropout: 0,
      dinUseSoftmax: false,
      dnnHiddenUnits: [512, 128, 64],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
    },
    aliases: { hiddenUnits: 'dnnHiddenUnits', hiddenActivations: 'dnnActivations' },
    create: (c, o) => new DIN(c, o),
  }),
  defineModel({
    name: 'dien',
    summary: 'Deep Interest Evolution Network: GRU interest extractor with auxiliary loss, AUGRU evolution (Zhou et al. 2019)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      dienTargetField: stringList(),
      dienSequenceField: stringList(),
      dienNegSeqField: stringList(),
      gruType: 'AUGRU',
      useAttentionSoftmax: true,
      auxLossAlpha: 1,
      enableSumPooling: false,
      auxHiddenUnits: [],
      auxActivation: 'relu',
      dnnHiddenUnits: [200, 80],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
    },
    aliases: { hiddenUnits: 'dnnHiddenUnits', hiddenActivations: 'dnnActivations' },
    create: (c, o) => new DIEN(c, o),
  }),
  defineModel({
    name: 'deepmcp',
    summary:
      'DeepMCP: prediction subnet served, matching (user-item) and correlation (item skip-gram) subnets as auxiliary losses (Ouyang et al. 2019)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      dnnHiddenUnits: [256, 128, 64],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
      matchHiddenUnits: [64],
      matchDim: 32,
      matchUserFields: stringList(),
      matchItemFields: stringList(),
      matchLossAlpha: 1,
      corrHiddenUnits: [64],
      corrDim: 32,
      corrSequenceField: '',
      corrWindow: 2,
      numNegatives: 4,
      corrLossBeta: 1,
    },
    aliases: { hiddenUnits: 'dnnHiddenUnits', hiddenActivations: 'dnnActivations' },
    create: (c, o) => new DeepMCP(c, o),
  }),
  defineModel({
    name: 'nfm',
    summary: 'NFM: linear + DNN over bi-interaction pooling (He & Chua 2017)',
    defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS, biDropout: 0, biBatchNorm: false },
    aliases: DNN_ALIASES,
    create: (c, o) => new NFM(c, o),
  }),
  defineModel({
    name: 'pnn',
    summary: 'PNN: embeddings ‖ inner / kernel outer / both products → DNN (Qu et al. 2016)',
    defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS, productType: 'inner' },
    aliases: DNN_ALIASES,
    create: (c, o) => new PNN(c, o),
  }),
  defineModel({
    name: 'dcnv2',
    summary: 'DCN-V2: full-rank / low-rank / mixture cross network with a stacked or parallel DNN (Wang et al. 2021)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      modelStructure: 'parallel',
      useLowRankMixture: false,
      lowRankCross: false,
      lowRank: 32,
      numExperts: 4,
      numCrossLayers: 3,
      stackedDnnHiddenUnits: [400, 400, 400],
      parallelDnnHiddenUnits: [400, 400, 400],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
    },
    aliases: { crossingLayers: 'numCrossLayers', hiddenActivations: 'dnnActivations', dnnActivation: 'dnnActivations', dnnDropout: 'netDropout' },
    create: (c, o) => new DCNv2(c, o),
  }),
  defineModel({
    name: 'xdeepfm',
    summary: 'xDeepFM: linear + CIN + DNN logits over shared embeddings (Lian et al. 2018)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      cinLayerUnits: [16, 16, 16],
      dnnHiddenUnits: [400, 400, 400],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
      splitHalf: false,
    },
    aliases: {
      hiddenUnits: 'dnnHiddenUnits',
      hiddenActivations: 'dnnActivations',
      dnnActivation: 'dnnActivations',
      dnnDropout: 'netDropout',
      cinSplitHalf: 'splitHalf',
    },
    create: (c, o) => new XDeepFM(c, o),
  }),
  defineModel({
    name: 'afm',
    summary: 'AFM: linear + attention-weighted pairwise products (Xiao et al. 2017)',
    defaults: { ...EMBEDDING_DEFAULTS, attentionDim: 10, attentionDropout: [0, 0], useAttention: true },
    create: (c, o) => new AFM(c, o),
  }),
  defineModel({
    name: 'fibinet',
    summary: 'FiBiNET: SENET field re-weighting + bilinear interaction → DNN (Huang et al. 2019)',
    defaults: { ...EMBEDDING_DEFAULTS, ...DNN_DEFAULTS, bilinearType: 'field_interaction', reductionRatio: 3 },
    aliases: DNN_ALIASES,
    create: (c, o) => new FiBiNET(c, o),
  }),
  defineModel({
    name: 'autoint',
    summary: 'AutoInt: multi-head self-attention over fields; AutoInt+ with dnn_hidden_units (Song et al. 2019)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      attentionLayers: 2,
      numHeads: 1,
      attentionDim: 8,
      useResidual: true,
      useScale: false,
      layerNorm: false,
      useWide: false,
      dnnHiddenUnits: [],
      dnnActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
    },
    aliases: { hiddenUnits: 'dnnHiddenUnits', hiddenActivations: 'dnnActivations', dnnActivation: 'dnnActivations', dnnDropout: 'netDropout' },
    create: (c, o) => new AutoInt(c, o),
  }),
  defineModel({
    name: 'fgcnn',
    summary: 'FGCNN: CNN-generated fields (convolution, pooling, recombination) + IPNN over raw and new fields (Liu et al. 2019)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      shareEmbedding: false,
      channels: [14, 16, 18, 20],
      kernelHeights: [7, 7, 7, 7],
      poolingSizes: [2, 2, 2, 2],
      recombinedChannels: [2, 2, 2, 2],
      convActivation: 'tanh',
      convBatchNorm: true,
      dnnHiddenUnits: [4096, 2048, 1024, 512],
      dnnActivations: 'relu',
      dnnBatchNorm: false,
      netDropout: 0,
    },
    aliases: { hiddenUnits: 'dnnHiddenUnits', hiddenActivations: 'dnnActivations', dnnActivation: 'dnnActivations', batchNorm: 'dnnBatchNorm' },
    create: (c, o) => new FGCNN(c, o),
  }),
  defineModel({
    name: 'autofis',
    summary: 'AutoFIS: gated FM/DeepFM pair interactions; a GRDA search drops pairs, then a retrain over the kept ones (Liu et al. 2020)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      ...DNN_DEFAULTS,
      stage: 'search',
      keptPairs: stringList(),
      weightBase: 0.6,
      grdaC: 0.0005,
      grdaMu: 0.8,
      grdaLr: 1,
      searchEpochs: 1,
    },
    aliases: { ...DNN_ALIASES, learningRate2: 'grdaLr' },
    create: (c, o) => new AutoFIS(c, o),
  }),
  defineModel({
    name: 'shared_bottom',
    summary: 'Shared-Bottom multi-task: shared MLP, one tower per task (Caruana 1997)',
    defaults: {
      ...EMBEDDING_DEFAULTS,
      bottomHiddenUnits: [512, 256],
      towerHiddenUnits: [128, 64],
      hiddenActivations: 'relu',
      netDropout: 0,
      batchNorm: false,
    },
    aliases: { dnnActivation: 'hiddenActivations', dnnDropout: 'netDropout' },
    multiTask: true,
    create: (c, o) => new SharedBottom(c, o),
  }),
  defineModel({
    name: 'mmoe',
    summary: 'MMoE multi-task: shared experts, one softmax gate and tower per task (Ma et al. 2018)',
    defaults: { ...EXPERT_DEFAULTS, numExperts: 4 },
    multiTask: true,
    create: (c, o) => new MMoE(c, o, 'per_task'),
  }),
  defineModel({
    name: 'moe',
    summary: 'one-gate MoE multi-task: shared experts, one softmax gate for all tasks, a tower per task (Ma et al. 2018, Fig. 1b)',
    defaults: { ...EXPERT_DEFAULTS, numExperts: 4 },
    multiTask: true,
    create: (c, o) => new MMoE(c, o, 'one'),
  }),
  defineModel({
    name: 'ple',
    summary: 'PLE multi-task: stacked CGC layers of shared and task-specific experts (Tang et al. 2020)',
    defaults: { ...EXPERT_DEFAULTS, numLayers: 1, numSharedExperts: 1, numSpecificExperts: 1 },
    multiTask: true,
    create: (c, o) => new PLE(c, o),
  }),
  defineModel({
    name: 'esmm',
    summary: 'ESMM: CTR and CVR towers over shared embeddings, pCTCVR = pCTR·pCVR, trained over all impressions (Ma et al. 2018)',
    defaults: { ...EMBEDDING_DEFAULTS, towerHiddenUnits: [256, 128, 64], hiddenActivations: 'relu', netDropout: 0, batchNorm: false },
    aliases: { towerDnnHiddenUnits: 'towerHiddenUnits' },
    multiTask: true,
    create: (c, o) => new ESMM(c, o),
  }),
  // Tree models (src/gbdt): trained by src/gbdt/train.ts; the trees are packed buffers sized by leafCounts.
  defineModel({
    name: 'gbdt',
    summary: 'gradient-boosted trees, histogram method (XGBoost hist); docs/gbdt.md',
    defaults: { ...GBDT_MODEL_DEFAULTS },
    create: (c, o) => new GbdtModel(c, o),
  }),
  defineModel({
    name: 'gbdt_lr',
    summary: 'GBDT+LR: tree leaves as categorical fields of LR or any model (He et al. 2014)',
    defaults: { ...GBDT_MODEL_DEFAULTS, secondModel: 'lr', secondModelOptions: stringList(), withSparse: true },
    create: (c, o) => new GbdtLrModel(c, o, createModel),
  }),
];

const MODEL_ALIASES: Record<string, string> = {
  'wide&deep': 'widedeep',
  wdl: 'widedeep',
  wide_deep: 'widedeep',
  'wide-deep': 'widedeep',
  logistic: 'lr',
  ipnn: 'pnn',
  dcn_v2: 'dcnv2',
  'dcn-v2': 'dcnv2',
  sharedbottom: 'shared_bottom',
  'shared-bottom': 'shared_bottom',
  'gbdt+lr': 'gbdt_lr',
  'gbdt-lr': 'gbdt_lr',
  gbdtlr: 'gbdt_lr',
};

/** Every registered model. */
export function listModels(): ModelEntry[] {
  return ENTRIES.slice();
}

/** The registry entry of a model name (case-insensitive, common aliases accepted). */
export function modelEntry(name: string): ModelEntry {
  const key = name.toLowerCase();
  const canonical = MODEL_ALIASES[key] ?? key;
  const e = ENTRIES.find((x) => x.name === canonical);
  if (e === undefined) throw new Error(`unknown model '${name}'; known models: ${ENTRIES.map((x) => x.name).join(', ')}`);
  return e;
}

/** The canonical name of a model option given as camelCase, snake_case or an alias; null when the model has no such option. */
export function modelOptionName(model: string, key: string): string | null {
  const e = modelEntry(model);
  const c = camelCase(key);
  const k = e.aliases[c] ?? c;
  return k in e.defaults ? k : null;
}

/** The options of `options` that a model accepts (under any accepted name): for option sets shared by several models. */
export function acceptedOptions(model: string, options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => modelOptionName(model, k) !== null));
}

/** A list option of layer sizes (its default is empty or positive integers); others (AFM's `attention_dropout: [0, 0]`) take any numbers. */
function isCountList(d: number[]): boolean {
  return d.length === 0 || d.every((x) => Number.isInteger(x) && x > 0);
}

function typeError(model: string, key: string, d: OptionValue, v: unknown): Error {
  const want = isStringList(d)
    ? 'a name or a list of names'
    : Array.isArray(d)
      ? isCountList(d as number[])
        ? 'a list of positive integers'
        : 'a list of numbers'
      : `a ${typeof d}`;
  return new Error(`model '${model}' option '${key}' must be ${want}, got ${JSON.stringify(v)}`);
}

/**
 * Merges user options over a model's defaults: snake_case and alias names are accepted
 * (mapped to the canonical camelCase name); unknown keys and values whose type differs
 * from the default's are refused with the list of options.
 */
export function resolveModelOptions(name: string, user: Record<string, unknown> = {}): Record<string, OptionValue> {
  const e = modelEntry(name);
  const out: Record<string, OptionValue> = { ...e.defaults };
  const seen = new Map<string, string>();
  for (const [raw, v] of Object.entries(user)) {
    const c = camelCase(raw);
    const k = e.aliases[c] ?? c;
    if (!(k in e.defaults)) throw new Error(`model '${e.name}' has no option '${raw}'; options: ${Object.keys(e.defaults).join(', ')}`);
    const prev = seen.get(k);
    if (prev !== undefined) throw new Error(`model '${e.name}': options '${prev}' and '${raw}' both set '${k}'`);
    seen.set(k, raw);
    const d = e.defaults[k]!;
    let ok: boolean;
    let value = v;
    if (isStringList(d)) {
      if (typeof v === 'string') value = v === '' ? [] : [v];
      ok = Array.isArray(value) && value.every((x) => typeof x === 'string' && x !== '');
    } else if (Array.isArray(d)) {
      const ints = isCountList(d as number[]);
      ok = Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!ints || (Number.isInteger(x) && x > 0)));
    } else {
      ok = typeof v === typeof d;
    }
    if (!ok) throw typeError(e.name, raw, d, v);
    out[k] = value as OptionValue;
  }
  return out;
}

/**
 * Builds a model by name from (partial) options. Refuses a single-task model given several
 * tasks, and a sequence field with attention pooling for a model that does not attend over
 * sequences (no setting is silently downgraded).
 */
export function createModel(name: string, ctx: ModelContext, user: Record<string, unknown> = {}): RankingModel {
  const e = modelEntry(name);
  const tasks = contextTasks(ctx);
  if (!e.multiTask && tasks.length > 1) {
    throw new Error(
      `model '${e.name}' predicts one task, but ${tasks.length} are configured (${tasks.join(', ')}); multi-task models: ${ENTRIES.filter(
        (x) => x.multiTask,
      )
        .map((x) => x.name)
        .join(', ')}`,
    );
  }
  checkPooling(e, ctx.spec);
  return e.create(ctx, resolveModelOptions(name, user));
}

/** Models that consume `pooling: attention` sequences. */
const SEQUENCE_MODELS: string[] = ['din', 'dien'];

function checkPooling(e: ModelEntry, spec: FeatureSpec): void {
  if (SEQUENCE_MODELS.includes(e.name)) return;
  const f = spec.fields.find((x) => x.pooling === 'attention');
  if (f === undefined) return;
  const who = `models that do: ${SEQUENCE_MODELS.join(', ')}`;
  throw new Error(
    `field '${f.name}' asks for pooling 'attention', which model '${e.name}' does not compute (attention pooling needs a sequence model; ${who}); set pooling: sum, mean or max to pool it here`,
  );
}
