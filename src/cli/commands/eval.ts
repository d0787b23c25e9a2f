import { parseArgs } from 'node:util';
import { loadArtifact } from '../../serve/artifact.js';
import { evaluateFile, type FileClickConversion } from '../../serve/score.js';
import { printTable } from '../format.js';
import type { EvalReport } from '../../metrics/index.js';

const HELP = `usage: finerank eval MODEL_FILE --data FILE [--format FORMAT] [--slice COLUMN]... [--truth-column COLUMN] [--skip-bad-rows] [--json]

Scores the data file with the model and prints AUC, logloss, calibration (mean prediction /
observed rate) and, when the schema has a group column, gAUC and avgAUC, for every output of
the model (its tasks, then extra outputs such as ESMM's cvr) whose label columns the file has;
the others are listed as not evaluated. --slice COLUMN repeats the metrics for every value of
a sparse column (bias per user group). The file is read in its own format (--format, else its
extension, else the training format), as 'finerank predict --help' describes.

A click -> conversion model (ESMM, or tasks ctr on the click and cvr with where: click) also
gets ESMM's evaluation: CTR AUC, CVR AUC on clicked rows, CVR AUC over all impressions against
the true pCVR of a CSV column (--truth-column; default p_cvr when the file has it, as written by
'finerank gen multitask --with-truth') and CTCVR AUC (pCTCVR, else pCTR*pCVR).`;

/** `finerank eval`: metrics of a model artifact on a labelled data file. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      format: { type: 'string' },
      slice: { type: 'string', multiple: true },
      'truth-column': { type: 'string' },
      json: { type: 'boolean', default: false },
      'skip-bad-rows': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1 || values.data === undefined) {
    console.error(HELP);
    return 2;
  }
  const art = loadArtifact(positionals[0]!);
  const r = await evaluateFile(art, values.data, {
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
    sliceColumns: values.slice ?? [],
    ...(values.format !== undefined ? { format: values.format } : {}),
    ...(values['truth-column'] !== undefined ? { truthColumn: values['truth-column'] } : {}),
  });
  const { tasks, clickConversion, notEvaluated, ...first } = r;
  const names = Object.keys(tasks);
  const multi = art.model.outputNames().length > 1;
  if (values.json) {
    // Single-output models print the one report, as before tasks existed; multi-output ones add every output's.
    console.log(JSON.stringify(multi ? r : first));
    return 0;
  }
  for (const name of names) {
    if (multi) console.log(`${name === names[0] ? '' : '\n'}task ${name}:`);
    printReport(tasks[name]!, name === names[0] ? { skipped: r.skipped } : {});
  }
  for (const [name, why] of Object.entries(notEvaluated ?? {})) console.log(`\ntask ${name}: not evaluated (${why})`);
  if (clickConversion !== undefined) printClickConversion(clickConversion);
  return 0;
}

/** ESMM's four numbers for a click → conversion model. */
function printClickConversion(c: FileClickConversion): void {
  console.log('\nclick -> conversion:');
  if ('notComputed' in c) {
    console.log(`not computed: ${c.notComputed}`);
    return;
  }
  const f = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(4));
  console.log(`${'CTR AUC'.padEnd(34)} ${f(c.ctrAuc)}`);
  console.log(`${'CVR AUC on clicked rows'.padEnd(34)} ${f(c.cvrAucClicked)}`);
  console.log(
    `${`CVR AUC over all impressions`.padEnd(34)} ${c.truthColumn === null ? '- (no true pCVR column; see --truth-column)' : `${f(c.cvrAucEntireSpace)} (against ${c.truthColumn})`}`,
  );
  console.log(`${'CTCVR AUC'.padEnd(34)} ${f(c.ctcvrAuc)}`);
}

/** One task's metrics as a table, then its per-slice tables. */
function printReport(r: EvalReport, extra: Record<string, number>): void {
  const { slices, ...overall } = r;
  printTable({ ...overall, ...extra });
  for (const [col, byValue] of Object.entries(slices ?? {})) {
    console.log(`\nby ${col}:`);
    console.log(
      `${'value'.padEnd(20)} ${'rows'.padStart(8)} ${'AUC'.padStart(9)} ${'logloss'.padStart(9)} ${'calib'.padStart(7)}${r.gauc !== undefined ? ` ${'gAUC'.padStart(9)}` : ''}`,
    );
    for (const [v, m] of Object.entries(byValue)) {
      console.log(
        `${v.slice(0, 20).padEnd(20)} ${String(m.rows).padStart(8)} ${m.auc.toFixed(4).padStart(9)} ${m.logloss.toFixed(4).padStart(9)} ${m.calibration.toFixed(3).padStart(7)}${m.gauc !== undefined ? ` ${m.gauc.toFixed(4).padStart(9)}` : ''}`,
      );
    }
  }
}
