/**
 * finerank side of the DeepFM-mini engine benchmark (issue 2); the same model, data law
 * and measurements as bench/engine/torch_deepfm_mini.py, printed as the same JSON line
 * (bench/common/engine-result.ts).
 *
 * Model: 26 sparse fields (vocabularies 10×1,000, 10×100,000, 6×1,000,000; each table has
 * one extra row 0, the padding row, never looked up), embedding dim 16, 13 dense inputs.
 *   first  = Σ_f w_f[id_f] (1-dim tables, embedFieldsSum) + Linear(13 → 1)(dense)
 *   second = ½ Σ_d [(Σ_f v_fd)² − Σ_f v_fd²]        (fmSecondOrderLeading over the MLP input)
 *   deep   = MLP([flatten v (416) ++ dense (13)] → 400 → 400 → 400 (ReLU) → 1), its input
 *            rows written by the gather itself (embedFieldsConcat)
 *   logit  = first + second + deep; loss = mean BCE with logits.
 * Tables: N(0, 1e-4), updated by LazyAdam (torch.optim.SparseAdam semantics); dense
 * weights Xavier-normal / zero bias, updated by Adam; lr 1e-3 for both.
 *
 * Data: ids k ∈ 1..V with P(k) ∝ k^−s (s = --zipf, 1.1), by inverse CDF from a seeded Rng;
 * dense N(0, 1); labels Bernoulli(0.25); --pool batches generated before timing, cycled.
 *
 * Throughput per second of process CPU time (all threads) is reported too: on a machine
 * shared with other work it is the steadier figure for one-thread runs.
 *
 * Options: --threads N (FINERANK_THREADS) --steps 30 --warmup 5 --batch 4096
 *          --infer-steps 20 --latency-calls 300 --pool 8 --zipf 1.1 --seed 2024
 *          --data-file PATH (read the pool from PATH when it exists, else generate it and
 *          write it there, for the PyTorch side to train on the very same batches; format in
 *          `writePool`)
 *          --dense-init-file PATH (the same for the dense weights: read them from PATH when it
 *          exists, else write the freshly initialised ones there; `denseLinears` gives the order)
 *          --phases (adds `phases_cpu_ms`: process CPU ms per timed training step and per
 *          inference batch, by phase; the timers add a few process.cpuUsage() calls per step)
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, intOption } from '../common/args.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { peakRssBytes } from '../common/rss.js';
import { Tensor, noGrad, tidy } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { add, reshape, bceWithLogits, sigmoid } from '../../src/engine/ops/index.js';
import { EmbeddingTable, embedFieldsConcat, embedFieldsSum, LazyAdam } from '../../src/embedding/index.js';
import { Linear, MLP } from '../../src/nn/index.js';
import { fmSecondOrderLeading } from '../../src/blocks/interactions/fm.js';
import { Adam } from '../../src/train/optim.js';
import { zipfSampler } from '../common/zipf.js';

const VOCABS = [...Array(10).fill(1_000), ...Array(10).fill(100_000), ...Array(6).fill(1_000_000)] as number[];
const NUM_DENSE = 13;
const EMB_DIM = 16;
const HIDDEN = [400, 400, 400];

/** One pre-generated batch: ids per field (Int32, values 1..V), dense [B, 13], labels. */
interface PoolBatch {
  ids: Int32Array[];
  dense: Tensor;
  labels: Float32Array;
}

function makePool(rng: Rng, batches: number, batch: number, s: number): PoolBatch[] {
  const samplers = new Map<number, (rng: Rng) => number>();
  for (const v of VOCABS) if (!samplers.has(v)) samplers.set(v, zipfSampler(v, s));
  const pool: PoolBatch[] = [];
  for (let k = 0; k < batches; k++) {
    const ids = VOCABS.map((v) => {
      const a = new Int32Array(batch);
      const draw = samplers.get(v)!;
      for (let i = 0; i < batch; i++) a[i] = draw(rng);
      return a;
    });
    const dense = new Float32Array(batch * NUM_DENSE);
    for (let i = 0; i < dense.length; i++) dense[i] = rng.normal();
    const labels = new Float32Array(batch);
    for (let i = 0; i < batch; i++) labels[i] = rng.next() < 0.25 ? 1 : 0;
    pool.push({ ids, dense: new Tensor(dense, [batch, NUM_DENSE]), labels });
  }
  return pool;
}

const POOL_MAGIC = 0x50445246; // 'FRDP' little-endian

