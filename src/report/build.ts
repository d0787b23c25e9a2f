/**
 * The group-bias report: scores a labelled file with a model artifact (one task: the
 * artifact's label), then computes AUC, gAUC, logloss, calibration (mean prediction vs
 * observed rate, and ECE) overall and per group — for user-given sparse columns and for the
 * built-in groupings (src/report/groups.ts) — and flags the groups whose AUC or calibration
 * falls beyond a set distance from the whole. The per-group numbers come from the same
 * `evaluate` call and the same scoring as `finerank eval --slice`, so they are equal.
 */
import { artifactTasks, type LoadedArtifact } from '../serve/artifact.js';
import { scoreFile } from '../serve/score.js';
import type { BadRowPolicy } from '../readers/errors.js';
import { evaluate, type MetricSummary } from '../metrics/index.js';
import { builtinGroupOf, BUILTIN_GROUPS, vocabOf, type ActivityThresholds, type BuiltinGroup } from './groups.js';
import { reliability, rocCurve, type ReliabilityBin } from './curves.js';
import { pickRows, taskRows } from '../features/tasks.js';

/** The metrics of one group (or of the whole file), with calibration details. */
export interface GroupMetrics extends MetricSummary {
  /** Expected calibration error over 10 equal-width bins. */
  ece: number;
  /** Why the group is flagged (empty when it is not). */
  flags: string[];
}

/** Options of `buildReport`. */
export interface ReportOptions {
  /** The task to report on (default: the artifact's first task). */
  task?: string;
  /** Sparse columns and/or built-in groupings (`builtin:activity`, …). */
  groups: string[];
  /** User column for built-ins (default: the source of the schema's group column). */
  userColumn?: string;
  /** Item column for built-ins. */
  itemColumn?: string;
  activity?: ActivityThresholds;
  /** Flag a group whose AUC is this much below the whole (default 0.05). */
  maxAucGap?: number;
  /** Flag a group whose calibration ratio differs from the whole's by more than this (default 0.1). */
  maxCalibrationGap?: number;
  /** Groups with fewer rows are shown but never flagged (default 100). */
  minRows?: number;
  onBadRow?: BadRowPolicy;
}

/** The report: overall, per grouping and group, curves for the charts, and the settings. */
export interface BiasReport {
  model: string;
  /** The task reported on, its label column, and the label that restricts its rows (or null). */
  task: string;
  label: string;
  where: string | null;
  data: string;
  overall: GroupMetrics;
  /** groups[grouping][group] = metrics. */
  groups: Record<string, Record<string, GroupMetrics>>;
  roc: { fpr: number[]; tpr: number[] };
  reliability: ReliabilityBin[];
  settings: {
    maxAucGap: number;
    maxCalibrationGap: number;
    minRows: number;
    activity: ActivityThresholds;
    userColumn: string | null;
    itemColumn: string | null;
  };
  /** Rows skipped as bad (with onBadRow: skip). */
  skipped: number;
}

/** The built-in grouping a group name asks for, or null for a column. */
function builtinOf(name: string): BuiltinGroup | null {
  if (!name.startsWith('builtin:')) return null;
  if (!(BUILTIN_GROUPS as readonly string[]).includes(name))
    throw new Error(`unknown built-in group '${name}' (built-ins: ${BUILTIN_GROUPS.join(', ')})`);
  return name as BuiltinGroup;
}

