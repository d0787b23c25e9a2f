/**
 * Behaviour-sequence CTR data (what DIN's candidate attention exploits): each row is a user,
 * the user's recent history of items (with their categories) and a candidate item; the click
 * probability depends on how similar the candidate is to the MOST similar history items
 * (a soft maximum over latent dot products), which mean pooling of the history blurs when a
 * user has several interests.
 *
 *   items: category c(i) ~ uniform over C; e_i = (ρ·μ_{c(i)} + √(1 − ρ²)·ε_i)/√k, μ, ε ~ N(0, I_k)
 *   users: interests = m_u distinct categories (Zipf(C, 1) by popularity), m_u ~ U{1..maxInterests}
 *   row:   user u ~ Zipf(U, s_user); history length L ~ U{minLen..maxLen};
 *          each history item: a uniform interest c of u, then item ~ Zipf over c's items (s_item)
 *          candidate: with prob q from a uniform interest of u (same rule), else item ~ Zipf(I, s_item)
 *   s_j = ⟨e_cand, e_{h_j}⟩,  r = T·ln((1/L)·Σ_j exp(s_j / T))     (soft max of similarities)
 *   logit = b + γ·r + w_item[cand] + w_user[u],  w ~ N(0, τ²);  click ~ Bernoulli(σ(logit))
 * Diagnostics per split include what category-level knowledge reaches (the same soft maximum
 * and mean over the category centres ē_c = mean item vector of c, plus the biases); the
 * defaults keep that soft maximum within 0.02 of the oracle (docs/synthetic.md says why).
 */
