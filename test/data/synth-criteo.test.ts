import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePreset } from '../../src/data/synth/presets.js';
import { FieldCtrModel } from '../../src/data/synth/criteo.js';
import { criteoSpec, CRITEO_SMALL_DEFAULTS } from '../../src/data/synth/criteo-presets.js';
import { loadSchema } from '../../src/features/schema.js';
import { auc } from '../../src/metrics/auc.js';
import { Rng } from '../../src/engine/random.js';
import type { SynthMeta } from '../../src/data/synth/common.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'finerank-synth-'));
const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');

test('criteo-small: same seed gives the same bytes, another seed different ones', () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  try {
    generatePreset('criteo-small', { outDir: a, rows: 3000, seed: 5, withTruth: true });
    generatePreset('criteo-small', { outDir: b, rows: 3000, seed: 5, withTruth: true });
    generatePreset('criteo-small', { outDir: c, rows: 3000, seed: 6, withTruth: true });
    const files = readdirSync(a).sort();
    assert.deepEqual(files, ['meta.json', 'schema.json', 'test.csv', 'train.csv', 'valid.csv']);
    for (const f of files) {
      if (f === 'meta.json') {
        const strip = (d: string) => {
          const m = JSON.parse(readFileSync(join(d, f), 'utf8')) as Partial<SynthMeta>;
          delete m.timing;
          return m;
        };
        assert.deepEqual(strip(a), strip(b));
      } else {
        assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between identical runs`);
      }
    }
    assert.ok(!readFileSync(join(a, 'train.csv')).equals(readFileSync(join(c, 'train.csv'))), 'seed has no effect');
  } finally {
    for (const d of [a, b, c]) rmSync(d, { recursive: true, force: true });
  }
});

test('criteo-small: shape, row counts, rate near target, oracle AUC and the interactions matter', () => {
  const dir = tmp();
  try {
    const meta = generatePreset('criteo-small', { outDir: dir, rows: 20000, seed: 1, withTruth: true });
    assert.equal(meta.splits.train.rows + meta.splits.valid.rows + meta.splits.test.rows, 20000);
    assert.equal(meta.splits.train.rows, 16000);
    const rows = lines(join(dir, 'train.csv'));
    assert.equal(rows.length, 16001);
    const header = rows[0]!.split(',');
    assert.equal(header.length, 1 + 13 + 26 + 1);
    assert.deepEqual(header.slice(0, 3), ['label', 'I1', 'I2']);
    assert.equal(header[14], 'C1');
    let missingC22 = 0;
    const p: number[] = [];
    const y: number[] = [];
    for (let r = 1; r < rows.length; r++) {
      const v = rows[r]!.split(',');
      assert.equal(v.length, header.length, `train.csv line ${r + 1}`);
      assert.ok(v[0] === '0' || v[0] === '1');
      for (let j = 1; j <= 13; j++) assert.ok(v[j] === '' || /^\d+$/.test(v[j]!), `I${j} = '${v[j]}'`);
      for (let j = 14; j < 40; j++) assert.ok(v[j] === '' || /^[0-9a-f]{8}$/.test(v[j]!), `C${j - 13} = '${v[j]}'`);
      if (v[14 + 21] === '') missingC22++;
      y.push(Number(v[0]));
      p.push(Number(v[40]));
    }
    // C22 is missing 76 % of the time (as in Criteo).
    assert.ok(Math.abs(missingC22 / 16000 - 0.76) < 0.02, `C22 missing rate ${missingC22 / 16000}`);
    for (const s of ['train', 'valid', 'test'] as const) {
      const o = meta.splits[s].oracle.label!;
      assert.ok(Math.abs(o.positiveRate - 0.22) < 0.03, `${s} rate ${o.positiveRate}`);
      assert.ok(o.auc > 0.78 && o.auc < 0.89, `${s} oracle AUC ${o.auc}`);
      // The first-order-only logit ranks clearly worse: pairwise interactions carry signal.
      const fo = meta.splits[s].diagnostics!.firstOrderOnlyAuc!;
      assert.ok(fo < o.auc - 0.06, `${s} first-order-only AUC ${fo} vs oracle ${o.auc}`);
      assert.ok(fo > 0.65, `${s} first-order-only AUC ${fo}`);
    }
    // The truth column reproduces the reported oracle AUC.
    assert.ok(Math.abs(auc(p, y) - meta.splits.train.oracle.label!.auc) < 1e-6);
    // The schema file is valid for the features module.
    const schema = loadSchema(join(dir, 'schema.json'));
    assert.equal(schema.columns.filter((c) => c.role === 'sparse').length, 26);
    assert.equal(schema.columns.filter((c) => c.role === 'dense').length, 13);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('criteo-small as libfm: indices inside the declared field ranges, one per present field', () => {
  const dir = tmp();
  try {
    const meta = generatePreset('criteo-small', { outDir: dir, rows: 2000, seed: 3, format: 'libfm', withTruth: true });
    assert.equal(meta.format, 'libfm');
    const schema = loadSchema(join(dir, 'schema.json'));
    const fields = schema.dataset!.fields!;
    assert.equal(fields.length, 39);
    const rows = lines(join(dir, 'train.libfm'));
    assert.equal(rows.length, 1600);
    assert.equal(lines(join(dir, 'train.truth')).length, 1600);
    for (const line of rows) {
      const [label, ...toks] = line.split(' ');
      assert.ok(label === '0' || label === '1');
      const seen = new Set<string>();
      for (const t of toks) {
        const [idx, val] = t.split(':').map(Number);
        const f = fields.find((x) => idx! >= x.range[0] && idx! <= x.range[1]);
        assert.ok(f, `index ${idx} outside every field`);
        assert.ok(!seen.has(f.name), `field ${f.name} twice in one row`);
        seen.add(f.name);
        if (f.as === 'index') assert.equal(val, 1);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frappe-like: 10 one-hot fields with Frappe vocabulary sizes, 7:2:1 splits', () => {
  const dir = tmp();
  try {
    const meta = generatePreset('frappe-like', { outDir: dir, rows: 5000, seed: 2 });
    assert.equal(meta.format, 'libfm');
    assert.deepEqual([meta.splits.train.rows, meta.splits.valid.rows, meta.splits.test.rows], [3500, 1000, 500]);
    const fields = loadSchema(join(dir, 'schema.json')).dataset!.fields!;
    assert.equal(fields.length, 10);
    assert.equal(fields[fields.length - 1]!.range[1] + 1, 5382);
    for (const line of lines(join(dir, 'valid.libfm'))) assert.equal(line.split(' ').length, 11);
    const o = meta.splits.train.oracle.label!;
    assert.ok(Math.abs(o.positiveRate - 1 / 3) < 0.04, `rate ${o.positiveRate}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FieldCtrModel: interaction terms are centred and uncorrelated with the first-order terms', () => {
  const model = new FieldCtrModel(criteoSpec('criteo-small', CRITEO_SMALL_DEFAULTS), 11);
  const rng = new Rng(4);
  const cat = new Int32Array(26);
  const num = new Float64Array(13);
  const n = 40000;
  let sa = 0,
    sb = 0,
    sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    model.sampleRow(rng, cat, num);
    const a = model.categoricalTerm(cat);
    const b = model.pairTerm(cat);
    sa += a;
    sb += b;
    sab += a * b;
    saa += a * a;
    sbb += b * b;
  }
  const corr = (sab / n - (sa / n) * (sb / n)) / Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
  assert.ok(Math.abs(sb / n) < 0.05, `mean pair term ${sb / n}`);
  assert.ok(Math.abs(corr) < 0.03, `correlation ${corr}`);
  assert.ok(Math.sqrt(sbb / n) > 1, `pair term std ${Math.sqrt(sbb / n)}`);
});
