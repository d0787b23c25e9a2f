/**
 * `npm run bench:train:seq` — DIN and DIEN, finerank against PyTorch twins of the same models
 * and protocol (bench/train/torch_seq.py; the finerank side is bench/train/seq_finerank.ts),
 * each model and side in its own process, with the same thread count.
 *
 * Data: the `sequence` generator (src/data/synth/sequence.ts) with histories of 40–50
 * behaviours padded to length 50 (`maxLen` 50, both histories item + category ids), cached
 * under bench/out/seq-train-<rows>/. Protocol: embeddings dim 16, batch 4096, Adam 1e-3,
 * grad-norm clip 10, `--epochs` epochs (default 1), test AUC after the last one.
 *
 * Prints a table and ends with ONE JSON line: per model samples/s, test AUC, test logloss
 * and peak RSS of each side, the finerank/PyTorch samples/s ratio, and the machine's load.
 *
 *   npm run bench:train:seq -- [--rows 200000] [--epochs 1] [--models din,dien] [--threads 1] [--only finerank|pytorch]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, intOption } from '../common/args.js';
import { runProcess, requireSuccess, lastJsonLine, numberField } from '../common/process.js';
import { torchPython } from '../common/python.js';
import { repoRoot } from '../common/paths.js';
import { formatTable, fmt, ratio, round } from '../common/table.js';
import { toMiB } from '../common/rss.js';
import { machineInfo } from '../common/machine.js';
import { generateSequence, SEQUENCE_DEFAULTS } from '../../src/data/synth/sequence.js';
import type { SynthMeta } from '../../src/data/synth/index.js';

const MAX_LEN = 50;
const opts = parseArgs(process.argv.slice(2), { rows: 'string', epochs: 'string', models: 'string', threads: 'string', only: 'string' });
const rows = intOption(opts, 'rows', 200_000);
const epochs = intOption(opts, 'epochs', 1);
const threads = intOption(opts, 'threads', 1);
const models = String(opts.models ?? 'din,dien').split(',');
for (const m of models) if (m !== 'din' && m !== 'dien') throw new Error(`--models: '${m}' is not din or dien`);
const only = opts.only === undefined ? null : String(opts.only);
if (only !== null && only !== 'finerank' && only !== 'pytorch') throw new Error(`--only must be finerank or pytorch, got '${only}'`);

const root = repoRoot();
const dir = join(root, 'bench', 'out', `seq-train-${rows}`);
const spec = { ...SEQUENCE_DEFAULTS, minLen: 40, maxLen: MAX_LEN };
// The cached dataset is reused only when it was generated from the same parameters.
const cached = existsSync(join(dir, 'meta.json')) ? (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta) : null;
const sameSpec =
  cached !== null && Object.entries(spec).every(([k, v]) => JSON.stringify((cached.params as Record<string, unknown>)[k]) === JSON.stringify(v));
let meta: SynthMeta;
if (cached !== null && sameSpec) meta = cached;
else {
  process.stderr.write(`[bench:train:seq] generating ${rows} rows (histories 40–${MAX_LEN}) into ${dir} …\n`);
  meta = generateSequence(spec, { outDir: dir, rows, seed: 2019 });
}
const env = { FINERANK_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };

interface Side {
  samples_per_sec: number;
  test_auc: number;
  test_logloss: number;
  peak_rss_bytes: number;
}

async function run(impl: 'finerank' | 'pytorch', model: string): Promise<Side> {
  const [command, args] =
    impl === 'finerank'
      ? [process.execPath, [join(root, 'dist', 'bench', 'train', 'seq_finerank.js'), '--model', model, '--dir', dir, '--epochs', String(epochs)]]
      : [
          torchPython(),
          [
            join(root, 'bench', 'train', 'torch_seq.py'),
            '--model',
            model,
            '--train',
            join(dir, meta.splits.train.file),
            '--test',
            join(dir, meta.splits.test.file),
            '--max-len',
            String(MAX_LEN),
            '--epochs',
            String(epochs),
            '--threads',
            String(threads),
          ],
        ];
  const label = `${impl} ${model}`;
  process.stderr.write(`[bench:train:seq] running ${label} (${threads} thread${threads > 1 ? 's' : ''}) …\n`);
  const r = await runProcess(command, args, { cwd: root, env, echoStdout: true, timeoutMs: 60 * 60_000 });
  requireSuccess(label, command, args, r);
  const o = lastJsonLine(r.stdout, label);
  return {
    samples_per_sec: numberField(o, 'samples_per_sec', label),
    test_auc: numberField(o, 'test_auc', label),
    test_logloss: numberField(o, 'test_logloss', label),
    peak_rss_bytes: numberField(o, 'peak_rss_bytes', label),
  };
}

const loadBefore = machineInfo();
const results: Record<string, { finerank: Side | null; pytorch: Side | null; samples_per_sec_ratio: number | null }> = {};
for (const model of models) {
  const f = only === 'pytorch' ? null : await run('finerank', model);
  const p = only === 'finerank' ? null : await run('pytorch', model);
  results[model] = { finerank: f, pytorch: p, samples_per_sec_ratio: round(ratio(f?.samples_per_sec ?? null, p?.samples_per_sec ?? null), 3) };
}
const loadAfter = machineInfo();
const table = formatTable(
  ['model', 'side', 'samples/s', 'test AUC', 'logloss', 'peak RSS MiB'],
  models.flatMap((m) =>
    (['finerank', 'pytorch'] as const)
      .filter((s) => results[m]![s] !== null)
      .map((s) => {
        const r = results[m]![s]!;
        return [m, s, fmt(r.samples_per_sec), fmt(r.test_auc, 4), fmt(r.test_logloss, 4), fmt(toMiB(r.peak_rss_bytes), 1)];
      }),
  ),
);
console.log(table);
for (const m of models)
  if (results[m]!.samples_per_sec_ratio !== null) console.log(`${m}: finerank / PyTorch samples/s = ${results[m]!.samples_per_sec_ratio}×`);
console.log(
  `machine: ${loadAfter.machine}; load average (1 min) ${loadBefore.load_avg_1m} before, ${loadAfter.load_avg_1m} after — ratios taken on a shared machine are indicative only`,
);
console.log(
  JSON.stringify({
    bench: 'train-seq',
    rows,
    train_rows: meta.splits.train.rows,
    seq_len: MAX_LEN,
    batch_size: 4096,
    epochs,
    threads,
    oracle_test_auc: Object.values(meta.splits.test.oracle)[0]!.auc,
    models: results,
    machine: loadAfter.machine,
    load_avg_1m_before: loadBefore.load_avg_1m,
    load_avg_1m_after: loadAfter.load_avg_1m,
  }),
);
