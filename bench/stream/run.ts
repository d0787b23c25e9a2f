/**
 * Streaming benchmark (`npm run bench:stream`), in two parts, ending with one JSON line.
 *
 * (a) The data path at scale: `finerank gen criteo` writes a Criteo-shaped CSV with `--rows`
 *     training rows (and 10% + 10% valid/test) into a temporary folder (removed after unless
 *     --keep). Then, each in its own process (bench/stream/data_pass.ts): the feature-map fit,
 *     one shuffled pass of 4096-row batches from text (writing the encoded cache), and the
 *     same pass from the cache (both with a 1 000 000-row window, StreamingDataSource's own
 *     default): rows/s, process CPU, cache size, peak RSS. `--large-rows N` repeats (a) at
 *     a second size to show how peak RSS scales with the row count.
 * (b) Training: `finerank train` DeepFM for one epoch on the (a) dataset, in memory and
 *     streaming (window = the training default, derived from the file: docs/streaming.md; cache
 *     on): test AUC, the trainer's samples/s (compute time
 *     only), the seconds the trainer waited for batches (`data_wait_s`: parsing, cache reads
 *     and batch gathering not done ahead in the worker), the command's wall time, peak RSS.
 *     `--skip-train` leaves it out.
 *
 * Options: --rows N (default 2 000 000), --large-rows N (default 0: none), --skip-train,
 * --train-modes memory,stream (which (b) runs, default both), --overlap-ms MS (default 40;
 * 0 skips it: a text pass with MS ms of busy compute per 4096-row batch standing in for a
 * training step, parsing on the same thread and in the worker; data_pass.ts `overlap`),
 * --vocab-min-count N (default 10; 0 skips it: the feature map fitted with every categorical
 * field's minCount = N, exactly and through the count-min sketch, in separate processes; the
 * two maps must be identical), --shuffle-buffer N (data.shuffle_buffer of the streaming run in
 * (b); default the config default, see docs/streaming.md), --seeds S1,S2,… (train seeds of (b), each
 * run once per mode; default 1; with several, the AUC's mean, sample sd, min and max per mode
 * and `train_test_auc_gap_mean`), --tmp DIR (parent of the temporary folder, default the OS temp dir), --keep,
 * --data DIR (use the data of an earlier `--keep` run instead of generating; kept),
 * --skip-data-path (with --data: only part (b)).
 * The machine may be shared: the 1-minute load average is printed with the numbers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../common/args.js';
import { repoRoot } from '../common/paths.js';
import { runProcess, requireSuccess } from '../common/process.js';
import { machineInfo } from '../common/machine.js';

type Json = Record<string, number | string>;

function lastJson(stdout: string): Json {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Json;
}

async function node(label: string, args: string[]): Promise<{ json: Json; wallS: number }> {
  const r = await runProcess(process.execPath, args, { echoStderr: true });
  requireSuccess(label, process.execPath, args, r);
  return { json: lastJson(r.stdout), wallS: Math.round(r.wallMs / 100) / 10 };
}

async function dataPath(
  rows: number,
  parent: string,
  keep: boolean,
  trainModes: readonly string[],
  overlapMs: number,
  vocabMin: number,
  shuffleBuffer = 0,
  seeds: readonly number[] = [1],
  reuse: { dir: string; skipDataPath: boolean } | null = null,
): Promise<Json> {
  const root = repoRoot();
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  const pass = join(root, 'dist', 'bench', 'stream', 'data_pass.js');
  const dir = reuse?.dir ?? mkdtempSync(join(parent, 'finerank-bench-stream-'));
  try {
    const out: Json = {};
    if (reuse === null) {
      const total = Math.round(rows / 0.8);
      console.error(`bench:stream: generating ${total} rows (train ≈ ${rows}) into ${dir} …`);
      await node('gen', [cli, 'gen', 'criteo', '--out', dir, '--rows', String(total), '--seed', '1', '--json']);
    } else console.error(`bench:stream: using the data in ${dir} (--data)`);
    if (reuse?.skipDataPath !== true) Object.assign(out, await dataPasses(dir, pass, vocabMin, overlapMs));
    for (const mode of trainModes) Object.assign(out, await trainRuns(dir, cli, mode === 'stream', shuffleBuffer, seeds));
    if (out.train_memory_test_auc_mean !== undefined && out.train_stream_test_auc_mean !== undefined)
      out.train_test_auc_gap_mean = round6(Number(out.train_stream_test_auc_mean) - Number(out.train_memory_test_auc_mean));
    return out;
  } finally {
    if (keep || reuse !== null) console.error(`bench:stream: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Part (a) on the data in `dir`: fit, optional vocabulary check, text pass, cache pass, optional overlap check. */