import { join } from 'node:path';
import { Rng } from '../../engine/random.js';
import { auc } from '../../metrics/auc.js';
import type { SchemaInput } from '../../features/schema.js';
import {
  CategoryItemIndex,
  finishDataset,
  fmtProb,
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
import { ByteWriter, COMMA, DIGIT_0, DIGIT_1, NEWLINE, PIPE } from './byte-writer.js';
import { ZipfSampler } from './zipf.js';

/** Parameters of the sequence generator (defaults in SEQUENCE_DEFAULTS). */
export interface SequenceSpec {
  users: number;
  items: number;
  categories: number;
  /** k: latent dimension of items. */
  hiddenDim: number;
  /** ρ: how close an item is to its category centre (0…1). */
  categoryCorrelation: number;
  /** Largest number of interest categories of a user (each user has 1…maxInterests). */
  maxInterests: number;
  minLen: number;
  maxLen: number;
  /** q: probability that the candidate comes from one of the user's interests. */
  candidateFromInterest: number;
  /** T: temperature of the soft maximum over history similarities. */
  temperature: number;
  /** γ: logit weight of the relevance r. */
  relevanceWeight: number;
  /** τ_item, τ_user: std of the item and user first-order biases. */
  itemBiasStd: number;
  userBiasStd: number;
  /** Zipf exponents of user activity and item popularity. */
  userZipf: number;
  itemZipf: number;
  targetRate: number;
  splitFractions: readonly [number, number, number];
}

/** Defaults of the 'sequence' preset. */
export const SEQUENCE_DEFAULTS: SequenceSpec = {
  users: 5000,
  items: 4000,
  categories: 40,
  hiddenDim: 8,
  categoryCorrelation: 0.95,
  maxInterests: 6,
  minLen: 5,
  maxLen: 30,
  candidateFromInterest: 0.5,
  temperature: 0.1,
  relevanceWeight: 4,
  itemBiasStd: 0.3,
  userBiasStd: 0.3,
  userZipf: 0.7,
  itemZipf: 1.0,
  targetRate: 0.3,
  splitFractions: [0.8, 0.1, 0.1],
};

/** The drawn parameters of a sequence dataset. */
export class SequenceModel {
  readonly k: number;
  /** Item vectors [I × k], categories per item, biases. */
  readonly emb: Float64Array;
  readonly itemCat: Int32Array;
  readonly itemBias: Float64Array;
  readonly userBias: Float64Array;
  /** Category centres as the data shows them: the mean item vector of each category [C × k]. */
  readonly catMean: Float64Array;
  /** Items of each category, most popular first, with their Zipf samplers. */
  readonly catIndex: CategoryItemIndex;
  /** Interests per user (CSR). */
  readonly interests: Int32Array;
  readonly interestStart: Int32Array;
  readonly userSampler: ZipfSampler;
  readonly itemSampler: ZipfSampler;
  bias = 0;

  constructor(
    readonly spec: SequenceSpec,
    seed: number,
  ) {
    const s = spec;
    for (const key of ['users', 'items', 'categories', 'hiddenDim', 'maxInterests', 'minLen', 'maxLen'] as const) {
      if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`sequence: ${key} must be a positive integer, got ${s[key]}`);
    }
    if (s.minLen > s.maxLen) throw new Error(`sequence: minLen ${s.minLen} > maxLen ${s.maxLen}`);
    if (s.maxInterests > s.categories) throw new Error(`sequence: maxInterests ${s.maxInterests} > categories ${s.categories}`);
    if (s.items < s.categories) throw new Error(`sequence: items ${s.items} < categories ${s.categories}`);
    const rng = Rng.derive(seed, 'sequence:params');
    const k = (this.k = s.hiddenDim);
    const centres = new Float64Array(s.categories * k);
    for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
    // Categories: every category gets at least one item, the rest uniformly.
    this.itemCat = new Int32Array(s.items);
    for (let i = 0; i < s.items; i++) this.itemCat[i] = i < s.categories ? i : rng.int(s.categories);
    rng.shuffle(this.itemCat);
    const rho = s.categoryCorrelation;
    const noise = Math.sqrt(1 - rho * rho);
    const scale = 1 / Math.sqrt(k);
    this.emb = new Float64Array(s.items * k);
    for (let i = 0; i < s.items; i++) {
      const c = this.itemCat[i]!;
      for (let d = 0; d < k; d++) this.emb[i * k + d] = (rho * centres[c * k + d]! + noise * rng.normal()) * scale;
    }
    this.catMean = new Float64Array(s.categories * k);
    const perCat = new Int32Array(s.categories);
    for (let i = 0; i < s.items; i++) {
      const c = this.itemCat[i]!;
      perCat[c]!++;
      for (let d = 0; d < k; d++) this.catMean[c * k + d]! += this.emb[i * k + d]!;
    }
    for (let c = 0; c < s.categories; c++) for (let d = 0; d < k; d++) this.catMean[c * k + d]! /= perCat[c]!;
    this.itemBias = new Float64Array(s.items);
    for (let i = 0; i < s.items; i++) this.itemBias[i] = s.itemBiasStd * rng.normal();
    this.userBias = new Float64Array(s.users);
    for (let u = 0; u < s.users; u++) this.userBias[u] = s.userBiasStd * rng.normal();
    // Item popularity rank = item index (Zipf over all items); within a category, the same order.
    this.catIndex = new CategoryItemIndex(this.itemCat, s.categories, s.itemZipf);
    // User interests: distinct categories by category popularity.
    const catPop = new ZipfSampler(s.categories, 1);
    this.interestStart = new Int32Array(s.users + 1);
    const ints: number[] = [];
    for (let u = 0; u < s.users; u++) {
      const m = 1 + rng.int(s.maxInterests);
      const chosen = new Set<number>();
      while (chosen.size < m) chosen.add(catPop.sample(rng));
      for (const c of chosen) ints.push(c);
      this.interestStart[u + 1] = ints.length;
    }
    this.interests = Int32Array.from(ints);
    this.userSampler = new ZipfSampler(s.users, s.userZipf);
    this.itemSampler = new ZipfSampler(s.items, s.itemZipf);
    this.bias = pilotBias(
      seed,
      'sequence:pilot',
      s.targetRate,
      () => this.newRow(),
      (rng, row) => this.sampleRow(rng, row),
      (row) => this.logitWithoutBias(row),
    );
  }

  /** A reusable row buffer. */
  newRow(): SequenceRow {
    return { user: 0, cand: 0, len: 0, hist: new Int32Array(this.spec.maxLen), relevance: 0, meanSim: 0, catRelevance: 0, catMeanSim: 0 };
  }

  /** Draws a user, a history and a candidate; computes relevance r and mean similarity. */
  sampleRow(rng: Rng, row: SequenceRow): void {
    const s = this.spec;
    const u = (row.user = this.userSampler.sample(rng));
    const i0 = this.interestStart[u]!;
    const m = this.interestStart[u + 1]! - i0;
    const len = (row.len = s.minLen + rng.int(s.maxLen - s.minLen + 1));
    for (let j = 0; j < len; j++) row.hist[j] = this.itemOf(this.interests[i0 + rng.int(m)]!, rng);
    row.cand = rng.next() < s.candidateFromInterest ? this.itemOf(this.interests[i0 + rng.int(m)]!, rng) : this.itemSampler.sample(rng);
    const k = this.k;
    const e = this.emb;
    const oc = row.cand * k;
    const T = s.temperature;
    let maxSim = -Infinity;
    const sims = this.simBuf(len);
    let mean = 0;
    for (let j = 0; j < len; j++) {
      const oh = row.hist[j]! * k;
      let dot = 0;
      for (let d = 0; d < k; d++) dot += e[oc + d]! * e[oh + d]!;
      sims[j] = dot;
      mean += dot;
      if (dot > maxSim) maxSim = dot;
    }
    // r = T·ln(mean exp(s_j/T)), computed stably around the maximum.
    let acc = 0;
    for (let j = 0; j < len; j++) acc += Math.exp((sims[j]! - maxSim) / T);
    row.relevance = maxSim + T * Math.log(acc / len);
    row.meanSim = mean / len;
    // The same two statistics at category level (category centres instead of item vectors).
    const cm = this.catMean;
    const occ = this.itemCat[row.cand]! * k;
    let catMax = -Infinity,
      catMean = 0;
    for (let j = 0; j < len; j++) {
      const oh = this.itemCat[row.hist[j]!]! * k;
      let dot = 0;
      for (let d = 0; d < k; d++) dot += cm[occ + d]! * cm[oh + d]!;
      sims[j] = dot;
      catMean += dot;
      if (dot > catMax) catMax = dot;
    }
    let catAcc = 0;
    for (let j = 0; j < len; j++) catAcc += Math.exp((sims[j]! - catMax) / T);
    row.catRelevance = catMax + T * Math.log(catAcc / len);
    row.catMeanSim = catMean / len;
  }

  /** γ·r + w_item + w_user. */
  logitWithoutBias(row: SequenceRow): number {
    return this.spec.relevanceWeight * row.relevance + this.itemBias[row.cand]! + this.userBias[row.user]!;
  }

  private itemOf(category: number, rng: Rng): number {
    return this.catIndex.sample(category, rng);
  }

  private sims = new Float64Array(0);
  private simBuf(n: number): Float64Array {
    if (this.sims.length < n) this.sims = new Float64Array(n);
    return this.sims;
  }
}

