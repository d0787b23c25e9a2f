import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { createModel, resolveModelOptions } from '../../src/models/registry.js';
import { modelOutputs, outputTaskDefs } from '../../src/models/base.js';
import { loadArtifact, saveArtifact } from '../../src/serve/artifact.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { denseField, sparseField, type FeatureSpec } from '../../src/features/fields.js';
import type { Batch } from '../../src/features/batch.js';

/** Two sparse fields and a dense one, n random rows. */
function tinySpecAndBatch(seed: number, n = 6): { spec: FeatureSpec; batch: Batch } {
  const rng = new Rng(seed);
  const spec: FeatureSpec = { fields: [sparseField('a', 7), sparseField('b', 5), denseField('x')], labels: ['click', 'buy'] };
  const ids = (v: number) => Int32Array.from({ length: n }, () => 2 + rng.int(v - 2));
  const batch: Batch = {
    size: n,
    sparse: { a: ids(7), b: ids(5) },
    dense: { x: Float32Array.from({ length: n }, () => rng.normal()) },
    varlen: {},
    labels: { click: Float32Array.from({ length: n }, () => rng.int(2)), buy: Float32Array.from({ length: n }, () => rng.int(2)) },
  };
  return { spec, batch };
}

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const TASKS = ['click', 'buy'];

test('ESMM: σ(ctcvr logit) = σ(ctr)·σ(cvr) on every row; cvr is an extra output judged on the CTCVR label where the CTR label is 1', () => {
  const { spec, batch } = tinySpecAndBatch(21, 9);
  const model = createModel(
    'esmm',
    { spec, rng: new Rng(1), tasks: ['ctr', 'ctcvr'] },
    { embeddingDim: 4, embeddingInitStd: 0.5, towerHiddenUnits: [5] },
  );
  model.eval();
  const out = noGrad(() => model.forwardOutputs(batch));
  assert.deepEqual(Object.keys(out), ['ctr', 'ctcvr', 'cvr']);
  assert.deepEqual(Object.keys(noGrad(() => model.forwardTasks(batch))), ['ctr', 'ctcvr']);
  assert.deepEqual(model.outputNames(), ['ctr', 'ctcvr', 'cvr']);
  for (let r = 0; r < batch.size; r++) {
    const want = sig(out.ctr!.data[r]!) * sig(out.cvr!.data[r]!);
    assert.ok(Math.abs(sig(out.ctcvr!.data[r]!) - want) < 1e-6, `row ${r}`);
  }
  const defs = outputTaskDefs(model, [
    { name: 'ctr', label: 'click', weight: 1, where: null },
    { name: 'ctcvr', label: 'buy', weight: 1, where: null },
  ]);
  assert.deepEqual(defs[2], { name: 'cvr', label: 'buy', weight: 0, where: 'click' });
  assert.deepEqual(
    modelOutputs(model, [
      { name: 'ctr', label: 'click', weight: 1, where: null },
      { name: 'ctcvr', label: 'buy', weight: 1, where: null },
    ]),
    [
      { name: 'ctr', kind: 'task', label: 'click', where: null },
      { name: 'ctcvr', kind: 'task', label: 'buy', where: null },
      { name: 'cvr', kind: 'extra', label: 'buy', where: 'click' },
    ],
  );
  assert.throws(
    () =>
      model.validateTasks([
        { name: 'ctr', label: 'click', weight: 1, where: null },
        { name: 'ctcvr', label: 'click', weight: 1, where: null },
      ]),
    /must learn different labels/,
  );
});

test('MMoE has one gate per task, MoE one gate; PLE stacks CGC layers, the last without a shared branch', () => {
  const { spec } = tinySpecAndBatch(22);
  const names = (model: string, opts: Record<string, unknown>) =>
    createModel(
      model,
      { spec, rng: new Rng(2), tasks: TASKS },
      { embeddingDim: 4, expertHiddenUnits: [4], gateHiddenUnits: [], towerHiddenUnits: [3], ...opts },
    )
      .namedParameters()
      .map(([n]) => n);
  const gates = (ns: string[]) => new Set(ns.filter((n) => /\.gate\d+\./.test(n)).map((n) => n.split('.').slice(0, 2).join('.')));
  assert.deepEqual([...gates(names('mmoe', { numExperts: 3 }))], ['mixture.gate0', 'mixture.gate1']);
  assert.deepEqual([...gates(names('moe', { numExperts: 3 }))], ['mixture.gate0']);
  const ple = names('ple', { numLayers: 3, numSharedExperts: 2, numSpecificExperts: 1 });
  for (const l of [0, 1])
    assert.ok(
      ple.some((n) => n.startsWith(`cgc${l}.sharedGate.`)),
      `level ${l} has a shared gate`,
    );
  assert.ok(!ple.some((n) => n.startsWith('cgc2.sharedGate.')));
  assert.ok(!ple.some((n) => n.startsWith('cgc3.')));
});