/**
 * Writes the pool as little-endian binary: u32 magic 'FRDP', u32 version 1, u32 batches,
 * u32 batch, u32 fields, u32 dense; then per batch int32 ids [fields][batch], float32 dense
 * [batch][dense], float32 labels [batch]. torch_deepfm_mini.py --data-file reads it.
 */
function writePool(path: string, pool: PoolBatch[], batch: number): void {
  const F = VOCABS.length;
  const per = F * batch + batch * NUM_DENSE + batch;
  const buf = new ArrayBuffer(24 + 4 * per * pool.length);
  new Uint32Array(buf, 0, 6).set([POOL_MAGIC, 1, pool.length, batch, F, NUM_DENSE]);
  let off = 24;
  for (const b of pool) {
    for (const ids of b.ids) {
      new Int32Array(buf, off, batch).set(ids);
      off += 4 * batch;
    }
    new Float32Array(buf, off, batch * NUM_DENSE).set(b.dense.data);
    off += 4 * batch * NUM_DENSE;
    new Float32Array(buf, off, batch).set(b.labels);
    off += 4 * batch;
  }
  writeFileAtomic(path, new Uint8Array(buf));
}

/** Reads a pool written by `writePool`; its batch size and field counts must match. */
function readPool(path: string, batch: number): PoolBatch[] {
  const bytes = readFileSync(path);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const F = VOCABS.length;
  if (buf.byteLength < 24) throw new Error(`${path}: not a DeepFM-mini pool file (${buf.byteLength} bytes)`);
  const [magic, version, n, b, f, d] = new Uint32Array(buf, 0, 6) as unknown as number[];
  if (magic !== POOL_MAGIC || version !== 1) throw new Error(`${path}: not a DeepFM-mini pool file (bad magic or version)`);
  if (b !== batch || f !== F || d !== NUM_DENSE)
    throw new Error(`${path}: pool of batch ${b}, ${f} fields, ${d} dense; this run needs ${batch}, ${F}, ${NUM_DENSE}`);
  const per = F * batch + batch * NUM_DENSE + batch;
  if (buf.byteLength !== 24 + 4 * per * n!) throw new Error(`${path}: ${buf.byteLength} bytes, expected ${24 + 4 * per * n!} (truncated?)`);
  const pool: PoolBatch[] = [];
  let off = 24;
  for (let k = 0; k < n!; k++) {
    const ids = VOCABS.map((v, fi) => {
      const a = new Int32Array(buf.slice(off, off + 4 * batch));
      off += 4 * batch;
      for (const id of a) if (!(id >= 1 && id <= v)) throw new Error(`${path}: batch ${k} field ${fi} has id ${id} outside 1..${v}`);
      return a;
    });
    const dense = new Float32Array(buf.slice(off, off + 4 * batch * NUM_DENSE));
    off += 4 * batch * NUM_DENSE;
    const labels = new Float32Array(buf.slice(off, off + 4 * batch));
    off += 4 * batch;
    pool.push({ ids, dense: new Tensor(dense, [batch, NUM_DENSE]), labels });
  }
  return pool;
}

/**
 * Dense initial weights: u32 magic 'FRDI', u32 layer count, then per layer u32 in, u32 out,
 * float32 weight [in, out], float32 bias [out]. Written when the file does not exist, read
 * (shapes checked) when it does; torch_deepfm_mini.py --dense-init-file reads it.
 */
