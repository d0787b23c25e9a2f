/**
 * The row-axis emitters of FGCNN's export (im2col and max pooling with padding) against the
 * engine's `unfoldRows` / `maxPoolRows` in onnxruntime-node, for kernel heights, paddings
 * and pooling sizes the model cannot reach too (a last window that ends before the padding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/tensor.js';
import { maxPoolRows, unfoldRows } from '../../src/engine/ops/index.js';
import { GraphBuilder, type Value } from '../../src/export/onnx/graph.js';
import { ExportContext } from '../../src/export/onnx/context.js';
import { emitMaxPoolRows, emitUnfoldRows } from '../../src/export/onnx/blocks/feature-generation.js';

/** Runs `emit` over an input [N, H, C] in ONNX Runtime and returns the output values and shape. */
async function runRows(x: Tensor, emit: (cx: ExportContext, v: Value) => Value): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const g = new GraphBuilder();
  const cx = new ExportContext(g, { fields: [], labels: [] }, {});
  const [N, H, C] = x.shape as [number, number, number];
  g.output(emit(cx, g.input('x', 'float', [-1, H, C])), 'y');
  const session = await ort.InferenceSession.create(g.toBytes({ graphName: 'rows', docString: '', metadata: {} }));
  const out = (await session.run({ x: new ort.Tensor('float32', x.data, [N, H, C]) })).y!;
  return { data: out.data as Float32Array, dims: out.dims };
}

function randomRows(N: number, H: number, C: number, seed: number): Tensor {
  const rng = new Rng(seed);
  return new Tensor(
    Float32Array.from({ length: N * H * C }, () => rng.normal()),
    [N, H, C],
  );
}

test('emitUnfoldRows equals unfoldRows (kernel heights 1, 3, 5; padding 0 … 2)', async () => {
  for (const [H, C, k, pad] of [
    [5, 1, 3, 1],
    [5, 2, 5, 2],
    [4, 3, 1, 0],
    [6, 2, 3, 0],
  ] as const) {
    const x = randomRows(3, H, C, H * 10 + k);
    const want = unfoldRows(x, k, pad);
    const got = await runRows(x, (cx, v) => emitUnfoldRows(cx, v, k, pad));
    assert.deepEqual(got.dims, want.shape, `k ${k} pad ${pad}`);
    assert.deepEqual(Array.from(got.data), Array.from(want.data), `k ${k} pad ${pad}`);
  }
});

test('emitMaxPoolRows equals maxPoolRows, negative values next to the padding, a last window ending early', async () => {
  for (const [H, p, pad] of [
    [5, 2, 1],
    [7, 3, 1],
    [6, 2, 0],
    [5, 1, 0],
    [7, 4, 2], // windows [−2, 2), [2, 6): row 6 is in no window (the graph slices instead of padding)
  ] as const) {
    const x = randomRows(4, H, 2, H * 10 + p);
    for (let i = 0; i < x.data.length; i += 3) x.data[i] = -Math.abs(x.data[i]!) - 1; // windows of negatives only
    const want = maxPoolRows(x, p, pad);
    const got = await runRows(x, (cx, v) => emitMaxPoolRows(cx, v, p, pad));
    assert.deepEqual(got.dims, want.shape, `p ${p} pad ${pad}`);
    assert.deepEqual(Array.from(got.data), Array.from(want.data), `p ${p} pad ${pad}`);
  }
});

test('emitMaxPoolRows refuses a window with no row, as maxPoolRows', () => {
  const g = new GraphBuilder();
  const cx = new ExportContext(g, { fields: [], labels: [] }, {});
  assert.throws(() => emitMaxPoolRows(cx, g.input('x', 'float', [-1, 2, 1]), 2, 2), /leaves a window with no row/);
});
