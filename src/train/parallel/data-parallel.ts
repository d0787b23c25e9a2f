/**
 * Synchronous data-parallel training on N threads (docs/streaming.md, "Data-parallel
 * training"). The training thread and N − 1 worker threads (node:worker_threads) each run
 * forward and backward on their shard of every batch — rows [⌊kB/N⌋, ⌊(k+1)B/N⌋), shard 0 on
 * the training thread — over one set of weights in SharedArrayBuffers
 * (./shared-storage.ts). Each shard's loss terms are scaled by its share of the batch
 * (`shardScales`), so the shards' gradients add up to the whole batch's. The training thread
 * then adds the workers' dense gradients to its own in worker order and merges their
 * tables' row gradients into its accumulators in worker order (a row touched by several
 * shards gets the sum of their rows: no update is lost), and the caller runs one optimizer
 * step; weights are written only then, while no thread reads them (by the training thread
 * alone, or with LazyAdam by all threads on disjoint rows: `splitRowUpdates`).
 * The summation order is fixed, so a run is reproducible for a fixed thread count.
 */
import { Worker } from 'node:worker_threads';
import type { Batch } from '../../features/batch.js';
import type { TaskDef } from '../../features/tasks.js';
import type { RankingModel } from '../../models/base.js';
import type { EmbeddingTable } from '../../embedding/table.js';
import type { Tensor } from '../../engine/tensor.js';
import { kernels } from '../../engine/kernels/index.js';
import { threadCpuSeconds } from '../../util/thread-cpu.js';
import { sliceBatch } from '../../data/batcher.js';
import { backwardBatchLoss, shardScales } from './batch-loss.js';
import { gradientLayout, type SharedModelStorage } from './shared-storage.js';
import type { ModelRecipe, RowsRequest, SetRngRequest, StepReply, StepRequest, WorkerInit, WorkerMessage } from './protocol.js';
import type { LazyAdam, LazyAdamRowJob } from '../../embedding/sparse-optim.js';
import { embeddingKernels } from '../../embedding/kernels.js';

/** Time spent by the training thread in the parts of a data-parallel step (seconds, summed). */
export interface ParallelTimings {
  /** Cutting the batch into shards and posting them. */
  split: number;
  /** Forward and backward of shard 0 on the training thread. */
  ownShard: number;
  /** Waiting for the workers after shard 0 was done. */
  wait: number;
  /** Adding the workers' dense and row gradients. */
  merge: number;
  /** The update after the merge: penalties, clipping, the optimizer steps, zeroing (`timeUpdate`). */
  optimizer: number;
  /** Whether LazyAdam's row updates are split over the threads (`splitRowUpdates`). */
  optimizerSplit: boolean;
  /** Part of `optimizer`: waiting for the workers' rows after the training thread's own update work. */
  rowsWait: number;
  /** The training thread's share of the rows in the last split row step (`splitRowUpdates`; 0 when off). */
  rowShare: number;
  /**
   * CPU seconds of the training thread itself in split, own shard, wait and merge, and the sum
   * over steps of the slowest shard's CPU seconds (training thread or worker, each its own
   * thread's time): load-independent figures from which the step time with a free core per
   * thread follows (bench/parallel). Null where thread CPU time is not available.
   */
  cpu: { split: number; ownShard: number; wait: number; merge: number; optimizer: number; rowsWait: number; slowestShard: number } | null;
}

interface WorkerHandle {
  worker: Worker;
  grads: Float32Array;
  pending: ((m: WorkerMessage) => void) | null;
  failure: Error | null;
}

/** Row bounds of N shards of B rows: shard k is [bounds[k], bounds[k+1]). */
export function shardBounds(rows: number, threads: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= threads; k++) out.push(Math.floor((k * rows) / threads));
  return out;
}

