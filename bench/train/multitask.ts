/**
 * `npm run bench:train:mtl` — MMoE and PLE, finerank against a PyTorch twin of the same
 * model (bench/train/torch_mtl.py: same experts, gates, towers, inputs, batch, optimizer).
 *
 * 1. Dataset: `finerank gen multitask` (click → conversion), generated once into
 *    bench/out/train-mtl-v2-<rows>-<seed>/ and reused (v2: the session-4 generator).
 * 2. For each model: `node dist/src/cli/main.js train --config <generated> --json` (tasks ctr on
 *    click, cvr on conversion where click; FINERANK_THREADS=N) and
 *    `<python with torch> bench/train/torch_mtl.py --model M …`, each in its own process, for
 *    the same fixed number of epochs (no early stopping, no learning-rate decay; the best epoch
 *    by mean valid AUC is restored for the test).
 * 3. Prints a table (samples/s of training time; samples per CPU-second of training, the
 *    number a loaded machine distorts least; per-task test AUC, peak RSS, the ratios
 *    finerank / PyTorch) and ends with ONE JSON line.
 *
 * Options: --models mmoe,ple  --rows 200000  --epochs 2  --batch-size 1024  --threads 1  --seed 2018
 *
 * Differences that remain: finerank updates embeddings with lazy Adam (touched rows only;
 * PyTorch's Adam is dense over every table); the vocabulary order differs (ids are arbitrary).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runProcess, requireSuccess, lastJsonLine } from '../common/process.js';
import { torchPython } from '../common/python.js';
import { repoRoot } from '../common/paths.js';
import { formatTable } from '../common/table.js';
import { machineInfo } from '../common/machine.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mmoe,ple' },
    rows: { type: 'string', default: '200000' },
    epochs: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '1024' },
    threads: { type: 'string', default: '1' },
    seed: { type: 'string', default: '2018' },
  },
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const rows = int('rows', values.rows),
  epochs = int('epochs', values.epochs),
  batchSize = int('batch-size', values['batch-size']),
  threads = int('threads', values.threads),
  seed = int('seed', values.seed);
const models = values.models!.split(',');
for (const m of models) if (m !== 'mmoe' && m !== 'ple') throw new Error(`--models: unknown model '${m}' (supported: mmoe, ple)`);

/** The same model options on both sides (snake_case, as in a finerank config). */
const OPTIONS: Record<string, Record<string, unknown>> = {
  mmoe: { num_experts: 4 },
  ple: { num_layers: 2, num_shared_experts: 2, num_specific_experts: 1 },
};
const COMMON = { embedding_dim: 16, embedding_init_std: 1e-4, expert_hidden_units: [128, 64], gate_hidden_units: [], tower_hidden_units: [64, 32] };

const root = repoRoot();
const dir = join(root, 'bench', 'out', `train-mtl-v2-${rows}-${seed}`);
const before = machineInfo();
if (!existsSync(join(dir, 'meta.json'))) {
  const args = ['dist/src/cli/main.js', 'gen', 'multitask', '--out', dir, '--rows', String(rows), '--seed', String(seed)];
  requireSuccess('dataset generation', 'node', args, await runProcess('node', args, { cwd: root }));
}

type Side = {
  samples_per_sec: number;
  cpu_samples_per_sec: number;
  test_auc_ctr: number;
  test_auc_cvr: number;
  peak_rss_mb: number;
  epochs: number;
};
const pick = (r: Record<string, unknown>, label: string, trainRows: number): Side => {
  const out = {} as Record<string, number>;
  for (const k of ['samples_per_sec', 'test_auc_ctr', 'test_auc_cvr', 'peak_rss_mb', 'epochs']) {
    if (typeof r[k] !== 'number') throw new Error(`${label}: no number '${k}' in its JSON line`);
    out[k] = r[k];
  }
  // CPU time of training, the whole process on both sides (batching included): PyTorch's
  // time.process_time over its loop, finerank's train_process_cpu_seconds.
  const cpu =
    typeof r.cpu_samples_per_sec === 'number'
      ? r.cpu_samples_per_sec
      : typeof r.train_process_cpu_seconds === 'number'
        ? Math.round((trainRows * out.epochs!) / r.train_process_cpu_seconds)
        : NaN;
  if (!Number.isFinite(cpu)) throw new Error(`${label}: no CPU time (cpu_samples_per_sec or train_process_cpu_seconds) in its JSON line`);
  out.cpu_samples_per_sec = cpu;
  return out as unknown as Side;
};
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { splits: { train: { rows: number } } };
const trainRows = meta.splits.train.rows;
const results: Record<string, { finerank: Side; pytorch: Side; ratio: { samples_per_sec: number; cpu_samples_per_sec: number; peak_rss: number } }> =
  {};
