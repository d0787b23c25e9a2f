import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateSchema, type Schema } from '../features/schema.js';
import { modelOptionName, resolveModelOptions } from '../models/registry.js';
import { resolveTasks, type TaskDef } from '../features/tasks.js';
import { fromFuxiCtr } from './fuxictr.js';
import { camelCase } from '../util/case.js';
import { PRESETS, type TrainOptions } from '../train/options.js';
import type { BadRowPolicy } from '../readers/errors.js';
import { parseSamplingSpec, type SamplingSpec } from '../sampling/config.js';
import { DEFAULT_VOCAB_SKETCH_BYTES, parseBytes, type StreamingSettings } from '../train/streaming-choice.js';

/** A resolved `finerank train` configuration. */
export interface TrainConfig {
  /** Paths of the splits (valid and test optional). */
  data: { train: string; valid: string | null; test: string | null; onBadRow: BadRowPolicy; streaming: StreamingSettings };
  schema: Schema;
  /** Label the model learns (the schema's first label by default). */
  label: string | null;
  /** The `tasks:` list (null: one task, `label`). */
  tasks: TaskDef[] | null;
  model: string;
  modelOptions: Record<string, unknown>;
  train: TrainOptions;
  /** Where the artifact is written (null: not written). */
  output: string | null;
  preset: string;
  /** Sampling of the training file before training (src/sampling), or null. */
  sampling: SamplingSpec | null;
}

function camelKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[camelCase(k)] = v;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The most training threads accepted (`train.threads`). */
export const MAX_THREADS = 64;

/**
 * Merges overrides into training options, checking each key exists and has the default's
 * type; nested optimizer objects are merged key by key. Errors name `where` and the key.
 */
export function mergeTrainOptions(base: TrainOptions, overrides: Record<string, unknown>, where: string): TrainOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(camelKeys(overrides))) {
    if (!(k in base)) throw new Error(`${where}: unknown training option '${k}'; options: ${Object.keys(base).join(', ')}`);
    const d = (base as unknown as Record<string, unknown>)[k];
    if (isObject(d)) {
      if (!isObject(v)) throw new Error(`${where}: '${k}' must be an object like ${JSON.stringify(d)}`);
      out[k] = { ...d, ...camelKeys(v) };
    } else if (typeof v !== typeof d) {
      throw new Error(`${where}: '${k}' must be a ${typeof d}, got ${JSON.stringify(v)}`);
    } else {
      out[k] = v;
    }
  }
  const t = out as unknown as TrainOptions;
  const positiveInt = (name: keyof TrainOptions) => {
    const x = t[name] as number;
    if (!Number.isInteger(x) || x < 1) throw new Error(`${where}: '${name}' must be a positive integer, got ${x}`);
  };
  positiveInt('epochs');
  positiveInt('batchSize');
  positiveInt('threads');
  if (t.threads > MAX_THREADS) throw new Error(`${where}: 'threads' must be at most ${MAX_THREADS}, got ${t.threads}`);
  if (!(t.optimizer.lr > 0)) throw new Error(`${where}: optimizer.lr must be positive, got ${t.optimizer.lr}`);
  if (!['auc', 'logloss', 'gauc'].includes(t.monitor)) throw new Error(`${where}: monitor must be auc, logloss or gauc, got '${t.monitor}'`);
  if (!['table', 'batch'].includes(t.embeddingL2Mode))
    throw new Error(`${where}: embeddingL2Mode must be 'table' or 'batch', got '${t.embeddingL2Mode}'`);
  if (!(t.negativeSampleRate > 0 && t.negativeSampleRate <= 1))
    throw new Error(`${where}: negativeSampleRate must be in (0, 1], got ${t.negativeSampleRate}`);
  if (!['none', 'intercept'].includes(t.recalibrate)) throw new Error(`${where}: recalibrate must be 'none' or 'intercept', got '${t.recalibrate}'`);
  return t;
}

/**
 * Builds the schema of a libsvm/libfm dataset given only its fields: one sparse column per
 * field (vocabulary encoder, min count `minCount`) and the label column 'label'.
 */
export function libfmSchema(format: 'libfm' | 'libsvm', fields: unknown, minCount: number, where: string): Schema {
  if (!Array.isArray(fields) || fields.length === 0) throw new Error(`${where}: data.fields must be a non-empty list of {name, range: [lo, hi]}`);
  const cols = (fields as Array<Record<string, unknown>>).map((f, i) => {
    if (!isObject(f) || typeof f.name !== 'string') throw new Error(`${where}: data.fields[${i}] needs a name`);
    return { name: f.name, role: 'sparse', encoder: { type: 'vocab', minCount } };
  });
  return validateSchema({ dataset: { format, fields }, columns: [...cols, { name: 'label', role: 'label' }] }, where);
}

