/**
 * Behaviour sequences where the click depends on WHETHER the candidate's category occurs among
 * the user's behaviours — an any-match over many diverse behaviours (the "diverse interests,
 * local activation" situation DIN's paper motivates) — plus a small recency term for the
 * user's current interest (what DIEN's interest-evolution GRU can read off the order).
 *
 *   items:  category c(i) uniform over C (each category has ≥ 1 item); inside a category,
 *           items by Zipf(n_c, s_item) over their index order. No latent vectors: categories
 *           are unrelated symbols, so nothing low-rank ties one category to another.
 *   users:  m_u ~ U{minInterests … maxInterests} distinct categories, uniform over C
 *   row:    u uniform over U; L ~ U{minLen … maxLen}; the history (oldest first) is a sequence of
 *           runs: the first behaviour's category is a uniform interest of u, and before each
 *           later behaviour the user switches, with probability 1/R, to a uniform interest of u
 *           (interest drift; R = meanRunLength); each behaviour is an item of its category.
 *           Candidate category: with probability q the category of a uniform history position,
 *           else uniform over C; the candidate item is an item of that category.
 *   logit = b + γ_m·[c(cand) ∈ {c(h_1) … c(h_L)}] + γ_r·[c(cand) = c(h_L)] + w_item[cand],
 *           w ~ N(0, τ²);  click ~ Bernoulli(σ(logit))
 *
 * A mean-pooled history holds each category in proportion to its share of the behaviours: a
 * matching category that is 1 of 10+ interests is a small fraction of the mean, mixed with
 * the other categories' embeddings (C = 100 symbols in a 16-dimensional embedding cannot be
 * mutually orthogonal), so "is the candidate's category in there" is noisy; an attention unit
 * compares the candidate with each behaviour on its own. The recency term needs the order
 * (which behaviour is the last), which DIN's attention does not see; `diagnostics.orderFreeAuc`
 * is the AUC of the logit without it (a lower bound on what an order-free model can reach).
 */
import { join } from 'node:path';
import { Rng } from '../../engine/random.js';
import { auc } from '../../metrics/auc.js';
import {
  CategoryItemIndex,
  finishDataset,
  pilotBias,
  prepare,
  sigmoid,
  splitSizes,
  SPLITS,
  type GenerateOptions,
  type SplitMeta,
  type SynthMeta,
  type SplitName,
} from './common.js';
import { OracleAccumulator } from './oracle.js';
import { ByteWriter } from './byte-writer.js';
import { SEQUENCE_HEADER, sequenceSchema, writeSequenceRow } from './sequence.js';

/** Parameters of the any-match sequence generator (defaults in SEQUENCE_MATCH_DEFAULTS). */
export interface SequenceMatchSpec {
  users: number;
  items: number;
  categories: number;
  /** Each user has minInterests…maxInterests distinct interest categories. */
  minInterests: number;
  maxInterests: number;
  minLen: number;
  maxLen: number;
  /** R: mean length of a run of behaviours in one interest (switch probability 1/R per step). */
  meanRunLength: number;
  /** q: probability that the candidate's category is that of a uniform history behaviour. */
  candidateFromHistory: number;
  /** γ_m: logit weight of "the candidate's category occurs in the history". */
  matchWeight: number;
  /** γ_r: logit weight of "the candidate's category is the last behaviour's" (current interest). */
  recentWeight: number;
  /** τ: std of the candidate item's first-order bias. */
  itemBiasStd: number;
  /** Zipf exponent of item popularity inside a category. */
  itemZipf: number;
  targetRate: number;
  splitFractions: readonly [number, number, number];
}

/** Defaults of the 'sequence-match' preset. */
export const SEQUENCE_MATCH_DEFAULTS: SequenceMatchSpec = {
  users: 100_000,
  items: 1000,
  categories: 100,
  minInterests: 4,
  maxInterests: 16,
  minLen: 10,
  maxLen: 50,
  meanRunLength: 3,
  candidateFromHistory: 0.5,
  matchWeight: 3,
  recentWeight: 0.5,
  itemBiasStd: 0.5,
  itemZipf: 1.0,
  targetRate: 0.3,
  splitFractions: [0.8, 0.1, 0.1],
};

