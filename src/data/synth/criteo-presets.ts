/**
 * Field-interaction presets: Criteo-shaped (13 numeric + 26 categorical fields) at two
 * scales, and the Frappe-like 10-field categorical dataset. The numbers below were chosen
 * by measurement (docs/synthetic.md, "Calibration") so that the oracle AUC is about 0.8 and
 * pairwise interactions carry a large part of the signal.
 */
import type { CategoricalFieldSpec, FieldCtrSpec, InteractionPair, NumericFieldSpec } from './criteo.js';

/** Real Criteo (Kaggle display advertising) vocabulary sizes of C1…C26, for the shape. */
export const CRITEO_VOCAB = [
  1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181,
  105, 142572,
] as const;

/** Approximate missing rates of C1…C26 in real Criteo. */
const CRITEO_CAT_MISSING = [
  0, 0, 0.034, 0.034, 0, 0.12, 0, 0, 0, 0, 0, 0.034, 0, 0, 0, 0.034, 0, 0, 0.44, 0.44, 0.034, 0.76, 0, 0.034, 0.44, 0.44,
] as const;

/** I1…I13: ln-scale mean and std, missing rate (close to real Criteo), and effect β. */
const CRITEO_NUMERIC: ReadonlyArray<[number, number, number, number]> = [
  [0.5, 1.2, 0.45, 0.25],
  [2.0, 2.0, 0, 0.1],
  [1.5, 1.5, 0.21, -0.1],
  [1.2, 1.0, 0.22, 0.1],
  [7.5, 2.0, 0.03, -0.15],
  [3.0, 1.6, 0.22, 0.15],
  [1.5, 1.5, 0.04, 0.2],
  [2.0, 1.0, 0.0005, 0.05],
  [3.5, 1.3, 0.04, 0.05],
  [0.3, 0.8, 0.45, 0.2],
  [1.0, 1.0, 0.04, 0.2],
  [0.2, 1.0, 0.77, 0.05],
  [1.5, 1.2, 0.22, 0.05],
];

/**
 * Interaction structure of the Criteo-shaped presets (1-based field numbers C1…C26): every
 * pair inside each group interacts, plus the listed pairs across groups. The first group
 * holds the small-vocabulary fields (device/site-category-like fields in real Criteo) whose
 * interactions can be learned from tens of thousands of rows; the large preset adds a group
 * of mid-size fields (300–3200 values) that needs millions of rows.
 */
const SMALL_FIELD_GROUP = [6, 9, 14, 17, 20, 22, 23, 25];
const MID_FIELD_GROUP = [1, 2, 5, 8, 13, 19];
const MID_CROSS: ReadonlyArray<[number, number]> = [
  [6, 2],
  [14, 8],
  [17, 13],
  [25, 1],
];

/** Pairs within each group and the cross pairs, each with strength α (equal for all). */
function criteoPairs(groups: ReadonlyArray<ReadonlyArray<number>>, cross: ReadonlyArray<[number, number]>, alpha: number): InteractionPair[] {
  const pairs: InteractionPair[] = [];
  for (const g of groups) {
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) pairs.push({ a: `C${g[i]}`, b: `C${g[j]}`, strength: alpha });
    }
  }
  for (const [a, b] of cross) pairs.push({ a: `C${a}`, b: `C${b}`, strength: alpha });
  return pairs;
}

function criteoNumeric(scale: number): NumericFieldSpec[] {
  return CRITEO_NUMERIC.map(([logMean, logStd, missing, effect], j) => ({
    name: `I${j + 1}`,
    logMean,
    logStd,
    missing,
    effect: effect * scale,
  }));
}

/** Options of the Criteo-shaped presets. */
export interface CriteoPresetOptions {
  /** Largest vocabulary: bigger real sizes are compressed to maxVocab·(real/maxVocab)^0.25. */
  maxVocab: number;
  /** Zipf exponent of the categorical fields (vocabularies above 10k use +0.15). */
  zipf: number;
  /** τ: first-order weight std of a field with at most `refVocab` values. */
  firstOrderStd: number;
  /** Larger fields get τ·√(refVocab/V): many rare values, each with a small effect. */
  refVocab: number;
  /** Strength α of each interaction pair. */
  pairStrength: number;
  /** Also the mid-size field group and its cross pairs (needs millions of rows to learn). */
  midFieldInteractions: boolean;
  /** Strength γ of each third-order term (0 = none). */
  tripleStrength: number;
  /** Hidden dimension k. */
  hiddenDim: number;
  /** Scale of the numeric effects β. */
  numericScale: number;
  /** Target click rate. */
  targetRate: number;
}

/** Defaults of 'criteo-small' (tests, demo; ~50k rows). */
export const CRITEO_SMALL_DEFAULTS: CriteoPresetOptions = {
  maxVocab: 1000,
  zipf: 1.3,
  firstOrderStd: 0.5,
  refVocab: 10,
  pairStrength: 0.3,
  midFieldInteractions: false,
  tripleStrength: 0,
  hiddenDim: 4,
  numericScale: 1,
  targetRate: 0.22,
};
/**
 * Defaults of 'criteo-demo' (`finerank demo`, 800k rows): criteo-small with maxVocab 10, so
 * every field above 10 values is compressed to 10·(V/10)^0.25 (largest 317) — the same 26
 * Zipf fields, numeric effects and 28 interaction pairs, but few enough rare values that
 * DeepFM gets within about 0.005 of the oracle from 640k training rows (docs/synthetic.md).
 */
