/**
 * `npm run bench:parallel` — data-parallel training (train.threads, src/train/parallel/):
 * training samples/s of the registry's DeepFM at 1 thread against N threads, on two shapes:
 *
 * - `frappe`: the BARS Frappe sizes (10 categorical fields, 5,383 embedding rows, dim 10,
 *   MLP [400, 400, 400] with batch norm and dropout 0.2, the bars preset: batch 4096, dense
 *   Adam on the tables with whole-table L2);
 * - `mini`: the DeepFM-mini shapes of bench:engine (26 fields with 10×1k, 10×100k, 6×1M
 *   vocabularies = 7.01M rows, dim 16, 13 dense inputs, MLP [400, 400, 400], no batch norm or
 *   dropout, LazyAdam on the tables, batch 4096).
 *
 * Ids are Zipf(1.1) over each vocabulary, labels Bernoulli(0.25); a pool of batches is
 * generated before timing and cycled. Each (shape, threads) runs in a child process of its
 * own: --warmup + --steps steps through `Trainer.fit` (one optimizer step per batch, exactly
 * as `finerank train --threads N`). Reported per run, over the --steps steps after the
 * warm-up ones: samples per second, samples per CPU-second of the process (all threads), the
 * training thread's own CPU time, peak RSS, and with N > 1 where the training thread's step
 * time went (own shard, waiting for the workers, merging their gradients, splitting the
 * batch, the optimizer update, the rest), in wall time and in its CPU time, and the critical
 * path per step in thread CPU ms with its serial fraction (`criticalPath`).
 * From each thread's own CPU time it also predicts the speed-up with a free core per thread
 * (`predictedSpeedup`), a figure that the machine's load does not change. The load average is
 * printed with the numbers: on a shared machine the wall-clock ratio is not meaningful;
 * re-run on a quiet one. Ends with one JSON line.
 *
 *   node dist/bench/parallel/run.js [--shapes frappe,mini] [--threads 2] [--steps 40] [--warmup 5]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, intOption } from '../common/args.js';
import { machineInfo } from '../common/machine.js';
import { peakRssBytes } from '../common/rss.js';
import { zipfSampler } from '../common/zipf.js';
import { Rng } from '../../src/engine/random.js';
import { createModel } from '../../src/models/registry.js';
import { Trainer } from '../../src/train/trainer.js';
import type { ParallelTimings } from '../../src/train/parallel/data-parallel.js';
import { threadCpuSeconds } from '../../src/util/thread-cpu.js';
import { BARS_PRESET, TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/options.js';
import type { Batch } from '../../src/features/batch.js';
import type { FeatureSpec } from '../../src/features/fields.js';
import type { DataSource, PassOptions } from '../../src/data/data-source.js';
import type { RankingModel } from '../../src/models/base.js';
import type { EmbeddingTable } from '../../src/embedding/table.js';
import { sliceBatch } from '../../src/data/batcher.js';
import { singleTask } from '../../src/features/tasks.js';
import { backwardBatchLoss } from '../../src/train/parallel/batch-loss.js';

interface Shape {
  vocabs: number[];
  dense: number;
  modelOptions: Record<string, unknown>;
  train: TrainOptions;
}

const SHAPES: Record<string, Shape> = {
  frappe: {
    // BARS Frappe_x1: user, item, daytime, weekday, isweekend, homework, cost, weather, country, city.
    vocabs: [957, 4082, 7, 7, 2, 3, 2, 10, 80, 233],
    dense: 0,
    modelOptions: { embeddingDim: 10, embeddingInitStd: 1e-4, dnnHiddenUnits: [400, 400, 400], dnnDropout: 0.2, batchNorm: true },
    train: { ...BARS_PRESET },
  },
  mini: {
    vocabs: [...Array<number>(10).fill(1_000), ...Array<number>(10).fill(100_000), ...Array<number>(6).fill(1_000_000)],
    dense: 13,
    modelOptions: { embeddingDim: 16, embeddingInitStd: 1e-4, dnnHiddenUnits: [400, 400, 400], dnnDropout: 0, batchNorm: false },
    train: { ...TRAIN_DEFAULTS, embeddingOptimizer: { type: 'lazy_adam' } },
  },
};

const BATCH = 4096;

function spec(shape: Shape): FeatureSpec {
  return {
    fields: [
      // +2: padding and OOV rows, as a fitted vocabulary has.
      ...shape.vocabs.map((v, f) => ({ name: `c${f}`, kind: 'sparse' as const, vocabSize: v + 2, table: `c${f}`, use: 'both' as const })),
      ...Array.from({ length: shape.dense }, (_, f) => ({ name: `d${f}`, kind: 'dense' as const, use: 'both' as const })),
    ],
    labels: ['click'],
  };
}

function pool(shape: Shape, n: number, seed: number): Batch[] {
  const rng = Rng.derive(seed, 'bench-parallel-data');
  const samplers = shape.vocabs.map((v) => zipfSampler(v, 1.1));
  const out: Batch[] = [];
  for (let k = 0; k < n; k++) {
    const b: Batch = { size: BATCH, sparse: {}, dense: {}, varlen: {}, labels: { click: new Float32Array(BATCH) } };
    shape.vocabs.forEach((_, f) => {
      const a = new Int32Array(BATCH);
      for (let i = 0; i < BATCH; i++) a[i] = samplers[f]!(rng) + 1; // 2 … V+1: known values
      b.sparse[`c${f}`] = a;
    });
    for (let f = 0; f < shape.dense; f++) {
      const a = new Float32Array(BATCH);
      for (let i = 0; i < BATCH; i++) a[i] = rng.normal();
      b.dense[`d${f}`] = a;
    }
    for (let i = 0; i < BATCH; i++) b.labels.click![i] = rng.next() < 0.25 ? 1 : 0;
    out.push(b);
  }
  return out;
}

/** A source that hands out `steps` batches of the pool, cycling (copies: the trainer may keep them). */
class PoolSource implements DataSource {
  constructor(
    private readonly batchesPool: Batch[],
    private readonly steps: number,
  ) {}

