/**
 * Multi-task (click → conversion) data with known probabilities and selection bias, the
 * setting of ESMM: a conversion can only be observed after a click, so conversion = 0 on
 * every non-clicked row, and pCTCVR = pCTR·pCVR over the whole impression space.
 *
 *   items: category c(i) ~ Zipf(C, 1); attractiveness a_i ~ N(0, 1);
 *          quality g_i = ρ_ag·a_i + √(1 − ρ_ag²)·N(0, 1)   (ρ_ag < 0: attractive items convert worse)
 *          ln price_i = π_c(i) + 0.5·N(0, 1), π_c ~ N(3, 1);  q_i ∈ R^k ~ N(0, I/√k)
 *   users: p_u ∈ R^k ~ N(0, I/√k) (so ⟨p_u, q_i⟩ has unit variance); budget β_u ~ N(0, 1);
 *          age group ~ U{1..6}
 *   row:   user ~ Zipf(U, s_user), item ~ Zipf(I, s_item), hour h ~ daily profile, device d ∈ {0,1,2}
 *   ctr logit = b_c + α_a·a_i + α_m·⟨p_u, q_i⟩ + w_hour[h] + w_dev[d]
 *   cvr logit = b_v + β_g·g_i + β_m·⟨p_u, q_i⟩ − β_p·(ln price_i − π_c(i) − 0.5·β_u) + v_dev[d]
 *   click ~ Bernoulli(σ(ctr)); conversion ~ Bernoulli(σ(cvr)) if click, else 0.
 *
 * Selection bias: clicks over-sample attractive items, whose quality (and so CVR) is lower,
 * so a CVR model fit on clicked rows only sees a shifted distribution; the meta reports the
 * mean pCVR over clicked rows and over all rows, the shift of mean attractiveness and quality
 * on clicked rows (in units of their std, 1), the correlation of the two logits, and the CTR
 * and CTCVR AUCs of the true probabilities with the user–item match ⟨p_u, q_i⟩ replaced by
 * its mean 0 (what a model that cannot learn the match can reach at best: the match is a
 * k-dimensional inner product over user and item ids, which MLPs over concatenated
 * embeddings learn slowly).
 */
import { join } from 'node:path';
import { Rng } from '../../engine/random.js';
import type { SchemaInput } from '../../features/schema.js';
import {
  finishDataset,
  fmtProb,
  prepare,
  sigmoid,
  solveBias,
  splitSizes,
  SPLITS,
  type GenerateOptions,
  type SplitMeta,
  type SynthMeta,
  type SplitName,
} from './common.js';
import { OracleAccumulator } from './oracle.js';
import { ByteWriter, COMMA, NEWLINE } from './byte-writer.js';
import { ZipfSampler } from './zipf.js';

/** Parameters of the multi-task generator (defaults in MULTITASK_DEFAULTS). */
export interface MultitaskSpec {
  users: number;
  items: number;
  categories: number;
  hiddenDim: number;
  /** ρ_ag: correlation of item attractiveness (CTR) and quality (CVR). */
  attractQualityCorr: number;
  /** α_a, α_m: CTR weights of attractiveness and user–item match. */
  ctrAttract: number;
  ctrMatch: number;
  /** β_g, β_m, β_p: CVR weights of quality, match and price. */
  cvrQuality: number;
  cvrMatch: number;
  cvrPrice: number;
  /** Std of the hour and device effects. */
  contextStd: number;
  userZipf: number;
  itemZipf: number;
  /** Target click rate over impressions and conversion rate over clicks. */
  targetCtr: number;
  targetCvr: number;
  splitFractions: readonly [number, number, number];
}

/** Defaults of the 'multitask' preset. */
export const MULTITASK_DEFAULTS: MultitaskSpec = {
  users: 5000,
  items: 3000,
  categories: 30,
  hiddenDim: 8,
  attractQualityCorr: -0.6,
  ctrAttract: 0.8,
  ctrMatch: 0.8,
  cvrQuality: 1.0,
  cvrMatch: 0.6,
  cvrPrice: 0.8,
  contextStd: 0.3,
  userZipf: 0.7,
  itemZipf: 1.0,
  targetCtr: 0.2,
  targetCvr: 0.2,
  splitFractions: [0.8, 0.1, 0.1],
};

