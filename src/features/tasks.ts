/**
 * Task definitions: what a model predicts and how each prediction is trained and judged.
 * A task names a label column of the schema, a loss weight, and optionally another label
 * column that must be 1 for a row to count (a conversion counts only after a click).
 * Without a task list, the schema's first label is the one task, named after it.
 */

/** One task of a (possibly multi-task) model. */
export interface TaskDef {
  /** Task name: the model's output key, the suffix of per-task metrics (`test_auc_<name>`). */
  name: string;
  /** The label column it learns. */
  label: string;
  /** Weight of its loss in the total (default 1). */
  weight: number;
  /** A label column that must be 1 for a row to count in this task's loss and metrics; null: every row. */
  where: string | null;
}

/** The single task of a model trained on one label. */
export function singleTask(label: string): TaskDef[] {
  return [{ name: label, label, weight: 1, where: null }];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates a `tasks:` list as written in a config (`[{name, label, weight?, where?}]`)
 * against the schema's label columns; errors name `where` and the entry's path.
 */
export function resolveTasks(input: unknown, labels: readonly string[], where: string): TaskDef[] {
  if (!Array.isArray(input) || input.length === 0) throw new Error(`${where}: tasks must be a non-empty list of {name, label, weight?, where?}`);
  const out: TaskDef[] = [];
  input.forEach((raw, i) => {
    const at = `${where}: tasks[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${at} must be a mapping {name, label, weight?, where?}`);
    const t = raw as Record<string, unknown>;
    for (const k of Object.keys(t))
      if (!['name', 'label', 'weight', 'where'].includes(k)) throw new Error(`${at}: unknown key '${k}'; expected name, label, weight, where`);
    const label = t.label;
    if (typeof label !== 'string' || !labels.includes(label))
      throw new Error(`${at}.label must be a label column of the schema (${labels.join(', ') || 'none declared'}), got ${JSON.stringify(label)}`);
    const name = t.name ?? label;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new Error(`${at}.name must be a word of letters, digits and _ , got ${JSON.stringify(name)}`);
    if (out.some((x) => x.name === name)) throw new Error(`${at}.name '${name}' is used twice`);
    const weight = t.weight ?? 1;
    if (typeof weight !== 'number' || !(weight > 0) || !Number.isFinite(weight))
      throw new Error(`${at}.weight must be a positive number, got ${JSON.stringify(weight)}`);
    const cond = t.where ?? null;
    if (cond !== null && (typeof cond !== 'string' || !labels.includes(cond)))
      throw new Error(`${at}.where must be a label column of the schema (${labels.join(', ')}), got ${JSON.stringify(cond)}`);
    if (cond === label) throw new Error(`${at}.where must name another label than the task's own`);
    out.push({ name, label, weight, where: cond });
  });
  return out;
}

/**
 * The rows a task counts on: null (every row) when it has no `where`, else the rows whose
 * `where` label is 1. `column` gives a label column by name; `missing` builds the error for
 * an absent `where` column (callers name their data source).
 */
export function taskRows(task: TaskDef, column: (label: string) => Float32Array | undefined, missing: (label: string) => Error): Int32Array | null {
  if (task.where === null) return null;
  const cond = column(task.where);
  if (cond === undefined) throw missing(task.where);
  let n = 0;
  for (let i = 0; i < cond.length; i++) if (cond[i] === 1) n++;
  const rows = new Int32Array(n);
  for (let i = 0, j = 0; i < cond.length; i++) if (cond[i] === 1) rows[j++] = i;
  return rows;
}

/** The values of `a` at `rows`, in order (`a` itself when rows is null: every row). */
export function pickRows(a: Float32Array, rows: Int32Array | null): Float32Array;
export function pickRows(a: Int32Array, rows: Int32Array | null): Int32Array;
export function pickRows<T>(a: T[], rows: Int32Array | null): T[];
export function pickRows(a: Float32Array | Int32Array | unknown[], rows: Int32Array | null): Float32Array | Int32Array | unknown[] {
  if (rows === null) return a;
  if (a instanceof Float32Array) return Float32Array.from(rows, (r) => a[r]!);
  if (a instanceof Int32Array) return Int32Array.from(rows, (r) => a[r]!);
  return Array.from(rows, (r) => a[r]);
}

/** The tasks (outputs) of a click → conversion model and the label columns they learn. */
export interface ClickConversionTasks {
  /** The task predicting the click over all rows. */
  ctr: string;
  /** The output predicting the conversion given a click (trained, or judged, where the click label is 1). */
  cvr: string;
  /** A task predicting click-and-conversion over all rows (ESMM's pCTCVR); absent: pCTR·pCVR. */
  ctcvr?: string;
  click: string;
  conversion: string;
}

/**
 * Reads a click → conversion structure off a model's output tasks (its tasks and extra outputs,
 * see `outputTaskDefs`): an output whose `where` is the label X of another output counted on
 * every row is the pCVR, that other one the pCTR; an output counted on every row with the
 * pCVR's label is the pCTCVR (ESMM). Null when there is no such pair.
 */
export function clickConversionTasks(tasks: readonly TaskDef[]): ClickConversionTasks | null {
  for (const cvr of tasks) {
    if (cvr.where === null) continue;
    const ctr = tasks.find((t) => t.where === null && t.label === cvr.where);
    if (ctr === undefined) continue;
    const ctcvr = tasks.find((t) => t.where === null && t.label === cvr.label && t.weight > 0);
    return { ctr: ctr.name, cvr: cvr.name, ...(ctcvr !== undefined ? { ctcvr: ctcvr.name } : {}), click: cvr.where, conversion: cvr.label };
  }
  return null;
}
