import { auc } from '../../metrics/auc.js';
import { LOGLOSS_EPS } from '../../metrics/logloss.js';

/** Oracle metrics of one split: what the true probabilities achieve against the labels. */
export interface OracleStats {
  rows: number;
  positives: number;
  positiveRate: number;
  /** Mean of the true probabilities (≈ positiveRate). */
  meanProbability: number;
  /** AUC of the true probabilities (the ceiling of any model). */
  auc: number;
  /** Log loss of the true probabilities (clipped at 1e-7, as `logloss`). */
  logloss: number;
  /** true: AUC from all rows with `auc`; false: from a 2^20-bin histogram (very large splits). */
  exactAuc: boolean;
}

const HIST_BITS = 20;

/**
 * Streams (probability, label) pairs of one split and returns oracle metrics. Probabilities
 * are kept as float32 + label byte (5 bytes per row) and scored with the exact `auc` at the
 * end; beyond `exactLimit` rows the pairs are folded into histograms over the top 20 bits
 * of the float32 pattern (relative resolution 2^−11; ties within a bin get half credit) so
 * memory stays bounded for splits of any size. Log loss is always summed exactly.
 */
export class OracleAccumulator {
  private p: Float32Array;
  private y: Uint8Array;
  private n = 0;
  private pos = 0;
  private sumP = 0;
  private sumLoss = 0;
  private histPos: Float64Array | null = null;
  private histNeg: Float64Array | null = null;
  private readonly bits = new Uint32Array(1);
  private readonly f = new Float32Array(this.bits.buffer);

  constructor(private readonly exactLimit = 8_000_000) {
    this.p = new Float32Array(1024);
    this.y = new Uint8Array(1024);
  }

  /** Adds one row: true probability p ∈ [0, 1] and label y ∈ {0, 1}. */
  add(p: number, y: number): void {
    const q = p < LOGLOSS_EPS ? LOGLOSS_EPS : p > 1 - LOGLOSS_EPS ? 1 - LOGLOSS_EPS : p;
    this.sumLoss -= y === 1 ? Math.log(q) : Math.log(1 - q);
    this.sumP += p;
    this.pos += y;
    if (this.histPos !== null) {
      this.addToHistogram(p, y);
    } else {
      if (this.n === this.p.length) {
        if (this.n >= this.exactLimit) {
          this.toHistogram();
          this.addToHistogram(p, y);
          this.n++;
          return;
        }
        const cap = Math.min(this.exactLimit, this.n * 2);
        const np = new Float32Array(cap);
        np.set(this.p);
        const ny = new Uint8Array(cap);
        ny.set(this.y);
        this.p = np;
        this.y = ny;
      }
      this.p[this.n] = p;
      this.y[this.n] = y;
    }
    this.n++;
  }

  /** The oracle metrics of the rows added so far. */
  result(): OracleStats {
    const n = this.n;
    let a: number;
    if (this.histPos === null) {
      a = auc(this.p.subarray(0, n), this.y.subarray(0, n));
    } else {
      let negBelow = 0;
      let area = 0;
      let totPos = 0;
      const hp = this.histPos;
      const hn = this.histNeg!;
      for (let b = 0; b < hp.length; b++) {
        area += hp[b]! * (negBelow + 0.5 * hn[b]!);
        negBelow += hn[b]!;
        totPos += hp[b]!;
      }
      a = totPos === 0 || negBelow === 0 ? NaN : area / (totPos * negBelow);
    }
    return {
      rows: n,
      positives: this.pos,
      positiveRate: n === 0 ? NaN : this.pos / n,
      meanProbability: n === 0 ? NaN : this.sumP / n,
      auc: a,
      logloss: n === 0 ? NaN : this.sumLoss / n,
      exactAuc: this.histPos === null,
    };
  }

  private toHistogram(): void {
    this.histPos = new Float64Array(1 << HIST_BITS);
    this.histNeg = new Float64Array(1 << HIST_BITS);
    for (let i = 0; i < this.n; i++) this.addToHistogram(this.p[i]!, this.y[i]!);
    this.p = new Float32Array(0);
    this.y = new Uint8Array(0);
  }

  private addToHistogram(p: number, y: number): void {
    this.f[0] = p;
    const bin = this.bits[0]! >>> (32 - HIST_BITS);
    if (y === 1) this.histPos![bin]!++;
    else this.histNeg![bin]!++;
  }
}