function syncDenseInit(path: string, linears: Linear[]): void {
  if (!existsSync(path)) {
    const floats = linears.reduce((n, l) => n + l.inDim * l.outDim + l.outDim, 0);
    const buf = new ArrayBuffer(8 + 8 * linears.length + 4 * floats);
    const u = new Uint32Array(buf, 0, 2 + 2 * linears.length);
    u[0] = 0x49445246; // 'FRDI'
    u[1] = linears.length;
    let off = 8 + 8 * linears.length;
    linears.forEach((l, i) => {
      u[2 + 2 * i] = l.inDim;
      u[3 + 2 * i] = l.outDim;
      new Float32Array(buf, off, l.inDim * l.outDim).set(l.weight.data);
      off += 4 * l.inDim * l.outDim;
      new Float32Array(buf, off, l.outDim).set(l.bias!.data);
      off += 4 * l.outDim;
    });
    writeFileAtomic(path, new Uint8Array(buf));
    return;
  }
  const bytes = readFileSync(path);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const head = new Uint32Array(buf, 0, 2);
  if (head[0] !== 0x49445246 || head[1] !== linears.length)
    throw new Error(`${path}: not a DeepFM-mini dense-init file for ${linears.length} layers`);
  const dims = new Uint32Array(buf, 8, 2 * linears.length);
  let off = 8 + 8 * linears.length;
  linears.forEach((l, i) => {
    if (dims[2 * i] !== l.inDim || dims[2 * i + 1] !== l.outDim)
      throw new Error(`${path}: layer ${i} is ${dims[2 * i]}→${dims[2 * i + 1]}, expected ${l.inDim}→${l.outDim}`);
    l.weight.data.set(new Float32Array(buf.slice(off, off + 4 * l.inDim * l.outDim)));
    off += 4 * l.inDim * l.outDim;
    l.bias!.data.set(new Float32Array(buf.slice(off, off + 4 * l.outDim)));
    off += 4 * l.outDim;
  });
  if (off !== buf.byteLength) throw new Error(`${path}: ${buf.byteLength} bytes, expected ${off}`);
}

/** DeepFM-mini: FM first + second order and an MLP over shared field embeddings. */
class DeepFMMini {
  readonly emb: EmbeddingTable[];
  readonly first: EmbeddingTable[];
  readonly denseLinear: Linear;
  readonly mlp: MLP;

  constructor(rng: Rng) {
    this.emb = VOCABS.map((v, f) => new EmbeddingTable(`emb${f}`, v + 1, EMB_DIM, { rng, std: 1e-4 }));
    this.first = VOCABS.map((v, f) => new EmbeddingTable(`first${f}`, v + 1, 1, { rng, std: 1e-4 }));
    this.denseLinear = new Linear(NUM_DENSE, 1, { rng });
    this.mlp = new MLP({ inputDim: VOCABS.length * EMB_DIM + NUM_DENSE, hiddenUnits: HIDDEN, outputDim: 1, rng });
  }

  tables(): EmbeddingTable[] {
    return [...this.emb, ...this.first];
  }

  /**
   * The dense layers in a fixed order (dense Linear, MLP hidden layers, MLP output): the
   * order of --dense-init-file, whose weights are stored [in, out] as finerank holds them.
   */
  denseLinears(): Linear[] {
    return [this.denseLinear, ...this.mlp.layers.map((l) => l.linear), this.mlp.out!];
  }

  denseParameters(): Tensor[] {
    return [...this.denseLinear.parameters(), ...this.mlp.parameters()];
  }

  train(on: boolean): void {
    this.denseLinear.train(on);
    this.mlp.train(on);
  }

  /**
   * Logits [B]; `phases`, when given, charges the forward's parts to `gather`, `fm_first`,
   * `fm_second`, `concat`, `mlp` and `combine` (the same marks as the PyTorch side's).
   */
  forward(ids: Int32Array[], dense: Tensor, phases?: PhaseTimer): Tensor {
    const B = dense.shape[0]!;
    phases?.mark('other');
    // x = [v_1 … v_F | dense] [B, F·D + 13]: the gather writes each sample's field rows straight
    // into its MLP input row (embedFieldsConcat), so there is no [B, F, D] copy to concatenate;
    // `concat` stays as a (now empty) mark so the phases line up with the PyTorch side's.
    const x = embedFieldsConcat(this.emb, ids, [dense]);
    phases?.mark('gather');
    // Σ_f w_f[id_f] in one op (embedFieldsSum: the 1-dim rows gathered and summed; its backward
    // sends g[b] to each row without a [B, F, 1] gradient); its gather counts in fm_first.
    const first = add(embedFieldsSum(this.first, ids), reshape(this.denseLinear.forward(dense), [B]));
    phases?.mark('fm_first');
    const second = fmSecondOrderLeading(x, VOCABS.length, EMB_DIM); // FM over x's first F·D columns
    phases?.mark('fm_second');
    phases?.mark('concat');
    const deep = reshape(this.mlp.forward(x), [B]);
    phases?.mark('mlp');
    const logit = add(add(first, second), deep);
    phases?.mark('combine');
    return logit;
  }
}

/**
 * Process CPU time per phase: `mark(name)` charges the CPU time since the previous mark to
 * `name`. `exclude(name, fn)` runs fn and charges its CPU time to `name` instead of the phase
 * that encloses it (the sparse-gradient merge runs inside the backward pass).
 */
