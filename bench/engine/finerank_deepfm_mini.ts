/**
 * finerank side of the DeepFM-mini engine benchmark (issue 2); the same model, data law
 * and measurements as bench/engine/torch_deepfm_mini.py, printed as the same JSON line
 * (bench/common/engine-result.ts).
 *
 * Model: 26 sparse fields (vocabularies 10×1,000, 10×100,000, 6×1,000,000; each table has
 * one extra row 0, the padding row, never looked up), embedding dim 16, 13 dense inputs.
 *   first  = Σ_f w_f[id_f] (1-dim tables) + Linear(13 → 1)(dense)
 *   second = ½ Σ_d [(Σ_f v_fd)² − Σ_f v_fd²]                       (fmSecondOrder)
 *   deep   = MLP([flatten v (416) ++ dense (13)] → 400 → 400 → 400 (ReLU) → 1)
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
 */
import { parseArgs, intOption } from '../common/args.js';
import { peakRssBytes } from '../common/rss.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { add, concat, reshape, sum, bceWithLogits, sigmoid } from '../../src/engine/ops/index.js';
import { EmbeddingTable, embedFields, LazyAdam } from '../../src/embedding/index.js';
import { Linear, MLP } from '../../src/nn/index.js';
import { fmSecondOrder } from '../../src/blocks/interactions/fm.js';
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

  denseParameters(): Tensor[] {
    return [...this.denseLinear.parameters(), ...this.mlp.parameters()];
  }

  train(on: boolean): void {
    this.denseLinear.train(on);
    this.mlp.train(on);
  }

  /** Logits [B]. */
  forward(ids: Int32Array[], dense: Tensor): Tensor {
    const B = dense.shape[0]!;
    const v = embedFields(this.emb, ids); // [B, F, D]
    const w = embedFields(this.first, ids); // [B, F, 1]
    const first = add(sum(w, [1, 2]), reshape(this.denseLinear.forward(dense), [B]));
    const second = fmSecondOrder(v);
    const deep = reshape(this.mlp.forward(concat([reshape(v, [B, VOCABS.length * EMB_DIM]), dense], 1)), [B]);
    return add(add(first, second), deep);
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

  const pool = makePool(Rng.derive(seed, 'data'), poolSize, batch, zipf);
  const model = new DeepFMMini(Rng.derive(seed, 'init'));
  const tables = model.tables();
  const sparseOpt = new LazyAdam({ lr: 1e-3 });
  const denseOpt = new Adam(model.denseParameters(), { lr: 1e-3 });

  const trainStep = (i: number): number => {
    const b = pool[i % pool.length]!;
    for (const t of tables) t.zeroGrad();
    denseOpt.zeroGrad();
    const loss = bceWithLogits(model.forward(b.ids, b.dense), b.labels);
    loss.backward();
    sparseOpt.step(tables);
    denseOpt.step();
    return loss.item();
  };

  model.train(true);
  for (let i = 0; i < warmup; i++) trainStep(i);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  let finalLoss = NaN;
  for (let i = 0; i < steps; i++) finalLoss = trainStep(warmup + i);
  const trainS = (performance.now() - t0) / 1000;
  const trainCpu = cpuSeconds(process.cpuUsage(c0));

  model.train(false);
  let checksum = 0;
  let inferS = 0;
  let inferCpu = 0;
  const times: number[] = [];
  noGrad(() => {
    for (let i = 0; i < 2; i++) sigmoid(model.forward(pool[i % pool.length]!.ids, pool[i % pool.length]!.dense));
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < inferSteps; i++) {
      const b = pool[i % pool.length]!;
      checksum += sigmoid(model.forward(b.ids, b.dense)).data[0]!;
    }
    inferS = (performance.now() - t0) / 1000;
    inferCpu = cpuSeconds(process.cpuUsage(c0));

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
    detail: { backend: k.name, sparse_optimizer: 'LazyAdam', zipf, infer_checksum: checksum },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`finerank_deepfm_mini: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
