import { parseArgs } from 'node:util';
import { loadArtifact } from '../../serve/artifact.js';
import { scoreFile } from '../../serve/score.js';
import { writeFileAtomic } from '../../util/atomic.js';

const HELP = `usage: finerank predict MODEL_FILE --data FILE [--format FORMAT] [--out FILE] [--skip-bad-rows]

Writes the probabilities of every data row, in file order, as CSV to --out (atomically)
or to standard output: one column 'score' for a single-task model, one column per task
(named after the task) for a multi-task model, then one per extra output (ESMM: cvr). The
file needs the input columns only: label, weight and group columns may be absent.

The file is read in its own format: --format (csv, tsv, jsonl, parquet, libsvm, libfm), else
its extension (.csv, .tsv, .jsonl/.ndjson/.json, .parquet, .libsvm, .libfm), else the format
the model was trained on. A model trained on named columns (csv, tsv, jsonl, parquet) scores
any of these (CSV/TSV with a header line); one trained on libsvm/libfm scores those two.`;

/** `finerank predict`: scores of a model artifact for every row of a data file. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string', short: 'o' },
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
  const s = await scoreFile(art, values.data, {
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
    ...(values.format !== undefined ? { format: values.format } : {}),
  });
  const tasks = Object.keys(s.taskProbs);
  const cols = tasks.map((t) => s.taskProbs[t]!);
  const lines = [tasks.length === 1 ? 'score' : tasks.join(',')];
  for (let i = 0; i < s.probs.length; i++) lines.push(cols.map((c) => c[i]!.toPrecision(7)).join(','));
  const text = `${lines.join('\n')}\n`;
  if (values.out !== undefined) {
    writeFileAtomic(values.out, text);
    process.stderr.write(`${s.probs.length} scores written to ${values.out}${s.skipped > 0 ? ` (${s.skipped} bad rows skipped)` : ''}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