/** Scores `dataPath` with the artifact and builds the bias report. */
export async function buildReport(art: LoadedArtifact, dataPath: string, opts: ReportOptions): Promise<BiasReport> {
  const fm = art.featureMap;
  if (fm === null) throw new Error('this model artifact has no feature map: it cannot score a data file');
  const activity = opts.activity ?? { cold: 5, heavy: 50 };
  if (!(activity.cold > 0 && activity.heavy > activity.cold))
    throw new Error(`activity thresholds must satisfy 0 < cold < heavy (got cold ${activity.cold}, heavy ${activity.heavy})`);
  const maxAucGap = opts.maxAucGap ?? 0.05,
    maxCalibrationGap = opts.maxCalibrationGap ?? 0.1,
    minRows = opts.minRows ?? 100;
  const builtins = opts.groups.map(builtinOf);
  const needsUser = builtins.some((b) => b === 'builtin:activity' || b === 'builtin:unseen-user');
  const needsItem = builtins.some((b) => b === 'builtin:popularity' || b === 'builtin:unseen-item');
  const groupCol = fm.schema.columns.find((c) => c.role === 'group');
  const userColumn = opts.userColumn ?? (needsUser ? groupCol?.source : undefined);
  if (needsUser && userColumn === undefined)
    throw new Error('built-in user groups need --user COLUMN (the schema has no group column to default to)');
  if (needsItem && opts.itemColumn === undefined) throw new Error('built-in item groups need --item COLUMN');
  const userEnc = needsUser ? vocabOf(fm, userColumn!, 'user') : null;
  const itemEnc = needsItem ? vocabOf(fm, opts.itemColumn!, 'item') : null;
  const columns = opts.groups.filter((g, i) => builtins[i] === null);
  const scored = [...new Set([...columns, ...(needsUser ? [userColumn!] : []), ...(needsItem ? [opts.itemColumn!] : [])])];

  const s = await scoreTask(art, dataPath, opts.task, scored, opts.onBadRow);
  const labels = s.labels;
  /** Encoded ids back from the decoded values scoreFile returns ('<OOV>' is the OOV id). */
  const idsOf = (column: string, enc: NonNullable<typeof userEnc>) => s.slices[column]!.map((v) => (v === '<OOV>' ? 1 : enc.lookupString(v)));
  const slices: Record<string, string[]> = {};
  for (const c of columns) slices[c] = s.slices[c]!;
  opts.groups.forEach((g, i) => {
    const b = builtins[i];
    if (b === null || b === undefined) return;
    const user = b === 'builtin:activity' || b === 'builtin:unseen-user';
    slices[g] = builtinGroupOf(b, user ? idsOf(userColumn!, userEnc!) : idsOf(opts.itemColumn!, itemEnc!), user ? userEnc! : itemEnc!, activity);
  });
  const ev = evaluate(s.probs, labels, { ...(s.groups !== null ? { groups: s.groups } : {}), ...(Object.keys(slices).length > 0 ? { slices } : {}) });
  const { slices: evSlices, ...overallSummary } = ev;
  const overall: GroupMetrics = { ...overallSummary, ece: reliability(s.probs, labels).ece, flags: [] };

  const groups: Record<string, Record<string, GroupMetrics>> = {};
  for (const [grouping, byValue] of Object.entries(evSlices ?? {})) {
    // Rows of each group, for the ECE.
    const rowsOf = new Map<string, number[]>();
    slices[grouping]!.forEach((v, i) => {
      let l = rowsOf.get(v);
      if (l === undefined) rowsOf.set(v, (l = []));
      l.push(i);
    });
    const out: Record<string, GroupMetrics> = {};
    for (const [value, m] of Object.entries(byValue)) {
      const flags: string[] = [];
      if (m.rows >= minRows) {
        if (overall.auc - m.auc > maxAucGap)
          flags.push(`AUC ${m.auc.toFixed(4)} is ${(overall.auc - m.auc).toFixed(4)} below the whole (${overall.auc.toFixed(4)})`);
        if (Number.isNaN(m.auc)) flags.push('AUC undefined (one class only)');
        if (Math.abs(m.calibration - overall.calibration) > maxCalibrationGap)
          flags.push(`calibration ${m.calibration.toFixed(3)} vs ${overall.calibration.toFixed(3)} for the whole`);
      }
      out[value] = { ...m, ece: reliability(s.probs, labels, 10, rowsOf.get(value)!).ece, flags };
    }
    // Activity groups read best in their natural order (the evaluator sorts values by name).
    groups[grouping] =
      grouping === 'builtin:activity' ? Object.fromEntries(['cold', 'warm', 'heavy'].filter((k) => k in out).map((k) => [k, out[k]!])) : out;
  }
  return {
    model: art.meta.model,
    task: s.task.name,
    label: s.task.label,
    where: s.task.where,
    data: dataPath,
    overall,
    groups,
    roc: rocCurve(s.probs, labels),
    reliability: reliability(s.probs, labels).bins,
    settings: { maxAucGap, maxCalibrationGap, minRows, activity, userColumn: userColumn ?? null, itemColumn: opts.itemColumn ?? null },
    skipped: s.skipped,
  };
}

/** One task's scores of a file: probabilities, labels, groups and slice values, on the task's rows. */
interface TaskScores {
  task: ReturnType<typeof artifactTasks>[number];
  probs: Float32Array;
  labels: Float32Array;
  groups: Int32Array | null;
  slices: Record<string, string[]>;
  skipped: number;
}

/**
 * Scores a file for one task of the artifact (the first by default), restricted to the rows
 * where the task counts (its `where` label is 1), as `finerank eval` does. The one place
 * where the report meets the model contract.
 */
async function scoreTask(
  art: LoadedArtifact,
  path: string,
  taskName: string | undefined,
  sliceColumns: string[],
  onBadRow?: BadRowPolicy,
): Promise<TaskScores> {
  const tasks = artifactTasks(art.meta);
  const task = taskName === undefined ? tasks[0]! : tasks.find((t) => t.name === taskName);
  if (task === undefined) throw new Error(`the model has no task '${taskName}' (tasks: ${tasks.map((t) => t.name).join(', ')})`);
  const s = await scoreFile(art, path, { ...(onBadRow ? { onBadRow } : {}), sliceColumns });
  const y = s.labelColumns[task.label];
  if (y === undefined) throw new Error(`${path}: has no values for label '${task.label}'`);
  const probs = s.taskProbs[task.name]!;
  const rows = taskRows(
    task,
    (l) => s.labelColumns[l],
    (l) => new Error(`${path}: has no values for label '${l}' (the where-column of task '${task.name}')`),
  );
  return {
    task,
    probs: pickRows(probs, rows),
    labels: pickRows(y, rows),
    groups: s.groups === null ? null : pickRows(s.groups, rows),
    slices: Object.fromEntries(Object.entries(s.slices).map(([k, v]) => [k, pickRows(v, rows)])),
    skipped: s.skipped,
  };
}