/** One generated row of the any-match process (reused between rows). */
export interface SequenceMatchRow {
  user: number;
  cand: number;
  len: number;
  hist: Int32Array;
  /** The candidate's category occurs in the history. */
  match: boolean;
  /** The candidate's category is the last behaviour's. */
  recent: boolean;
}

/** The drawn parameters of an any-match sequence dataset. */
export class SequenceMatchModel {
  readonly itemCat: Int32Array;
  readonly itemBias: Float64Array;
  /** Items of each category, most popular first, with their Zipf samplers. */
  readonly catIndex: CategoryItemIndex;
  /** Interests per user (CSR). */
  readonly interests: Int32Array;
  readonly interestStart: Int32Array;
  private readonly seen: Int32Array;
  private stamp = 0;
  bias = 0;

  constructor(
    readonly spec: SequenceMatchSpec,
    seed: number,
  ) {
    const s = spec;
    for (const key of ['users', 'items', 'categories', 'minInterests', 'maxInterests', 'minLen', 'maxLen'] as const) {
      if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`sequence-match: ${key} must be a positive integer, got ${s[key]}`);
    }
    if (s.minLen > s.maxLen) throw new Error(`sequence-match: minLen ${s.minLen} > maxLen ${s.maxLen}`);
    if (s.minInterests > s.maxInterests) throw new Error(`sequence-match: minInterests ${s.minInterests} > maxInterests ${s.maxInterests}`);
    if (s.maxInterests > s.categories) throw new Error(`sequence-match: maxInterests ${s.maxInterests} > categories ${s.categories}`);
    if (s.items < s.categories) throw new Error(`sequence-match: items ${s.items} < categories ${s.categories}`);
    if (!(s.meanRunLength >= 1)) throw new Error(`sequence-match: meanRunLength must be >= 1, got ${s.meanRunLength}`);
    if (!(s.candidateFromHistory >= 0 && s.candidateFromHistory <= 1))
      throw new Error(`sequence-match: candidateFromHistory must be in [0, 1], got ${s.candidateFromHistory}`);
    const rng = Rng.derive(seed, 'sequence-match:params');
    this.itemCat = new Int32Array(s.items);
    for (let i = 0; i < s.items; i++) this.itemCat[i] = i < s.categories ? i : rng.int(s.categories);
    rng.shuffle(this.itemCat);
    this.itemBias = new Float64Array(s.items);
    for (let i = 0; i < s.items; i++) this.itemBias[i] = s.itemBiasStd * rng.normal();
    this.catIndex = new CategoryItemIndex(this.itemCat, s.categories, s.itemZipf);
    this.interestStart = new Int32Array(s.users + 1);
    const ints: number[] = [];
    const chosen = new Set<number>();
    for (let u = 0; u < s.users; u++) {
      const m = s.minInterests + rng.int(s.maxInterests - s.minInterests + 1);
      chosen.clear();
      while (chosen.size < m) chosen.add(rng.int(s.categories));
      for (const c of chosen) ints.push(c);
      this.interestStart[u + 1] = ints.length;
    }
    this.interests = Int32Array.from(ints);
    this.seen = new Int32Array(s.categories);
    this.bias = pilotBias(
      seed,
      'sequence-match:pilot',
      s.targetRate,
      () => this.newRow(),
      (rng, row) => this.sampleRow(rng, row),
      (row) => this.logitWithoutBias(row),
    );
  }

  /** A reusable row buffer. */
  newRow(): SequenceMatchRow {
    return { user: 0, cand: 0, len: 0, hist: new Int32Array(this.spec.maxLen), match: false, recent: false };
  }

  /** Draws a user, a drifting history and a candidate; sets match and recent. */
  sampleRow(rng: Rng, row: SequenceMatchRow): void {
    const s = this.spec;
    const u = (row.user = rng.int(s.users));
    const i0 = this.interestStart[u]!;
    const m = this.interestStart[u + 1]! - i0;
    const len = (row.len = s.minLen + rng.int(s.maxLen - s.minLen + 1));
    const switchProb = 1 / s.meanRunLength;
    const stamp = ++this.stamp;
    let c = this.interests[i0 + rng.int(m)]!;
    for (let j = 0; j < len; j++) {
      if (j > 0 && rng.next() < switchProb) c = this.interests[i0 + rng.int(m)]!;
      row.hist[j] = this.itemOf(c, rng);
      this.seen[c] = stamp;
    }
    const candCat = rng.next() < s.candidateFromHistory ? this.itemCat[row.hist[rng.int(len)]!]! : rng.int(s.categories);
    row.cand = this.itemOf(candCat, rng);
    row.match = this.seen[candCat] === stamp;
    row.recent = this.itemCat[row.hist[len - 1]!] === candCat;
  }

  /** γ_m·match + γ_r·recent + w_item. */
  logitWithoutBias(row: SequenceMatchRow): number {
    return this.orderFreeLogit(row) + (row.recent ? this.spec.recentWeight : 0);
  }

  /** The logit without the recency term: γ_m·match + w_item. */
  orderFreeLogit(row: SequenceMatchRow): number {
    return (row.match ? this.spec.matchWeight : 0) + this.itemBias[row.cand]!;
  }

  private itemOf(category: number, rng: Rng): number {
    return this.catIndex.sample(category, rng);
  }
}