/** The worker threads of one data-parallel training run and the gradient exchange with them. */
export class DataParallelGroup {
  /** Number of threads computing shards (the training thread included). */
  readonly threads: number;
  readonly timings: ParallelTimings = {
    split: 0,
    ownShard: 0,
    wait: 0,
    merge: 0,
    optimizer: 0,
    optimizerSplit: false,
    rowsWait: 0,
    rowShare: 0,
    cpu: threadCpuSeconds() === null ? null : { split: 0, ownShard: 0, wait: 0, merge: 0, optimizer: 0, rowsWait: 0, slowestShard: 0 },
  };
  private readonly model: RankingModel;
  private readonly tasks: readonly TaskDef[];
  private readonly workers: WorkerHandle[];
  private readonly params: Tensor[];
  private readonly tables: EmbeddingTable[];
  private readonly offsets: number[];
  private readonly blasThreads: number;
  private closed = false;
  /** Per worker (index 1 … threads − 1): its model generator's state after its last shard. */
  private readonly rngStates: number[][];
  /** The optimizer whose row updates are split (`splitRowUpdates`), or null. */
  private split: LazyAdam | null = null;
  /** Per worker: its row-step completion flag (0 running, 1 done, −1 failed). */
  private readonly rowFlags: Int32Array[];
  /** Per worker: the milliseconds its last row step took (written by the worker). */
  private readonly rowMs: Float64Array;
  /**
   * The training thread's share of each table's merged rows in a split row step (starts at
   * 1/N; `finishRows` adapts it). Any value gives the same results.
   */
  private rowShare: number;
  /** The split row step whose worker ranges may still run, or null. */
  private rowsPending: { ownRows: number; workerRows: number; ownMs: number; ownEnd: number } | null = null;

  private constructor(model: RankingModel, tasks: readonly TaskDef[], workers: WorkerHandle[], blasThreads: number) {
    this.model = model;
    this.tasks = tasks;
    this.workers = workers;
    this.threads = workers.length + 1;
    this.params = model.parameters();
    this.tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
    this.offsets = gradientLayout(this.params).offsets;
    this.blasThreads = blasThreads;
    this.rngStates = workers.map(() => []);
    this.rowFlags = workers.map(() => new Int32Array(new SharedArrayBuffer(4)));
    this.rowMs = new Float64Array(new SharedArrayBuffer(Math.max(8, workers.length * 8)));
    this.rowShare = 1 / this.threads;
  }

