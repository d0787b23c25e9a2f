/**
 * Criteo-shaped CTR data with known click probabilities: numeric count-like fields and
 * Zipf-distributed categorical fields whose effects are first-order weights plus hidden
 * latent-factor interactions between chosen field pairs (and optional triples). The same
 * engine, with other field lists, makes the Frappe-like 10-field categorical preset.
 *
 * Generative process (docs/synthetic.md has the full derivation):
 *
 *   categorical field f, vocabulary V_f: missing with prob m_f, else rank x_f ~ Zipf(V_f, s_f)
 *   numeric field j: missing with prob m_j, else x_j = ⌊exp(μ_j + σ_j·z)⌋, z ~ N(0, 1)
 *   φ_j(x) = clip((ln(1 + x) − μ_j) / σ_j, −3, 3)
 *   logit = b + Σ_f w_f[x_f] + Σ_j β_j·φ_j(x_j)                         (first order)
 *             + Σ_{(a,b)∈P} α_ab·⟨u_a[x_a], u_b[x_b]⟩                     (pairwise, dim k)
 *             + Σ_{(a,b,c)∈T} γ_abc·k^{1/4}·Σ_d u_a[x_a]_d·u_b[x_b]_d·u_c[x_c]_d   (optional)
 *   p = σ(logit), label ~ Bernoulli(p); a missing field contributes 0 to every term.
 *
 * w_f and u_f are drawn N(0, 1), then centred and rescaled under the field's Zipf law
 * (E_π[w_f] = 0, E_π[w_f²] = τ_f², E_π[u_f] = 0, E_π[|u_f|²] = √k), so each pair term has
 * unit variance and — fields being independent — interactions are uncorrelated with every
 * function of a single field: the best additive (LR) model can only recover the first-order
 * part. b is solved on a pilot sample so the positive rate matches the target.
 */
import { join } from 'node:path';
import { Rng } from '../../engine/random.js';
import type { ColumnInput, SchemaInput } from '../../features/schema.js';
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
  type SynthFormat,
  type SynthMeta,
  type SplitName,
} from './common.js';
import { ValueNames } from './ids.js';
import { OracleAccumulator } from './oracle.js';
import { ByteWriter, COLON, COMMA, DIGIT_0, DIGIT_1, NEWLINE, SPACE } from './byte-writer.js';
import { ZipfSampler } from './zipf.js';

/** A categorical field of the generator. */
export interface CategoricalFieldSpec {
  name: string;
  /** Number of distinct values. */
  vocab: number;
  /** Zipf exponent s (0 = uniform). */
  zipf: number;
  /** Probability the value is missing (empty). */
  missing: number;
  /** τ_f: standard deviation of the first-order weight under the field's distribution. */
  firstOrderStd: number;
}

/** A numeric count-like field: x = ⌊exp(μ + σ·z)⌋. */
export interface NumericFieldSpec {
  name: string;
  /** μ: mean of ln x. */
  logMean: number;
  /** σ: standard deviation of ln x. */
  logStd: number;
  /** Probability the value is missing. */
  missing: number;
  /** β: logit effect per unit of φ(x) = clip((ln(1 + x) − μ)/σ, −3, 3). */
  effect: number;
}

/** A pairwise interaction α·⟨u_a, u_b⟩ between two categorical fields. */
export interface InteractionPair {
  a: string;
  b: string;
  strength: number;
}

/** A third-order interaction γ·k^{1/4}·Σ_d u_a,d·u_b,d·u_c,d. */
export interface InteractionTriple {
  fields: [string, string, string];
  strength: number;
}

/** Everything that defines a field-interaction CTR dataset. */
export interface FieldCtrSpec {
  /** Preset name written to the meta file. */
  preset: string;
  description: string;
  /** Label column name. */
  label: string;
  numeric: NumericFieldSpec[];
  categorical: CategoricalFieldSpec[];
  /** k: dimension of the hidden latent factors. */
  hiddenDim: number;
  pairs: InteractionPair[];
  triples: InteractionTriple[];
  /** Target positive rate (the bias is solved for it). */
  targetRate: number;
  /** Value strings: 8-hex-digit hashes (Criteo) or decimal ranks. */
  valueStyle: 'hex' | 'int';
  /** Default split fractions. */
  splitFractions: readonly [number, number, number];
  /** Rows of the pilot sample used to solve the bias. */
  pilotRows?: number;
}

