/**
 * `npm run bench:train` — DeepFM, DCN and the feature-crossing zoo under the
 * published-benchmark (BARS / FuxiCTR) protocol of DESIGN.md §5, finerank against PyTorch,
 * side by side.
 *
 * 1. Dataset: the frappe-like preset, generated once and cached under
 *    bench/out/frappe-like/ (`finerank gen frappe-like`, or this repo's stand-in Python
 *    generator with `--gen python`; `--rows N`: bench/out/frappe-like-N/), or any libfm
 *    dataset given with `--data DIR` (DIR/train|valid|test.libfm; an optional
 *    DIR/fields.json overrides the field ranges).
 * 2. For each model of bench/train/config.json (or `--models a,b`) and each seed: runs
 *      node dist/src/cli/main.js train --config <generated finerank config> --json
 *      <python with torch> bench/train/torch_ctr.py --model M --seed S --train … --config bench/train/config.json
 *    with the same thread count (FINERANK_THREADS / --threads), each in its own process
 *    (AutoFIS: both sides run the search stage, then retrain over the kept pairs; samples/s
 *    is the retrain stage's on each side).
 * 3. Prints a table (with the load average), the deltas against bench/train/reference.json,
 *    and ends with ONE JSON line per model: samples/s, test AUC (and its mean/min/max/std
 *    over the seeds), test logloss and peak RSS of each side, and the finerank/PyTorch ratios.
 *
 * Options: --models deepfm,dcn,…  --threads 1  --seeds 1  --rows N  --data DIR
 *          --gen finerank|python  --max-epochs N (both sides)  --only finerank|pytorch  --record
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, intOption } from '../common/args.js';
import { runProcess, requireSuccess, lastJsonLine, numberField, optionalNumberField } from '../common/process.js';
import { torchPython } from '../common/python.js';
import { repoRoot } from '../common/paths.js';
import { formatTable, fmt, fmtAuto, ratio, round } from '../common/table.js';
import { loadReference, compareWithReference } from '../common/reference.js';
import { toMiB } from '../common/rss.js';
import { machineInfo } from '../common/machine.js';

type Impl = 'finerank' | 'pytorch';
/** A model entry of bench/train/config.json (its key). */
type ModelName = string;

/** One field of a libfm dataset: an inclusive range of global feature indices. */
interface FieldRange {
  name: string;
  range: [number, number];
}

/** The parts of bench/train/config.json this runner reads. */
interface BenchConfig {
  dataset: { fields: FieldRange[]; min_count: number; gen: { preset: string; rows: number; seed: number } };
  protocol: { seed: number; max_epochs: number; preset: string };
  models: Record<ModelName, Record<string, unknown>>;
}

/** Files of one dataset. */
interface Dataset {
  dir: string;
  train: string;
  valid: string;
  test: string;
  fields: FieldRange[];
  /** File the field ranges came from (null: config.json). */
  fieldsFile: string | null;
  /** Test AUC of the true probabilities, when the generator recorded it (meta.json). */
  oracleTestAuc: number | null;
}

/** splits.test.oracle.label.auc of a `finerank gen` meta.json, or null. */
function readOracleAuc(path: string): number | null {
  if (!existsSync(path)) return null;
  try {
    const meta = JSON.parse(readFileSync(path, 'utf8')) as { splits?: { test?: { oracle?: Record<string, { auc?: unknown }> } } };
    const o = meta.splits?.test?.oracle;
    const first = o === undefined ? undefined : Object.values(o)[0];
    return typeof first?.auc === 'number' ? first.auc : null;
  } catch {
    return null;
  }
}

/** What each side reports for one model. */
interface TrainResult {
  samples_per_sec: number;
  /** Training examples per second of the process's CPU time while training (both sides' `train_seconds` / `train_cpu_seconds`); null when a side does not report them. */
  cpu_samples_per_sec: number | null;
  test_auc: number;
  test_logloss: number;
  peak_rss_bytes: number | null;
  epochs: number | null;
  best_valid_auc: number | null;
  wall_s: number;
}