  /**
   * Starts `threads − 1` workers over the model's shared storage (`shareModelStorage`, done
   * by the caller before its optimizers were built) and waits until each has built its model.
   * BLAS runs one thread per training thread while the group is open.
   */
  static async start(
    model: RankingModel,
    storage: SharedModelStorage,
    recipe: ModelRecipe,
    tasks: readonly TaskDef[],
    threads: number,
  ): Promise<DataParallelGroup> {
    if (!Number.isInteger(threads) || threads < 2) throw new Error(`data-parallel training needs at least 2 threads, got ${threads}`);
    const k = kernels();
    const blasThreads = k.getThreads();
    k.setThreads(1);
    const { total } = gradientLayout(model.parameters());
    const handles: WorkerHandle[] = [];
    for (let index = 1; index < threads; index++) {
      const gradBuffer = new SharedArrayBuffer(Math.max(4, total * 4));
      const init: WorkerInit = { recipe, tasks: tasks.slice(), storage, index, gradBuffer };
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: init,
        env: { ...process.env, FINERANK_THREADS: '1' },
      });
      const h: WorkerHandle = { worker, grads: new Float32Array(gradBuffer), pending: null, failure: null };
      const fail = (e: Error) => {
        h.failure ??= e;
        const p = h.pending;
        h.pending = null;
        p?.({ type: 'error', message: e.message });
      };
      worker.on('message', (m: WorkerMessage) => {
        const p = h.pending;
        h.pending = null;
        if (p !== null) p(m);
        else if (m.type === 'error') h.failure ??= new Error(m.message);
      });
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
      handles.push(h);
    }
    const group = new DataParallelGroup(model, tasks, handles, blasThreads);
    try {
      const ready = await Promise.all(handles.map((h, i) => group.receive(h, i + 1, 'ready')));
      ready.forEach((m, i) => (group.rngStates[i] = m.rngState));
    } catch (e) {
      await group.close();
      throw e;
    }
    return group;
  }

  /** Resolves with worker h's next message of the expected type; rejects on its error or exit. */
  private receive<T extends WorkerMessage['type']>(h: WorkerHandle, index: number, type: T): Promise<Extract<WorkerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const done = (m: WorkerMessage) => {
        if (m.type === type) resolve(m as Extract<WorkerMessage, { type: T }>);
        else reject(new Error(`data-parallel worker ${index}: ${m.type === 'error' ? m.message : `unexpected '${m.type}' message`}`));
      };
      if (h.failure !== null) done({ type: 'error', message: h.failure.message });
      else h.pending = done;
    });
  }

  /**
   * Forward and backward of `batch` split over the threads; on return the model's gradients
   * (dense and row-sparse) are those of the whole batch, ready for one optimizer step.
   * Returns the batch loss (the sum of the shards' parts).
   */
  async backward(batch: Batch): Promise<number> {
    if (this.closed) throw new Error('data-parallel group is closed');
    this.finishRows();
    let t = performance.now();
    const c0 = threadCpuSeconds();
    const bounds = shardBounds(batch.size, this.threads);
    const scales = shardScales(batch, this.tasks, bounds);
    const replies: Array<Promise<StepReply> | null> = this.workers.map((h, i) => {
      const k = i + 1,
        rows = bounds[k + 1]! - bounds[k]!;
      if (rows === 0) return null;
      const reply = this.receive(h, k, 'done');
      const shard = sliceBatch(batch, bounds[k]!, rows);
      const req: StepRequest = { type: 'step', batch: shard, scales: scales[k]! };
      h.worker.postMessage(req, transferables(shard));
      return reply;
    });
    const own = bounds[1]! > 0 ? sliceBatch(batch, 0, bounds[1]!) : null;
    let now = performance.now();
    this.timings.split += (now - t) / 1000;
    t = now;
    const c1 = threadCpuSeconds();
    let loss = 0;
    let ownError: unknown = null;
    try {
      if (own !== null) loss = backwardBatchLoss(this.model, this.tasks, own, scales[0]!);
    } catch (e) {
      ownError = e;
    }
    now = performance.now();
    this.timings.ownShard += (now - t) / 1000;
    t = now;
    const c2 = threadCpuSeconds();
    // Never return while a worker still runs (the caller steps the shared weights next).
    const settled = await Promise.allSettled(replies.map((r) => r ?? Promise.resolve(null)));
    if (ownError !== null) throw ownError;
    now = performance.now();
    this.timings.wait += (now - t) / 1000;
    t = now;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    const c3 = threadCpuSeconds();
    let slowest = c2 !== null && c1 !== null ? c2 - c1 : 0;
    settled.forEach((s, i) => {
      const r = (s as PromiseFulfilledResult<StepReply | null>).value;
      if (r === null) return;
      loss += this.merge(this.workers[i]!, r);
      this.rngStates[i] = r.rngState;
      if (r.cpuSeconds !== null) slowest = Math.max(slowest, r.cpuSeconds);
    });
    this.timings.merge += (performance.now() - t) / 1000;
    const c4 = threadCpuSeconds();
    const cpu = this.timings.cpu;
    if (cpu !== null && c0 !== null && c1 !== null && c2 !== null && c3 !== null && c4 !== null) {
      cpu.split += c1 - c0;
      cpu.ownShard += c2 - c1;
      cpu.wait += c3 - c2;
      cpu.merge += c4 - c3;
      cpu.slowestShard += slowest;
    }
    return loss;
  }

  /**
   * Runs `update` (the optimizer step that follows `backward`), waits for the workers' rows
   * of a split row step (`finishRows`), and charges its wall and training-thread CPU time to
   * `timings.optimizer`.
   */
  timeUpdate(update: () => void): void {
    const t = performance.now();
    const c0 = threadCpuSeconds();
    try {
      update();
    } finally {
      this.finishRows();
    }
    this.timings.optimizer += (performance.now() - t) / 1000;
    const c1 = threadCpuSeconds();
    if (this.timings.cpu !== null && c0 !== null && c1 !== null) this.timings.cpu.optimizer += c1 - c0;
  }

  /**
   * Splits `opt`'s row updates over the threads from now on: its state moves into
   * SharedArrayBuffers, and each step the merged rows of every table are cut into N
   * contiguous ranges of its unique ids, range 0 updated on the training thread and range k
   * by worker k. The workers' ranges are posted first; the training thread updates its own
   * range and returns, so that the rest of the update (the dense optimizer step, zeroing the
   * gradients: `OptimizerPair.step` runs the row step before the dense one) overlaps the
   * workers' rows; `finishRows` (at the end of `timeUpdate`, and before the next shard or
   * `close`) blocks (Atomics.wait) until every worker is done. Range 0's share of the rows
   * adapts step by step (`rowShare`) so that the training thread's rows plus the rest of its
   * update take as long as a worker's rows (timed on each thread per step). Rows are
   * disjoint and each row's update reads only its own gradient, state and the table's step
   * size, so the weights and state are those of the serial step bit for bit, whatever the
   * cut. `FINERANK_SPLIT_OPTIMIZER=0` leaves the step serial. Returns whether the split is
   * on. Undone by `close`.
   */
  splitRowUpdates(opt: LazyAdam): boolean {
    if (this.closed || process.env.FINERANK_SPLIT_OPTIMIZER === '0') return false;
    opt.useSlotAllocator((n) => new Float32Array(new SharedArrayBuffer(n * 4)));
    const index = new Map(this.tables.map((t, i) => [t, i]));
    opt.rowSplitter = (jobs: LazyAdamRowJob[], beta1: number, beta2: number, eps: number) => {
      this.finishRows();
      const n = this.threads,
        share = this.rowShare;
      // Row r of a table's merged ids goes to range k when cut[k] ≤ r < cut[k + 1]:
      // cut[1] = ⌊share·count⌋, the rest split evenly over the workers.
      const cuts = (count: number): number[] => {
        const own = Math.min(count, Math.max(0, Math.floor(share * count)));
        const out = [0, own];
        for (let k = 1; k < n; k++) out.push(own + Math.floor((k * (count - own)) / (n - 1)));
        return out;
      };
      const jobCuts = jobs.map((j) => cuts(j.ids.length));
      let workerRows = 0;
      this.workers.forEach((h, w) => {
        const part = w + 1;
        const req: RowsRequest = { type: 'rows', beta1, beta2, eps, done: this.rowFlags[w]!, ms: this.rowMs, jobs: [] };
        const transfer: ArrayBuffer[] = [];
        jobs.forEach((j, i) => {
          const dim = j.table.dim,
            a = jobCuts[i]![part]!,
            b = jobCuts[i]![part + 1]!;
          if (b === a) return;
          const ids = j.ids.slice(a, b),
            values = j.values.slice(a * dim, b * dim);
          transfer.push(ids.buffer as ArrayBuffer, values.buffer as ArrayBuffer);
          req.jobs.push({ table: index.get(j.table)!, ids, values, m: j.m, v: j.v, stepSize: j.stepSize });
          if (part === 1) workerRows += b - a;
        });
        Atomics.store(this.rowFlags[w]!, 0, 0);
        h.worker.postMessage(req, transfer);
      });
      const t0 = performance.now();
      const k = embeddingKernels();
      let ownRows = 0;
      jobs.forEach((j, i) => {
        const dim = j.table.dim,
          b = jobCuts[i]![1]!;
        ownRows += b;
        if (b > 0) k.lazyAdam(j.ids.subarray(0, b), j.values.subarray(0, b * dim), j.table.weight, j.m, j.v, dim, beta1, beta2, eps, j.stepSize);
      });
      const t1 = performance.now();
      this.rowsPending = { ownRows, workerRows, ownMs: t1 - t0, ownEnd: t1 };
    };
    this.split = opt;
    this.timings.optimizerSplit = true;
    this.timings.rowShare = this.rowShare;
    return true;
  }

  /**
   * Waits until the workers have finished their ranges of the last split row step (nothing
   * when none is pending), then moves `rowShare` towards the share that balances the
   * training thread's rows plus the work it did after them against a worker's rows.
   */
  finishRows(): void {
    const p = this.rowsPending;
    if (p === null) return;
    this.rowsPending = null;
    const t = performance.now();
    const afterOwn = t - p.ownEnd;
    const c0 = threadCpuSeconds();
    this.rowFlags.forEach((f, w) => {
      // The worker is idle between steps, so it answers at once; the bound only guards a dead worker.
      const deadline = Date.now() + 120_000;
      while (Atomics.load(f, 0) === 0) {
        if (Atomics.wait(f, 0, 0, 1000) === 'timed-out' && Date.now() > deadline)
          throw new Error(`data-parallel worker ${w + 1} did not finish its share of the optimizer step`);
      }
      if (Atomics.load(f, 0) !== 1) throw new Error(`data-parallel worker ${w + 1} failed its share of the optimizer step`);
    });
    const c1 = threadCpuSeconds();
    this.timings.rowsWait += (performance.now() - t) / 1000;
    if (this.timings.cpu !== null && c0 !== null && c1 !== null) this.timings.cpu.rowsWait += c1 - c0;
    // Balance (in wall time: what the wait is made of). A row costs the same c on every thread
    // (same kernel, same memory), estimated from all rows timed this step; with R rows and
    // D the training thread's work after its own rows, its share s solves
    // s·R·c + D = (1 − s)·R·c / (N − 1), i.e. s = (1 − D·(N − 1)/(R·c)) / N. (A per-side
    // estimate would get stuck at s = 0, where the training thread times no rows.)
    let workerMs = 0;
    for (let w = 0; w < this.workers.length; w++) workerMs = Math.max(workerMs, this.rowMs[w]!);
    const n = this.threads,
      R = p.ownRows + p.workerRows * (n - 1);
    if (p.workerRows === 0 || workerMs <= 0 || R === 0) return;
    const c = (p.ownMs + workerMs * (n - 1)) / R;
    const target = Math.min(1, Math.max(0, (1 - (afterOwn * (n - 1)) / (R * c)) / n));
    this.rowShare = 0.7 * this.rowShare + 0.3 * target;
    this.timings.rowShare = this.rowShare;
  }

  /** Adds one worker's gradients to the training thread's; returns its loss part. */
  private merge(h: WorkerHandle, r: StepReply): number {
    this.params.forEach((p, i) => {
      if (!r.hasGrad[i]) return;
      const g = p.gradBuffer(),
        src = h.grads,
        o = this.offsets[i]!;
      for (let j = 0; j < g.length; j++) g[j]! += src[o + j]!;
    });
    this.tables.forEach((table, i) => {
      const s = r.sparse[i];
      if (s === null || s === undefined) return;
      table.accumulateGrad(s.ids, s.values, s.ids.length);
    });
    return r.loss;
  }

  /**
   * The workers' model generator states (dropout masks), worker 1 first, as of the last
   * completed step: what a checkpoint needs so that a resumed run draws the same masks.
   */
  workerRngStates(): number[][] {
    return this.rngStates.map((s) => s.slice());
  }

  /**
   * Restores the workers' generators from `workerRngStates()` of an earlier run with the same
   * thread count (before the first step: the messages reach each worker ahead of its next shard).
   */
  setWorkerRngStates(states: readonly (readonly number[])[]): void {
    if (this.closed) throw new Error('data-parallel group is closed');
    if (states.length !== this.workers.length)
      throw new Error(`data-parallel: ${states.length} worker generator states for ${this.workers.length} workers`);
    states.forEach((s, i) => {
      const req: SetRngRequest = { type: 'set-rng', state: s.slice() };
      this.workers[i]!.worker.postMessage(req);
      this.rngStates[i] = s.slice();
    });
  }

  /** Stops the workers and restores the BLAS thread count (and the serial optimizer step). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.finishRows();
    } catch {
      // A failed worker: terminated below either way.
    }
    if (this.split !== null) this.split.rowSplitter = null;
    this.split = null;
    for (const h of this.workers) h.worker.removeAllListeners('exit');
    await Promise.all(this.workers.map((h) => h.worker.terminate()));
    kernels().setThreads(this.blasThreads);
  }
}

/** The distinct ArrayBuffers of a freshly sliced batch (moved to the worker, not copied). */
function transferables(b: Batch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: { buffer: ArrayBufferLike } | undefined) => {
    if (a !== undefined && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  for (const v of Object.values(b.sparse)) add(v);
  for (const v of Object.values(b.dense)) add(v);
  for (const v of Object.values(b.labels)) add(v);
  for (const v of Object.values(b.varlen)) {
    add(v.ids);
    add(v.lengths);
  }
  add(b.weight);
  add(b.group);
  return [...out];
}