/** Parameters drawn from a spec and a seed: everything needed to score a row. */
export class FieldCtrModel {
  readonly k: number;
  readonly samplers: ZipfSampler[];
  /** First-order weight per field and rank. */
  readonly w: Float64Array[];
  /** Latent factors per field ([V_f × k]); empty for fields in no interaction. */
  readonly u: Float64Array[];
  readonly names: ValueNames[];
  /** Pair terms as field indices. */
  readonly pairA: Int32Array;
  readonly pairB: Int32Array;
  readonly pairS: Float64Array;
  readonly triA: Int32Array;
  readonly triB: Int32Array;
  readonly triC: Int32Array;
  readonly triS: Float64Array;
  /** Solved bias b. */
  bias = 0;
  /** Standard deviations of the logit parts on the pilot sample. */
  readonly pilot: { firstOrderStd: number; numericStd: number; pairStd: number; tripleStd: number; logitStd: number } = {
    firstOrderStd: 0,
    numericStd: 0,
    pairStd: 0,
    tripleStd: 0,
    logitStd: 0,
  };

  constructor(
    readonly spec: FieldCtrSpec,
    seed: number,
  ) {
    validateSpec(spec);
    const k = (this.k = spec.hiddenDim);
    const rng = Rng.derive(seed, 'field-ctr:params');
    const fieldIndex = new Map(spec.categorical.map((f, i) => [f.name, i]));
    const inInteraction = new Set<number>();
    const idx = (name: string) => fieldIndex.get(name)!;
    for (const p of spec.pairs) inInteraction.add(idx(p.a)).add(idx(p.b));
    for (const t of spec.triples) for (const f of t.fields) inInteraction.add(idx(f));
    this.samplers = [];
    this.w = [];
    this.u = [];
    this.names = [];
    spec.categorical.forEach((f, fi) => {
      const z = new ZipfSampler(f.vocab, f.zipf);
      this.samplers.push(z);
      const pi = z.probs;
      const w = new Float64Array(f.vocab);
      for (let v = 0; v < f.vocab; v++) w[v] = rng.normal();
      normalize(w, pi, 1, f.firstOrderStd);
      this.w.push(w);
      const u = new Float64Array(inInteraction.has(fi) ? f.vocab * k : 0);
      if (u.length > 0) {
        for (let i = 0; i < u.length; i++) u[i] = rng.normal();
        normalize(u, pi, k, Math.sqrt(Math.sqrt(k)));
      }
      this.u.push(u);
      this.names.push(new ValueNames(spec.valueStyle, mixSalt(seed, fi), f.vocab));
    });
    this.pairA = Int32Array.from(spec.pairs, (p) => idx(p.a));
    this.pairB = Int32Array.from(spec.pairs, (p) => idx(p.b));
    this.pairS = Float64Array.from(spec.pairs, (p) => p.strength);
    this.triA = Int32Array.from(spec.triples, (t) => idx(t.fields[0]));
    this.triB = Int32Array.from(spec.triples, (t) => idx(t.fields[1]));
    this.triC = Int32Array.from(spec.triples, (t) => idx(t.fields[2]));
    this.triS = Float64Array.from(spec.triples, (t) => t.strength * Math.pow(k, 0.25));
    this.solvePilot(Rng.derive(seed, 'field-ctr:pilot'), spec.pilotRows ?? 20000);
  }

  /** Draws one row's raw values: cat[f] = rank or −1 (missing), num[j] = count or NaN. */
  sampleRow(rng: Rng, cat: Int32Array, num: Float64Array): void {
    const ns = this.spec.numeric;
    for (let j = 0; j < ns.length; j++) {
      const f = ns[j]!;
      if (f.missing > 0 && rng.next() < f.missing) num[j] = NaN;
      else num[j] = Math.floor(Math.exp(f.logMean + f.logStd * rng.normal()));
    }
    const cs = this.spec.categorical;
    for (let f = 0; f < cs.length; f++) {
      const miss = cs[f]!.missing;
      if (miss > 0 && rng.next() < miss) cat[f] = -1;
      else cat[f] = this.samplers[f]!.sample(rng);
    }
  }

