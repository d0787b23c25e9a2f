/**
 * Micro-benchmark of the embedding hot path on the DeepFM-mini shapes of issue 2: 26 fields
 * (vocabularies 10×1,000, 10×100,000, 6×1,000,000, each with a padding row 0), dim 16 plus
 * the 1-dim first-order tables, batch 4096, Zipf-skewed ids (P(k) ∝ k^−s, k = 1..V).
 *
 * Per training step it times, separately (median and minimum ms over --steps steps — the
 * minimum is the steadier figure on a machine shared with other work — batches taken from a
 * pre-generated pool, by default one fresh batch per step so that cold rows stay cold):
 *   lookup    embedFields over the 26 dim-16 tables and over the 26 dim-1 tables
 *   backward  zeroGrad of the 52 tables + the two lookups' backward (row-sparse merge)
 *   lazyadam  LazyAdam.step over the 52 tables (torch SparseAdam formula)
 *   adagrad   SparseAdagrad.step over the 52 tables
 *   sgd       SparseSGD.step over the 52 tables
 *   k:gather  the gather kernel alone (both lookups into preallocated outputs: no tensor, no
 *             allocation) — lookup minus this is the cost of fresh output arrays
 *   k:merge   zeroGrad + the merge kernel alone (accumulateGradStrided per field, as the
 *             lookups' backward does) — backward minus this is the engine's seeding of the
 *             output gradient ([B, F, D] buffer allocation and add)
 *   sequence  (with --seq-len L > 0) embedSequence forward + backward of a [B, L] history
 *             field on a 1,000,001-row table, lengths uniform in 1..L
 * The backend is the active embedding kernel set (native addon, or TypeScript when
 * FINERANK_BACKEND=typescript or the addon is absent). Prints a table, then one JSON line.
 *
 * Usage: node --import tsx bench/engine/embedding.ts [--steps 20] [--warmup 3] [--batch 4096]
 *        [--pool 0 (= warmup + steps)] [--zipf 1.1] [--seq-len 0] [--seed 7]
 */
import { parseArgs, intOption } from '../common/args.js';
import { Rng } from '../../src/engine/random.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { EmbeddingTable, embedFields, embedSequence, LazyAdam, SparseAdagrad, SparseSGD } from '../../src/embedding/index.js';
import { embeddingKernels } from '../../src/embedding/kernels.js';
import { zipfSampler } from '../common/zipf.js';