async function dataPasses(dir: string, pass: string, vocabMin: number, overlapMs: number): Promise<Json> {
  {
    const fit = await node('fit', [pass, 'fit', dir]);
    const vocab: Json = {};
    if (vocabMin > 0) {
      const exact = await node('vocab (exact)', [pass, 'vocab', dir, String(vocabMin), 'exact']);
      const sketch = await node('vocab (sketch)', [pass, 'vocab', dir, String(vocabMin), 'sketch']);
      if (exact.json.sha256 !== sketch.json.sha256) throw new Error('bounded vocabulary fitting gave another feature map than exact counting');
      Object.assign(vocab, {
        vocab_min_count: vocabMin,
        vocab_kept: exact.json.kept!,
        vocab_exact_counted: exact.json.counted!,
        vocab_exact_seconds: exact.json.seconds!,
        vocab_exact_peak_rss_mb: exact.json.peak_rss_mb!,
        vocab_sketch_counted: sketch.json.counted!,
        vocab_sketch_seconds: sketch.json.seconds!,
        vocab_sketch_peak_rss_mb: sketch.json.peak_rss_mb!,
        vocab_same_map: 1,
      });
    }
    const loadText = machineInfo().load_avg_1m;
    const text = await node('text pass', [pass, 'text', dir]);
    const loadCache = machineInfo().load_avg_1m;
    const cache = await node('cache pass', [pass, 'cache', dir]);
    const out: Json = {
      rows: text.json.rows!,
      fit_seconds: fit.json.seconds!,
      fit_peak_rss_mb: fit.json.peak_rss_mb!,
      text_rows_per_s: text.json.rows_per_s!,
      text_peak_rss_mb: text.json.peak_rss_mb!,
      cache_rows_per_s: cache.json.rows_per_s!,
      cache_peak_rss_mb: cache.json.peak_rss_mb!,
      vocab_entries: cache.json.vocab_entries!,
      text_rss_above_feature_map_mb: Math.round((Number(text.json.peak_rss_mb) - Number(text.json.rss_with_feature_map_mb)) * 10) / 10,
      cache_rss_above_feature_map_mb: Math.round((Number(cache.json.peak_rss_mb) - Number(cache.json.rss_with_feature_map_mb)) * 10) / 10,
      text_cpu_s: text.json.cpu_seconds!,
      cache_cpu_s: cache.json.cpu_seconds!,
      cache_speedup_cpu: Math.round((Number(text.json.cpu_seconds) / Number(cache.json.cpu_seconds)) * 100) / 100,
      load_avg_1m_text_pass: loadText,
      load_avg_1m_cache_pass: loadCache,
      cache_mb: Math.round(Number(text.json.cache_bytes) / 2 ** 20),
      cache_speedup: Math.round((Number(cache.json.rows_per_s) / Number(text.json.rows_per_s)) * 100) / 100,
      ...vocab,
    };
    if (overlapMs > 0) {
      for (const worker of ['0', '1']) {
        const o = await node(`overlap (worker ${worker})`, [pass, 'overlap', dir, String(overlapMs), worker]);
        out.overlap_compute_seconds = o.json.compute_seconds!;
        out[`overlap_${worker === '1' ? 'worker' : 'same_thread'}_seconds`] = o.json.seconds!;
      }
      out.overlap_parse_seconds = text.json.seconds!;
    }
    return out;
  }
}

/**
 * Part (b): `finerank train` DeepFM one epoch, in memory or streaming, once per seed (the
 * train seed; the data stay the same). With one seed the keys are `train_<mode>_<metric>`;
 * with several, each run's are suffixed `_seed<S>` and the AUC gets `_mean`, `_sd` (sample
 * standard deviation), `_min`, `_max`; the peak RSS gets `_max`.
 */