  /** Σ_f w_f[x_f] (categorical first order). */
  categoricalTerm(cat: Int32Array): number {
    let s = 0;
    for (let f = 0; f < cat.length; f++) if (cat[f]! >= 0) s += this.w[f]![cat[f]!]!;
    return s;
  }

  /** Σ_j β_j·φ_j(x_j). */
  numericTerm(num: Float64Array): number {
    const ns = this.spec.numeric;
    let s = 0;
    for (let j = 0; j < ns.length; j++) {
      const x = num[j]!;
      if (x !== x) continue;
      const f = ns[j]!;
      let phi = (Math.log1p(x) - f.logMean) / f.logStd;
      if (phi < -3) phi = -3;
      else if (phi > 3) phi = 3;
      s += f.effect * phi;
    }
    return s;
  }

  /** Σ_P α·⟨u_a, u_b⟩. */
  pairTerm(cat: Int32Array): number {
    const k = this.k;
    let s = 0;
    for (let p = 0; p < this.pairA.length; p++) {
      const a = this.pairA[p]!;
      const b = this.pairB[p]!;
      const xa = cat[a]!;
      const xb = cat[b]!;
      if (xa < 0 || xb < 0) continue;
      const ua = this.u[a]!;
      const ub = this.u[b]!;
      const oa = xa * k;
      const ob = xb * k;
      let dot = 0;
      for (let d = 0; d < k; d++) dot += ua[oa + d]! * ub[ob + d]!;
      s += this.pairS[p]! * dot;
    }
    return s;
  }

  /** Σ_T γ·k^{1/4}·Σ_d u_a,d·u_b,d·u_c,d. */
  tripleTerm(cat: Int32Array): number {
    const k = this.k;
    let s = 0;
    for (let t = 0; t < this.triA.length; t++) {
      const a = this.triA[t]!;
      const b = this.triB[t]!;
      const c = this.triC[t]!;
      const xa = cat[a]!;
      const xb = cat[b]!;
      const xc = cat[c]!;
      if (xa < 0 || xb < 0 || xc < 0) continue;
      const ua = this.u[a]!;
      const ub = this.u[b]!;
      const uc = this.u[c]!;
      let dot = 0;
      for (let d = 0; d < k; d++) dot += ua[xa * k + d]! * ub[xb * k + d]! * uc[xc * k + d]!;
      s += this.triS[t]! * dot;
    }
    return s;
  }

  private solvePilot(rng: Rng, n: number): void {
    const cat = new Int32Array(this.spec.categorical.length);
    const num = new Float64Array(this.spec.numeric.length);
    const z = new Float64Array(n);
    const parts = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < n; i++) {
      this.sampleRow(rng, cat, num);
      const a = this.categoricalTerm(cat);
      const b = this.numericTerm(num);
      const c = this.pairTerm(cat);
      const d = this.tripleTerm(cat);
      parts[0]![i] = a;
      parts[1]![i] = b;
      parts[2]![i] = c;
      parts[3]![i] = d;
      z[i] = a + b + c + d;
    }
    this.bias = solveBias(z, this.spec.targetRate);
    this.pilot.firstOrderStd = std(parts[0]!);
    this.pilot.numericStd = std(parts[1]!);
    this.pilot.pairStd = std(parts[2]!);
    this.pilot.tripleStd = std(parts[3]!);
    this.pilot.logitStd = std(z);
  }
}

