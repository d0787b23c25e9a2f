/**
 * `finerank export --format onnx` end to end: train DIN through the CLI on generated
 * sequence data, export it, encode the test file with the artifact's feature map, run the
 * ONNX file in onnxruntime-node and compare with `finerank predict` on the same file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadArtifact } from '../../src/serve/artifact.js';
import { readRaw } from '../../src/readers/index.js';
import type { Batch } from '../../src/features/batch.js';
import { lengthInputName } from '../../src/export/onnx/context.js';
import { runCli as cli, lastJson } from '../support/cli.js';

/** ONNX Runtime feeds of an encoded batch for the session's inputs. */
function feeds(batch: Batch, names: readonly string[]): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const name of names) {
    const B = batch.size;
    if (batch.sparse[name] !== undefined) out[name] = new ort.Tensor('int64', BigInt64Array.from(batch.sparse[name], BigInt), [B]);
    else if (batch.dense[name] !== undefined) out[name] = new ort.Tensor('float32', batch.dense[name], [B]);
    else if (batch.varlen[name] !== undefined) {
      const p = batch.varlen[name];
      out[name] = new ort.Tensor('int64', BigInt64Array.from(p.ids, BigInt), [B, p.maxLen]);
    } else {
      const field = Object.keys(batch.varlen).find((f) => lengthInputName(f) === name);
      assert.ok(field !== undefined, `no batch column for ONNX input '${name}'`);
      out[name] = new ort.Tensor('int64', BigInt64Array.from(batch.varlen[field]!.lengths, BigInt), [B]);
    }
  }
  return out;
}

test('finerank export --format onnx: a CLI-trained DIN scores the test file in onnxruntime-node as finerank predict does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-onnx-cli-'));
  try {
    assert.equal(cli(['gen', 'sequence', '--out', join(dir, 'data'), '--rows', '1500', '--seed', '3']).code, 0);
    const meta = JSON.parse(readFileSync(join(dir, 'data', 'meta.json'), 'utf8')) as { splits: Record<string, { file: string }> };
    const file = (s: string) => join(dir, 'data', meta.splits[s]!.file);
    writeFileSync(
      join(dir, 'din.yaml'),
      `
data:
  train: ${file('train')}
  valid: ${file('valid')}
  test: ${file('test')}
  schema:
    dataset: {format: csv, header: true}
    columns:
      - {name: label, role: label}
      - {name: user_id, role: sparse, tag: user}
      - {name: item_id, role: sparse, tag: item}
      - {name: cate_id, role: sparse, tag: item}
      - {name: hist_item_id, role: sequence, sep: "|", maxLen: 10, shareWith: item_id, pooling: attention}
      - {name: hist_cate_id, role: sequence, sep: "|", maxLen: 10, shareWith: cate_id, pooling: attention}
model: din
model_options: {embedding_dim: 4, attention_hidden_units: [8], dnn_hidden_units: [8], batch_norm: true, din_use_softmax: true}
train: {epochs: 1, batch_size: 128}
output: ${join(dir, 'din.frk')}
`,
    );
    const t = cli(['train', '--config', join(dir, 'din.yaml'), '--json']);
    assert.equal(t.code, 0, t.stderr);
    const onnxFile = join(dir, 'din.onnx');
    const x = cli(['export', join(dir, 'din.frk'), '--format', 'onnx', '-o', onnxFile, '--json']);
    assert.equal(x.code, 0, x.stderr);
    const report = lastJson(x.stdout) as { opset: number; outputs: string[]; inputs: Array<{ name: string; shape: unknown[] }> };
    assert.equal(report.opset, 17);
    assert.deepEqual(report.outputs, ['label']);
    assert.deepEqual(
      report.inputs.map((i) => i.name),
      ['user_id', 'item_id', 'cate_id', 'hist_item_id', 'hist_item_id_length', 'hist_cate_id', 'hist_cate_id_length'],
    );
    assert.deepEqual(report.inputs.find((i) => i.name === 'hist_item_id')!.shape, ['batch', 10]);

    const p = cli(['predict', join(dir, 'din.frk'), '--data', file('test')]);
    assert.equal(p.code, 0, p.stderr);
    const want = p.stdout.trim().split('\n').slice(1).map(Number);

    const art = loadArtifact(join(dir, 'din.frk'));
    const session = await ort.InferenceSession.create(onnxFile);
    const got: number[] = [];
    for await (const chunk of readRaw(file('test'), { dataset: art.featureMap!.schema.dataset })) {
      const batch = art.featureMap!.transform(chunk);
      const r = await session.run(feeds(batch, session.inputNames));
      got.push(...(r.label!.data as Float32Array));
    }
    assert.equal(got.length, want.length);
    // predict prints 7 significant digits: allow their rounding on top of 1e-5.
    const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
    assert.ok(maxDiff <= 1e-5 + 5e-7, `max |Δp| ${maxDiff} over ${got.length} rows`);
    assert.ok(Math.max(...want) - Math.min(...want) > 1e-3, 'predictions do not vary');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finerank export refuses an unknown format and a missing model file, naming them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-onnx-cli-'));
  try {
    const bad = cli(['export', join(dir, 'none.frk'), '--format', 'tflite', '-o', join(dir, 'x')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown format 'tflite'; formats: onnx/);
    const missing = cli(['export', join(dir, 'none.frk'), '--format', 'onnx', '-o', join(dir, 'x.onnx')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.frk: model file not found/);
    assert.equal(existsSync(join(dir, 'x.onnx')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