/** Writes an any-match sequence dataset (CSV only, the `sequence` preset's columns): train/valid/test, schema.json, meta.json. */
export function generateSequenceMatch(spec: SequenceMatchSpec, opts: GenerateOptions, preset = 'sequence-match'): SynthMeta {
  const started = performance.now();
  const format = prepare(opts, ['csv']);
  const model = new SequenceMatchModel(spec, opts.seed);
  const sizes = splitSizes(opts.rows, opts.splitFractions ?? spec.splitFractions);
  const row = model.newRow();
  const splits = {} as Record<SplitName, SplitMeta>;
  SPLITS.forEach((split, si) => {
    const rng = Rng.derive(opts.seed, `sequence-match:rows:${split}`);
    const file = `${split}.csv`;
    const out = new ByteWriter(join(opts.outDir, file));
    out.ascii(SEQUENCE_HEADER + (opts.withTruth ? ',p_true' : '') + '\n');
    const n = sizes[si]!;
    const oracle = new OracleAccumulator();
    const nd = Math.min(n, 200_000);
    const orderFree = new Float64Array(nd);
    const biasOnly = new Float64Array(nd);
    const labels = new Uint8Array(nd);
    let matches = 0,
      recents = 0;
    for (let r = 0; r < n; r++) {
      model.sampleRow(rng, row);
      const p = sigmoid(model.bias + model.logitWithoutBias(row));
      const y = rng.next() < p ? 1 : 0;
      oracle.add(p, y);
      if (row.match) matches++;
      if (row.recent) recents++;
      if (r < nd) {
        orderFree[r] = model.orderFreeLogit(row);
        biasOnly[r] = model.itemBias[row.cand]!;
        labels[r] = y;
      }
      writeSequenceRow(out, y, row.user, row.cand, row.hist, row.len, model.itemCat, opts.withTruth ? p : null);
    }
    out.close();
    splits[split] = {
      file,
      rows: n,
      oracle: { label: oracle.result() },
      diagnostics: {
        orderFreeAuc: auc(orderFree, labels),
        biasesOnlyAuc: auc(biasOnly, labels),
        matchRate: n > 0 ? matches / n : 0,
        recentRate: n > 0 ? recents / n : 0,
        diagnosticRows: nd,
      },
    };
    opts.onSplit?.(split, n);
  });
  return finishDataset(opts, {
    preset,
    generator: 'sequence-match (src/data/synth/sequence-match.ts)',
    description:
      "User behaviour sequences with many diverse interests: click probability = σ(b + γ_m·[candidate's category occurs in the history] + γ_r·[it is the last behaviour's] + item bias); an any-match that mean pooling dilutes and candidate attention (DIN) recovers",
    format,
    schema: sequenceSchema(spec.maxLen),
    splits,
    params: { ...spec, bias: model.bias },
    started,
  });
}