const VOCABS = [...Array(10).fill(1_000), ...Array(10).fill(100_000), ...Array(6).fill(1_000_000)] as number[];
const DIM = 16;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2), {
    steps: 'string',
    warmup: 'string',
    batch: 'string',
    pool: 'string',
    zipf: 'string',
    'seq-len': 'string',
    seed: 'string',
  });
  const steps = intOption(opts, 'steps', 20);
  const warmup = intOption(opts, 'warmup', 3, 0);
  const B = intOption(opts, 'batch', 4096);
  const poolSize = intOption(opts, 'pool', 0, 0) || warmup + steps;
  const seqLen = intOption(opts, 'seq-len', 0, 0);
  const seed = intOption(opts, 'seed', 7, 0);
  const zipf = opts.zipf === undefined ? 1.1 : Number(opts.zipf);
  if (!(zipf > 0)) throw new Error(`--zipf must be a number > 0, got '${String(opts.zipf)}'`);

  const rng = Rng.derive(seed, 'data');
  const samplers = new Map<number, (r: Rng) => number>();
  for (const v of VOCABS) if (!samplers.has(v)) samplers.set(v, zipfSampler(v, zipf));
  const pool = Array.from({ length: poolSize }, () =>
    VOCABS.map((v) => {
      const a = new Int32Array(B);
      const draw = samplers.get(v)!;
      for (let i = 0; i < B; i++) a[i] = draw(rng);
      return a;
    }),
  );
  const seqSampler = zipfSampler(1_000_000, zipf);
  const seqPool =
    seqLen === 0
      ? []
      : Array.from({ length: poolSize }, () => {
          const ids = new Int32Array(B * seqLen),
            lengths = new Int32Array(B);
          for (let b = 0; b < B; b++) {
            lengths[b] = 1 + rng.int(seqLen);
            for (let j = 0; j < lengths[b]!; j++) ids[b * seqLen + j] = seqSampler(rng);
          }
          return { ids, lengths, maxLen: seqLen };
        });

  const init = Rng.derive(seed, 'init');
  const emb = VOCABS.map((v, f) => new EmbeddingTable(`emb${f}`, v + 1, DIM, { rng: init, std: 1e-4 }));
  const first = VOCABS.map((v, f) => new EmbeddingTable(`first${f}`, v + 1, 1, { rng: init, std: 1e-4 }));
  const hist = new EmbeddingTable('hist', 1_000_001, DIM, { rng: init, std: 1e-4 });
  const tables = [...emb, ...first];
  const gv = new Float32Array(B * VOCABS.length * DIM),
    gw = new Float32Array(B * VOCABS.length);
  for (let i = 0; i < gv.length; i++) gv[i] = init.uniform(-1e-3, 1e-3);
  for (let i = 0; i < gw.length; i++) gw[i] = init.uniform(-1e-3, 1e-3);
  const gs = new Float32Array(B * seqLen * DIM);
  for (let i = 0; i < gs.length; i++) gs[i] = init.uniform(-1e-3, 1e-3);
  const lazy = new LazyAdam({ lr: 1e-3 }),
    adagrad = new SparseAdagrad({ lr: 1e-2 }),
    sgd = new SparseSGD({ lr: 1e-3 });

  const phases = ['lookup', 'backward', 'lazyadam', 'adagrad', 'sgd', 'k:gather', 'k:merge', ...(seqLen > 0 ? ['sequence'] : [])] as const;
  const F = VOCABS.length,
    outV = new Float32Array(B * F * DIM),
    outW = new Float32Array(B * F);
  const embW = emb.map((t) => t.weight),
    firstW = first.map((t) => t.weight);
  const times: Record<string, number[]> = Object.fromEntries(phases.map((p) => [p, []]));
  let uniqueRows = 0;
  for (let s = 0; s < warmup + steps; s++) {
    const ids = pool[s % poolSize]!;
    const record = s >= warmup;
    let t = performance.now();
    const lap = (phase: string): void => {
      const now = performance.now();
      if (record) times[phase]!.push(now - t);
      t = now;
    };
    const v = embedFields(emb, ids);
    const w = embedFields(first, ids);
    lap('lookup');
    for (const tb of tables) tb.zeroGrad();
    v.backward(gv);
    w.backward(gw);
    lap('backward');
    lazy.step(tables);
    lap('lazyadam');
    adagrad.step(tables);
    lap('adagrad');
    sgd.step(tables);
    lap('sgd');
    const k = embeddingKernels();
    k.gatherFields(embW, ids, DIM, outV);
    k.gatherFields(firstW, ids, 1, outW);
    lap('k:gather');
    if (record) {
      uniqueRows = 0;
      for (const tb of emb) uniqueRows += tb.gradRowCount;
    }
    for (const tb of tables) tb.zeroGrad();
    for (let f = 0; f < F; f++) {
      emb[f]!.accumulateGradStrided(ids[f]!, 0, B, gv, f * DIM, F * DIM, 1);
      first[f]!.accumulateGradStrided(ids[f]!, 0, B, gw, f, F, 1);
    }
    lap('k:merge');
    if (seqLen > 0) {
      hist.zeroGrad();
      embedSequence(hist, seqPool[s % poolSize]!).backward(gs);
      lap('sequence');
    }
  }

  const ms = Object.fromEntries(phases.map((p) => [p, median(times[p]!)]));
  const minMs = Object.fromEntries(phases.map((p) => [p, Math.min(...times[p]!)]));
  const backend = embeddingKernels().name;
  process.stdout.write(
    `embedding kernels: ${backend} (engine: ${kernels().name}); batch ${B}, zipf ${zipf}, ${uniqueRows} unique dim-16 rows per step (last step)\n`,
  );
  process.stdout.write(`  phase       median      min  (ms/step over ${steps} steps)\n`);
  for (const p of phases) process.stdout.write(`  ${p.padEnd(9)} ${ms[p]!.toFixed(2).padStart(8)} ${minMs[p]!.toFixed(2).padStart(8)}\n`);
  process.stdout.write(
    JSON.stringify({ bench: 'embedding', backend, batch: B, zipf, steps, unique_rows: uniqueRows, ms_per_step: ms, min_ms_per_step: minMs }) + '\n',
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench/engine/embedding: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
