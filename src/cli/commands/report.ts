import { parseArgs } from 'node:util';
import { loadArtifact } from '../../serve/artifact.js';
import { buildReport } from '../../report/build.js';
import { renderReportHtml } from '../../report/html.js';
import { BUILTIN_GROUPS } from '../../report/groups.js';
import { writeFileAtomic } from '../../util/atomic.js';

const HELP = `usage: finerank report MODEL_FILE --data FILE [--group COLUMN|BUILTIN]... [-o report.html] [--json]

Scores the data file and reports AUC, gAUC, logloss and calibration (mean prediction vs
observed rate, expected calibration error) overall and per group, flagging groups whose AUC
or calibration is beyond a set distance from the whole. Writes a self-contained HTML page
(-o; charts inlined, no network at view time) and/or prints the numbers as JSON (--json).

options:
  --task NAME            the task to report on (default: the model's first task; its where-rows only)
  --group G              a sparse column of the schema, or one of: ${BUILTIN_GROUPS.join(', ')}
  --user COLUMN          user column of the built-ins (default: the schema's group column)
  --item COLUMN          item column of the built-ins
  --activity COLD,HEAVY  training rows per user: < COLD cold, < HEAVY warm, else heavy (default 5,50)
  --max-auc-gap X        flag groups whose AUC is more than X below the whole (default 0.05)
  --max-calibration-gap X  flag groups whose calibration ratio differs by more than X (default 0.1)
  --min-rows N           never flag groups smaller than N rows (default 100)
  --skip-bad-rows        skip and count malformed rows instead of stopping
  -o, --output FILE      the HTML page
  --json                 print the report as JSON`;

/** `finerank report`: the group-bias report of a model on a labelled file. */
export async function run(args: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        task: { type: 'string' },
        group: { type: 'string', multiple: true },
        user: { type: 'string' },
        item: { type: 'string' },
        activity: { type: 'string' },
        'max-auc-gap': { type: 'string' },
        'max-calibration-gap': { type: 'string' },
        'min-rows': { type: 'string' },
        'skip-bad-rows': { type: 'boolean', default: false },
        output: { type: 'string', short: 'o' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`finerank report: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1 || values.data === undefined || (values.output === undefined && !values.json)) {
    console.error(`finerank report: give one MODEL_FILE, --data FILE, and -o FILE and/or --json\n\n${HELP}`);
    return 2;
  }
  const numFlag = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
    return n;
  };
  let activity;
  if (values.activity !== undefined) {
    const parts = values.activity.split(',').map(Number);
    if (parts.length !== 2 || !parts.every((x) => Number.isInteger(x) && x > 0) || !(parts[1]! > parts[0]!))
      throw new Error(`--activity must be COLD,HEAVY with integers 0 < COLD < HEAVY, got '${values.activity}'`);
    activity = { cold: parts[0]!, heavy: parts[1]! };
  }
  const art = loadArtifact(positionals[0]!);
  const r = await buildReport(art, values.data, {
    groups: values.group ?? [],
    ...(values.task ? { task: values.task } : {}),
    ...(values.user ? { userColumn: values.user } : {}),
    ...(values.item ? { itemColumn: values.item } : {}),
    ...(activity ? { activity } : {}),
    ...(values['max-auc-gap'] !== undefined ? { maxAucGap: numFlag('max-auc-gap', values['max-auc-gap'])! } : {}),
    ...(values['max-calibration-gap'] !== undefined ? { maxCalibrationGap: numFlag('max-calibration-gap', values['max-calibration-gap'])! } : {}),
    ...(values['min-rows'] !== undefined ? { minRows: numFlag('min-rows', values['min-rows'])! } : {}),
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
  });
  if (values.output !== undefined) writeFileAtomic(values.output, renderReportHtml(r));
  if (values.json) console.log(JSON.stringify(r));
  else {
    const flagged = Object.entries(r.groups).flatMap(([g, byV]) =>
      Object.entries(byV)
        .filter(([, m]) => m.flags.length > 0)
        .map(([v, m]) => `  ${g} = ${v}: ${m.flags.join('; ')}`),
    );
    console.log(
      `AUC ${r.overall.auc.toFixed(4)}, logloss ${r.overall.logloss.toFixed(4)}, calibration ${r.overall.calibration.toFixed(3)}, ECE ${r.overall.ece.toFixed(4)} on ${r.overall.rows} rows`,
    );
    console.log(flagged.length === 0 ? 'no group flagged' : `flagged groups:\n${flagged.join('\n')}`);
    if (values.output !== undefined) console.log(`report written to ${values.output}`);
  }
  return 0;
}