  get rows(): number {
    return this.steps * BATCH;
  }

  *batches(_opts: PassOptions): Iterable<Batch> {
    for (let i = 0; i < this.steps; i++) yield this.batchesPool[i % this.batchesPool.length]!;
  }
}

/**
 * Thread CPU ms per forward/backward (no update) of the first `rows` rows of the pool's
 * batches, over `steps` batches after 2 warm-up ones; the gradients are cleared after each.
 */
function forwardBackwardCpuMs(model: RankingModel, data: Batch[], rows: number, steps: number): number | null {
  const tasks = singleTask('click');
  const tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
  model.train();
  let total = 0;
  for (let i = 0; i < steps + 2; i++) {
    const b = sliceBatch(data[i % data.length]!, 0, rows);
    const c0 = threadCpuSeconds();
    backwardBatchLoss(model, tasks, b);
    const c1 = threadCpuSeconds();
    if (c0 === null || c1 === null) return null;
    if (i >= 2) total += c1 - c0;
    model.zeroGrad();
    for (const t of tables) t.zeroGrad();
  }
  return Math.round((total / steps) * 1e4) / 10;
}

/** One (shape, threads) measurement, in this process. */
async function child(shapeName: string, threads: number, steps: number, warmup: number, shardOf: number): Promise<void> {
  const shape = SHAPES[shapeName]!;
  const s = spec(shape);
  const data = pool(shape, 8, 2024);
  const rng = Rng.derive(2024, 'model');
  const model = createModel('deepfm', { spec: s, rng }, shape.modelOptions);
  const opts: TrainOptions = { ...shape.train, epochs: 1, batchSize: BATCH, progress: false, threads, restoreBest: false };
  const recipe = { model: 'deepfm', spec: s, modelOptions: shape.modelOptions, seed: 2024 };
  // The timed window starts after `warmup` steps of the parallel trainer (workers started and
  // warm: JIT, first touch of the tables), so that it counts steady-state steps only.
  let c0: NodeJS.CpuUsage | null = null,
    t0 = 0,
    main0: number | null = null,
    par0: ParallelTimings | null = null;
  let firstStep = 0;
  const hooks = {
    afterStep: (step: number) => {
      if (step === 1) firstStep = (performance.now() - fitStart) / 1000;
      if (step !== warmup) return;
      c0 = process.cpuUsage();
      t0 = performance.now();
      main0 = threadCpuSeconds();
      par0 = trainer.parallelTimings();
    },
  };
  const fitStart = performance.now();
  const trainer = new Trainer(model, opts, 'click', hooks, [], [], recipe);
  const res = await trainer.fit(new PoolSource(data, steps + warmup), null);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0 ?? undefined);
  const main1 = threadCpuSeconds();
  const par1 = res.parallel ?? null;
  const p0 = par0 as ParallelTimings | null,
    m0 = main0 as number | null;
  // The timed window's part of the parallel timings (all-fit totals minus those at its start).
  const window =
    par1 === null || p0 === null
      ? null
      : {
          split: par1.split - p0.split,
          ownShard: par1.ownShard - p0.ownShard,
          wait: par1.wait - p0.wait,
          merge: par1.merge - p0.merge,
          optimizer: par1.optimizer - p0.optimizer,
          optimizerSplit: par1.optimizerSplit,
          rowsWait: par1.rowsWait - p0.rowsWait,
          rowShare: par1.rowShare,
          cpu:
            par1.cpu === null || p0.cpu === null
              ? null
              : {
                  split: par1.cpu.split - p0.cpu.split,
                  ownShard: par1.cpu.ownShard - p0.cpu.ownShard,
                  wait: par1.cpu.wait - p0.cpu.wait,
                  merge: par1.cpu.merge - p0.cpu.merge,
                  optimizer: par1.cpu.optimizer - p0.cpu.optimizer,
                  rowsWait: par1.cpu.rowsWait - p0.cpu.rowsWait,
                  slowestShard: par1.cpu.slowestShard - p0.cpu.slowestShard,
                },
        };
  const rows = steps * BATCH;
  // 1 thread: the forward/backward alone (no update) of the whole batch and of one shard of
  // `shardOf` (the other run's thread count), in this thread's CPU ms per step: the shard's
  // cost with the other cores idle, against which the N-thread run's shard time shows what
  // running the shards side by side costs (`shard_slowdown`).
  const alone =
    threads === 1 && shardOf > 1
      ? {
          batch_cpu_ms: forwardBackwardCpuMs(model, data, BATCH, steps),
          shard_cpu_ms: forwardBackwardCpuMs(model, data, Math.floor(BATCH / shardOf), steps),
        }
      : null;
  process.stdout.write(
    JSON.stringify({
      shape: shapeName,
      threads,
      steps,
      // Over the timed window (the steps after the warm-up ones; no evaluation, no data wait).
      samples_per_sec: rows / wall,
      samples_per_cpu_sec: rows / ((cpu.user + cpu.system) / 1e6),
      // Kernel-mode share of the process CPU in the window (page faults, mmap/munmap, futexes).
      system_cpu_share: cpu.system / (cpu.user + cpu.system),
      train_seconds: wall,
      train_cpu_seconds: m0 === null || main1 === null ? null : main1 - m0,
      parallel: window,
      peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
      // From building the trainer to the end of its first step (shared storage and the workers' start included).
      first_step_seconds: firstStep,
      forward_backward_alone: alone,
    }) + '\n',
  );
}

