import { readFileSync, existsSync } from 'node:fs';
import { Rng } from '../engine/random.js';
import { FeatureMap, type FeatureMapJSON } from '../features/featuremap.js';
import { createModel } from '../models/registry.js';
import type { RankingModel } from '../models/base.js';
import { featureSpecFromStored, type FeatureSpec } from '../features/fields.js';
import { singleTask, type TaskDef } from '../features/tasks.js';
import { decodeContainer, encodeContainer, type StoredArray } from '../util/container.js';
import { writeFileAtomic } from '../util/atomic.js';

const MAGIC = 'FRNKMODL';

/** Everything in a model artifact besides the weights. */
export interface ArtifactMeta {
  format: 'finerank.model';
  version: 1;
  /** Registry name of the model. */
  model: string;
  /** Fully resolved model options. */
  modelOptions: Record<string, unknown>;
  /** Model inputs (the field definitions and labels) — lets the model be rebuilt without the data. */
  inputSpec: FeatureSpec;
  /** Label of the first task (the only one of a single-task model). */
  label: string;
  /** The tasks the model predicts (absent in artifacts written before tasks: one task on `label`). */
  tasks?: TaskDef[];
  /** The fitted feature map with its schema (absent for models trained on pre-encoded batches). */
  featureMap: FeatureMapJSON | null;
  /** Negative-downsampling rate used in training (predictions are recalibrated). */
  negativeSampleRate: number;
  /**
   * δ added to each output's logit after training (`recalibrate: intercept`,
   * src/train/recalibrate.ts), by output name; absent (older artifacts) or missing names: 0.
   */
  logitOffset?: Record<string, number>;
  /** Free-form training facts: options, metrics, timestamps. */
  training: Record<string, unknown>;
}

/** A loaded artifact: the rebuilt model with its weights, the feature map and the metadata. */
export interface LoadedArtifact {
  meta: ArtifactMeta;
  model: RankingModel;
  featureMap: FeatureMap | null;
}

/**
 * Writes a model artifact: one checksummed file (see util/container.ts) holding the schema
 * and feature map, the model name and options, the input spec, training facts and every
 * weight (parameters, buffers such as batch-norm statistics, embedding tables). Atomic.
 */
export function saveArtifact(path: string, model: RankingModel, meta: Omit<ArtifactMeta, 'format' | 'version' | 'model'>): void {
  const arrays = new Map<string, StoredArray>();
  for (const [k, v] of model.stateDict()) arrays.set(k, v);
  const full: ArtifactMeta = { format: 'finerank.model', version: 1, model: model.modelName, ...meta };
  writeFileAtomic(path, encodeContainer(MAGIC, full, arrays));
}

/**
 * Loads an artifact without the training data: verifies the checksum (a corrupted or
 * truncated file is refused with a message naming it), rebuilds the model from its name,
 * options and input spec, and loads the weights.
 */
export function loadArtifact(path: string): LoadedArtifact {
  if (!existsSync(path)) throw new Error(`${path}: model file not found`);
  return loadArtifactBytes(readFileSync(path), path);
}

/** `loadArtifact` on bytes already read (`path` names them in errors): one read, so a checksum of the same bytes describes exactly what was loaded. */
export function loadArtifactBytes(bytes: Uint8Array, path: string): LoadedArtifact {
  const { meta, arrays } = decodeContainer(bytes, MAGIC, path);
  const m = meta as ArtifactMeta;
  if (m.format !== 'finerank.model' || m.version !== 1)
    throw new Error(`${path}: unsupported model format ${String(m.format)} v${String(m.version)}`);
  m.inputSpec = featureSpecFromStored(m.inputSpec);
  m.tasks = artifactTasks(m);
  if (m.logitOffset !== undefined) {
    const o = m.logitOffset as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.values(o).some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw new Error(`${path}: logitOffset must map output names to finite numbers, got ${JSON.stringify(o)}`);
  }
  const model = createModel(m.model, { spec: m.inputSpec, rng: new Rng(0), tasks: m.tasks.map((t) => t.name) }, m.modelOptions);
  const state = new Map<string, Float32Array>();
  for (const [k, v] of arrays) {
    if (!(v instanceof Float32Array)) throw new Error(`${path}: weight '${k}' is not float32`);
    state.set(k, v);
  }
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`${path}: weights do not fit model '${m.model}': ${(e as Error).message}`);
  }
  model.eval();
  return { meta: m, model, featureMap: m.featureMap === null ? null : FeatureMap.fromJSON(m.featureMap, path) };
}

/** The tasks of an artifact: its task list, or one task named after its label (older artifacts). */
export function artifactTasks(meta: ArtifactMeta): TaskDef[] {
  return meta.tasks !== undefined && meta.tasks.length > 0 ? meta.tasks : singleTask(meta.label);
}
