import { parseConfigCommand } from '../format.js';
import { loadLabelConfig } from '../../labels/config.js';
import { buildLabelFiles } from '../../labels/run.js';

const HELP = `usage: finerank labels --config FILE [--json]

Builds one labeled row per impression from an event log (CSV/TSV/JSONL/Parquet rows of user,
item, event type, timestamp and an optional value): click within a window, conversion within
an attribution window after a click, dwell ≥ threshold, completion ratio, return within N
days; several labels at once. Out-of-order events (up to max_lateness), duplicates, late
events and impressions whose windows outlast the log are counted. With split: {at, gap,
train, test} the rows go to a train file (impressions before at − gap) and a test file
(from at on); gap defaults to, and must be at least, the longest label window.
See docs/labels.md.`;

/** `finerank labels --config FILE`: builds label files from an event log and prints the counts. */
export async function run(args: string[]): Promise<number> {
  const values = parseConfigCommand('labels', args, HELP);
  if (typeof values === 'number') return values;
  const cfg = loadLabelConfig(values.config);
  const r = await buildLabelFiles(cfg);
  if (values.json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  console.log(`events read        ${r.events}`);
  console.log(`impressions        ${r.engine.impressions}`);
  for (const [file, n] of Object.entries(r.written)) console.log(`written            ${n} rows → ${file}`);
  console.log(`label horizon      ${r.horizon} s`);
  for (const [name, n] of Object.entries(r.engine.positives))
    console.log(`positives of ${name}: ${n}${r.engine.unattributed[name] ? ` (unattributed events: ${r.engine.unattributed[name]})` : ''}`);
  console.log(`reordered events   ${r.reorder.reordered}`);
  console.log(`duplicates dropped ${r.reorder.duplicates}`);
  console.log(`late dropped       ${r.reorder.late}`);
  console.log(`incomplete windows ${r.engine.incomplete}${cfg.incomplete === 'drop' ? ' (dropped)' : ' (kept)'}`);
  if (cfg.split) console.log(`in split gap       ${r.gapDropped} (dropped)`);
  if (r.badRows.skipped > 0)
    console.log(
      `bad rows skipped   ${r.badRows.skipped}, e.g. ${r.badRows.examples
        .slice(0, 3)
        .map((x) => x.reason)
        .join(' | ')}`,
    );
  return 0;
}