/** Relative frequency of each hour of the day (evening peak). */
const HOUR_PROFILE = Array.from({ length: 24 }, (_, h) => 1 + 0.8 * Math.sin(((h - 14) / 24) * 2 * Math.PI) + (h >= 19 && h <= 22 ? 0.8 : 0));
const DEVICE_PROBS = [0.6, 0.3, 0.1];

/** The drawn parameters of a multi-task dataset. */
export class MultitaskModel {
  readonly k: number;
  readonly itemCat: Int32Array;
  readonly attract: Float64Array;
  readonly quality: Float64Array;
  readonly logPrice: Float64Array;
  readonly catPrice: Float64Array;
  /** exp(ln price) with 2 decimals, as written. */
  readonly priceText: string[];
  readonly itemVec: Float64Array;
  readonly userVec: Float64Array;
  readonly budget: Float64Array;
  readonly userAge: Int32Array;
  readonly hourEffect: Float64Array;
  readonly devEffectCtr: Float64Array;
  readonly devEffectCvr: Float64Array;
  readonly userSampler: ZipfSampler;
  readonly itemSampler: ZipfSampler;
  private readonly hourCdf: Float64Array;
  ctrBias = 0;
  cvrBias = 0;

  constructor(
    readonly spec: MultitaskSpec,
    seed: number,
  ) {
    const s = spec;
    for (const key of ['users', 'items', 'categories', 'hiddenDim'] as const) {
      if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`multitask: ${key} must be a positive integer, got ${s[key]}`);
    }
    if (!(Math.abs(s.attractQualityCorr) <= 1)) throw new Error('multitask: attractQualityCorr must be in [-1, 1]');
    const rng = Rng.derive(seed, 'multitask:params');
    const k = (this.k = s.hiddenDim);
    const vs = 1 / Math.sqrt(Math.sqrt(k));
    const catSampler = new ZipfSampler(s.categories, 1);
    this.catPrice = Float64Array.from({ length: s.categories }, () => 3 + rng.normal());
    this.itemCat = new Int32Array(s.items);
    this.attract = new Float64Array(s.items);
    this.quality = new Float64Array(s.items);
    this.logPrice = new Float64Array(s.items);
    this.itemVec = new Float64Array(s.items * k);
    const rho = s.attractQualityCorr;
    for (let i = 0; i < s.items; i++) {
      const c = (this.itemCat[i] = catSampler.sample(rng));
      const a = (this.attract[i] = rng.normal());
      this.quality[i] = rho * a + Math.sqrt(1 - rho * rho) * rng.normal();
      this.logPrice[i] = this.catPrice[c]! + 0.5 * rng.normal();
      for (let d = 0; d < k; d++) this.itemVec[i * k + d] = vs * rng.normal();
    }
    this.priceText = Array.from(this.logPrice, (lp) => Math.exp(lp).toFixed(2));
    this.userVec = new Float64Array(s.users * k);
    this.budget = new Float64Array(s.users);
    this.userAge = new Int32Array(s.users);
    for (let u = 0; u < s.users; u++) {
      for (let d = 0; d < k; d++) this.userVec[u * k + d] = vs * rng.normal();
      this.budget[u] = rng.normal();
      this.userAge[u] = 1 + rng.int(6);
    }
    this.hourEffect = Float64Array.from({ length: 24 }, () => s.contextStd * rng.normal());
    this.devEffectCtr = Float64Array.from({ length: 3 }, () => s.contextStd * rng.normal());
    this.devEffectCvr = Float64Array.from({ length: 3 }, () => s.contextStd * rng.normal());
    this.userSampler = new ZipfSampler(s.users, s.userZipf);
    this.itemSampler = new ZipfSampler(s.items, s.itemZipf);
    const tot = HOUR_PROFILE.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.hourCdf = Float64Array.from(HOUR_PROFILE, (w) => (acc += w / tot));
    // Pilot: solve b_c for the CTR, then b_v for the CVR among clicks (weights pCTR).
    const pilot = Rng.derive(seed, 'multitask:pilot');
    const row = newMultitaskRow();
    const n = 20000;
    const zc = new Float64Array(n);
    const zv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.sampleRow(pilot, row);
      zc[i] = row.ctrLogit;
      zv[i] = row.cvrLogit;
    }
    this.ctrBias = solveBias(zc, s.targetCtr);
    const w = Float64Array.from(zc, (z) => sigmoid(this.ctrBias + z));
    this.cvrBias = solveBias(zv, s.targetCvr, w);
  }

  /** Draws user, item and context; fills the logits without their biases. */
  sampleRow(rng: Rng, row: MultitaskRow): void {
    const s = this.spec;
    const k = this.k;
    const u = (row.user = this.userSampler.sample(rng));
    const i = (row.item = this.itemSampler.sample(rng));
    const x = rng.next();
    let h = 0;
    while (h < 23 && this.hourCdf[h]! < x) h++;
    row.hour = h;
    const y = rng.next();
    row.device = y < DEVICE_PROBS[0]! ? 0 : y < DEVICE_PROBS[0]! + DEVICE_PROBS[1]! ? 1 : 2;
    let dot = 0;
    for (let d = 0; d < k; d++) dot += this.userVec[u * k + d]! * this.itemVec[i * k + d]!;
    const match = (row.match = dot);
    row.ctrLogit = s.ctrAttract * this.attract[i]! + s.ctrMatch * match + this.hourEffect[h]! + this.devEffectCtr[row.device]!;
    row.cvrLogit =
      s.cvrQuality * this.quality[i]! +
      s.cvrMatch * match -
      s.cvrPrice * (this.logPrice[i]! - this.catPrice[this.itemCat[i]!]! - 0.5 * this.budget[u]!) +
      this.devEffectCvr[row.device]!;
  }
}