/**
 * The N-thread speed-up with a free core per thread, from each thread's own CPU time (which
 * load does not inflate): 1-thread step = the training thread's CPU per step; N-thread step =
 * split + the slowest shard's CPU (the threads run in parallel) + merge + the rest of the
 * training thread's step (penalties, clipping, optimizer), per step. Assumes the threads do
 * not slow each other down (memory bandwidth, caches): a quiet-machine run checks it.
 */
function predictedSpeedup(one: Record<string, unknown>, many: Record<string, unknown>): number | null {
  const p = many.parallel as {
    cpu: { split: number; ownShard: number; wait: number; merge: number; optimizer: number; rowsWait: number; slowestShard: number } | null;
  } | null;
  const c1 = one.train_cpu_seconds as number | null,
    c2 = many.train_cpu_seconds as number | null;
  if (p === null || p.cpu === null || c1 === null || c2 === null) return null;
  const rest = c2 - p.cpu.split - p.cpu.ownShard - p.cpu.wait - p.cpu.merge;
  const critical = p.cpu.split + p.cpu.slowestShard + p.cpu.merge + rest;
  return c1 / (one.steps as number) / (critical / (many.steps as number));
}

/**
 * The N-thread step's critical path in training-thread CPU ms per step: split, the slowest
 * shard, merge, the optimizer update (penalties, clipping, steps, zeroing; `rows_wait` of it
 * waiting for the workers' rows of a split LazyAdam step, `row_share` the training thread's
 * share of those rows at the end) and the rest of the step (batches, loss bookkeeping);
 * `serial_fraction` is the share of that path that runs on one thread while the others wait
 * (everything but the slowest shard). With the 1-thread run's forward/backward alone:
 * `shard_alone` (one shard's forward/backward with the other cores idle), `shard_slowdown`
 * (slowest shard / shard_alone: what running the shards side by side costs) and
 * `update_1_thread` (the 1-thread step minus its forward/backward: a difference of two
 * measurements, noisy where the update is small). Null without thread CPU times.
 */
