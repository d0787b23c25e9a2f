/**
 * `recalibrate: intercept` — an explicit recalibration step after training: for each task,
 * the one shift δ of the logit that makes the mean prediction on the validation split equal
 * its observed rate, Σ w·σ(z + ln r + δ) = Σ w·y (z the model's logit, r the closed-form
 * negative-sampling rate, w the validation rows' weights). The validation split is the
 * unsampled distribution (sampling rules touch only the training file), so this fits the
 * intercept where the predictions are used; only δ is fitted (Platt scaling with the slope
 * fixed at 1), so the ranking — AUC, gAUC — is unchanged. δ is stored in the artifact
 * (`logitOffset`) and applied by eval, predict, report, the servers and the exports.
 * Why it exists: under per-coordinate adaptive optimizers (Adam, Adagrad) importance weights
 * do not scale the steps of rarely seen parameters, so weighted sampling leaves the model
 * miscalibrated on unseen rows (docs/sampling.md, "Calibration under Adam").
 */
import { noGrad } from '../engine/tensor.js';
import type { DataSource } from '../data/data-source.js';
import type { RankingModel } from '../models/base.js';
import { taskRows, type TaskDef } from '../features/tasks.js';

/** What the recalibration of one task found. */
export interface InterceptShift {
  /** δ, added to the logit. */
  offset: number;
  /** Validation rows used. */
  rows: number;
  /** (Weighted) mean prediction before and after the shift, and the observed rate. */
  meanBefore: number;
  meanAfter: number;
  observed: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The δ solving Σ w·σ(z_i + δ) = Σ w·y_i (weights 1 when absent): the left side increases
 * strictly in δ, so the root is unique; Newton steps kept inside a bracket that bisection
 * shrinks, to |residual| ≤ 1e-12·Σ w. Throws when the labels are all 0 or all 1 (δ = ∓∞).
 */
export function interceptShift(logits: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const n = logits.length;
  let sy = 0,
    sw = 0;
  for (let i = 0; i < n; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    sy += w * labels[i]!;
    sw += w;
  }
  if (!(sw > 0)) throw new Error('intercept recalibration needs validation rows with positive weight');
  if (!(sy > 0) || !(sy < sw)) throw new Error(`intercept recalibration needs both classes in the validation rows (observed rate ${sy / sw})`);
  const residual = (d: number): [number, number] => {
    let f = -sy,
      df = 0;
    for (let i = 0; i < n; i++) {
      const w = weights === undefined ? 1 : weights[i]!;
      const p = sigmoid(logits[i]! + d);
      f += w * p;
      df += w * p * (1 - p);
    }
    return [f, df];
  };
  let lo = -1,
    hi = 1;
  while (residual(lo)[0] > 0) lo *= 2;
  while (residual(hi)[0] < 0) hi *= 2;
  let d = 0;
  for (let it = 0; it < 200; it++) {
    const [f, df] = residual(d);
    if (Math.abs(f) <= 1e-12 * sw) break;
    if (f > 0) hi = d;
    else lo = d;
    let next = d - f / df;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    d = next;
  }
  return d;
}

/**
 * Fits δ per task on a data source (the validation split): the model's logits plus
 * ln(negativeSampleRate), on the task's rows (where its `where` label is 1), with the rows'
 * sample weights. Returns δ by task (output) name.
 */
export async function fitInterceptShifts(
  model: RankingModel,
  data: DataSource,
  tasks: readonly TaskDef[],
  negativeSampleRate: number,
  batchSize = 4096,
): Promise<Record<string, InterceptShift>> {
  const logits = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  const labels = new Map<string, number[]>();
  const weights: number[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of data.batches({ batchSize, shuffle: false, seed: 0, epoch: 0 })) {
      const out = noGrad(() => model.forwardOutputs(batch));
      for (const t of tasks) {
        const z = out[t.name];
        if (z === undefined) throw new Error(`recalibrate: the model has no output '${t.name}'`);
        for (const v of z.data) logits.get(t.name)!.push(v);
      }
      for (const [k, v] of Object.entries(batch.labels)) {
        if (!labels.has(k)) labels.set(k, []);
        for (const x of v) labels.get(k)!.push(x);
      }
      for (let i = 0; i < batch.size; i++) weights.push(batch.weight === undefined ? 1 : batch.weight[i]!);
    }
  } finally {
    model.train(wasTraining);
  }
  const base = Math.log(negativeSampleRate);
  const out: Record<string, InterceptShift> = {};
  for (const t of tasks) {
    const y = labels.get(t.label);
    if (y === undefined) throw new Error(`recalibrate: the validation data has no label '${t.label}' (task '${t.name}')`);
    const rows = taskRows(
      t,
      (l) => (labels.has(l) ? Float32Array.from(labels.get(l)!) : undefined),
      (l) => new Error(`recalibrate: the validation data has no label '${l}' (the where-column of task '${t.name}')`),
    );
    const all = logits.get(t.name)!;
    const idx = rows === null ? Array.from(all, (_, i) => i) : Array.from(rows);
    const z = idx.map((i) => all[i]! + base),
      yy = idx.map((i) => y[i]!),
      ww = idx.map((i) => weights[i]!);
    let offset: number;
    try {
      offset = interceptShift(z, yy, ww);
    } catch (e) {
      throw new Error(`recalibrate (task '${t.name}'): ${(e as Error).message}`);
    }
    let sw = 0,
      sb = 0,
      sa = 0,
      sy = 0;
    for (let k = 0; k < z.length; k++) {
      sw += ww[k]!;
      sb += ww[k]! * sigmoid(z[k]!);
      sa += ww[k]! * sigmoid(z[k]! + offset);
      sy += ww[k]! * yy[k]!;
    }
    out[t.name] = { offset, rows: z.length, meanBefore: sb / sw, meanAfter: sa / sw, observed: sy / sw };
  }
  return out;
}