/** One generated row (reused). */
export interface MultitaskRow {
  user: number;
  item: number;
  hour: number;
  device: number;
  ctrLogit: number;
  cvrLogit: number;
  /** ⟨p_u, q_i⟩, the user–item match in both logits. */
  match: number;
}

function newMultitaskRow(): MultitaskRow {
  return { user: 0, item: 0, hour: 0, device: 0, ctrLogit: 0, cvrLogit: 0, match: 0 };
}

/** Writes a multi-task dataset (CSV): train/valid/test, schema.json, meta.json. */
export function generateMultitask(spec: MultitaskSpec, opts: GenerateOptions, preset = 'multitask'): SynthMeta {
  const started = performance.now();
  const format = prepare(opts, ['csv']);
  const model = new MultitaskModel(spec, opts.seed);
  const sizes = splitSizes(opts.rows, opts.splitFractions ?? spec.splitFractions);
  const row = newMultitaskRow();
  const splits = {} as Record<SplitName, SplitMeta>;
  SPLITS.forEach((split, si) => {
    const rng = Rng.derive(opts.seed, `multitask:rows:${split}`);
    const file = `${split}.csv`;
    const out = new ByteWriter(join(opts.outDir, file));
    out.ascii('click,conversion,user_id,item_id,cate_id,user_age,hour,device,price' + (opts.withTruth ? ',p_ctr,p_cvr,p_ctcvr' : '') + '\n');
    const n = sizes[si]!;
    const ctr = new OracleAccumulator();
    const ctcvr = new OracleAccumulator();
    const cvrClicked = new OracleAccumulator();
    const cvrAll = new OracleAccumulator();
    const ctrNoMatch = new OracleAccumulator();
    const ctcvrNoMatch = new OracleAccumulator();
    let sumCvrAll = 0;
    let sumCvrClicked = 0;
    let clicks = 0;
    let sc = 0,
      sv = 0,
      scc = 0,
      svv = 0,
      scv = 0;
    let attAll = 0,
      attClicked = 0,
      qualAll = 0,
      qualClicked = 0;
    for (let r = 0; r < n; r++) {
      model.sampleRow(rng, row);
      const zc = model.ctrBias + row.ctrLogit;
      const zv = model.cvrBias + row.cvrLogit;
      const pc = sigmoid(zc);
      const pv = sigmoid(zv);
      const click = rng.next() < pc ? 1 : 0;
      const u = rng.next(); // drawn on every row so streams stay aligned
      const conv = click === 1 && u < pv ? 1 : 0;
      ctr.add(pc, click);
      ctcvr.add(pc * pv, conv);
      // The best a model can do without the user–item match (its mean, 0, in its place).
      const pc0 = sigmoid(zc - spec.ctrMatch * row.match);
      ctrNoMatch.add(pc0, click);
      ctcvrNoMatch.add(pc0 * sigmoid(zv - spec.cvrMatch * row.match), conv);
      cvrAll.add(pv, conv);
      sumCvrAll += pv;
      attAll += model.attract[row.item]!;
      qualAll += model.quality[row.item]!;
      if (click === 1) {
        attClicked += model.attract[row.item]!;
        qualClicked += model.quality[row.item]!;
        cvrClicked.add(pv, conv);
        sumCvrClicked += pv;
        clicks++;
      }
      sc += zc;
      sv += zv;
      scc += zc * zc;
      svv += zv * zv;
      scv += zc * zv;
      const i = row.item;
      out.uint(click);
      out.byte(COMMA);
      out.uint(conv);
      out.byte(COMMA);
      out.uint(row.user + 1);
      out.byte(COMMA);
      out.uint(i + 1);
      out.byte(COMMA);
      out.uint(model.itemCat[i]! + 1);
      out.byte(COMMA);
      out.uint(model.userAge[row.user]!);
      out.byte(COMMA);
      out.uint(row.hour);
      out.byte(COMMA);
      out.uint(row.device);
      out.byte(COMMA);
      out.ascii(model.priceText[i]!);
      if (opts.withTruth) out.ascii(',' + fmtProb(pc) + ',' + fmtProb(pv) + ',' + fmtProb(pc * pv));
      out.byte(NEWLINE);
    }
    out.close();
    const cov = scv / n - (sc / n) * (sv / n);
    const corr = cov / Math.sqrt((scc / n - (sc / n) ** 2) * (svv / n - (sv / n) ** 2));
    splits[split] = {
      file,
      rows: n,
      oracle: { click: ctr.result(), ctcvr: ctcvr.result(), cvr_on_clicks: cvrClicked.result(), cvr_all_impressions: cvrAll.result() },
      diagnostics: {
        clicks,
        meanPcvrAllImpressions: sumCvrAll / n,
        meanPcvrClicked: clicks > 0 ? sumCvrClicked / clicks : NaN,
        ctrCvrLogitCorrelation: corr,
        attractivenessShiftOnClicks: clicks > 0 ? attClicked / clicks - attAll / n : NaN,
        qualityShiftOnClicks: clicks > 0 ? qualClicked / clicks - qualAll / n : NaN,
        ctrAucWithoutUserItemMatch: ctrNoMatch.result().auc,
        ctcvrAucWithoutUserItemMatch: ctcvrNoMatch.result().auc,
      },
    };
    opts.onSplit?.(split, n);
  });
  const schema: SchemaInput = {
    dataset: { format: 'csv', header: true },
    columns: [
      { name: 'click', role: 'label' },
      { name: 'conversion', role: 'label' },
      { name: 'user_id', role: 'sparse', tag: 'user' },
      { name: 'item_id', role: 'sparse', tag: 'item' },
      { name: 'cate_id', role: 'sparse', tag: 'item' },
      { name: 'user_age', role: 'sparse', tag: 'user' },
      { name: 'hour', role: 'sparse', tag: 'context' },
      { name: 'device', role: 'sparse', tag: 'context' },
      { name: 'price', role: 'dense', transform: ['log1p', 'standardize'], tag: 'item' },
      { name: 'user_id', role: 'group' },
    ],
  };
  return finishDataset(opts, {
    preset,
    generator: 'multitask (src/data/synth/multitask.ts)',
    description:
      'Click then conversion: conversion observed only after a click (0 otherwise), pCTCVR = pCTR·pCVR; item attractiveness raises CTR while correlating negatively with quality (CVR), a selection bias that CVR models trained on clicks alone suffer from',
    format,
    schema: schema,
    splits,
    params: { ...spec, ctrBias: model.ctrBias, cvrBias: model.cvrBias },
    started,
  });
}
