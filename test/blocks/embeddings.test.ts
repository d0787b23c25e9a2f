import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { add, reshape, sum } from '../../src/engine/ops/index.js';
import type { Batch } from '../../src/features/batch.js';
import { denseField, sequenceField, sparseField, varlenField, type FeatureSpec } from '../../src/features/fields.js';
import { FeatureInputs, selectFields, type FeatureInputsOptions } from '../../src/blocks/embeddings/feature-inputs.js';
import { LinearLogit } from '../../src/blocks/embeddings/linear-logit.js';
import { SingleTaskModel, type ModelContext } from '../../src/models/base.js';
import { modelGradcheck } from '../support/model-gradcheck.js';

const L = 3;

/** Fields of several kinds, dimensions and tags; `hist` is a history of `item` (shared table). */
function spec(): FeatureSpec {
  return {
    fields: [
      sparseField('user', 6, { embeddingDim: 4, tag: 'user' }),
      sparseField('item', 7, { embeddingDim: 16, tag: 'item' }),
      sparseField('ctx', 5, { tag: 'context' }),
      varlenField('tags', 6, L, { tag: 'item' }),
      sequenceField('hist', 'item', 7, L, { tag: 'user', embeddingDim: 16 }),
      denseField('price', { tag: 'item' }),
    ],
    labels: ['click'],
  };
}

/** Rows with history lengths 0, 1 and maxLen (and tag lengths 0..3). */
function batch(): Batch {
  const B = 4;
  return {
    size: B,
    sparse: { user: Int32Array.of(2, 3, 4, 5), item: Int32Array.of(2, 6, 3, 1), ctx: Int32Array.of(4, 3, 2, 2) },
    dense: { price: Float32Array.of(0.5, -1, 2, 0) },
    varlen: {
      tags: { ids: Int32Array.of(0, 0, 0, 2, 0, 0, 3, 4, 0, 5, 2, 3), lengths: Int32Array.of(0, 1, 2, 3), maxLen: L },
      hist: { ids: Int32Array.of(0, 0, 0, 4, 0, 0, 2, 3, 5, 6, 6, 2), lengths: Int32Array.of(0, 1, 3, 3), maxLen: L },
    },
    labels: { click: Float32Array.of(1, 0, 1, 0) },
  };
}

const base = (o: Partial<FeatureInputsOptions> = {}): FeatureInputsOptions => ({
  embeddingDim: 8,
  initStd: 0.5,
  rng: new Rng(3),
  owner: 'test',
  ...o,
});

/** Row `id` of the table registered as `name`. */
function row(m: FeatureInputs, name: string, id: number): number[] {
  const t = m.tableNamed(name);
  return [...t.weight.subarray(id * t.dim, (id + 1) * t.dim)];
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-6): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('per-field dimensions reach the tables; flat() is the naive concatenation of rows, pooled means and raw numbers', () => {
  const m = new FeatureInputs(spec(), base({ sequences: ['hist'] }));
  assert.deepEqual(
    m.fields.map((f) => f.name),
    ['user', 'item', 'ctx', 'tags'],
  );
  assert.deepEqual(m.dims, [4, 16, 8, 8]);
  assert.equal(m.tableNamed('user').dim, 4);
  assert.equal(m.tableNamed('item').dim, 16);
  assert.equal(m.flatWidth, 4 + 16 + 8 + 8 + 1);
  const b = batch();
  const flat = noGrad(() => m.forward(b).flat());
  assert.deepEqual(flat.shape, [4, 37]);
  for (let r = 0; r < b.size; r++) {
    const n = b.varlen.tags!.lengths[r]!;
    const pooled = new Array<number>(8).fill(0);
    for (let j = 0; j < n; j++) row(m, 'tags', b.varlen.tags!.ids[r * L + j]!).forEach((v, d) => (pooled[d]! += v / n));
    const expected = [
      ...row(m, 'user', b.sparse.user![r]!),
      ...row(m, 'item', b.sparse.item![r]!),
      ...row(m, 'ctx', b.sparse.ctx![r]!),
      ...pooled,
      b.dense.price![r]!,
    ];
    close(flat.data.subarray(r * 37, (r + 1) * 37), expected, `row ${r}`);
  }
  assert.throws(() => m.forward(b).stacked(), /needs one embedding dimension.*user 4, item 16, ctx 8, tags 8/);
  assert.throws(() => m.dim, /user 4, item 16/);
});

test('sameDim: require refuses mixed dimensions naming the fields; project maps them onto embedding_dim', () => {
  assert.throws(
    () => new FeatureInputs(spec(), base({ sameDim: 'require', sequences: ['hist'] })),
    /'user' has 4, 'item' has 16; .*embedding_projection: true/,
  );
  const m = new FeatureInputs(spec(), base({ sameDim: 'project', sequences: ['hist'] }));
  assert.deepEqual(m.dims, [8, 8, 8, 8]);
  const b = batch();
  const st = noGrad(() => m.forward(b).stacked());
  assert.deepEqual(st.shape, [4, 4, 8]);
  const P = m.stateDict().get('proj_item.weight')!; // [16, 8]
  for (let r = 0; r < b.size; r++) {
    const e = row(m, 'item', b.sparse.item![r]!);
    const expected = Array.from({ length: 8 }, (_, j) => e.reduce((s, v, i) => s + v * P[i * 8 + j]!, 0));
    close(st.data.subarray((r * 4 + 1) * 8, (r * 4 + 2) * 8), expected, `projected item row ${r}`, 1e-5);
    close(st.data.subarray((r * 4 + 2) * 8, (r * 4 + 3) * 8), row(m, 'ctx', b.sparse.ctx![r]!), `ctx row ${r} (own dim, not projected)`);
  }
});

