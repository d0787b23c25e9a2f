/**
 * Multi-task (click → conversion) data with known probabilities, built for what ESMM (Ma et
 * al. 2018) exists for: a conversion can only be observed after a click (conversion = 0 on
 * every non-clicked row, pCTCVR = pCTR·pCVR over the impression space), and
 *
 * - data sparsity: the conversion depends mostly on latent item and user factors that the
 *   click depends on too (a_i, e_u below), so the click task over all impressions teaches
 *   shared embeddings what the few clicked rows of an item cannot;
 * - selection bias: a_i raises both rates, so clicked rows over-sample high-a_i items, and
 *   items with a low CTR are shown but rarely clicked: a CVR model fit on clicks alone must
 *   extrapolate to them.
 *
 *   items: category c(i) ~ Zipf(C, 1); appeal a_i ~ N(0, 1); own quality g_i ~ N(0, 1);
 *          ln price_i = π_c(i) + 0.5·N(0, 1), π_c ~ N(3, 1);  q_i ∈ R^k ~ N(0, I/√k)
 *   users: activity e_u ~ N(0, 1); p_u ∈ R^k ~ N(0, I/√k); age group ~ U{1..6}
 *   row:   user ~ Zipf(U, s_user), item ~ Zipf(I, s_item), hour h ~ daily profile, device d ∈ {0,1,2}
 *   ctr logit = b_c + α_a·a_i + α_u·e_u + α_m·⟨p_u, q_i⟩ + w_hour[h] + w_dev[d]
 *   cvr logit = b_v + β_a·a_i + β_u·e_u + β_g·g_i + β_m·⟨p_u, q_i⟩ − β_p·(ln price_i − π_c(i)) + v_dev[d]
 *   click ~ Bernoulli(σ(ctr)); conversion ~ Bernoulli(σ(cvr)) if click, else 0.
 *
 * The user–item match ⟨p_u, q_i⟩ (weights α_m, β_m) is off by default: a k-dimensional inner
 * product over ids that no model here learns from tens of rows per user (it made the oracle
 * unreachable in session 3); it stays as an option, and the meta reports the CTR and CTCVR AUCs
 * of the true probabilities with the match replaced by its mean 0. The meta's diagnostics also
 * report the mean pCVR on clicked rows and on all rows, the shift of mean a_i and g_i on clicked
 * rows, the correlation of the two logits, and the share of impressions on items with fewer
 * than 5 clicks in the split (the sparse part of the space).
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
  /** k, the width of the user–item match vectors p_u, q_i. */
  hiddenDim: number;
  /** α_a, α_u, α_m: CTR weights of item appeal, user activity and user–item match. */
  ctrAttract: number;
  ctrUser: number;
  ctrMatch: number;
  /** β_a, β_u: CVR weights of the factors shared with the CTR (item appeal, user activity). */
  cvrShared: number;
  cvrUserShared: number;
  /** β_g, β_m, β_p: CVR weights of the item's own quality, the match and the relative price. */
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
  users: 1000,
  items: 1000,
  categories: 20,
  hiddenDim: 8,
  ctrAttract: 1.0,
  ctrUser: 0.5,
  ctrMatch: 0,
  cvrShared: 0.8,
  cvrUserShared: 0.5,
  cvrQuality: 0.3,
  cvrMatch: 0,
  cvrPrice: 0.5,
  contextStd: 0.3,
  userZipf: 0.7,
  itemZipf: 1.0,
  targetCtr: 0.1,
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
  readonly activity: Float64Array;
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
    for (let i = 0; i < s.items; i++) {
      const c = (this.itemCat[i] = catSampler.sample(rng));
      this.attract[i] = rng.normal();
      this.quality[i] = rng.normal();
      this.logPrice[i] = this.catPrice[c]! + 0.5 * rng.normal();
      for (let d = 0; d < k; d++) this.itemVec[i * k + d] = vs * rng.normal();
    }
    this.priceText = Array.from(this.logPrice, (lp) => Math.exp(lp).toFixed(2));
    this.userVec = new Float64Array(s.users * k);
    this.activity = new Float64Array(s.users);
    this.userAge = new Int32Array(s.users);
    for (let u = 0; u < s.users; u++) {
      for (let d = 0; d < k; d++) this.userVec[u * k + d] = vs * rng.normal();
      this.activity[u] = rng.normal();
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
    const a = this.attract[i]!,
      e = this.activity[u]!;
    row.ctrLogit = s.ctrAttract * a + s.ctrUser * e + s.ctrMatch * match + this.hourEffect[h]! + this.devEffectCtr[row.device]!;
    row.cvrLogit =
      s.cvrShared * a +
      s.cvrUserShared * e +
      s.cvrQuality * this.quality[i]! +
      s.cvrMatch * match -
      s.cvrPrice * (this.logPrice[i]! - this.catPrice[this.itemCat[i]!]!) +
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
    const itemShown = new Int32Array(spec.items),
      itemClicks = new Int32Array(spec.items);
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
      itemShown[row.item]!++;
      if (click === 1) {
        itemClicks[row.item]!++;
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
    let sparseShown = 0;
    for (let i = 0; i < spec.items; i++) if (itemClicks[i]! < 5) sparseShown += itemShown[i]!;
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
        impressionsOnItemsWithUnder5Clicks: n > 0 ? sparseShown / n : NaN,
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
      'Click then conversion: conversion observed only after a click (0 otherwise), pCTCVR = pCTR·pCVR; item appeal and user activity raise both CTR and CVR (factors shared by the tasks), so clicks over-sample high-CTR items and low-CTR items are shown but rarely clicked: the sparsity and selection bias ESMM addresses',
    format,
    schema: schema,
    splits,
    params: { ...spec, ctrBias: model.ctrBias, cvrBias: model.cvrBias },
    started,
  });
}