/** One generated row (reused between rows). */
export interface SequenceRow {
  user: number;
  cand: number;
  len: number;
  hist: Int32Array;
  /** r: soft maximum of the candidate–history similarities. */
  relevance: number;
  /** Mean of the candidate–history similarities (what mean pooling sees). */
  meanSim: number;
  /** r and the mean similarity computed from category centres only (what category embeddings can carry). */
  catRelevance: number;
  catMeanSim: number;
}

/** Writes a sequence dataset (CSV only): train/valid/test, schema.json, meta.json. */
export function generateSequence(spec: SequenceSpec, opts: GenerateOptions, preset = 'sequence'): SynthMeta {
  const started = performance.now();
  const format = prepare(opts, ['csv']);
  const model = new SequenceModel(spec, opts.seed);
  const sizes = splitSizes(opts.rows, opts.splitFractions ?? spec.splitFractions);
  const row = model.newRow();
  const splits = {} as Record<SplitName, SplitMeta>;
  SPLITS.forEach((split, si) => {
    const rng = Rng.derive(opts.seed, `sequence:rows:${split}`);
    const file = `${split}.csv`;
    const out = new ByteWriter(join(opts.outDir, file));
    out.ascii(SEQUENCE_HEADER + (opts.withTruth ? ',p_true' : '') + '\n');
    const n = sizes[si]!;
    const oracle = new OracleAccumulator();
    // Diagnostics on up to 200k rows: AUC of r alone, of mean similarity, of biases alone.
    const nd = Math.min(n, 200_000);
    const rel = new Float64Array(nd);
    const meanSim = new Float64Array(nd);
    const biasOnly = new Float64Array(nd);
    const catSoft = new Float64Array(nd);
    const catMean = new Float64Array(nd);
    const labels = new Uint8Array(nd);
    for (let r = 0; r < n; r++) {
      model.sampleRow(rng, row);
      const p = sigmoid(model.bias + model.logitWithoutBias(row));
      const y = rng.next() < p ? 1 : 0;
      oracle.add(p, y);
      if (r < nd) {
        rel[r] = row.relevance;
        meanSim[r] = row.meanSim;
        biasOnly[r] = model.itemBias[row.cand]! + model.userBias[row.user]!;
        catSoft[r] = spec.relevanceWeight * row.catRelevance + biasOnly[r]!;
        catMean[r] = spec.relevanceWeight * row.catMeanSim + biasOnly[r]!;
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
        relevanceOnlyAuc: auc(rel, labels),
        meanPoolingSimilarityAuc: auc(meanSim, labels),
        biasesOnlyAuc: auc(biasOnly, labels),
        categorySoftMaxAuc: auc(catSoft, labels),
        categoryMeanAuc: auc(catMean, labels),
        diagnosticRows: nd,
      },
    };
    opts.onSplit?.(split, n);
  });
  const schema = sequenceSchema(spec.maxLen);
  return finishDataset(opts, {
    preset,
    generator: 'sequence (src/data/synth/sequence.ts)',
    description:
      'User behaviour sequences: click probability = σ(b + γ·softmax-similarity(candidate, history) + item and user biases); users have several interest categories, so mean pooling of the history dilutes the signal that candidate attention (DIN) recovers',
    format,
    schema: schema,
    splits,
    params: { ...spec, bias: model.bias },
    started,
  });
}