class PhaseTimer {
  readonly ms = new Map<string, number>();
  /** CPU ms inside sgemm calls, counted within whichever phase made them (`tally`). */
  gemmMs = 0;
  private last = process.cpuUsage();
  private nested = 0;

  /** Starts timing from now (drops what ran since construction). */
  start(): void {
    this.ms.clear();
    this.gemmMs = 0;
    this.last = process.cpuUsage();
    this.nested = 0;
  }

  mark(name: string): void {
    const now = process.cpuUsage();
    this.charge(name, now);
  }

  exclude<T>(name: string, fn: () => T): T {
    const a = process.cpuUsage();
    const r = fn();
    const d = process.cpuUsage(a);
    const ms = (d.user + d.system) / 1000;
    this.ms.set(name, (this.ms.get(name) ?? 0) + ms);
    this.nested += ms;
    return r;
  }

  private charge(name: string, now: NodeJS.CpuUsage): void {
    const ms = (now.user - this.last.user + now.system - this.last.system) / 1000 - this.nested;
    this.ms.set(name, (this.ms.get(name) ?? 0) + ms);
    this.last = now;
    this.nested = 0;
  }

  /** Runs fn and adds its CPU time to `gemmMs` (not to any phase: the enclosing phase keeps it). */
  tally<T>(fn: () => T): T {
    const a = process.cpuUsage();
    const r = fn();
    const d = process.cpuUsage(a);
    this.gemmMs += (d.user + d.system) / 1000;
    return r;
  }

  /** Per-step averages, rounded to 0.1 ms; `of_which_sgemm` is the part of the total spent in sgemm. */
  perStep(steps: number): Record<string, number> {
    const out: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of this.ms) {
      out[k] = Math.round((v / steps) * 10) / 10;
      total += v;
    }
    out.total = Math.round((total / steps) * 10) / 10;
    out.of_which_sgemm = Math.round((this.gemmMs / steps) * 10) / 10;
    return out;
  }
}