export const CRITEO_DEMO_DEFAULTS: CriteoPresetOptions = { ...CRITEO_SMALL_DEFAULTS, maxVocab: 10 };
/** Defaults of 'criteo' (millions of rows). */
export const CRITEO_DEFAULTS: CriteoPresetOptions = {
  maxVocab: 200_000,
  zipf: 1.1,
  firstOrderStd: 0.4,
  refVocab: 100,
  pairStrength: 0.22,
  midFieldInteractions: true,
  tripleStrength: 0.3,
  hiddenDim: 4,
  numericScale: 1,
  targetRate: 0.22,
};

/**
 * A Criteo-shaped spec: vocabulary of C_i = its real size up to maxVocab, above it
 * maxVocab·(real/maxVocab)^0.25 (huge fields stay the largest); Zipf exponent `zipf`
 * (+0.15 above 10k values); first-order std τ·min(1, √(refVocab/V)); all pairs within the
 * small-field group (and, with midFieldInteractions, within the mid-field group plus the
 * cross pairs); with tripleStrength > 0 the
 * third-order terms (C6, C14, C17) and (C9, C22, C25).
 */
export function criteoSpec(preset: string, o: CriteoPresetOptions): FieldCtrSpec {
  const categorical: CategoricalFieldSpec[] = CRITEO_VOCAB.map((real, i) => {
    const vocab = real <= o.maxVocab ? real : Math.round(o.maxVocab * Math.pow(real / o.maxVocab, 0.25));
    return {
      name: `C${i + 1}`,
      vocab,
      zipf: vocab > 10_000 ? o.zipf + 0.15 : o.zipf,
      missing: CRITEO_CAT_MISSING[i]!,
      firstOrderStd: o.firstOrderStd * Math.min(1, Math.sqrt(o.refVocab / vocab)),
    };
  });
  const pairs = o.midFieldInteractions
    ? criteoPairs([SMALL_FIELD_GROUP, MID_FIELD_GROUP], MID_CROSS, o.pairStrength)
    : criteoPairs([SMALL_FIELD_GROUP], [], o.pairStrength);
  return {
    preset,
    description:
      `Criteo-shaped CTR data: 13 count-like numeric fields (I1-I13) and 26 hex-valued Zipf categorical fields (C1-C26); logit = first-order weights + numeric effects + latent-factor interactions over ${pairs.length} field pairs` +
      (o.tripleStrength > 0 ? ' + 2 third-order terms' : ''),
    label: 'label',
    numeric: criteoNumeric(o.numericScale),
    categorical,
    hiddenDim: o.hiddenDim,
    pairs,
    triples:
      o.tripleStrength > 0
        ? [
            { fields: ['C6', 'C14', 'C17'], strength: o.tripleStrength },
            { fields: ['C9', 'C22', 'C25'], strength: o.tripleStrength },
          ]
        : [],
    targetRate: o.targetRate,
    valueStyle: 'hex',
    splitFractions: [0.8, 0.1, 0.1],
  };
}

/** Options of the Frappe-like preset. */
export interface FrappePresetOptions {
  firstOrderStd: number;
  pairStrength: number;
  hiddenDim: number;
  targetRate: number;
}

/** Defaults of 'frappe-like'. */
export const FRAPPE_DEFAULTS: FrappePresetOptions = { firstOrderStd: 0.5, pairStrength: 0.5, hiddenDim: 8, targetRate: 1 / 3 };

/** Frappe's fields and vocabulary sizes (5382 features in all, as in the real dataset). */
const FRAPPE_FIELDS: ReadonlyArray<[string, number, number]> = [
  ['user', 957, 1.0],
  ['item', 4082, 1.05],
  ['daytime', 7, 0.3],
  ['weekday', 7, 0.2],
  ['isweekend', 2, 0.5],
  ['homework', 3, 0.8],
  ['cost', 2, 1.5],
  ['weather', 9, 0.8],
  ['country', 80, 1.3],
  ['city', 233, 1.1],
];

/**
 * A Frappe-shaped spec (context-aware app usage): 10 categorical fields with Frappe's
 * vocabulary sizes, no numeric fields, decimal value ids; pairs user×item (double strength),
 * item×{daytime, weekday, isweekend, homework, weather, city}, user×{daytime, weather,
 * country, cost}; positive rate 1/3 (one positive per two sampled negatives, as in Frappe);
 * splits 7:2:1 (as in the BARS benchmark).
 */
export function frappeSpec(o: FrappePresetOptions): FieldCtrSpec {
  const pairs: InteractionPair[] = [{ a: 'user', b: 'item', strength: 2 * o.pairStrength }];
  for (const c of ['daytime', 'weekday', 'isweekend', 'homework', 'weather', 'city']) pairs.push({ a: 'item', b: c, strength: o.pairStrength });
  for (const c of ['daytime', 'weather', 'country', 'cost']) pairs.push({ a: 'user', b: c, strength: o.pairStrength });
  return {
    preset: 'frappe-like',
    description:
      'Frappe-like context-aware app usage: 10 categorical fields (user, item, 8 context fields) with Frappe vocabulary sizes; logit = first-order weights + latent-factor interactions of user and item with each other and with the context',
    label: 'label',
    numeric: [],
    categorical: FRAPPE_FIELDS.map(([name, vocab, zipf]) => ({ name, vocab, zipf, missing: 0, firstOrderStd: o.firstOrderStd })),
    hiddenDim: o.hiddenDim,
    pairs,
    triples: [],
    targetRate: o.targetRate,
    valueStyle: 'int',
    splitFractions: [0.7, 0.2, 0.1],
  };
}
