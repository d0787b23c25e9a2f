/**
 * Streaming benchmark (`npm run bench:stream`), in two parts, ending with one JSON line.
 *
 * (a) The data path at scale: `finerank gen criteo` writes a Criteo-shaped CSV with `--rows`
 *     training rows (and 10% + 10% valid/test) into a temporary folder (removed after unless
 *     --keep). Then, each in its own process (bench/stream/data_pass.ts): the feature-map fit,
 *     one shuffled pass of 4096-row batches from text (writing the encoded cache), and the
 *     same pass from the cache: rows/s, cache size, peak RSS. `--large-rows N` repeats (a) at
 *     a second size to show how peak RSS scales with the row count.
 * (b) Training: `finerank train` DeepFM for one epoch on the (a) dataset, in memory and
 *     streaming (window = default, cache on): test AUC, the trainer's samples/s (compute time
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
 * (b); default the config default, 1 000 000 rows), --tmp DIR (parent of the temporary folder, default the OS temp dir), --keep.
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
): Promise<Json> {
  const root = repoRoot();
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  const pass = join(root, 'dist', 'bench', 'stream', 'data_pass.js');
  const dir = mkdtempSync(join(parent, 'finerank-bench-stream-'));
  try {
    const total = Math.round(rows / 0.8);
    console.error(`bench:stream: generating ${total} rows (train ≈ ${rows}) into ${dir} …`);
    await node('gen', [cli, 'gen', 'criteo', '--out', dir, '--rows', String(total), '--seed', '1', '--json']);
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
    for (const mode of trainModes) {
      const streaming = mode === 'stream';
      const cfg = join(dir, `train-${streaming}.json`);
      writeFileSync(
        cfg,
        JSON.stringify({
          data: {
            train: 'train.csv',
            valid: 'valid.csv',
            test: 'test.csv',
            schema: 'schema.json',
            streaming,
            cache_dir: 'train-cache',
            ...(shuffleBuffer > 0 ? { shuffle_buffer: shuffleBuffer } : {}),
          },
          model: 'deepfm',
          train: { epochs: 1, batch_size: 4096, seed: 1 },
        }),
      );
      out[`${streaming ? 'train_stream' : 'train_memory'}_load_avg_1m`] = machineInfo().load_avg_1m;
      const t = await node(`train (streaming ${streaming})`, [cli, 'train', '--config', cfg, '--json', '--quiet']);
      const k = streaming ? 'train_stream' : 'train_memory';
      out[`${k}_test_auc`] = t.json.test_auc!;
      out[`${k}_samples_per_s`] = t.json.samples_per_sec!;
      out[`${k}_data_wait_s`] = t.json.data_wait_seconds!;
      out[`${k}_data_wait_first_batch_s`] = t.json.data_wait_first_batch_seconds ?? NaN;
      out[`${k}_data_wait_cpu_s`] = t.json.data_wait_cpu_seconds ?? NaN;
      out[`${k}_train_cpu_s`] = t.json.train_cpu_seconds ?? NaN;
      if (streaming) out[`${k}_parse_worker_cpu_s`] = t.json.train_parse_worker_cpu_seconds ?? NaN;
      if (streaming && shuffleBuffer > 0) out.train_stream_shuffle_buffer = shuffleBuffer;
      out[`${k}_train_s`] = t.json.train_seconds!;
      out[`${k}_wall_s`] = t.wallS;
      out[`${k}_peak_rss_mb`] = t.json.peak_rss_mb!;
    }
    return out;
  } finally {
    if (keep) console.error(`bench:stream: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
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
  const before = machineInfo();
  const small = await dataPath(
    rows,
    parent,
    a.keep === true,
    trainModes,
    int('overlap-ms', 40),
    int('vocab-min-count', 10),
    int('shuffle-buffer', 0),
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
  }
  const after = machineInfo();
  result.peak_rss_mb = Math.max(
    Number(small.text_peak_rss_mb),
    Number(small.cache_peak_rss_mb),
    ...(large > 0 ? [Number(result.large_text_peak_rss_mb), Number(result.large_cache_peak_rss_mb)] : []),
  );
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