async function trainRuns(dir: string, cli: string, streaming: boolean, shuffleBuffer: number, seeds: readonly number[]): Promise<Json> {
  const out: Json = {};
  const k = streaming ? 'train_stream' : 'train_memory';
  const aucs: number[] = [];
  const rss: number[] = [];
  for (const seed of seeds) {
    const sfx = seeds.length > 1 ? `_seed${seed}` : '';
    const cfg = join(dir, `train-${streaming}-${seed}.json`);
    writeFileSync(
      cfg,
      JSON.stringify({
        data: {
          train: 'train.csv',
          valid: 'valid.csv',
          test: 'test.csv',
          schema: 'schema.json',
          streaming,
          cache_dir: `train-cache-${seed}`,
          ...(shuffleBuffer > 0 ? { shuffle_buffer: shuffleBuffer } : {}),
        },
        model: 'deepfm',
        train: { epochs: 1, batch_size: 4096, seed },
      }),
    );
    out[`${k}_load_avg_1m${sfx}`] = machineInfo().load_avg_1m;
    const t = await node(`train (streaming ${streaming}, seed ${seed})`, [cli, 'train', '--config', cfg, '--json', '--quiet']);
    rmSync(join(dir, `train-cache-${seed}`), { recursive: true, force: true });
    out[`${k}_test_auc${sfx}`] = t.json.test_auc!;
    out[`${k}_samples_per_s${sfx}`] = t.json.samples_per_sec!;
    out[`${k}_data_wait_s${sfx}`] = t.json.data_wait_seconds!;
    out[`${k}_data_wait_first_batch_s${sfx}`] = t.json.data_wait_first_batch_seconds ?? NaN;
    out[`${k}_data_wait_cpu_s${sfx}`] = t.json.data_wait_cpu_seconds ?? NaN;
    out[`${k}_train_cpu_s${sfx}`] = t.json.train_cpu_seconds ?? NaN;
    if (streaming) out[`${k}_parse_worker_cpu_s${sfx}`] = t.json.train_parse_worker_cpu_seconds ?? NaN;
    if (streaming && t.json.shuffle_buffer !== undefined) out[`${k}_shuffle_buffer${sfx}`] = t.json.shuffle_buffer;
    out[`${k}_train_s${sfx}`] = t.json.train_seconds!;
    out[`${k}_wall_s${sfx}`] = t.wallS;
    out[`${k}_peak_rss_mb${sfx}`] = t.json.peak_rss_mb!;
    aucs.push(Number(t.json.test_auc));
    rss.push(Number(t.json.peak_rss_mb));
  }
  const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  out[`${k}_test_auc_mean`] = round6(mean);
  if (aucs.length > 1) {
    out[`${k}_test_auc_sd`] = round6(Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / (aucs.length - 1)));
    out[`${k}_test_auc_min`] = round6(Math.min(...aucs));
    out[`${k}_test_auc_max`] = round6(Math.max(...aucs));
    out[`${k}_peak_rss_mb_max`] = Math.max(...rss);
  }
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    rows: 'string',
    'large-rows': 'string',
    'skip-train': 'flag',
    'train-modes': 'string',
    'overlap-ms': 'string',
    'vocab-min-count': 'string',
    'shuffle-buffer': 'string',
    seeds: 'string',
    data: 'string',
    'skip-data-path': 'flag',
    tmp: 'string',
    keep: 'flag',
  });
  const trainModes = a['skip-train'] === true ? [] : String(a['train-modes'] ?? 'memory,stream').split(',');
  for (const m of trainModes) if (m !== 'memory' && m !== 'stream') throw new Error(`--train-modes: unknown mode '${m}' (memory, stream)`);
  const int = (k: string, d: number) => {
    const v = a[k] === undefined ? d : Number(String(a[k]).replace(/_/g, ''));
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${a[k]}`);
    return v;
  };
  const rows = int('rows', 2_000_000);
  const large = int('large-rows', 0);
  const parent = typeof a.tmp === 'string' ? a.tmp : tmpdir();
  const seeds = String(a.seeds ?? '1')
    .split(',')
    .map((x) => Number(x));
  for (const x of seeds)
    if (!Number.isInteger(x) || x < 0) throw new Error(`--seeds: expected comma-separated non-negative integers, got ${a.seeds}`);
  if (a['skip-data-path'] === true && typeof a.data !== 'string')
    throw new Error('--skip-data-path needs --data DIR (data generated by an earlier run with --keep)');
  const before = machineInfo();
  const small = await dataPath(
    rows,
    parent,
    a.keep === true,
    trainModes,
    int('overlap-ms', 40),
    int('vocab-min-count', 10),
    int('shuffle-buffer', 0),
    seeds,
    typeof a.data === 'string' ? { dir: a.data, skipDataPath: a['skip-data-path'] === true } : null,
  );
  console.error(`bench:stream: ${rows} rows: ${JSON.stringify(small)}`);
  const result: Json = { ...small };
  if (large > 0) {
    const big = await dataPath(large, parent, a.keep === true, [], 0, 0);
    console.error(`bench:stream: ${large} rows: ${JSON.stringify(big)}`);
    for (const [k, v] of Object.entries(big)) result[`large_${k}`] = v;
    const ratio = (k: string) => Math.round((Number(big[k]) / Number(small[k])) * 100) / 100;
    result.rss_ratio_large_vs_small = ratio('cache_peak_rss_mb');
    result.text_rss_ratio_large_vs_small = ratio('text_peak_rss_mb');
    result.fit_rss_ratio_large_vs_small = ratio('fit_peak_rss_mb');
    // The feature map grows with the vocabulary, not with the rows passed: the data path's own
    // working set is the peak above the RSS with the map loaded.
    result.vocab_ratio_large_vs_small = ratio('vocab_entries');
    result.cache_rss_above_map_ratio_large_vs_small = ratio('cache_rss_above_feature_map_mb');
    result.text_rss_above_map_ratio_large_vs_small = ratio('text_rss_above_feature_map_mb');
  }
  const after = machineInfo();
  const peaks = [
    Number(small.text_peak_rss_mb),
    Number(small.cache_peak_rss_mb),
    ...(large > 0 ? [Number(result.large_text_peak_rss_mb), Number(result.large_cache_peak_rss_mb)] : []),
  ].filter((x) => Number.isFinite(x));
  if (peaks.length > 0) result.peak_rss_mb = Math.max(...peaks);
  result.load_avg_1m_start = before.load_avg_1m;
  result.load_avg_1m_end = after.load_avg_1m;
  result.machine = `${after.machine} (shared: other jobs may compete for the cores)`;
  for (const [k, v] of Object.entries(result)) console.error(`  ${k.padEnd(32)} ${v}`);
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