function readConfig(path: string): BenchConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const c = raw as BenchConfig;
  if (!Array.isArray(c?.dataset?.fields) || c.dataset.fields.length === 0) throw new Error(`${path}: dataset.fields must be a non-empty list`);
  if (typeof c.models !== 'object' || c.models === null || Object.keys(c.models).length === 0)
    throw new Error(`${path}: models must list the models`);
  return c;
}

/** Finds DIR/{train,valid,test}.{libfm,libsvm,txt}; null when any part is missing. */
function findSplits(dir: string): { train: string; valid: string; test: string } | null {
  if (!existsSync(dir)) return null;
  const names = readdirSync(dir);
  const pick = (part: string): string | null => {
    for (const ext of ['libfm', 'libsvm', 'txt']) {
      const hit = names.find((n) => n === `${part}.${ext}` || (n.includes(part) && n.endsWith(`.${ext}`)));
      if (hit !== undefined) return join(dir, hit);
    }
    return null;
  };
  const train = pick('train');
  const valid = pick('valid');
  const test = pick('test');
  return train && valid && test ? { train, valid, test } : null;
}

async function prepareDataset(cfg: BenchConfig, dataDir: string | null, gen: string, customRows = false): Promise<Dataset> {
  const root = repoRoot();
  const base = gen === 'python' ? 'frappe-like-py' : 'frappe-like';
  const dir = dataDir ?? join(root, 'bench', 'out', customRows ? `${base}-${cfg.dataset.gen.rows}` : base);
  let splits = findSplits(dir);
  if (splits === null) {
    if (dataDir !== null) throw new Error(`--data ${dataDir}: expected train/valid/test files (.libfm, .libsvm or .txt) in that folder`);
    mkdirSync(dir, { recursive: true });
    const g = cfg.dataset.gen;
    let command: string;
    let args: string[];
    if (gen === 'python') {
      command = torchPython();
      args = [join(root, 'bench', 'train', 'gen_frappe_like.py'), '--out', dir, '--rows', String(g.rows), '--seed', String(g.seed)];
    } else {
      const cli = join(root, 'dist', 'src', 'cli', 'main.js');
      if (!existsSync(cli)) throw new Error(`${cli} is missing: build finerank (tsc) first, or use '--gen python' / '--data DIR'`);
      command = process.execPath;
      args = [cli, 'gen', g.preset, '--out', dir, '--rows', String(g.rows), '--seed', String(g.seed)];
    }
    process.stderr.write(`[bench:train] generating ${g.preset} into ${dir} …\n`);
    const r = await runProcess(command, args, { cwd: root, echoStdout: true });
    requireSuccess('dataset generation', command, args, r);
    splits = findSplits(dir);
    if (splits === null) throw new Error(`dataset generation finished but ${dir} has no train/valid/test files`);
  }
  // Field ranges: DIR/fields.json, else the dataset.fields of DIR/schema.json (written by
  // `finerank gen`), else config.json.
  let fields = cfg.dataset.fields;
  let usedFieldsFile: string | null = null;
  for (const [file, pickList] of [
    ['fields.json', (raw: unknown) => (Array.isArray(raw) ? raw : (raw as { fields?: unknown }).fields)],
    ['schema.json', (raw: unknown) => (raw as { dataset?: { fields?: unknown } }).dataset?.fields],
  ] as const) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    const list = raw !== null && typeof raw === 'object' ? pickList(raw) : undefined;
    if (list === undefined && file === 'schema.json') continue;
    if (!Array.isArray(list) || list.some((f) => !Array.isArray((f as FieldRange)?.range) || typeof (f as FieldRange).name !== 'string')) {
      throw new Error(`${path}: expected field ranges as a list of {name, range: [lo, hi]}`);
    }
    fields = list as FieldRange[];
    usedFieldsFile = path;
    break;
  }
  const oracle = readOracleAuc(join(dir, 'meta.json'));
  return { dir, ...splits, fields, fieldsFile: usedFieldsFile, oracleTestAuc: oracle };
}

/**
 * Names of bench/train/config.json model settings (FuxiCTR's spelling) in finerank's model
 * options (src/models, snake_case accepted by the CLI). Settings mapped to null are
 * structural facts finerank's models fix (no FM bias), not options.
 */