/** Writes a field-interaction CTR dataset (train/valid/test, schema.json, meta.json). */
export function generateFieldCtr(spec: FieldCtrSpec, opts: GenerateOptions): SynthMeta {
  const started = performance.now();
  const format = prepare(opts, ['csv', 'libfm']);
  const model = new FieldCtrModel(spec, opts.seed);
  const sizes = splitSizes(opts.rows, opts.splitFractions ?? spec.splitFractions);
  const nNum = spec.numeric.length;
  const nCat = spec.categorical.length;
  // libfm index layout: numeric field j → index j; categorical field f, rank v → offset_f + v.
  const offsets: number[] = [];
  let next = nNum;
  for (const f of spec.categorical) {
    offsets.push(next);
    next += f.vocab;
  }
  const cat = new Int32Array(nCat);
  const num = new Float64Array(nNum);
  const splits = {} as Record<SplitName, SplitMeta>;
  const ext = format === 'csv' ? 'csv' : 'libfm';
  SPLITS.forEach((split, si) => {
    const rng = Rng.derive(opts.seed, `field-ctr:rows:${split}`);
    const file = `${split}.${ext}`;
    const out = new ByteWriter(join(opts.outDir, file));
    const truthFile = opts.withTruth && format === 'libfm' ? `${split}.truth` : undefined;
    const truth = truthFile ? new ByteWriter(join(opts.outDir, truthFile)) : null;
    if (format === 'csv') {
      out.ascii(
        [spec.label, ...spec.numeric.map((f) => f.name), ...spec.categorical.map((f) => f.name), ...(opts.withTruth ? ['p_true'] : [])].join(',') +
          '\n',
      );
    }
    const oracle = new OracleAccumulator();
    const firstOrder = new OracleAccumulator();
    const n = sizes[si]!;
    for (let r = 0; r < n; r++) {
      model.sampleRow(rng, cat, num);
      const first = model.bias + model.categoricalTerm(cat) + model.numericTerm(num);
      const p = sigmoid(first + model.pairTerm(cat) + model.tripleTerm(cat));
      const y = rng.next() < p ? 1 : 0;
      oracle.add(p, y);
      firstOrder.add(sigmoid(first), y);
      out.byte(y === 1 ? DIGIT_1 : DIGIT_0);
      if (format === 'csv') {
        for (let j = 0; j < nNum; j++) {
          out.byte(COMMA);
          if (num[j] === num[j]) out.uint(num[j]!);
        }
        for (let f = 0; f < nCat; f++) {
          out.byte(COMMA);
          if (cat[f]! >= 0) model.names[f]!.write(out, cat[f]!);
        }
        if (opts.withTruth) out.ascii(',' + fmtProb(p));
      } else {
        for (let j = 0; j < nNum; j++) {
          if (num[j] !== num[j]) continue;
          out.byte(SPACE);
          out.uint(j);
          out.byte(COLON);
          out.uint(num[j]!);
        }
        for (let f = 0; f < nCat; f++) {
          if (cat[f]! < 0) continue;
          out.byte(SPACE);
          out.uint(offsets[f]! + cat[f]!);
          out.byte(COLON);
          out.byte(DIGIT_1);
        }
        if (truth) truth.ascii(fmtProb(p) + '\n');
      }
      out.byte(NEWLINE);
    }
    out.close();
    truth?.close();
    const fo = firstOrder.result();
    splits[split] = {
      file,
      ...(truthFile ? { truthFile } : {}),
      rows: n,
      oracle: { [spec.label]: oracle.result() },
      diagnostics: { firstOrderOnlyAuc: fo.auc, firstOrderOnlyLogloss: fo.logloss },
    };
    opts.onSplit?.(split, n);
  });
  return finishDataset(opts, {
    preset: spec.preset,
    generator: 'field-ctr (src/data/synth/criteo.ts)',
    description: spec.description,
    format,
    schema: fieldCtrSchema(spec, format, offsets),
    splits,
    params: {
      ...spec,
      bias: model.bias,
      pilot: model.pilot,
      libfmLayout:
        format === 'libfm'
          ? {
              numeric: spec.numeric.map((f, j) => ({ name: f.name, index: j })),
              categorical: spec.categorical.map((f, i) => ({ name: f.name, range: [offsets[i]!, offsets[i]! + f.vocab - 1] })),
            }
          : undefined,
    },
    started,
  });
}