for (const model of models) {
  const options = { ...COMMON, ...OPTIONS[model] };
  const config = {
    data: { train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), test: join(dir, 'test.csv'), schema: join(dir, 'schema.json') },
    model,
    model_options: options,
    tasks: [
      { name: 'ctr', label: 'click' },
      { name: 'cvr', label: 'conversion', where: 'click' },
    ],
    train: {
      epochs,
      batch_size: batchSize,
      patience: 0,
      lr_decay_factor: 1,
      monitor_task: 'mean',
      seed,
      optimizer: { type: 'adam', lr: 1e-3 },
      progress: false,
    },
  };
  const configFile = join(dir, `finerank-${model}.json`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const fArgs = ['dist/src/cli/main.js', 'train', '--config', configFile, '--json'];
  const f = await runProcess('node', fArgs, { cwd: root, env: { FINERANK_THREADS: String(threads) } });
  requireSuccess(`finerank ${model}`, 'node', fArgs, f);
  const py = torchPython();
  const pArgs = [
    join(root, 'bench', 'train', 'torch_mtl.py'),
    ...['--model', model, '--dir', dir, '--options', JSON.stringify(options)],
    ...['--epochs', String(epochs), '--batch-size', String(batchSize), '--threads', String(threads), '--seed', String(seed)],
  ];
  const p = await runProcess(py, pArgs, { cwd: root });
  requireSuccess(`pytorch ${model}`, py, pArgs, p);
  const fr = pick(lastJsonLine(f.stdout, `finerank ${model}`), `finerank ${model}`, trainRows);
  const pt = pick(lastJsonLine(p.stdout, `pytorch ${model}`), `pytorch ${model}`, trainRows);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  results[model] = {
    finerank: fr,
    pytorch: pt,
    ratio: {
      samples_per_sec: r2(fr.samples_per_sec / pt.samples_per_sec),
      cpu_samples_per_sec: r2(fr.cpu_samples_per_sec / pt.cpu_samples_per_sec),
      peak_rss: r2(fr.peak_rss_mb / pt.peak_rss_mb),
    },
  };
}
const after = machineInfo();
console.log(
  `MMoE / PLE on multitask data (${rows} rows, 80% train), ${epochs} epochs, batch ${batchSize}, ${threads} thread(s); load average ${before.load_avg_1m} before, ${after.load_avg_1m} after, on ${after.cores} cores (shared machine)`,
);
const f4 = (x: number) => x.toFixed(4);
console.log(
  formatTable(
    ['model', 'side', 'samples/s', 'samples/CPU-s', 'test AUC ctr', 'test AUC cvr (clicked)', 'peak RSS MB', 'epochs'],
    Object.entries(results).flatMap(([m, r]) => [
      [
        m,
        'finerank',
        String(r.finerank.samples_per_sec),
        String(r.finerank.cpu_samples_per_sec),
        f4(r.finerank.test_auc_ctr),
        f4(r.finerank.test_auc_cvr),
        String(r.finerank.peak_rss_mb),
        String(r.finerank.epochs),
      ],
      [
        m,
        'pytorch',
        String(r.pytorch.samples_per_sec),
        String(r.pytorch.cpu_samples_per_sec),
        f4(r.pytorch.test_auc_ctr),
        f4(r.pytorch.test_auc_cvr),
        String(r.pytorch.peak_rss_mb),
        String(r.pytorch.epochs),
      ],
      [m, 'ratio', `${r.ratio.samples_per_sec}×`, `${r.ratio.cpu_samples_per_sec}×`, '', '', `${r.ratio.peak_rss}×`, ''],
    ]),
  ),
);
console.log(
  JSON.stringify({
    bench: 'train_mtl',
    rows,
    epochs,
    batch_size: batchSize,
    threads,
    seed,
    machine: after.machine,
    cores: after.cores,
    load_avg_1m_before: before.load_avg_1m,
    load_avg_1m_after: after.load_avg_1m,
    models: results,
  }),
);