function criticalPath(one: Record<string, unknown>, many: Record<string, unknown>): Record<string, number> | null {
  const p = many.parallel as {
    cpu: { split: number; ownShard: number; wait: number; merge: number; optimizer: number; rowsWait: number; slowestShard: number } | null;
  } | null;
  const c = many.train_cpu_seconds as number | null;
  if (p === null || p.cpu === null || c === null) return null;
  const n = many.steps as number;
  const ms = (x: number) => Math.round((x / n) * 1e4) / 10;
  const rest = c - p.cpu.split - p.cpu.ownShard - p.cpu.wait - p.cpu.merge - p.cpu.optimizer;
  const total = p.cpu.split + p.cpu.slowestShard + p.cpu.merge + p.cpu.optimizer + rest;
  const alone = one.forward_backward_alone as { batch_cpu_ms: number | null; shard_cpu_ms: number | null } | null;
  const oneStep = one.train_cpu_seconds === null ? null : ((one.train_cpu_seconds as number) / (one.steps as number)) * 1000;
  const extra: Record<string, number> = {};
  if (alone !== null && alone.shard_cpu_ms !== null && alone.batch_cpu_ms !== null && oneStep !== null) {
    extra.shard_alone = alone.shard_cpu_ms;
    extra.shard_slowdown = Math.round((p.cpu.slowestShard / n / (alone.shard_cpu_ms / 1000)) * 100) / 100;
    extra.update_1_thread = Math.round((oneStep - alone.batch_cpu_ms) * 10) / 10;
  }
  return {
    split: ms(p.cpu.split),
    slowest_shard: ms(p.cpu.slowestShard),
    own_shard: ms(p.cpu.ownShard),
    merge: ms(p.cpu.merge),
    optimizer: ms(p.cpu.optimizer),
    rows_wait: ms(p.cpu.rowsWait),
    row_share: Math.round(((many.parallel as { rowShare: number }).rowShare ?? 0) * 1000) / 1000,
    rest: ms(rest),
    total: ms(total),
    serial_fraction: Math.round((1 - p.cpu.slowestShard / total) * 1000) / 1000,
    ...extra,
  };
}