/** The schema of a generated field-interaction dataset (see features/schema.ts). */
export function fieldCtrSchema(spec: FieldCtrSpec, format: SynthFormat, offsets: number[]): SchemaInput {
  const columns: ColumnInput[] = [
    { name: spec.label, role: 'label' },
    ...spec.numeric.map((f): ColumnInput => ({ name: f.name, role: 'dense', transform: ['log1p', 'standardize'], missing: { fill: 0 } })),
    ...spec.categorical.map((f): ColumnInput => ({ name: f.name, role: 'sparse', encoder: { type: 'vocab', minCount: 1 } })),
  ];
  if (format === 'csv') return { dataset: { format: 'csv', header: true }, columns };
  return {
    dataset: {
      format: 'libfm',
      label: spec.label,
      fields: [
        ...spec.numeric.map((f, j) => ({ name: f.name, range: [j, j] as [number, number], as: 'value' as const })),
        ...spec.categorical.map((f, i) => ({ name: f.name, range: [offsets[i]!, offsets[i]! + f.vocab - 1] as [number, number] })),
      ],
    },
    columns,
  };
}

/** Checks a spec for consistency (names, ranges), naming the offending entry. */
export function validateSpec(spec: FieldCtrSpec): void {
  const names = new Set<string>();
  const all = [...spec.numeric.map((f) => f.name), ...spec.categorical.map((f) => f.name), spec.label];
  for (const n of all) {
    if (names.has(n)) throw new Error(`${spec.preset}: column name "${n}" is used twice`);
    names.add(n);
  }
  for (const f of spec.categorical) {
    if (!Number.isInteger(f.vocab) || f.vocab < 1) throw new Error(`${spec.preset}: field ${f.name}: vocab ${f.vocab} must be a positive integer`);
    if (!(f.missing >= 0 && f.missing < 1)) throw new Error(`${spec.preset}: field ${f.name}: missing ${f.missing} must be in [0, 1)`);
  }
  for (const f of spec.numeric) {
    if (!(f.missing >= 0 && f.missing < 1)) throw new Error(`${spec.preset}: field ${f.name}: missing ${f.missing} must be in [0, 1)`);
    if (!(f.logStd > 0)) throw new Error(`${spec.preset}: field ${f.name}: logStd must be > 0`);
  }
  const cats = new Set(spec.categorical.map((f) => f.name));
  for (const p of spec.pairs) {
    for (const n of [p.a, p.b]) if (!cats.has(n)) throw new Error(`${spec.preset}: interaction pair names unknown categorical field "${n}"`);
    if (p.a === p.b) throw new Error(`${spec.preset}: interaction pair (${p.a}, ${p.b}) repeats a field`);
  }
  for (const t of spec.triples)
    for (const n of t.fields) if (!cats.has(n)) throw new Error(`${spec.preset}: interaction triple names unknown categorical field "${n}"`);
  if (!Number.isInteger(spec.hiddenDim) || spec.hiddenDim < 1) throw new Error(`${spec.preset}: hiddenDim must be a positive integer`);
}

/**
 * Centres `x` (V rows of `dim` values) under the weights π and rescales it so that
 * Σ_v π_v·|x_v|² = target².
 */
function normalize(x: Float64Array, pi: Float64Array, dim: number, target: number): void {
  const V = pi.length;
  for (let d = 0; d < dim; d++) {
    let m = 0;
    for (let v = 0; v < V; v++) m += pi[v]! * x[v * dim + d]!;
    for (let v = 0; v < V; v++) x[v * dim + d]! -= m;
  }
  let s2 = 0;
  for (let v = 0; v < V; v++) {
    let q = 0;
    for (let d = 0; d < dim; d++) q += x[v * dim + d]! ** 2;
    s2 += pi[v]! * q;
  }
  const scale = s2 > 0 ? target / Math.sqrt(s2) : 0;
  for (let i = 0; i < x.length; i++) x[i]! *= scale;
}

function std(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i]!;
  m /= a.length;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return Math.sqrt(s / a.length);
}

function mixSalt(seed: number, field: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(field + 1, 0x9e3779b1)) >>> 0;
}
