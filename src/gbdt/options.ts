/**
 * Options of the gradient-boosting learner, named as in XGBoost's scikit-learn API
 * (`XGBClassifier(n_estimators=…, max_depth=…)`), so a user's XGBoost settings carry over.
 * Config files may write them in snake_case (as XGBoost does) or camelCase.
 */
import { snakeCase } from '../util/case.js';
export interface BoosterOptions {
  /** Number of boosting rounds (trees). XGBoost default 100. */
  n_estimators: number;
  /** Maximum tree depth; 0 = unlimited (lossguide only). Default 6. */
  max_depth: number;
  /** Maximum leaves per tree; 0 = unlimited. Default 0. */
  max_leaves: number;
  /** 'depthwise' (level by level) or 'lossguide' (best leaf first). Default depthwise. */
  grow_policy: 'depthwise' | 'lossguide';
  /** Shrinkage applied to every leaf value. Default 0.3. */
  learning_rate: number;
  /** Maximum histogram bins per feature (missing values get their own slot). Default 256. */
  max_bin: number;
  /** Minimum sum of Hessians in each child. Default 1. */
  min_child_weight: number;
  /** L2 penalty λ on leaf weights. Default 1. */
  reg_lambda: number;
  /** Minimum split gain γ (subtracted from every gain). Default 0. */
  gamma: number;
  /** Row fraction sampled (without replacement, Bernoulli) for each tree. Default 1. */
  subsample: number;
  /** Feature fraction sampled for each tree. Default 1. */
  colsample_bytree: number;
  /** Stop when the validation metric has not improved for this many rounds; 0 = off. */
  early_stopping_rounds: number;
  /** 'binary:logistic' (logloss) or 'reg:squarederror'. Default binary:logistic. */
  objective: 'binary:logistic' | 'reg:squarederror';
  /** Validation metric for early stopping: 'logloss', 'auc' or 'rmse'; '' = objective's own. */
  eval_metric: '' | 'logloss' | 'auc' | 'rmse';
  /** Seed of row and column subsampling. Default 0. */
  random_state: number;
  /**
   * Threads of the native kernels (histogram building over feature blocks; binning,
   * partitioning and logloss gradients over row blocks; the margin update over leaves);
   * `nthread` (XGBoost's native name) is accepted as an alias. The trees do not
   * depend on it. Default 1 (XGBoost's default is every core).
   */
  n_jobs: number;
}

/** XGBoost's defaults (scikit-learn API, hist tree method). */
export const BOOSTER_DEFAULTS: BoosterOptions = {
  n_estimators: 100,
  max_depth: 6,
  max_leaves: 0,
  grow_policy: 'depthwise',
  learning_rate: 0.3,
  max_bin: 256,
  min_child_weight: 1,
  reg_lambda: 1,
  gamma: 0,
  subsample: 1,
  colsample_bytree: 1,
  early_stopping_rounds: 0,
  objective: 'binary:logistic',
  eval_metric: '',
  random_state: 0,
  n_jobs: 1,
};

/**
 * Merges user options over the defaults. Keys may be snake_case or camelCase; unknown keys,
 * wrong types and out-of-range values are refused with an error listing what is supported.
 */
export function resolveBoosterOptions(user: Record<string, unknown> = {}, where = 'booster options'): BoosterOptions {
  const out: Record<string, unknown> = { ...BOOSTER_DEFAULTS };
  const known = Object.keys(BOOSTER_DEFAULTS);
  if ('nthread' in user && ('n_jobs' in user || 'nJobs' in user)) throw new Error(`${where}: give 'n_jobs' or its alias 'nthread', not both`);
  for (const [k0, v] of Object.entries(user)) {
    const k = k0 === 'nthread' ? 'n_jobs' : snakeCase(k0);
    if (!known.includes(k)) throw new Error(`${where}: unknown option '${k0}'; supported: ${known.join(', ')}`);
    const d = (BOOSTER_DEFAULTS as unknown as Record<string, unknown>)[k];
    if (typeof v !== typeof d) throw new Error(`${where}: '${k}' must be a ${typeof d}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  const o = out as unknown as BoosterOptions;
  const int = (k: keyof BoosterOptions, min: number) => {
    const x = o[k] as number;
    if (!Number.isInteger(x) || x < min) throw new Error(`${where}: '${k}' must be an integer ≥ ${min}, got ${x}`);
  };
  int('n_estimators', 1);
  int('max_depth', 0);
  int('max_leaves', 0);
  int('early_stopping_rounds', 0);
  int('random_state', 0);
  if (!Number.isInteger(o.n_jobs) || o.n_jobs < 1 || o.n_jobs > 1024)
    throw new Error(`${where}: 'n_jobs' (alias 'nthread') must be an integer in [1, 1024], got ${o.n_jobs}`);
  if (!Number.isInteger(o.max_bin) || o.max_bin < 2 || o.max_bin > 65535)
    throw new Error(`${where}: 'max_bin' must be an integer in [2, 65535], got ${o.max_bin}`);
  if (o.max_leaves === 1) throw new Error(`${where}: 'max_leaves' must be 0 (unlimited) or ≥ 2, got 1`);
  if (!['depthwise', 'lossguide'].includes(o.grow_policy))
    throw new Error(`${where}: 'grow_policy' must be depthwise or lossguide, got '${o.grow_policy}'`);
  if (o.grow_policy === 'depthwise' && o.max_depth === 0)
    throw new Error(`${where}: grow_policy depthwise needs max_depth ≥ 1 (max_depth 0 = unlimited is for lossguide)`);
  if (o.max_depth === 0 && o.max_leaves === 0) throw new Error(`${where}: max_depth 0 needs max_leaves > 0 (otherwise trees are unbounded)`);
  if (!(o.learning_rate > 0)) throw new Error(`${where}: 'learning_rate' must be > 0, got ${o.learning_rate}`);
  if (!(o.min_child_weight >= 0)) throw new Error(`${where}: 'min_child_weight' must be ≥ 0, got ${o.min_child_weight}`);
  if (!(o.reg_lambda >= 0)) throw new Error(`${where}: 'reg_lambda' must be ≥ 0, got ${o.reg_lambda}`);
  if (!(o.gamma >= 0)) throw new Error(`${where}: 'gamma' must be ≥ 0, got ${o.gamma}`);
  if (!(o.subsample > 0 && o.subsample <= 1)) throw new Error(`${where}: 'subsample' must be in (0, 1], got ${o.subsample}`);
  if (!(o.colsample_bytree > 0 && o.colsample_bytree <= 1))
    throw new Error(`${where}: 'colsample_bytree' must be in (0, 1], got ${o.colsample_bytree}`);
  if (!['binary:logistic', 'reg:squarederror'].includes(o.objective))
    throw new Error(`${where}: 'objective' must be binary:logistic or reg:squarederror, got '${o.objective}'`);
  if (!['', 'logloss', 'auc', 'rmse'].includes(o.eval_metric))
    throw new Error(`${where}: 'eval_metric' must be logloss, auc or rmse, got '${o.eval_metric}'`);
  return o;
}