const FINERANK_OPTION_NAMES: Record<string, string | null> = {
  embedding_dim: 'embedding_dim',
  hidden_units: 'dnn_hidden_units',
  dnn_hidden_units: 'dnn_hidden_units',
  hidden_activations: 'dnn_activation',
  dnn_activations: 'dnn_activation',
  net_dropout: 'dnn_dropout',
  batch_norm: 'batch_norm',
  num_cross_layers: 'num_cross_layers',
  fm_bias: null,
};

/**
 * The config handed to `finerank train --config` (the format read by src/cli/config.ts):
 *   data: {train, valid, test, format: libfm, fields: [{name, range}], min_count}
 *   model, preset: bars, model_options (from bench/train/config.json, renamed), train: {seed, epochs?}
 * String-valued settings of config.json are notes and are not passed on.
 */
export function finerankTrainConfig(
  cfg: BenchConfig,
  data: Dataset,
  model: ModelName,
  maxEpochs: number | null,
  seed = cfg.protocol.seed,
): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const entry = cfg.models[model]!;
  const stringOptions = new Set(['product_type', 'model_structure', 'bilinear_type', 'conv_activation']);
  // The deepfm / dcn entries predate FuxiCTR names in finerank and are renamed; the zoo entries' FuxiCTR names are finerank's.
  const legacy = model === 'deepfm' || model === 'dcn';
  for (const [k, v] of Object.entries(entry)) {
    if (legacy && (k === 'hidden_activations' || k === 'dnn_activations')) {
      options.dnn_activation = v;
      continue;
    }
    if (k === 'model' || k === 'embedding_regularizer' || (typeof v === 'string' && !stringOptions.has(k) && !k.endsWith('activations'))) continue;
    const name = legacy ? FINERANK_OPTION_NAMES[k] : k;
    if (name === undefined)
      throw new Error(`bench/train/config.json: models.${model}.${k} has no finerank equivalent; add it to FINERANK_OPTION_NAMES`);
    if (name !== null) options[name] = v;
  }
  const l2 = entry.embedding_regularizer;
  return {
    data: {
      train: data.train,
      valid: data.valid,
      test: data.test,
      format: 'libfm',
      fields: data.fields.map((f) => ({ name: f.name, range: f.range })),
      min_count: cfg.dataset.min_count,
    },
    model: typeof entry.model === 'string' ? entry.model : model,
    preset: cfg.protocol.preset,
    model_options: options,
    train: { seed, ...(maxEpochs !== null ? { epochs: maxEpochs } : {}), ...(typeof l2 === 'number' ? { embedding_l2: l2 } : {}) },
  };
}

/**
 * Reads a training summary line. Keys are matched in snake_case or camelCase
 * (`samples_per_sec` / `samplesPerSec`); peak RSS may be `peak_rss_bytes` / `peak_rss`
 * (bytes) or `peak_rss_mb` (MiB); the best valid AUC `best_valid_auc` or `valid_auc` (the
 * restored best model's).
 */
function rssBytes(obj: Record<string, unknown>, pick: (...k: string[]) => string, label: string): number | null {
  const bytes = optionalNumberField(obj, pick('peak_rss_bytes', 'peak_rss'), label);
  if (bytes !== null) return bytes;
  const mb = optionalNumberField(obj, pick('peak_rss_mb'), label);
  return mb === null ? null : mb * 1048576;
}

/** samples/s of CPU time = samples_per_sec · train_seconds / train_cpu_seconds (null without both). */
function cpuSamplesPerSec(obj: Record<string, unknown>, pick: (...k: string[]) => string, label: string): number | null {
  const wall = optionalNumberField(obj, pick('train_seconds'), label);
  const cpu = optionalNumberField(obj, pick('train_cpu_seconds'), label);
  if (wall === null || cpu === null || !(cpu > 0)) return null;
  return (numberField(obj, pick('samples_per_sec'), label) * wall) / cpu;
}

