import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { noGrad } from '../../src/engine/tensor.js';
import { createModel } from '../../src/models/registry.js';
import { saveArtifact, loadArtifact } from '../../src/serve/artifact.js';
import { encodeContainer } from '../../src/util/container.js';
import { pairwiseDataset } from '../support/synthetic-batch.js';

function trainedModel() {
  const { spec, batch } = pairwiseDataset(200, 3);
  const opts = { embeddingDim: 4, embeddingInitStd: 0.3, dnnHiddenUnits: [8], batchNorm: true };
  const model = createModel('deepfm', { spec, rng: new Rng(1) }, opts);
  // Move batch-norm running statistics away from their initial values.
  model.train();
  model.forwardTasks(batch).click!;
  model.eval();
  return { model, spec, batch, opts };
}

test('artifact round trip: same predictions, no training data needed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-art-'));
  try {
    const { model, spec, batch, opts } = trainedModel();
    const path = join(dir, 'm.frk');
    saveArtifact(path, model, { modelOptions: opts, inputSpec: spec, label: 'click', featureMap: null, negativeSampleRate: 1, training: {} });
    assert.deepEqual(readdirSync(dir), ['m.frk'], 'no temporary file left behind');
    const loaded = loadArtifact(path);
    assert.equal(loaded.meta.model, 'deepfm');
    const a = noGrad(() => model.forwardTasks(batch).click!).data;
    const b = noGrad(() => loaded.model.forwardTasks(batch).click!).data;
    assert.deepEqual(b, a);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted or truncated artifact is refused with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-art-'));
  try {
    const { model, spec, opts } = trainedModel();
    const path = join(dir, 'm.frk');
    saveArtifact(path, model, { modelOptions: opts, inputSpec: spec, label: 'click', featureMap: null, negativeSampleRate: 1, training: {} });
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(join(dir, 'flipped.frk'), flipped);
    assert.throws(() => loadArtifact(join(dir, 'flipped.frk')), /flipped\.frk: checksum mismatch — the file is corrupted or truncated/);
    writeFileSync(join(dir, 'cut.frk'), bytes.subarray(0, bytes.length - 100));
    assert.throws(() => loadArtifact(join(dir, 'cut.frk')), /cut\.frk: checksum mismatch/);
    writeFileSync(join(dir, 'tiny.frk'), bytes.subarray(0, 10));
    assert.throws(() => loadArtifact(join(dir, 'tiny.frk')), /tiny\.frk: file is truncated/);
    writeFileSync(join(dir, 'other.frk'), 'hello world, this is not a model file at all, not at all......');
    assert.throws(() => loadArtifact(join(dir, 'other.frk')), /bad magic bytes/);
    assert.throws(() => loadArtifact(join(dir, 'missing.frk')), /missing\.frk: model file not found/);
    assert.ok(existsSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an artifact written before model contract v2 (legacy input lists, old option names, no tasks) loads and predicts the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-art-'));
  try {
    const { model, spec, batch } = trainedModel();
    // The metadata exactly as the first release wrote it.
    const legacyMeta = {
      format: 'finerank.model',
      version: 1,
      model: 'deepfm',
      modelOptions: { embeddingDim: 4, embeddingInitStd: 0.3, dnnHiddenUnits: [8], dnnActivation: 'relu', dnnDropout: 0, batchNorm: true },
      inputSpec: {
        sparse: spec.fields.map((f) => ({ name: f.name, vocabSize: f.vocabSize, table: f.table, linear: true, deep: true })),
        varlen: [],
        dense: [],
        labels: ['click'],
      },
      label: 'click',
      featureMap: null,
      negativeSampleRate: 1,
      training: {},
    };
    const path = join(dir, 'old.frk');
    writeFileSync(path, encodeContainer('FRNKMODL', legacyMeta, new Map(model.stateDict())));
    const loaded = loadArtifact(path);
    assert.deepEqual(loaded.model.tasks, ['click']);
    assert.deepEqual(
      loaded.meta.inputSpec.fields.map((f) => f.name),
      spec.fields.map((f) => f.name),
    );
    assert.deepEqual(noGrad(() => loaded.model.forwardTasks(batch).click!).data, noGrad(() => model.forwardTasks(batch).click!).data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
