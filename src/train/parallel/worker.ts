/**
 * The worker thread of data-parallel training (./data-parallel.ts). It builds the model from
 * the training thread's recipe (tables without initial values: `withoutInitialValues`),
 * points it at the shared parameter and table storage, and then
 * for every step message runs forward and backward on its shard of the batch: dense
 * gradients go into its own shared gradient buffer, the tables' row gradients (unique ids and
 * summed rows) back in the reply, transferred without copying. Between steps, while the
 * training thread waits for it, it may update its share of a LazyAdam step's rows (the only
 * weights it writes; `RowsRequest`). Each reply carries the state of its model generator
 * (dropout masks), which the training thread checkpoints; a `set-rng` message restores it on resume.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../engine/random.js';
import { createModel } from '../../models/registry.js';
import { withoutInitialValues, type EmbeddingTable } from '../../embedding/table.js';
import type { Batch } from '../../features/batch.js';
import { threadCpuSeconds } from '../../util/thread-cpu.js';
import { adoptSharedStorage, gradientLayout } from './shared-storage.js';
import { backwardBatchLoss, type ShardScales } from './batch-loss.js';
import { embeddingKernels } from '../../embedding/kernels.js';
import { workerRngPurpose, type RowsRequest, type StepReply, type WorkerInit, type WorkerRequest } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

try {
  const rng = Rng.derive(init.recipe.seed, workerRngPurpose(init.index));
  // The tables are the training thread's (adopted below): build them without initial values.
  const model = withoutInitialValues(() =>
    createModel(init.recipe.model, { spec: init.recipe.spec, rng, tasks: init.tasks.map((t) => t.name) }, init.recipe.modelOptions),
  );
  adoptSharedStorage(model, init.storage);
  model.train();
  const params = model.parameters();
  const tables = model.namedEmbeddings().map(([, t]) => t as EmbeddingTable);
  const { offsets } = gradientLayout(params);
  const grads = new Float32Array(init.gradBuffer);

  const step = (batch: Batch, scales: ShardScales): StepReply => {
    const c0 = threadCpuSeconds();
    const loss = backwardBatchLoss(model, init.tasks, batch, scales);
    const hasGrad = params.map((p, i) => {
      if (p.grad === null) return false;
      grads.set(p.grad, offsets[i]!);
      return true;
    });
    const sparse = tables.map((t) => {
      if (!t.hasGrad()) return null;
      const g = t.sparseGrad();
      return { ids: g.ids.slice(), values: g.values.slice() };
    });
    model.zeroGrad();
    for (const t of tables) t.zeroGrad();
    const c1 = threadCpuSeconds();
    return { type: 'done', loss, hasGrad, sparse, cpuSeconds: c0 === null || c1 === null ? null : c1 - c0, rngState: rng.getState() };
  };

  const rows = (m: RowsRequest): void => {
    const t0 = performance.now();
    const k = embeddingKernels();
    for (const j of m.jobs) {
      const t = tables[j.table]!;
      k.lazyAdam(j.ids, j.values, t.weight, j.m, j.v, t.dim, m.beta1, m.beta2, m.eps, j.stepSize);
    }
    m.ms[init.index - 1] = performance.now() - t0;
  };

  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'rows') {
      let status = 1;
      try {
        rows(m);
      } catch (e) {
        status = -1;
        port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      }
      Atomics.store(m.done, 0, status);
      Atomics.notify(m.done, 0);
      return;
    }
    try {
      if (m.type === 'set-rng') {
        rng.setState(m.state);
        return;
      }
      const reply = step(m.batch, m.scales);
      const transfer: ArrayBuffer[] = [];
      for (const s of reply.sparse) if (s !== null) transfer.push(s.ids.buffer as ArrayBuffer, s.values.buffer as ArrayBuffer);
      port.postMessage(reply, transfer);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });
  port.postMessage({ type: 'ready', rngState: rng.getState() });
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
}