/** User + system CPU seconds of a process.cpuUsage() difference (all threads). */
function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2), {
    threads: 'string',
    steps: 'string',
    warmup: 'string',
    batch: 'string',
    'infer-steps': 'string',
    'latency-calls': 'string',
    pool: 'string',
    zipf: 'string',
    seed: 'string',
    phases: 'flag',
    'data-file': 'string',
    'dense-init-file': 'string',
  });
  const threads = intOption(opts, 'threads', 1);
  const steps = intOption(opts, 'steps', 30);
  const warmup = intOption(opts, 'warmup', 5, 0);
  const batch = intOption(opts, 'batch', 4096);
  const inferSteps = intOption(opts, 'infer-steps', 20);
  const latencyCalls = intOption(opts, 'latency-calls', 300);
  const poolSize = intOption(opts, 'pool', 8);
  const seed = intOption(opts, 'seed', 2024, 0);
  const zipf = opts.zipf === undefined ? 1.1 : Number(opts.zipf);
  if (!(zipf > 0)) throw new Error(`--zipf must be a number > 0, got '${String(opts.zipf)}'`);

  process.env.FINERANK_THREADS = String(threads);
  const k = kernels();
  k.setThreads(threads);

  const dataFile = typeof opts['data-file'] === 'string' ? opts['data-file'] : null;
  let pool: PoolBatch[];
  if (dataFile !== null && existsSync(dataFile)) pool = readPool(dataFile, batch);
  else {
    pool = makePool(Rng.derive(seed, 'data'), poolSize, batch, zipf);
    if (dataFile !== null) writePool(dataFile, pool, batch);
  }
  const model = new DeepFMMini(Rng.derive(seed, 'init'));
  const denseInitFile = typeof opts['dense-init-file'] === 'string' ? opts['dense-init-file'] : null;
  if (denseInitFile !== null) syncDenseInit(denseInitFile, model.denseLinears());
  const tables = model.tables();
  const sparseOpt = new LazyAdam({ lr: 1e-3 });
  const denseOpt = new Adam(model.denseParameters(), { lr: 1e-3 });

  let phases: PhaseTimer | undefined;
  let inferTimer: PhaseTimer | undefined;
  if (opts.phases === true) {
    const sgemm = k.sgemm;
    k.sgemm = (...a: Parameters<typeof sgemm>): void => {
      const p = phases ?? inferTimer;
      if (p === undefined) sgemm(...a);
      else p.tally(() => sgemm(...a));
    };
    for (const t of tables) {
      const merge = t.accumulateGradStrided.bind(t);
      t.accumulateGradStrided = (...a: Parameters<typeof merge>): void => {
        if (phases === undefined) merge(...a);
        else phases.exclude('sparse_grad_merge', () => merge(...a));
      };
    }
  }
  const trainStep = (i: number): number => {
    const b = pool[i % pool.length]!;
    phases?.mark('other');
    for (const t of tables) t.zeroGrad();
    denseOpt.zeroGrad();
    phases?.mark('zero_grad');
    // As the trainer's step (src/train/trainer.ts): forward and backward in a tidy scope, so
    // the next step computes into recycled activation buffers instead of fresh allocations.
    const loss = tidy(() => {
      const l = bceWithLogits(model.forward(b.ids, b.dense, phases), b.labels);
      phases?.mark('loss');
      l.backward();
      return l;
    });
    phases?.mark('backward_dense');
    sparseOpt.step(tables);
    phases?.mark('sparse_optimizer');
    denseOpt.step();
    phases?.mark('dense_optimizer');
    const l = loss.item();
    phases?.mark('other');
    return l;
  };

  model.train(true);
  for (let i = 0; i < warmup; i++) trainStep(i);
  const trainPhases = opts.phases === true ? new PhaseTimer() : undefined;
  phases = trainPhases;
  trainPhases?.start();
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  let finalLoss = NaN;
  for (let i = 0; i < steps; i++) finalLoss = trainStep(warmup + i);
  const trainS = (performance.now() - t0) / 1000;
  const trainCpu = cpuSeconds(process.cpuUsage(c0));
  phases = undefined;

  model.train(false);
  let checksum = 0;
  let inferS = 0;
  let inferCpu = 0;
  const times: number[] = [];
  const inferPhases = opts.phases === true ? new PhaseTimer() : undefined;
  noGrad(() => {
    for (let i = 0; i < 2; i++) sigmoid(model.forward(pool[i % pool.length]!.ids, pool[i % pool.length]!.dense));
    t0 = performance.now();
    c0 = process.cpuUsage();
    const ip = inferPhases;
    ip?.start();
    inferTimer = ip;
    for (let i = 0; i < inferSteps; i++) {
      const b = pool[i % pool.length]!;
      ip?.mark('other');
      // As the scorer (src/serve/scorer.ts): one tidy scope per batch recycles the activations.
      checksum += tidy(() => {
        const p = sigmoid(model.forward(b.ids, b.dense, ip));
        ip?.mark('sigmoid');
        return p.data[0]!;
      });
      ip?.mark('other');
    }
    inferS = (performance.now() - t0) / 1000;
    inferCpu = cpuSeconds(process.cpuUsage(c0));
    inferTimer = undefined;

    const b0 = pool[0]!;
    const rowIds = VOCABS.map(() => new Int32Array(1));
    const rowDense = new Float32Array(NUM_DENSE);
    const rowTensor = new Tensor(rowDense, [1, NUM_DENSE]);
    for (let i = 0; i < 20 + latencyCalls; i++) {
      const r = i % batch;
      for (let f = 0; f < VOCABS.length; f++) rowIds[f]![0] = b0.ids[f]![r]!;
      rowDense.set(b0.dense.data.subarray(r * NUM_DENSE, (r + 1) * NUM_DENSE));
      const t = performance.now();
      sigmoid(model.forward(rowIds, rowTensor));
      if (i >= 20) times.push(performance.now() - t);
    }
  });

  const result = {
    impl: 'finerank',
    model: 'deepfm-mini',
    threads,
    batch,
    steps,
    train_samples_per_sec: (steps * batch) / trainS,
    infer_samples_per_sec: (inferSteps * batch) / inferS,
    latency_b1_ms: median(times),
    peak_rss_bytes: peakRssBytes(),
    final_loss: finalLoss,
    train_samples_per_cpu_sec: (steps * batch) / trainCpu,
    infer_samples_per_cpu_sec: (inferSteps * batch) / inferCpu,
    detail: { backend: k.name, sparse_optimizer: 'LazyAdam', zipf, infer_checksum: checksum, data_file: dataFile, dense_init_file: denseInitFile },
    ...(trainPhases && inferPhases
      ? { phases_cpu_ms: { train_step: trainPhases.perStep(steps), infer_batch: inferPhases.perStep(inferSteps) } }
      : {}),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`finerank_deepfm_mini: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
