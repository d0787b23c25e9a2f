/**
 * The in-browser scorer: a model rebuilt from model.bin (./model-file.ts) with the registry,
 * plus the portable encoder of its feature map, scoring raw feature values. Browser-safe;
 * the same class runs in Node (tests compare it with the artifact's predictions).
 */
import { noGrad, tidy } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { calibratedProbabilities } from '../../metrics/calibration.js';
import { createModel } from '../../models/registry.js';
import type { RankingModel } from '../../models/base.js';
import { PortableEncoder } from '../portable-encoder.js';
import { unpackWebModel, type WebModelHeader } from './model-file.js';

/** One scored row: the first output's probability, and every output's by name. */
export interface ScoredRow {
  score: number;
  tasks: Record<string, number>;
}
/** One ranked candidate: its position in the request, then its scores. */
export interface RankedRow extends ScoredRow {
  index: number;
}

/** A loaded model: `score(rows)` and `rank(context, candidates)` on raw feature values. */
export class WebScorer {
  readonly header: WebModelHeader;
  /** Output names: the tasks, then extra outputs (ESMM's cvr); the first is `score`. */
  readonly outputs: readonly string[];
  private readonly model: RankingModel;
  private readonly encoder: PortableEncoder;

  constructor(bytes: Uint8Array) {
    const { header, state } = unpackWebModel(bytes);
    this.header = header;
    this.model = createModel(header.model, { spec: header.inputSpec, rng: new Rng(0), tasks: header.tasks }, header.modelOptions);
    this.model.loadStateDict(state);
    this.model.eval();
    this.outputs = this.model.outputNames();
    this.encoder = new PortableEncoder(header.featureMap);
  }

  /** Probabilities of every output for raw rows (objects keyed by raw column name), in row order. */
  score(rows: ReadonlyArray<Record<string, unknown>>): ScoredRow[] {
    if (rows.length === 0) return [];
    const batch = this.encoder.encode(rows);
    const probs = tidy(() => {
      const logits = noGrad(() => this.model.forwardOutputs(batch));
      const out: Record<string, Float32Array> = {};
      for (const t of this.outputs)
        out[t] = calibratedProbabilities(logits[t]!.data, this.header.negativeSampleRate, this.header.logitOffset?.[t] ?? 0);
      return out;
    });
    return rows.map((_, i) => {
      const tasks: Record<string, number> = {};
      for (const t of this.outputs) tasks[t] = probs[t]![i]!;
      return { score: tasks[this.outputs[0]!]!, tasks };
    });
  }

  /**
   * Scores each candidate joined with the shared context and returns them by decreasing
   * score (ties: request order). A field given both in the context and in a candidate is
   * refused, as the HTTP server does.
   */
  rank(context: Record<string, unknown>, candidates: ReadonlyArray<Record<string, unknown>>): RankedRow[] {
    const ctxKeys = Object.keys(context).filter((k) => context[k] !== undefined);
    const rows = candidates.map((c, i) => {
      for (const k of ctxKeys)
        if (c[k] !== undefined) throw new Error(`candidates[${i}].${k}: field '${k}' is also given in the context; give it in one place`);
      return { ...context, ...c };
    });
    return this.score(rows)
      .map((s, index) => ({ index, ...s }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
  }
}
