import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePreset } from '../../src/data/synth/presets.js';
import { SEQUENCE_MATCH_DEFAULTS as D, SequenceMatchModel } from '../../src/data/synth/sequence-match.js';
import { loadSchema } from '../../src/features/schema.js';
import { Rng } from '../../src/engine/random.js';

const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');

test('sequence-match: the written p_true follows the documented logit (any-match, last behaviour, item bias)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-synth-'));
  try {
    const meta = generatePreset('sequence-match', { outDir: dir, rows: 10000, seed: 3, withTruth: true });
    const rows = lines(join(dir, 'train.csv'));
    assert.equal(rows[0], 'label,user_id,item_id,cate_id,hist_item_id,hist_cate_id,p_true');
    assert.equal(rows.length, 8001);
    // logit(p) − γ_m·match − γ_r·recent must be one value per candidate item (b + w_item).
    const rest = new Map<string, number>();
    let matches = 0;
    const clicks = [0, 0],
      counts = [0, 0];
    for (let r = 1; r < rows.length; r++) {
      const [label, , item, cate, hist, histCat, pTrue] = rows[r]!.split(',');
      const h = hist!.split('|'),
        hc = histCat!.split('|');
      assert.equal(h.length, hc.length);
      assert.ok(h.length >= D.minLen && h.length <= D.maxLen, `history length ${h.length}`);
      const match = hc.includes(cate!);
      const recent = hc[hc.length - 1] === cate;
      const p = Number(pTrue);
      const residual = Math.log(p / (1 - p)) - (match ? D.matchWeight : 0) - (recent ? D.recentWeight : 0);
      const seen = rest.get(item!);
      if (seen === undefined) rest.set(item!, residual);
      else assert.ok(Math.abs(seen - residual) < 1e-3, `row ${r}: item ${item} residual ${residual} vs ${seen}`);
      if (match) matches++;
      clicks[match ? 1 : 0]! += Number(label);
      counts[match ? 1 : 0]!++;
    }
    // q of the candidates come from the history, the rest match by chance (≈ m/C of them).
    const rate = matches / (rows.length - 1);
    assert.ok(rate > D.candidateFromHistory && rate < D.candidateFromHistory + 0.15, `match rate ${rate}`);
    assert.ok(clicks[1]! / counts[1]! > 2 * (clicks[0]! / counts[0]!), `click rates ${clicks} of ${counts}`);
    const test = meta.splits.test;
    assert.ok(test.oracle.label!.auc > 0.78, `oracle ${test.oracle.label!.auc}`);
    // The recency term is small: an order-free model loses little; the item biases alone are far below.
    assert.ok(test.diagnostics!.orderFreeAuc! < test.oracle.label!.auc && test.diagnostics!.orderFreeAuc! > test.oracle.label!.auc - 0.01);
    assert.ok(test.diagnostics!.biasesOnlyAuc! < test.oracle.label!.auc - 0.15);
    const schema = loadSchema(join(dir, 'schema.json'));
    assert.equal(schema.columns.find((c) => c.name === 'hist_cate_id')?.role, 'sequence');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sequence-match: histories drift in runs of one interest, the last behaviour is the current one', () => {
  const model = new SequenceMatchModel({ ...D, users: 50, meanRunLength: 4 }, 1);
  const rng = new Rng(12345);
  const row = model.newRow();
  let switches = 0,
    steps = 0;
  for (let r = 0; r < 2000; r++) {
    model.sampleRow(rng, row);
    const u = row.user;
    const interests = new Set(model.interests.subarray(model.interestStart[u]!, model.interestStart[u + 1]!));
    for (let j = 0; j < row.len; j++) {
      assert.ok(interests.has(model.itemCat[row.hist[j]!]!), 'a behaviour outside the user’s interests');
      if (j > 0) {
        steps++;
        if (model.itemCat[row.hist[j]!] !== model.itemCat[row.hist[j - 1]!]) switches++;
      }
    }
    assert.equal(row.recent, model.itemCat[row.hist[row.len - 1]!] === model.itemCat[row.cand]);
  }
  // A switch every R = 4 steps draws one of m ≥ 4 interests, the same one with probability 1/m.
  const rate = switches / steps;
  assert.ok(rate > 0.25 * 0.6 && rate < 0.25, `category changes per step ${rate}`);
});
