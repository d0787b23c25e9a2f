import { Rng } from '../engine/random.js';
import { auc } from '../metrics/auc.js';
import { logloss } from '../metrics/logloss.js';
import { BinMapper } from './binning.js';
import { PhaseTimer, TreeGrower, addTreeToMargin } from './grow.js';
import { checkMatrix, type FeatureMatrix } from './matrix.js';
import { objectiveOf } from './objective.js';
import { resolveBoosterOptions, type BoosterOptions } from './options.js';
import { F_COVER, F_FEATURE, F_GAIN, F_LEFT, F_VALUE, NODE_FIELDS, leafNode, treeStarts } from './tree.js';

/** Labels (and optional sample weights) of a matrix. */
export interface Targets {
  y: ArrayLike<number>;
  weight?: ArrayLike<number>;
}

/** One round of the training log. */
export interface RoundLog {
  round: number;
  /** Validation metric after this round (null without a validation set). */
  valid: number | null;
}

/** What fitting returns besides the booster. */
export interface FitReport {
  rounds: RoundLog[];
  /** Rounds kept (best round + 1 with early stopping). */
  bestIteration: number;
  metric: 'logloss' | 'auc' | 'rmse';
  stoppedEarly: boolean;
  seconds: number;
  /** Where the time went: per phase wall, CPU, pool wait and worker time (PhaseTimer). */
  phases: PhaseTimer;
}

/** Per-feature importance: splits using it, total and mean gain, total cover. */
export interface FeatureImportance {
  feature: string;
  splits: number;
  totalGain: number;
  meanGain: number;
  totalCover: number;
}

/**
 * A trained ensemble of regression trees (packed as in tree.ts) over named features:
 * margin(x) = baseMargin + Σ_t leafValue_t(x); for binary:logistic the probability is σ(margin).
 */
export class Booster {
  /** Node offset of every tree (and the total at the end). */
  readonly starts: Int32Array;

  constructor(
    /** Packed nodes of all trees. */
    readonly nodes: Float32Array,
    /** Leaves of each tree. */
    readonly leafCounts: number[],
    /** Margin before any tree. */
    readonly baseMargin: number,
    /** Feature names, in matrix column order. */
    readonly featureNames: string[],
    readonly objective: BoosterOptions['objective'],
  ) {
    this.starts = treeStarts(leafCounts);
    if (nodes.length !== this.starts[leafCounts.length]! * NODE_FIELDS) {
      throw new Error(`packed trees hold ${nodes.length / NODE_FIELDS} nodes, leaf counts imply ${this.starts[leafCounts.length]}`);
    }
  }

  /** Number of trees. */
  get numTrees(): number {
    return this.leafCounts.length;
  }

  private columnsOf(m: FeatureMatrix) {
    checkMatrix(m, 'booster input');
    if (m.names.length !== this.featureNames.length || m.names.some((n, i) => n !== this.featureNames[i])) {
      throw new Error(`booster input has features [${m.names.join(', ')}], the trees were trained on [${this.featureNames.join(', ')}]`);
    }
    return m.columns;
  }

  /** Margins (log-odds for binary:logistic) of every row. */
  predictMargin(m: FeatureMatrix): Float64Array {
    const cols = this.columnsOf(m);
    const out = new Float64Array(m.rows).fill(this.baseMargin);
    for (let t = 0; t < this.numTrees; t++) {
      const start = this.starts[t]!;
      for (let r = 0; r < m.rows; r++) out[r] = out[r]! + this.nodes[leafNode(this.nodes, start, cols, r) * NODE_FIELDS + F_VALUE]!;
    }
    return out;
  }

  /** Predictions: probabilities (binary:logistic) or values (reg:squarederror). */
  predict(m: FeatureMatrix): Float64Array {
    const obj = objectiveOf(this.objective);
    return this.predictMargin(m).map((v) => obj.transform(v));
  }

  /** Leaf index (0…leafCounts[t]−1) reached by every row in every tree: [rows × trees], row-major. */
  predictLeaves(m: FeatureMatrix): Int32Array {
    const cols = this.columnsOf(m);
    const T = this.numTrees;
    const out = new Int32Array(m.rows * T);
    for (let t = 0; t < T; t++) {
      const start = this.starts[t]!;
      for (let r = 0; r < m.rows; r++) out[r * T + t] = this.nodes[leafNode(this.nodes, start, cols, r) * NODE_FIELDS + F_LEFT]!;
    }
    return out;
  }

