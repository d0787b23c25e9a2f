import { readRaw, scoringLayout } from '../readers/index.js';
import { BadRowLog, type BadRowPolicy } from '../readers/errors.js';
import type { Batch } from '../features/batch.js';
import { openSync, readSync, closeSync } from 'node:fs';
import { clickConversionTasks, pickRows, taskRows, type TaskDef } from '../features/tasks.js';
import { clickConversionReport, type ClickConversionReport } from '../metrics/click-conversion.js';
import { readTruthColumn } from '../data/synth/truth.js';
import { noGrad } from '../engine/tensor.js';
import { calibratedProbabilities, evaluate, type EvalReport } from '../metrics/index.js';
import { artifactTasks, type LoadedArtifact } from './artifact.js';
import { outputTaskDefs } from '../models/base.js';

/** Scores of every row of a file, in file order, with the encoded batches' labels and groups. */
export interface FileScores {
  /** The first task's probabilities (the only task of a single-task model). */
  probs: Float32Array;
  /** Every task's probabilities, by task name. */
  taskProbs: Record<string, Float32Array>;
  /** The first task's labels (null when the file has none). */
  labels: Float32Array | null;
  /** Every label column present in the file, by label name. */
  labelColumns: Record<string, Float32Array>;
  groups: Int32Array | null;
  /** Per requested slice column: the raw (decoded) value of each row. */
  slices: Record<string, string[]>;
  skipped: number;
}

/** Probabilities of every task of an artifact's model for one encoded batch (eval mode, no graph). */
export function scoreBatch(art: LoadedArtifact, batch: Batch): Record<string, Float32Array> {
  const logits = noGrad(() => art.model.forwardOutputs(batch));
  const out: Record<string, Float32Array> = {};
  for (const t of art.model.outputNames())
    out[t] = calibratedProbabilities(logits[t]!.data, art.meta.negativeSampleRate, art.meta.logitOffset?.[t] ?? 0);
  return out;
}

/** Options of `scoreFile` / `evaluateFile`. */
export interface ScoreFileOptions {
  onBadRow?: BadRowPolicy;
  sliceColumns?: string[];
  batchSize?: number;
  /** The file's format (`--format`); default: from its extension, else the training format (see `scoringLayout`). */
  format?: string;
}

/**
 * Streams a data file through an artifact's feature map and model (eval mode, no graph):
 * probabilities of every task with the negative-sampling correction, plus labels / groups
 * when present. The reader follows the file (`scoringLayout`): a model trained on CSV scores
 * a JSONL or Parquet file too, the feature map naming any column the model needs that the
 * file lacks.
 */
export async function scoreFile(art: LoadedArtifact, path: string, opts: ScoreFileOptions = {}): Promise<FileScores> {
  const fm = art.featureMap;
  if (fm === null) throw new Error('this model artifact has no feature map: it can only score pre-encoded batches');
  const badRows = new BadRowLog();
  const tasks = art.model.outputNames();
  const probs: Record<string, number[]> = Object.fromEntries(tasks.map((t) => [t, [] as number[]]));
  const labels: Record<string, number[]> = {};
  const groups: number[] = [];
  let rows = 0;
  const sliceCols = opts.sliceColumns ?? [];
  const slices: Record<string, string[]> = Object.fromEntries(sliceCols.map((c) => [c, [] as string[]]));
  for (const c of sliceCols) {
    const f = fm.fields().find((x) => x.name === c);
    if (f === undefined || f.kind !== 'sparse') throw new Error(`slice column '${c}' must be a sparse feature of the schema`);
  }
  const dataset = scoringLayout(fm.schema.dataset, path, opts.format);
  for await (const chunk of readRaw(path, { dataset, onBadRow: opts.onBadRow, badRows })) {
    const batch: Batch = fm.transform(chunk, { onBadRow: opts.onBadRow, badRows, optionalLabels: true });
    if (batch.size === 0) continue;
    const p = scoreBatch(art, batch);
    for (const t of tasks) for (const v of p[t]!) probs[t]!.push(v);
    for (const [k, y] of Object.entries(batch.labels)) {
      // A label column missing from earlier chunks cannot be aligned: keep only complete ones.
      if (labels[k] === undefined && rows === 0) labels[k] = [];
      if (labels[k] !== undefined) for (const v of y) labels[k]!.push(v);
    }
    rows += batch.size;
    if (batch.group !== undefined) for (const g of batch.group) groups.push(g);
    for (const c of sliceCols) {
      const enc = fm.encoder(c);
      const ids = batch.sparse[c]!;
      for (const id of ids) slices[c]!.push('decode' in enc ? (enc.decode(id) ?? (id === 1 ? '<OOV>' : `#${id}`)) : `#${id}`);
    }
  }
  const labelColumns: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(labels)) if (v.length === rows) labelColumns[k] = Float32Array.from(v);
  const taskProbs: Record<string, Float32Array> = {};
  for (const t of tasks) taskProbs[t] = Float32Array.from(probs[t]!);
  const first = artifactTasks(art.meta)[0]!;
  return {
    probs: taskProbs[tasks[0]!]!,
    taskProbs,
    labels: labelColumns[first.label] ?? null,
    labelColumns,
    groups: groups.length === rows && groups.length > 0 ? Int32Array.from(groups) : null,
    slices,
    skipped: badRows.count,
  };
}

/**
 * Metrics of every output of a scored file whose labels the file has (rows restricted by each
 * output's `where`); the others, by name, with the label columns they lack.
 */