test('selection by use, name, kind and tag', () => {
  const s = spec();
  s.fields[2]!.use = 'linear';
  const names = (sel: Parameters<typeof selectFields>[1]) => selectFields(s, sel).map((f) => f.name);
  assert.deepEqual(names({}), ['user', 'item', 'tags', 'hist', 'price']);
  assert.deepEqual(names({ use: 'linear' }), ['user', 'item', 'ctx', 'tags', 'hist', 'price']);
  assert.deepEqual(names({ tags: ['item'] }), ['item', 'tags', 'price']);
  assert.deepEqual(names({ kinds: ['sparse'], tags: ['user', 'item'] }), ['user', 'item']);
  assert.deepEqual(names({ names: ['item', 'price'] }), ['item', 'price']);
  assert.deepEqual(names({ exclude: ['hist', 'price'] }), ['user', 'item', 'tags']);
  assert.throws(() => names({ names: ['nope'] }), /no input field 'nope'; fields: user, item, ctx/);
});

test('sequences stay [B, L, D] with their padding mask (lengths 0, 1, maxLen) and share the target table', () => {
  const m = new FeatureInputs(spec(), base({ sequences: ['hist'] }));
  const b = batch();
  const s = noGrad(() => m.sequence(b, 'hist'));
  assert.deepEqual(s.values.shape, [4, L, 16]);
  assert.deepEqual([...s.padding], [1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
  for (let r = 0; r < 4; r++) {
    for (let j = 0; j < L; j++) {
      const expected = j < b.varlen.hist!.lengths[r]! ? row(m, 'item', b.varlen.hist!.ids[r * L + j]!) : new Array<number>(16).fill(0);
      close(s.values.data.subarray((r * L + j) * 16, (r * L + j + 1) * 16), expected, `hist[${r}, ${j}]`);
    }
  }
  assert.equal(m.namedEmbeddings().filter(([n]) => n === 'item').length, 1, 'the history uses the item table, not a copy');
  assert.throws(() => m.sequence(b, 'tags'), /keeps no sequence 'tags'/);
});

test('pooling attention is refused by the input layer with a message saying who computes it', () => {
  const s = spec();
  s.fields[4]!.pooling = 'attention';
  assert.throws(() => new FeatureInputs(s, base()), /field 'hist' asks for pooling 'attention', which only a sequence model computes/);
  assert.doesNotThrow(() => new FeatureInputs(s, base({ sequences: ['hist'] })));
});

test('numeric fields as fields: value × a learned vector', () => {
  const m = new FeatureInputs(spec(), base({ sameDim: 'project', embedDense: true, select: { exclude: ['hist'] } }));
  assert.deepEqual(
    m.fields.map((f) => f.name),
    ['user', 'item', 'ctx', 'tags', 'price'],
  );
  assert.equal(m.rawDense.length, 0);
  const b = batch();
  const st = noGrad(() => m.forward(b).stacked());
  const v = m.stateDict().get('dense_embedding')!;
  for (let r = 0; r < 4; r++)
    close(
      st.data.subarray((r * 5 + 4) * 8, (r * 5 + 5) * 8),
      [...v].map((x) => x * b.dense.price![r]!),
      `price row ${r}`,
    );
});

/** The input layer under a scalar head: Σ of flat() and of the sequence, so every table, projection and numeric vector is reached. */
class InputProbe extends SingleTaskModel {
  readonly modelName = 'input_probe';
  private readonly inputs: FeatureInputs;
  constructor(ctx: ModelContext) {
    super(ctx);
    this.inputs = this.child(
      'inputs',
      new FeatureInputs(ctx.spec, base({ sameDim: 'project', embedDense: true, sequences: ['hist'], rng: ctx.rng })),
    );
  }
  override forward(b: Batch): Tensor {
    const e = this.inputs.forward(b);
    const sq = sum(this.inputs.sequence(b, 'hist').values, [1, 2]);
    return add(reshape(sum(e.stacked(), [1, 2]), [b.size]), sq);
  }
}

test('input layer: gradients of tables, projections and numeric vectors match finite differences', () => {
  const model = new InputProbe({ spec: spec(), rng: new Rng(5) });
  assert.ok(modelGradcheck(model, batch(), { maxCoords: 20 }) > 20);
});

test('linear logit equals w₀ + Σ_f w_f[x_f] + mean-pooled weights + u·x', () => {
  const s = spec();
  const lin = new LinearLogit(s, { initStd: 0.7, rng: new Rng(9) });
  const state = lin.stateDict();
  state.get('bias')![0] = 0.25;
  state.get('dense_weight')![0] = -1.5;
  const b = batch();
  const out = noGrad(() => lin.forward(b)).data;
  const w = (table: string, id: number) => state.get(`embedding.${table}`)![id]!;
  for (let r = 0; r < 4; r++) {
    let z = 0.25 + w('user', b.sparse.user![r]!) + w('item', b.sparse.item![r]!) + w('ctx', b.sparse.ctx![r]!) - 1.5 * b.dense.price![r]!;
    for (const [f, table] of [
      ['tags', 'tags'],
      ['hist', 'item'],
    ] as const) {
      const p = b.varlen[f]!;
      const n = p.lengths[r]!;
      for (let j = 0; j < n; j++) z += w(table, p.ids[r * L + j]!) / n;
    }
    assert.ok(Math.abs(out[r]! - z) < 1e-6, `row ${r}: ${out[r]} vs ${z}`);
  }
});