  /** Depth of every tree (a single leaf has depth 0). */
  depths(): number[] {
    const out: number[] = [];
    for (let t = 0; t < this.numTrees; t++) {
      const start = this.starts[t]!;
      const walk = (n: number): number => {
        const o = (start + n) * NODE_FIELDS;
        if (this.nodes[o + F_FEATURE]! < 0) return 0;
        return 1 + Math.max(walk(this.nodes[o + F_LEFT]!), walk(this.nodes[o + F_LEFT + 1]!));
      };
      out.push(walk(0));
    }
    return out;
  }

  /** Importance of every feature used in at least one split, by total gain (descending). */
  importance(): FeatureImportance[] {
    const F = this.featureNames.length;
    const splits = new Float64Array(F),
      gain = new Float64Array(F),
      cover = new Float64Array(F);
    for (let n = 0; n < this.nodes.length / NODE_FIELDS; n++) {
      const o = n * NODE_FIELDS;
      const f = this.nodes[o + F_FEATURE]!;
      if (f < 0) continue;
      splits[f] = splits[f]! + 1;
      gain[f] = gain[f]! + this.nodes[o + F_GAIN]!;
      cover[f] = cover[f]! + this.nodes[o + F_COVER]!;
    }
    const out: FeatureImportance[] = [];
    for (let f = 0; f < F; f++) {
      if (splits[f] === 0) continue;
      out.push({ feature: this.featureNames[f]!, splits: splits[f]!, totalGain: gain[f]!, meanGain: gain[f]! / splits[f]!, totalCover: cover[f]! });
    }
    return out.sort((a, b) => b.totalGain - a.totalGain || a.feature.localeCompare(b.feature));
  }