function main(): void {
  const o = parseArgs(process.argv.slice(2), { shapes: 'string', threads: 'string', steps: 'string', warmup: 'string', child: 'string' });
  const steps = intOption(o, 'steps', 40);
  const warmup = intOption(o, 'warmup', 5, 0);
  const threads = intOption(o, 'threads', 2, 2);
  if (typeof o.child === 'string') {
    const [shape, n] = o.child.split(':');
    void child(shape!, Number(n), steps, warmup, threads).catch((e: Error) => {
      process.stderr.write(`bench:parallel child: ${e.stack ?? e.message}\n`);
      process.exit(1);
    });
    return;
  }
  const shapes = typeof o.shapes === 'string' ? o.shapes.split(',') : ['frappe', 'mini'];
  for (const s of shapes) if (SHAPES[s] === undefined) throw new Error(`--shapes: unknown shape '${s}' (shapes: ${Object.keys(SHAPES).join(', ')})`);
  const script = fileURLToPath(import.meta.url);
  const loadStart = machineInfo().load_avg_1m;
  const results: Record<string, unknown> = {};
  for (const s of shapes) {
    const runs: Array<Record<string, unknown>> = [];
    for (const n of [1, threads]) {
      const r = spawnSync(
        process.execPath,
        [script, '--child', `${s}:${n}`, '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads)],
        {
          encoding: 'utf8',
          env: { ...process.env, FINERANK_THREADS: '1' },
          maxBuffer: 1 << 24,
        },
      );
      if (r.status !== 0) throw new Error(`${s} at ${n} threads failed: ${r.stderr}`);
      const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      runs.push(line);
      const p = line.parallel as {
        ownShard: number;
        wait: number;
        merge: number;
        split: number;
        optimizer: number;
        cpu: Record<string, number> | null;
      } | null;
      const split =
        p === null
          ? ''
          : `; step time ${(line.train_seconds as number).toFixed(1)} s = own shard ${p.ownShard.toFixed(1)} + wait for workers ${p.wait.toFixed(1)} + merge ${p.merge.toFixed(1)} + split ${p.split.toFixed(1)} + optimizer ${p.optimizer.toFixed(1)} + rest ${((line.train_seconds as number) - p.ownShard - p.wait - p.merge - p.split - p.optimizer).toFixed(1)}${p.cpu === null ? '' : `; training-thread CPU: own shard ${p.cpu.ownShard!.toFixed(2)} s, slowest shard Σ ${p.cpu.slowestShard!.toFixed(2)} s, merge ${p.cpu.merge!.toFixed(2)} s, split ${p.cpu.split!.toFixed(2)} s, optimizer ${p.cpu.optimizer!.toFixed(2)} s, wait ${p.cpu.wait!.toFixed(2)} s, rest ${((line.train_cpu_seconds as number) - p.cpu.split! - p.cpu.ownShard! - p.cpu.wait! - p.cpu.merge! - p.cpu.optimizer!).toFixed(2)} s`}`;
      process.stdout.write(
        `${s} ${n} thread(s): ${Math.round(line.samples_per_sec as number)} samples/s (wall), ${Math.round(line.samples_per_cpu_sec as number)} samples/CPU-s, training-thread CPU in steps ${line.train_cpu_seconds === null ? '?' : (line.train_cpu_seconds as number).toFixed(2)} s, first step after ${(line.first_step_seconds as number).toFixed(1)} s, peak RSS ${String(line.peak_rss_mb)} MB${split}  [load ${machineInfo().load_avg_1m.toFixed(1)}]\n`,
      );
    }
    const [one, many] = runs;
    const predicted = predictedSpeedup(one!, many!);
    results[s] = {
      runs,
      predicted_speedup_free_cores: predicted,
      critical_path_cpu_ms_per_step: criticalPath(one!, many!),
      one_thread_step_cpu_ms:
        one!.train_cpu_seconds === null ? null : Math.round(((one!.train_cpu_seconds as number) / (one!.steps as number)) * 1e4) / 10,
      speedup: (many!.samples_per_sec as number) / (one!.samples_per_sec as number),
      cpu_efficiency: (many!.samples_per_cpu_sec as number) / (one!.samples_per_cpu_sec as number),
    };
    process.stdout.write(
      `${s}: ${threads}-thread / 1-thread samples/s = ${((many!.samples_per_sec as number) / (one!.samples_per_sec as number)).toFixed(2)}× measured; ${predicted === null ? 'no thread CPU times' : `${predicted.toFixed(2)}× predicted from thread CPU times with a free core per thread`} (target ≥ 1.6× at 2 threads)\n`,
    );
    const cp = (results[s] as { critical_path_cpu_ms_per_step: Record<string, number> | null }).critical_path_cpu_ms_per_step;
    if (cp !== null)
      process.stdout.write(
        `${s}: critical path per ${threads}-thread step, thread CPU ms: ${Object.entries(cp)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}; 1-thread step ${String((results[s] as { one_thread_step_cpu_ms: number | null }).one_thread_step_cpu_ms)}\n`,
      );
  }
  const m = machineInfo();
  process.stdout.write(
    JSON.stringify({
      bench: 'parallel',
      threads,
      steps,
      batch: BATCH,
      machine: m.machine,
      cores: m.cores,
      load_avg_1m_start: loadStart,
      load_avg_1m_end: m.load_avg_1m,
      ...results,
    }) + '\n',
  );
}

main();