test('expert models take FuxiCTR option names and refuse impossible sizes with clear errors', () => {
  const o = resolveModelOptions('ple', {
    num_layers: 2,
    num_shared_experts: 3,
    num_specific_experts: 2,
    expert_hidden_units: [8],
    gate_hidden_units: [],
    tower_hidden_units: [4],
  });
  assert.equal(o.numLayers, 2);
  assert.equal(o.numSharedExperts, 3);
  assert.deepEqual(o.gateHiddenUnits, []);
  assert.equal(resolveModelOptions('mmoe', { num_experts: 6 }).numExperts, 6);
  assert.deepEqual(resolveModelOptions('esmm', { tower_dnn_hidden_units: [8] }).towerHiddenUnits, [8]);
  assert.throws(
    () => resolveModelOptions('mmoe', { num_shared_experts: 2 }),
    /model 'mmoe' has no option 'num_shared_experts'; options: .*numExperts/,
  );
  const { spec } = tinySpecAndBatch(23);
  const ctx = { spec, rng: new Rng(3), tasks: TASKS };
  assert.throws(() => createModel('mmoe', ctx, { expertHiddenUnits: [] }), /expert_hidden_units must list at least one layer width/);
  assert.throws(() => createModel('mmoe', ctx, { numExperts: 0 }), /number of experts must be a positive integer, got 0/);
  assert.throws(() => createModel('ple', ctx, { numLayers: 0 }), /num_layers must be a positive integer, got 0/);
  assert.throws(() => createModel('esmm', { ...ctx, tasks: ['a', 'b', 'c'] }), /predicts two tasks/);
});

test('multi-task expert models and ESMM round-trip through the artifact: same outputs (extra ones included)', () => {
  const { spec, batch } = tinySpecAndBatch(24, 5);
  const dir = mkdtempSync(join(tmpdir(), 'finerank-mt-art-'));
  try {
    for (const [name, opts] of [
      ['mmoe', { embeddingDim: 4, numExperts: 3, expertHiddenUnits: [4], gateHiddenUnits: [3], towerHiddenUnits: [3], batchNorm: true }],
      ['moe', { embeddingDim: 4, numExperts: 2, expertHiddenUnits: [4], gateHiddenUnits: [], towerHiddenUnits: [3] }],
      [
        'ple',
        {
          embeddingDim: 4,
          numLayers: 2,
          numSharedExperts: 2,
          numSpecificExperts: 1,
          expertHiddenUnits: [4],
          gateHiddenUnits: [],
          towerHiddenUnits: [3],
        },
      ],
      ['esmm', { embeddingDim: 4, towerHiddenUnits: [4] }],
    ] as const) {
      const tasks =
        name === 'esmm'
          ? [
              { name: 'ctr', label: 'click', weight: 1, where: null },
              { name: 'ctcvr', label: 'buy', weight: 1, where: null },
            ]
          : [
              { name: 'click', label: 'click', weight: 1, where: null },
              { name: 'buy', label: 'buy', weight: 0.5, where: 'click' },
            ];
      const modelOptions = resolveModelOptions(name, { ...opts, embeddingInitStd: 0.3 });
      const model = createModel(name, { spec, rng: new Rng(5), tasks: tasks.map((t) => t.name) }, modelOptions);
      model.eval();
      const path = join(dir, `${name}.frk`);
      saveArtifact(path, model, { modelOptions, inputSpec: spec, label: 'click', tasks, featureMap: null, negativeSampleRate: 1, training: {} });
      const loaded = loadArtifact(path).model;
      assert.deepEqual(loaded.outputNames(), model.outputNames());
      const a = noGrad(() => model.forwardOutputs(batch));
      const b = noGrad(() => loaded.forwardOutputs(batch));
      for (const k of model.outputNames()) assert.deepEqual([...b[k]!.data], [...a[k]!.data], `${name} output ${k}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
