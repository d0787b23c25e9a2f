/**
 * Reads one experiment entry of a FuxiCTR / BARS `model_config.yaml` (the flat keys of
 * FuxiCTR v1 and v2) into finerank's model name, model options and training options, on top
 * of the `bars` preset (FuxiCTR's own defaults: clip 10, N(0, 1e-4) embeddings, LR ×0.1 on
 * plateau, restore best). Every key is mapped (table in docs/fuxictr.md), accepted and
 * ignored (pure I/O keys), or refused with the list of what is accepted — never dropped.
 */
import { BARS_MODEL_OPTIONS, BARS_PRESET, type TrainOptions } from '../train/options.js';
import { modelEntry, modelOptionName } from '../models/registry.js';
import { snakeCase } from '../util/case.js';

/** What a `fuxictr:` section becomes. */
export interface FuxiExperiment {
  model: string;
  modelOptions: Record<string, unknown>;
  train: TrainOptions;
  /** `min_categr_count`, when the entry sets it (applies to a libfm/libsvm `data:` section). */
  minCount: number | null;
}

/** Keys about files, devices and logging: accepted, no effect on the model or its training. */
const IO_KEYS = new Set([
  'model_root',
  'num_workers',
  'verbose',
  'dataset_id',
  'metrics',
  'task',
  'gpu',
  'save_best_only',
  'every_x_epochs',
  'debug',
  'expid',
  'model_id',
  'pickle_feature_encoder',
  'use_hdf5',
  'version',
  'group_id',
]);

const KNOWN = [
  'model',
  'embedding_dim',
  'embedding_regularizer',
  'net_regularizer',
  'regularizer',
  'optimizer',
  'learning_rate',
  'batch_size',
  'epochs',
  'patience',
  'early_stop_patience',
  'monitor',
  'monitor_mode',
  'seed',
  'shuffle',
  'loss',
  'min_categr_count',
  'embedding_dropout',
];

function num(where: string, key: string, v: unknown): number {
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${where}: fuxictr.${key} must be a number, got ${JSON.stringify(v)}`);
  return x;
}

function int(where: string, key: string, v: unknown, min: number): number {
  const x = num(where, key, v);
  if (!Number.isInteger(x) || x < min) throw new Error(`${where}: fuxictr.${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

/** Translates one FuxiCTR experiment entry; `where` names the config file in errors. */
export function fromFuxiCtr(entry: Record<string, unknown>, where: string): FuxiExperiment {
  if (typeof entry.model !== 'string') throw new Error(`${where}: fuxictr.model must name a model (e.g. DeepFM)`);
  const model = modelEntry(entry.model).name;
  const train: TrainOptions = { ...BARS_PRESET, optimizer: { ...BARS_PRESET.optimizer } };
  const modelOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(BARS_MODEL_OPTIONS)) {
    const name = modelOptionName(model, k);
    if (name !== null) modelOptions[name] = v;
  }
  let minCount: number | null = null;
  const refused: string[] = [];
  const setModel = (key: string, value: unknown) => {
    const name = modelOptionName(model, key);
    if (name === null) return false;
    modelOptions[name] = value;
    return true;
  };
  for (const [key, v] of Object.entries(entry)) {
    if (IO_KEYS.has(key)) continue;
    switch (key) {
      case 'model':
        break;
      case 'embedding_dim':
        if (!setModel(key, int(where, key, v, 1))) refused.push(key);
        break;
      case 'embedding_regularizer':
        train.embeddingL2 = regularizer(where, key, v);
        train.embeddingL2Mode = 'table';
        break;
      case 'net_regularizer':
        train.denseL2 = regularizer(where, key, v);
        break;
      case 'regularizer': // FuxiCTR v1 LR / FM / FFM: one value for tables and network
        train.embeddingL2 = regularizer(where, key, v);
        train.embeddingL2Mode = 'table';
        train.denseL2 = train.embeddingL2;
        break;
      case 'optimizer':
        if (String(v).toLowerCase() !== 'adam')
          throw new Error(
            `${where}: fuxictr.optimizer '${String(v)}' is not supported; supported: adam (torch.optim.Adam over every weight, tables included, as FuxiCTR)`,
          );
        break;
      case 'learning_rate':
        train.optimizer.lr = num(where, key, v);
        if (!(train.optimizer.lr > 0)) throw new Error(`${where}: fuxictr.learning_rate must be positive`);
        break;
      case 'batch_size':
        train.batchSize = int(where, key, v, 1);
        break;
      case 'epochs':
        train.epochs = int(where, key, v, 1);
        break;
      case 'patience':
      case 'early_stop_patience':
        train.patience = int(where, key, v, 0);
        break;
      case 'monitor':
        train.monitor = monitor(where, v);
        break;
      case 'monitor_mode': {
        const want = train.monitor === 'logloss' ? 'min' : 'max';
        if (v !== want) throw new Error(`${where}: fuxictr.monitor_mode '${String(v)}' contradicts monitor ${train.monitor} (expected '${want}')`);
        break;
      }
      case 'seed':
        train.seed = int(where, key, v, 0);
        break;
      case 'shuffle':
        if (v !== true) throw new Error(`${where}: fuxictr.shuffle: false is not supported (finerank shuffles every training epoch)`);
        break;
      case 'loss':
        if (v !== 'binary_crossentropy') throw new Error(`${where}: fuxictr.loss '${String(v)}' is not supported; supported: binary_crossentropy`);
        break;
      case 'min_categr_count':
        minCount = int(where, key, v, 1);
        break;
      case 'embedding_dropout':
        if (num(where, key, v) !== 0) throw new Error(`${where}: fuxictr.embedding_dropout ${String(v)} is not supported; only 0`);
        break;
      default:
        if (!setModel(key, v)) refused.push(key);
    }
  }
  if (refused.length > 0) {
    const opts = Object.keys(modelEntry(model).defaults).map(snakeCase);
    throw new Error(
      `${where}: fuxictr keys not supported for model '${model}': ${refused.join(', ')}; supported: ${[...KNOWN, ...opts].join(', ')} (and the I/O keys ${[...IO_KEYS].join(', ')}, which are ignored)`,
    );
  }
  return { model, modelOptions, train, minCount };
}

function regularizer(where: string, key: string, v: unknown): number {
  if (Array.isArray(v) || (v !== null && typeof v === 'object'))
    throw new Error(`${where}: fuxictr.${key} must be one number (per-parameter regularizer lists are not supported)`);
  const x = v === null || v === undefined ? 0 : num(where, key, v);
  if (x < 0) throw new Error(`${where}: fuxictr.${key} must be ≥ 0`);
  return x;
}

function monitor(where: string, v: unknown): TrainOptions['monitor'] {
  const m = typeof v === 'string' ? v.toLowerCase() : null;
  if (m === 'auc') return 'auc';
  if (m === 'logloss') return 'logloss';
  if (m === 'gauc') return 'gauc';
  throw new Error(
    `${where}: fuxictr.monitor ${JSON.stringify(v)} is not supported; supported: AUC, logloss, gAUC (one metric; weighted combinations such as {AUC: 1, logloss: -1} are not)`,
  );
}
