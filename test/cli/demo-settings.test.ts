import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_MODEL, DEMO_PRESET } from '../../src/cli/commands/demo.js';
import { resolveModelOptions } from '../../src/models/registry.js';
import { SYNTH_PRESETS } from '../../src/data/synth/presets.js';
import { CRITEO_DEMO_DEFAULTS, criteoSpec } from '../../src/data/synth/criteo-presets.js';

test('demo: every model setting is a DeepFM option and reaches the resolved options', () => {
  const accepted = Object.keys(resolveModelOptions('deepfm'));
  for (const k of Object.keys(DEMO_MODEL)) assert.ok(accepted.includes(k), `DEMO_MODEL.${k} is not a deepfm option (${accepted.join(', ')})`);
  const resolved = resolveModelOptions('deepfm', DEMO_MODEL) as Record<string, unknown>;
  for (const [k, v] of Object.entries(DEMO_MODEL)) assert.deepEqual(resolved[k], v, k);
});

test('criteo-demo: the demo preset, vocabularies compressed above 10 values', () => {
  assert.ok(SYNTH_PRESETS[DEMO_PRESET], `${DEMO_PRESET} is not a preset`);
  const spec = criteoSpec(DEMO_PRESET, CRITEO_DEMO_DEFAULTS);
  const vocabs = spec.categorical.map((c) => c.vocab);
  assert.equal(vocabs.length, 26);
  // 10·(V/10)^0.25 for V > 10: C3 (10,131,227 values in real Criteo) becomes 317, C9 (3) stays 3.
  assert.equal(vocabs[2], Math.round(10 * Math.pow(10131227 / 10, 0.25)));
  assert.equal(vocabs[2], 317);
  assert.equal(vocabs[8], 3);
  assert.equal(Math.max(...vocabs), 317);
  assert.equal(spec.pairs.length, 28);
});