function parseTrainResult(obj: Record<string, unknown>, label: string, wallMs: number): TrainResult {
  const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const pick = (...keys: string[]): string => keys.flatMap((k) => [k, camel(k)]).find((k) => obj[k] !== undefined && obj[k] !== null) ?? keys[0]!;
  return {
    samples_per_sec: numberField(obj, pick('samples_per_sec'), label),
    cpu_samples_per_sec: cpuSamplesPerSec(obj, pick, label),
    test_auc: numberField(obj, pick('test_auc'), label),
    test_logloss: numberField(obj, pick('test_logloss'), label),
    peak_rss_bytes: rssBytes(obj, pick, label),
    epochs: optionalNumberField(obj, pick('epochs'), label),
    best_valid_auc: optionalNumberField(obj, pick('best_valid_auc', 'valid_auc'), label),
    wall_s: wallMs / 1000,
  };
}

async function runSide(
  impl: Impl,
  model: ModelName,
  threads: number,
  cfg: BenchConfig,
  cfgPath: string,
  data: Dataset,
  maxEpochs: number | null,
  seed: number,
): Promise<TrainResult> {
  const root = repoRoot();
  const env = { FINERANK_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  let command: string;
  let args: string[];
  if (impl === 'finerank') {
    const cli = join(root, 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(cli)) throw new Error(`finerank CLI not built: ${cli} is missing`);
    const outDir = join(root, 'bench', 'out', 'train');
    mkdirSync(outDir, { recursive: true });
    const generated = join(outDir, `finerank-${model}-${seed}.json`);
    writeFileSync(generated, JSON.stringify(finerankTrainConfig(cfg, data, model, maxEpochs, seed), null, 2) + '\n');
    command = process.execPath;
    args = [cli, 'train', '--config', generated, '--json'];
  } else {
    command = torchPython();
    args = [
      join(root, 'bench', 'train', 'torch_ctr.py'),
      '--model',
      model,
      '--train',
      data.train,
      '--valid',
      data.valid,
      '--test',
      data.test,
      '--config',
      cfgPath,
      '--threads',
      String(threads),
      ...(data.fieldsFile !== null ? ['--fields', data.fieldsFile] : []),
      ...(maxEpochs !== null ? ['--max-epochs', String(maxEpochs)] : []),
      '--seed',
      String(seed),
    ];
  }
  const label = `${impl} ${model} (seed ${seed})`;
  process.stderr.write(`[bench:train] running ${label} (${threads} thread${threads > 1 ? 's' : ''}) …\n`);
  const r = await runProcess(command, args, { cwd: root, env, echoStdout: true, timeoutMs: 60 * 60_000 });
  requireSuccess(label, command, args, r);
  return parseTrainResult(lastJsonLine(r.stdout, label), label, r.wallMs);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2), {
    models: 'string',
    threads: 'string',
    data: 'string',
    gen: 'string',
    rows: 'string',
    seeds: 'string',
    'max-epochs': 'string',
    only: 'string',
    config: 'string',
    record: 'flag',
  });
  const root = repoRoot();
  const cfgPath = typeof opts.config === 'string' ? resolve(opts.config) : join(root, 'bench', 'train', 'config.json');
  const cfg = readConfig(cfgPath);
  const known = Object.keys(cfg.models);
  const models = typeof opts.models === 'string' ? opts.models.split(',').map((s) => s.trim()) : known;
  for (const m of models) if (!known.includes(m)) throw new Error(`--models: unknown model '${m}' (known: ${known.join(', ')})`);
  const threads = intOption(opts, 'threads', 1);
  const maxEpochs = opts['max-epochs'] === undefined ? null : intOption(opts, 'max-epochs', 1);
  const seeds = intOption(opts, 'seeds', 1);
  if (opts.rows !== undefined) cfg.dataset.gen.rows = intOption(opts, 'rows', cfg.dataset.gen.rows);
  const gen = typeof opts.gen === 'string' ? opts.gen : 'finerank';
  if (gen !== 'finerank' && gen !== 'python') throw new Error(`--gen must be 'finerank' or 'python', got '${gen}'`);
  const only = opts.only;
  if (only !== undefined && only !== 'finerank' && only !== 'pytorch')
    throw new Error(`--only must be 'finerank' or 'pytorch', got '${String(only)}'`);
  const impls: Impl[] = only === undefined ? ['finerank', 'pytorch'] : [only];
  const loadBefore = machineInfo().load_avg_1m;

  const data = await prepareDataset(cfg, typeof opts.data === 'string' ? resolve(opts.data) : null, gen, opts.rows !== undefined);
  process.stderr.write(`[bench:train] dataset: ${data.dir}${data.fieldsFile ? ` (fields from ${data.fieldsFile})` : ''}\n`);

  // One run per (model, side, seed); the first seed's run is the one the table and the reference use.
  const runs = new Map<string, TrainResult[]>();
  const errors = new Map<string, string>();
  for (const model of models) {
    for (const impl of impls) {
      const key = `${impl}.${model}`;
      for (let k = 0; k < seeds; k++) {
        try {
          const r = await runSide(impl, model, threads, cfg, cfgPath, data, maxEpochs, cfg.protocol.seed + k);
          runs.set(key, [...(runs.get(key) ?? []), r]);
        } catch (e) {
          errors.set(key, (e as Error).message);
          process.stderr.write(`[bench:train] ${impl} ${model} failed: ${(e as Error).message}\n`);
          break;
        }
      }
    }
  }
  const get = (impl: Impl, model: ModelName): TrainResult | null => runs.get(`${impl}.${model}`)?.[0] ?? null;
  const errorOf = (impl: Impl, model: ModelName): string | null => errors.get(`${impl}.${model}`) ?? null;
  /** Mean, min, max and sample standard deviation of test AUC over the seeds run. */
  const aucSpread = (impl: Impl, model: ModelName) => {
    const a = (runs.get(`${impl}.${model}`) ?? []).map((r) => r.test_auc);
    if (a.length === 0) return null;
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    const sd = a.length > 1 ? Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / (a.length - 1)) : 0;
    return { n: a.length, mean: round(mean, 6), min: round(Math.min(...a), 6), max: round(Math.max(...a), 6), std: round(sd, 6) };
  };

  const rows: string[][] = [];
  for (const model of models) {
    for (const impl of impls) {
      const r = get(impl, model);
      rows.push([
        model,
        impl,
        fmt(r?.samples_per_sec ?? null),
        fmt(r?.test_auc ?? null, 6),
        fmt(r?.test_logloss ?? null, 6),
        fmt(r?.best_valid_auc ?? null, 6),
        fmt(r?.epochs ?? null),
        fmt(r?.peak_rss_bytes != null ? toMiB(r.peak_rss_bytes) : null),
        fmt(r?.wall_s ?? null, 1),
        (() => {
          const a = aucSpread(impl, model);
          return a === null ? 'failed' : `${a.mean!.toFixed(6)} [${a.min!.toFixed(6)}, ${a.max!.toFixed(6)}] n=${a.n}`;
        })(),
      ]);
    }
  }
  process.stdout.write(
    `\nBARS protocol on ${data.dir} (${threads} thread${threads > 1 ? 's' : ''}, load average ${loadBefore} before the runs, ${machineInfo().load_avg_1m} after` +
      `${data.oracleTestAuc !== null ? `; oracle test AUC ${data.oracleTestAuc.toFixed(6)}` : ''})\n`,
  );
  process.stdout.write(
    formatTable(
      ['model', 'impl', 'samples/s', 'test AUC', 'test logloss', 'valid AUC', 'epochs', 'RSS MiB', 'wall s', 'test AUC over seeds: mean [min, max]'],
      rows,
    ) + '\n',
  );

  const flat: Record<string, number | null> = {};
  for (const model of models) {
    for (const impl of ['finerank', 'pytorch'] as const) {
      const r = get(impl, model);
      flat[`${impl}.${model}.samples_per_sec`] = round(r?.samples_per_sec ?? null, 0);
      flat[`${impl}.${model}.test_auc`] = round(r?.test_auc ?? null, 6);
      flat[`${impl}.${model}.peak_rss_mb`] = round(r?.peak_rss_bytes != null ? toMiB(r.peak_rss_bytes) : null, 1);
    }
  }
  const refPath = join(root, 'bench', 'train', 'reference.json');
  const ref = loadReference(refPath);
  if (ref !== null) {
    const deltas = compareWithReference(flat, ref.results).filter((d) => d.now !== null || d.recorded !== null);
    process.stdout.write(`\nagainst ${refPath} (${String(ref.meta.machine ?? 'unknown machine')}, ${String(ref.meta.recorded ?? '')}):\n`);
    const here = data.dir.startsWith(root) ? data.dir.slice(root.length + 1) : data.dir;
    if (ref.meta.dataset !== undefined && ref.meta.dataset !== here) {
      process.stdout.write(`(recorded on dataset ${String(ref.meta.dataset)}, this run uses ${here}: AUCs are not comparable)\n`);
    }
    process.stdout.write(
      formatTable(
        ['metric', 'now', 'recorded', 'delta'],
        deltas.map((d) => [
          d.metric,
          fmtAuto(d.now),
          fmtAuto(d.recorded),
          d.relative === null ? '—' : `${d.relative >= 0 ? '+' : ''}${(d.relative * 100).toFixed(1)}%`,
        ]),
      ) + '\n',
    );
  }
  if (opts.record === true) {
    const merged = { ...(ref?.results ?? {}) };
    for (const [k, v] of Object.entries(flat)) if (v !== null) merged[k] = v;
    const doc = {
      description: 'Recorded results of `npm run bench:train` (samples/s, AUC, MiB). Re-record with `npm run bench:train -- --record`.',
      machine: machineInfo().machine,
      load_avg_1m_before: loadBefore,
      dataset: data.dir.startsWith(root) ? data.dir.slice(root.length + 1) : data.dir,
      threads,
      recorded: new Date().toISOString(),
      command: `npm run bench:train -- ${process.argv.slice(2).join(' ')}`.trim(),
      results: merged,
    };
    writeFileSync(refPath + '.tmp', JSON.stringify(doc, null, 2) + '\n');
    renameSync(refPath + '.tmp', refPath);
    process.stdout.write(`recorded into ${refPath}\n`);
  }

  const side = (impl: Impl, model: ModelName) => {
    const r = get(impl, model);
    return {
      samples_per_sec: round(r?.samples_per_sec ?? null, 0),
      cpu_samples_per_sec: round(r?.cpu_samples_per_sec ?? null, 0),
      test_auc: round(r?.test_auc ?? null, 6),
      test_logloss: round(r?.test_logloss ?? null, 6),
      peak_rss_mb: round(r?.peak_rss_bytes != null ? toMiB(r.peak_rss_bytes) : null, 1),
      epochs: r?.epochs ?? null,
      test_auc_over_seeds: aucSpread(impl, model),
      error: errorOf(impl, model),
    };
  };
  for (const model of models) {
    const f = get('finerank', model);
    const p = get('pytorch', model);
    process.stdout.write(
      JSON.stringify({
        bench: 'train',
        model,
        threads,
        dataset: data.dir.startsWith(root) ? data.dir.slice(root.length + 1) : data.dir,
        oracle_test_auc: data.oracleTestAuc === null ? null : round(data.oracleTestAuc, 6),
        seeds,
        max_epochs: maxEpochs,
        load_avg_1m_before: loadBefore,
        load_avg_1m_after: machineInfo().load_avg_1m,
        finerank: side('finerank', model),
        pytorch: side('pytorch', model),
        ratio: {
          samples_per_sec: round(ratio(f?.samples_per_sec ?? null, p?.samples_per_sec ?? null)),
          cpu_samples_per_sec: round(ratio(f?.cpu_samples_per_sec ?? null, p?.cpu_samples_per_sec ?? null)),
          peak_rss: round(ratio(f?.peak_rss_bytes ?? null, p?.peak_rss_bytes ?? null)),
        },
        test_auc_diff: f && p ? round(f.test_auc - p.test_auc, 6) : null,
      }) + '\n',
    );
  }
  if (errors.size > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:train: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