  /**
   * Fits trees by second-order gradient boosting (XGBoost's algorithm with the hist tree
   * method): quantile bins fitted on `train`, per round gradients and Hessians of the
   * objective, row and column subsampling, one tree grown on the histograms, leaf values
   * shrunk by the learning rate. With a validation set and early_stopping_rounds > 0, stops
   * when the validation metric has not improved for that many rounds and keeps the trees up
   * to the best round.
   */
  static fit(
    train: FeatureMatrix,
    targets: Targets,
    options: Partial<BoosterOptions> = {},
    extra: { valid?: { matrix: FeatureMatrix; targets: Targets }; log?: (round: RoundLog) => void } = {},
  ): { booster: Booster; report: FitReport } {
    const t0 = performance.now();
    const o = resolveBoosterOptions(options as Record<string, unknown>);
    checkMatrix(train, 'training matrix');
    const n = train.rows,
      F = train.columns.length;
    if (targets.y.length !== n) throw new Error(`training matrix has ${n} rows but ${targets.y.length} labels`);
    if (o.objective === 'binary:logistic') {
      for (let i = 0; i < n; i++)
        if (targets.y[i] !== 0 && targets.y[i] !== 1) throw new Error(`binary:logistic needs labels 0 or 1; row ${i} has ${targets.y[i]}`);
    }
    const valid = extra.valid;
    if (valid !== undefined) {
      checkMatrix(valid.matrix, 'validation matrix');
      if (valid.matrix.names.join('\u0000') !== train.names.join('\u0000'))
        throw new Error('validation matrix features differ from the training matrix');
      if (valid.targets.y.length !== valid.matrix.rows)
        throw new Error(`validation matrix has ${valid.matrix.rows} rows but ${valid.targets.y.length} labels`);
    }
    if (o.early_stopping_rounds > 0 && valid === undefined) throw new Error('early_stopping_rounds needs a validation set');
    const obj = objectiveOf(o.objective);
    const metric = o.eval_metric !== '' ? o.eval_metric : o.objective === 'binary:logistic' ? 'logloss' : 'rmse';
    const higherBetter = metric === 'auc';

    const phases = new PhaseTimer();
    phases.start();
    const bins = BinMapper.fit(train, o.max_bin);
    const binned = bins.transform(train, o.n_jobs);
    phases.lap('binning');
    const base = obj.baseMargin(targets.y, targets.weight);
    // Labels and weights as typed arrays for the gradient kernels (0/1 labels are exact in float32).
    const y = o.objective === 'binary:logistic' ? Float32Array.from(targets.y) : Float64Array.from(targets.y);
    const weight = targets.weight === undefined ? undefined : Float64Array.from(targets.weight);
    const margin = new Float64Array(n).fill(base);
    const g = new Float32Array(n),
      h = new Float32Array(n);
    const grower = new TreeGrower(
      binned,
      bins,
      n,
      {
        lambda: o.reg_lambda,
        gamma: o.gamma,
        minChildWeight: o.min_child_weight,
        maxDepth: o.max_depth,
        maxLeaves: o.max_leaves,
        policy: o.grow_policy,
        learningRate: o.learning_rate,
        threads: o.n_jobs,
      },
      phases,
    );
    const rng = Rng.derive(o.random_state, 'gbdt');
    const allRows = Int32Array.from({ length: n }, (_, i) => i);
    const nCols = Math.max(1, Math.round(F * o.colsample_bytree));
    const trees: Float32Array[] = [];
    const leafCounts: number[] = [];
    const rounds: RoundLog[] = [];
    const validMargin = valid === undefined ? null : new Float64Array(valid.matrix.rows).fill(base);
    let best = -1,
      bestScore = higherBetter ? -Infinity : Infinity,
      stoppedEarly = false;

    for (let t = 0; t < o.n_estimators; t++) {
      phases.start();
      obj.gradients(margin, y, weight, g, h, o.n_jobs);
      phases.lap('gradients');
      let rows = allRows;
      if (o.subsample < 1) {
        const picked: number[] = [];
        for (let i = 0; i < n; i++) if (rng.next() < o.subsample) picked.push(i);
        rows = Int32Array.from(picked);
      } else {
        rows = allRows.slice();
      }
      let features: Int32Array | null = null;
      if (nCols < F) {
        const perm = rng.shuffle(Int32Array.from({ length: F }, (_, i) => i));
        features = perm.subarray(0, nCols).sort();
      }
      const tree = grower.grow(g, h, rows, features);
      phases.start();
      addTreeToMargin(tree, binned, bins, margin, o.subsample === 1, o.n_jobs);
      phases.lap('marginUpdate');
      trees.push(tree.nodes);
      leafCounts.push(tree.leaves);

      let score: number | null = null;
      if (valid !== undefined && validMargin !== null) {
        const cols = valid.matrix.columns;
        for (let r = 0; r < valid.matrix.rows; r++)
          validMargin[r] = validMargin[r]! + tree.nodes[leafNode(tree.nodes, 0, cols, r) * NODE_FIELDS + F_VALUE]!;
        score = evalMetric(metric, validMargin, valid.targets, obj.transform);
        phases.lap('validation');
        if (higherBetter ? score > bestScore : score < bestScore) {
          bestScore = score;
          best = t;
        }
      } else {
        best = t;
      }
      const log = { round: t, valid: score };
      rounds.push(log);
      extra.log?.(log);
      if (o.early_stopping_rounds > 0 && t - best >= o.early_stopping_rounds) {
        stoppedEarly = true;
        break;
      }
    }
    const keep = o.early_stopping_rounds > 0 ? best + 1 : trees.length;
    const total = trees.slice(0, keep).reduce((s, x) => s + x.length, 0);
    const packed = new Float32Array(total);
    let off = 0;
    for (const x of trees.slice(0, keep)) {
      packed.set(x, off);
      off += x.length;
    }
    const booster = new Booster(packed, leafCounts.slice(0, keep), base, train.names.slice(), o.objective);
    return { booster, report: { rounds, bestIteration: keep, metric, stoppedEarly, seconds: (performance.now() - t0) / 1000, phases } };
  }
}

/** Validation metric of margins. */
function evalMetric(metric: 'logloss' | 'auc' | 'rmse', margin: Float64Array, t: Targets, transform: (m: number) => number): number {
  const pred = margin.map(transform);
  if (metric === 'auc') return auc(pred, t.y, t.weight);
  if (metric === 'logloss') return logloss(pred, t.y, t.weight);
  let s = 0,
    sw = 0;
  for (let i = 0; i < pred.length; i++) {
    const w = t.weight === undefined ? 1 : t.weight[i]!;
    s += w * (pred[i]! - t.y[i]!) ** 2;
    sw += w;
  }
  return Math.sqrt(s / sw);
}