function taskReports(s: FileScores, tasks: TaskDef[]): { reports: Record<string, EvalReport>; notEvaluated: Record<string, string> } {
  const reports: Record<string, EvalReport> = {};
  const notEvaluated: Record<string, string> = {};
  for (const t of tasks) {
    const lacking = [t.label, ...(t.where !== null ? [t.where] : [])].filter((l) => s.labelColumns[l] === undefined);
    if (lacking.length > 0) {
      notEvaluated[t.name] = `no label column ${lacking.map((l) => `'${l}'`).join(' or ')} in the data`;
      continue;
    }
    const rows = taskRows(
      t,
      (l) => s.labelColumns[l],
      (l) => new Error(`no values for label '${l}' (the where-column of task '${t.name}')`),
    );
    const slices: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(s.slices)) slices[k] = pickRows(v, rows);
    reports[t.name] = evaluate(pickRows(s.taskProbs[t.name]!, rows), pickRows(s.labelColumns[t.label]!, rows), {
      ...(s.groups !== null ? { groups: pickRows(s.groups, rows) } : {}),
      ...(Object.keys(slices).length > 0 ? { slices } : {}),
    });
  }
  return { reports, notEvaluated };
}

/**
 * AUC, logloss, calibration, gAUC (with a group column) and per-slice metrics of a file, for
 * every output (tasks, then extra outputs) whose label columns the file has: the first such
 * output's report at the top level, every one under `tasks`, and under `notEvaluated` the
 * outputs left out with the reason. A file with none of the labels is refused.
 */
export async function evaluateFile(
  art: LoadedArtifact,
  path: string,
  opts: ScoreFileOptions & { truthColumn?: string } = {},
): Promise<
  EvalReport & { skipped: number; tasks: Record<string, EvalReport>; notEvaluated?: Record<string, string>; clickConversion?: FileClickConversion }
> {
  const s = await scoreFile(art, path, opts);
  const tasks = outputTaskDefs(art.model, artifactTasks(art.meta));
  const { reports, notEvaluated } = taskReports(s, tasks);
  const judged = Object.keys(reports);
  if (judged.length === 0) {
    const needed = [...new Set(tasks.map((t) => t.label))];
    throw new Error(
      `${path}: has none of the model's label columns (${needed.join(', ')}); nothing to evaluate (finerank predict scores unlabelled files)`,
    );
  }
  const cc = fileClickConversion(art, s, tasks, path, opts.truthColumn, opts.format);
  return {
    ...reports[judged[0]!]!,
    skipped: s.skipped,
    tasks: reports,
    ...(Object.keys(notEvaluated).length > 0 ? { notEvaluated } : {}),
    ...(cc !== null ? { clickConversion: cc } : {}),
  };
}

/** A click → conversion model judged on a file: the report, the truth column used, or why it could not be computed. */
export type FileClickConversion = (ClickConversionReport & { truthColumn: string | null }) | { notComputed: string };

/**
 * ESMM's evaluation of a click → conversion model (clickConversionTasks finds the roles): CTR
 * AUC, CVR AUC on clicked rows, CVR AUC over all impressions against the true pCVR
 * (`truthColumn`, default the generator's `p_cvr` when the CSV has that column) and CTCVR AUC.
 * Null for other models; `notComputed` when the labels have a conversion without a click.
 */
function fileClickConversion(
  art: LoadedArtifact,
  s: FileScores,
  tasks: TaskDef[],
  path: string,
  truthColumn?: string,
  format?: string,
): FileClickConversion | null {
  const roles = clickConversionTasks(tasks);
  if (roles === null) {
    if (truthColumn !== undefined)
      throw new Error(
        `--truth-column needs a click → conversion model (a task with where: <click label> next to a task on that label); tasks: ${tasks.map((t) => t.name).join(', ')}`,
      );
    return null;
  }
  const click = s.labelColumns[roles.click];
  const conversion = s.labelColumns[roles.conversion];
  if (click === undefined || conversion === undefined)
    return { notComputed: `${path} lacks the label column '${click === undefined ? roles.click : roles.conversion}'` };
  const orphan = conversion.findIndex((v, i) => v !== 0 && click[i] !== 1);
  if (orphan >= 0) return { notComputed: `row ${orphan + 1} of ${path} has ${roles.conversion} without ${roles.click}` };
  const dataset = scoringLayout(art.featureMap!.schema.dataset, path, format);
  const shown = dataset?.format ?? (/\.csv$/i.test(path) ? 'csv' : 'not a CSV file');
  const csv = shown === 'csv' && dataset?.header !== false;
  const column = truthColumn ?? (csv && csvHeader(path).includes('p_cvr') ? 'p_cvr' : undefined);
  let truth: Float64Array | undefined;
  if (column !== undefined) {
    if (!csv) throw new Error(`--truth-column reads a column of a headed CSV file; ${path} is ${shown}${shown === 'csv' ? ' without a header' : ''}`);
    if (s.skipped > 0)
      throw new Error(`${path}: ${s.skipped} bad rows were skipped, so the truth column '${column}' no longer lines up with the scored rows`);
    truth = readTruthColumn(path, column);
    if (truth.length !== click.length) throw new Error(`${path}: ${click.length} rows scored but ${truth.length} values in column '${column}'`);
  }
  const report = clickConversionReport(
    {
      pctr: s.taskProbs[roles.ctr]!,
      pcvr: s.taskProbs[roles.cvr]!,
      ...(roles.ctcvr !== undefined ? { pctcvr: s.taskProbs[roles.ctcvr]! } : {}),
    },
    click,
    conversion,
    truth,
  );
  return { ...report, truthColumn: column ?? null };
}

/** The header names of a CSV file (its first line). */
function csvHeader(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0]!.split(',');
  } finally {
    closeSync(fd);
  }
}