/** CSV header of the sequence generators (histories oldest first, `|`-joined). */
export const SEQUENCE_HEADER = 'label,user_id,item_id,cate_id,hist_item_id,hist_cate_id';

/** Writes one CSV row of a sequence dataset: ids 0-based in, 1-based out (0 stays free for padding). */
export function writeSequenceRow(
  out: ByteWriter,
  label: number,
  user: number,
  cand: number,
  hist: Int32Array,
  len: number,
  itemCat: Int32Array,
  pTrue: number | null,
): void {
  out.byte(label === 1 ? DIGIT_1 : DIGIT_0);
  out.byte(COMMA);
  out.uint(user + 1);
  out.byte(COMMA);
  out.uint(cand + 1);
  out.byte(COMMA);
  out.uint(itemCat[cand]! + 1);
  out.byte(COMMA);
  for (let j = 0; j < len; j++) {
    if (j > 0) out.byte(PIPE);
    out.uint(hist[j]! + 1);
  }
  out.byte(COMMA);
  for (let j = 0; j < len; j++) {
    if (j > 0) out.byte(PIPE);
    out.uint(itemCat[hist[j]!]! + 1);
  }
  if (pTrue !== null) out.ascii(',' + fmtProb(pTrue));
  out.byte(NEWLINE);
}

/** Schema of the sequence generators' CSV: both histories share their target's table, mean-pooled by default. */
export function sequenceSchema(maxLen: number): SchemaInput {
  return {
    dataset: { format: 'csv', header: true },
    columns: [
      { name: 'label', role: 'label' },
      { name: 'user_id', role: 'sparse', tag: 'user' },
      { name: 'item_id', role: 'sparse', tag: 'item' },
      { name: 'cate_id', role: 'sparse', tag: 'item' },
      // Mean pooling: what every registered model consumes; a sequence model (DIN) will ask for pooling 'attention'.
      { name: 'hist_item_id', role: 'sequence', sep: '|', maxLen, shareWith: 'item_id', pooling: 'mean', tag: 'user' },
      { name: 'hist_cate_id', role: 'sequence', sep: '|', maxLen, shareWith: 'cate_id', pooling: 'mean', tag: 'user' },
      { name: 'user_id', role: 'group' },
    ],
  };
}
