/**
 * Model storage in SharedArrayBuffers, for data-parallel training on worker threads
 * (./data-parallel.ts): `shareModelStorage` moves the values of every dense parameter and
 * every embedding table of a model into shared memory (once, on the training thread);
 * `adoptSharedStorage` makes a worker's copy of the same model use those buffers instead of
 * its own arrays. The threads then read one set of weights and nothing is copied per step.
 * Buffers (batch-norm running statistics) stay private to each thread.
 */
import type { Tensor } from '../../engine/tensor.js';
import type { EmbeddingTable } from '../../embedding/table.js';
import type { RankingModel } from '../../models/base.js';
import { adviseHugePages } from '../../embedding/huge-pages.js';

/** The shared buffers of a model, in `namedParameters()` / `namedEmbeddings()` order. */
export interface SharedModelStorage {
  params: Array<{ name: string; buffer: SharedArrayBuffer }>;
  tables: Array<{ name: string; buffer: SharedArrayBuffer }>;
}

// `data` and `weight` are readonly for every other caller; only this module swaps them,
// before any optimizer or graph holds a reference to the old arrays.
type Swappable = { data: Float32Array };
type SwappableTable = { weight: Float32Array };

/**
 * `values` in a SharedArrayBuffer of its own (itself when it already is one). Large arrays
 * (embedding tables) ask for transparent huge pages before the copy first writes them, as
 * `EmbeddingTable` does for its own weights (src/embedding/huge-pages.ts).
 */
function toShared(values: Float32Array): Float32Array {
  if (values.buffer instanceof SharedArrayBuffer && values.byteOffset === 0 && values.byteLength === values.buffer.byteLength) return values;
  const shared = new Float32Array(new SharedArrayBuffer(values.byteLength));
  adviseHugePages(shared);
  shared.set(values);
  return shared;
}

/**
 * Moves the model's parameter and table values into SharedArrayBuffers (values kept) and
 * returns them. Call before building optimizers: they must see the shared arrays.
 */
export function shareModelStorage(model: RankingModel): SharedModelStorage {
  const params = model.namedParameters().map(([name, p]) => {
    const shared = toShared(p.data);
    (p as unknown as Swappable).data = shared;
    return { name, buffer: shared.buffer as SharedArrayBuffer };
  });
  const tables = model.namedEmbeddings().map(([name, t]) => {
    const table = t as EmbeddingTable;
    const shared = toShared(table.weight);
    (table as unknown as SwappableTable).weight = shared;
    return { name, buffer: shared.buffer as SharedArrayBuffer };
  });
  return { params, tables };
}

/**
 * Points a model built from the same recipe at shared storage: same parameter and table
 * names in the same order with the same sizes, else an error naming the first mismatch.
 */
export function adoptSharedStorage(model: RankingModel, storage: SharedModelStorage): void {
  const params = model.namedParameters();
  const tables = model.namedEmbeddings();
  const mismatch = (what: string, ours: string[], theirs: string[]) =>
    new Error(`data-parallel worker: the model's ${what} (${ours.join(', ')}) differ from the training thread's (${theirs.join(', ')})`);
  if (params.length !== storage.params.length || params.some(([n], i) => n !== storage.params[i]!.name))
    throw mismatch(
      'parameters',
      params.map(([n]) => n),
      storage.params.map((p) => p.name),
    );
  if (tables.length !== storage.tables.length || tables.some(([n], i) => n !== storage.tables[i]!.name))
    throw mismatch(
      'embedding tables',
      tables.map(([n]) => n),
      storage.tables.map((p) => p.name),
    );
  params.forEach(([name, p], i) => {
    const shared = new Float32Array(storage.params[i]!.buffer);
    if (shared.length !== p.data.length)
      throw new Error(`data-parallel worker: parameter '${name}' has ${p.data.length} values, shared ${shared.length}`);
    (p as unknown as Swappable).data = shared;
  });
  tables.forEach(([name, t], i) => {
    const table = t as EmbeddingTable;
    const shared = new Float32Array(storage.tables[i]!.buffer);
    if (shared.length !== table.weight.length)
      throw new Error(`data-parallel worker: table '${name}' has ${table.weight.length} values, shared ${shared.length}`);
    (table as unknown as SwappableTable).weight = shared;
  });
}

/** Offsets of each parameter in one flat gradient buffer (`namedParameters()` order) and the total length. */
export function gradientLayout(params: readonly Tensor[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const p of params) {
    offsets.push(total);
    total += p.size;
  }
  return { offsets, total };
}