/**
 * Reads a train configuration (YAML or JSON). Keys:
 *   data: {train, valid?, test?, schema? (path or inline), format?, fields?, min_count?, on_bad_row?,
 *          streaming?, memory_budget?, shuffle_buffer?, cache?, cache_dir?, vocab_fit?, vocab_sketch_memory?
 *          (docs/streaming.md)}
 *   model, model_options?, preset? ('default' | 'bars'), train? (overrides), label?, output?,
 *   tasks? ([{name, label, weight?, where?}]: one model output per task; see features/tasks.ts),
 *   fuxictr? (one FuxiCTR experiment entry instead of model / model_options / preset / train; see fuxictr.ts)
 * Relative paths are resolved against the config file's folder. Flags given on the command
 * line override the file (`overrides`).
 */
export function loadTrainConfig(path: string | null, overrides: Record<string, unknown> = {}): TrainConfig {
  let raw: Record<string, unknown> = {};
  const where = path ?? '<flags>';
  let base = process.cwd();
  if (path !== null) {
    if (!existsSync(path)) throw new Error(`${path}: config file not found`);
    const text = readFileSync(path, 'utf8');
    let parsed: unknown;
    try {
      parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
      throw new Error(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new Error(`${path}: expected a mapping at the top level`);
    raw = parsed;
    base = dirname(resolve(path));
  }
  const known = new Set(['data', 'model', 'modelOptions', 'preset', 'train', 'label', 'output', 'tasks', 'fuxictr', 'sampling']);
  const top = camelKeys(raw);
  for (const k of Object.keys(top))
    if (!known.has(k))
      throw new Error(`${where}: unknown key '${k}'; expected: data, model, model_options, preset, train, label, tasks, output, fuxictr, sampling`);
  if (top.fuxictr !== undefined && !isObject(top.fuxictr))
    throw new Error(`${where}: fuxictr must be one experiment entry of a FuxiCTR model_config.yaml (a mapping)`);
  const fuxi = isObject(raw.fuxictr) ? fromFuxiCtr(raw.fuxictr, where) : null;
  if (fuxi !== null) {
    const clash = [
      ...['model', 'modelOptions', 'preset', 'train'].filter((k) => top[k] !== undefined),
      ...['model', 'preset'].filter((k) => overrides[k] !== undefined).map((k) => `--${k}`),
    ];
    if (clash.length > 0) throw new Error(`${where}: a fuxictr section replaces model, model_options, preset and train; remove ${clash.join(', ')}`);
  }
  const data = isObject(top.data) ? camelKeys(top.data) : {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined && ['train', 'valid', 'test', 'schema'].includes(k)) data[k] = v;
  const abs = (p: unknown, key: string): string => {
    if (typeof p !== 'string' || p === '') throw new Error(`${where}: data.${key} must be a file path`);
    return isAbsolute(p) ? p : resolve(base, p);
  };
  const opt = (p: unknown, key: string) => (p === undefined || p === null ? null : abs(p, key));
  if (data.train === undefined) throw new Error(`${where}: data.train (the training file) is required`);
  const onBadRow = (data.onBadRow ?? 'error') as BadRowPolicy;
  if (onBadRow !== 'error' && onBadRow !== 'skip') throw new Error(`${where}: data.on_bad_row must be 'error' or 'skip'`);

  const streaming = streamingSettings(data, where, (p) => abs(p, 'cache_dir'));

  let schema: Schema;
  if (typeof data.schema === 'string') {
    const sp = abs(data.schema, 'schema');
    if (!existsSync(sp)) throw new Error(`${where}: schema file ${sp} not found`);
    const text = readFileSync(sp, 'utf8');
    schema = validateSchema(sp.endsWith('.json') ? JSON.parse(text) : parseYaml(text), sp);
  } else if (isObject(data.schema)) {
    schema = validateSchema(data.schema, `${where} (data.schema)`);
  } else if (data.format === 'libfm' || data.format === 'libsvm') {
    if (data.minCount !== undefined && fuxi?.minCount != null && data.minCount !== fuxi.minCount) {
      throw new Error(`${where}: data.min_count ${String(data.minCount)} and fuxictr.min_categr_count ${fuxi.minCount} disagree`);
    }
    const minCount = data.minCount ?? fuxi?.minCount ?? 1;
    if (typeof minCount !== 'number' || !Number.isInteger(minCount) || minCount < 1)
      throw new Error(`${where}: data.min_count must be a positive integer`);
    schema = libfmSchema(data.format, data.fields, minCount, where);
  } else {
    throw new Error(`${where}: give data.schema (a schema file or inline schema), or data.format libfm/libsvm with data.fields`);
  }

  if (fuxi !== null && fuxi.minCount !== null && fuxi.minCount !== 1 && data.format !== 'libfm' && data.format !== 'libsvm') {
    throw new Error(`${where}: fuxictr.min_categr_count applies to a libfm/libsvm data section; with a schema, set minCount in its vocab encoders`);
  }
  const model = fuxi?.model ?? (overrides.model as string | undefined) ?? (top.model as string | undefined) ?? 'deepfm';
  const preset = fuxi !== null ? 'fuxictr' : ((overrides.preset as string | undefined) ?? (top.preset as string | undefined) ?? 'default');
  const p = PRESETS[preset];
  if (p === undefined) throw new Error(`${where}: unknown preset '${preset}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  const userModel = isObject(top.modelOptions) ? camelKeys(top.modelOptions) : {};
  // Preset model options apply where the model has such an option.
  const presetModel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.model)) {
    const name = modelOptionName(model, k);
    if (name !== null) presetModel[name] = v;
  }
  for (const k of Object.keys(userModel)) {
    const name = modelOptionName(model, k);
    if (name !== null && name !== k) delete presetModel[name];
  }
  const modelOptions = fuxi !== null ? resolveModelOptions(model, fuxi.modelOptions) : resolveModelOptions(model, { ...presetModel, ...userModel });
  let train = fuxi !== null ? fuxi.train : mergeTrainOptions(p.train, isObject(top.train) ? top.train : {}, `${where} (train)`);
  const flagTrain: Record<string, unknown> = {};
  for (const k of ['epochs', 'batchSize', 'seed', 'threads']) if (overrides[k] !== undefined) flagTrain[k] = overrides[k];
  train = mergeTrainOptions(train, flagTrain, '<flags>');
  if (top.tasks !== undefined && top.label !== undefined) throw new Error(`${where}: give either label (one task) or tasks, not both`);
  const labels = schema.columns.filter((c) => c.role === 'label').map((c) => c.name);
  const tasks = top.tasks === undefined ? null : resolveTasks(top.tasks, labels, where);
  const output = (overrides.output as string | undefined) ?? (top.output as string | undefined) ?? null;
  return {
    data: { train: abs(data.train, 'train'), valid: opt(data.valid, 'valid'), test: opt(data.test, 'test'), onBadRow, streaming },
    schema,
    label: (top.label as string | undefined) ?? null,
    tasks,
    model,
    modelOptions,
    train,
    output: output === null ? null : isAbsolute(output) || path === null ? output : resolve(base, output),
    preset,
    sampling: top.sampling === undefined ? null : parseSamplingSpec(top.sampling, where, 'sampling'),
  };
}

/** The streaming keys of a config's `data` part (camelCased), checked; errors name the key. */
export function streamingSettings(data: Record<string, unknown>, where: string, abs: (p: unknown) => string): StreamingSettings {
  const s: StreamingSettings = {};
  if (data.streaming !== undefined) {
    if (data.streaming !== true && data.streaming !== false && data.streaming !== 'auto')
      throw new Error(`${where}: data.streaming must be true, false or 'auto', got ${JSON.stringify(data.streaming)}`);
    s.streaming = data.streaming;
  }
  if (data.memoryBudget !== undefined) s.memoryBudget = parseBytes(data.memoryBudget, `${where}: data.memory_budget`);
  if (data.shuffleBuffer !== undefined) {
    const n = data.shuffleBuffer;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
      throw new Error(`${where}: data.shuffle_buffer must be a positive integer (rows), got ${JSON.stringify(n)}`);
    s.shuffleBuffer = n;
  }
  if (data.cache !== undefined) {
    if (typeof data.cache !== 'boolean') throw new Error(`${where}: data.cache must be true or false, got ${JSON.stringify(data.cache)}`);
    s.cache = data.cache;
  }
  if (data.cacheDir !== undefined) s.cacheDir = abs(data.cacheDir);
  const fit = data.vocabFit ?? 'exact';
  if (fit !== 'exact' && fit !== 'sketch') throw new Error(`${where}: data.vocab_fit must be 'exact' or 'sketch', got ${JSON.stringify(fit)}`);
  if (fit === 'sketch')
    s.vocabSketchBytes =
      data.vocabSketchMemory === undefined ? DEFAULT_VOCAB_SKETCH_BYTES : parseBytes(data.vocabSketchMemory, `${where}: data.vocab_sketch_memory`);
  else if (data.vocabSketchMemory !== undefined) throw new Error(`${where}: data.vocab_sketch_memory applies only with data.vocab_fit: sketch`);
  return s;
}
