import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePreset } from '../../src/data/synth/presets.js';
import { generateSequence, SEQUENCE_DEFAULTS } from '../../src/data/synth/sequence.js';
import { generateMultitask, MULTITASK_DEFAULTS } from '../../src/data/synth/multitask.js';
import { loadSchema } from '../../src/features/schema.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'finerank-synth-'));
const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');

test('sequence: histories are well formed and the candidate-history similarity drives clicks', () => {
  const dir = tmp();
  try {
    const meta = generatePreset('sequence', { outDir: dir, rows: 10000, seed: 3 });
    const rows = lines(join(dir, 'train.csv'));
    assert.equal(rows[0], 'label,user_id,item_id,cate_id,hist_item_id,hist_cate_id');
    assert.equal(rows.length, 8001);
    const catOf = new Map<string, string>();
    const remember = (item: string, cat: string) => {
      const c = catOf.get(item);
      if (c !== undefined) assert.equal(c, cat, `item ${item} has two categories`);
      else catOf.set(item, cat);
    };
    for (let r = 1; r < rows.length; r++) {
      const [label, , item, cate, hist, histCat] = rows[r]!.split(',');
      assert.ok(label === '0' || label === '1');
      const h = hist!.split('|');
      const hc = histCat!.split('|');
      assert.equal(h.length, hc.length);
      assert.ok(h.length >= SEQUENCE_DEFAULTS.minLen && h.length <= SEQUENCE_DEFAULTS.maxLen, `history length ${h.length}`);
      remember(item!, cate!);
      h.forEach((it, j) => remember(it, hc[j]!));
    }
    for (const s of ['train', 'valid', 'test'] as const) {
      const d = meta.splits[s].diagnostics!;
      const o = meta.splits[s].oracle.label!;
      assert.ok(Math.abs(o.positiveRate - 0.3) < 0.04, `${s} rate ${o.positiveRate}`);
      assert.ok(o.auc > 0.75 && o.auc < 0.9, `${s} oracle AUC ${o.auc}`);
      // The similarity signal exists, and the soft maximum (attention) beats mean pooling.
      assert.ok(d.relevanceOnlyAuc! > 0.75, `${s} relevance AUC ${d.relevanceOnlyAuc}`);
      assert.ok(
        d.relevanceOnlyAuc! > d.meanPoolingSimilarityAuc! + 0.03,
        `${s}: ${d.relevanceOnlyAuc} vs mean pooling ${d.meanPoolingSimilarityAuc}`,
      );
      assert.ok(d.biasesOnlyAuc! < d.relevanceOnlyAuc! - 0.1);
      // What category embeddings can carry: the soft maximum near the oracle, mean pooling far below.
      assert.ok(d.categorySoftMaxAuc! > o.auc - 0.025, `${s}: category-level soft maximum ${d.categorySoftMaxAuc} vs oracle ${o.auc}`);
      assert.ok(d.categorySoftMaxAuc! > d.categoryMeanAuc! + 0.05, `${s}: ${d.categorySoftMaxAuc} vs ${d.categoryMeanAuc}`);
    }
    const schema = loadSchema(join(dir, 'schema.json'));
    const seq = schema.columns.find((c) => c.name === 'hist_item_id');
    assert.equal(seq?.role, 'sequence');
    assert.ok(schema.columns.some((c) => c.role === 'group' && c.name === 'user_id'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sequence: with a single interest per user, mean pooling loses nothing (control)', () => {
  const dir = tmp();
  try {
    const meta = generateSequence({ ...SEQUENCE_DEFAULTS, maxInterests: 1 }, { outDir: dir, rows: 6000, seed: 3 });
    const d = meta.splits.train.diagnostics!;
    assert.ok(Math.abs(d.relevanceOnlyAuc! - d.meanPoolingSimilarityAuc!) < 0.03, `${d.relevanceOnlyAuc} vs ${d.meanPoolingSimilarityAuc}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('multitask: conversion only after a click, pCTCVR = pCTR·pCVR, shared factors, selection bias and sparsity present', () => {
  const dir = tmp();
  try {
    const meta = generatePreset('multitask', { outDir: dir, rows: 20000, seed: 9, withTruth: true });
    const rows = lines(join(dir, 'train.csv'));
    assert.equal(rows[0], 'click,conversion,user_id,item_id,cate_id,user_age,hour,device,price,p_ctr,p_cvr,p_ctcvr');
    let clicks = 0;
    let convs = 0;
    for (let r = 1; r < rows.length; r++) {
      const v = rows[r]!.split(',');
      const click = Number(v[0]);
      const conv = Number(v[1]);
      if (conv === 1) assert.equal(click, 1, `train.csv line ${r + 1}: conversion without click`);
      clicks += click;
      convs += conv;
      const [pc, pv, pcv] = [Number(v[9]), Number(v[10]), Number(v[11])];
      assert.ok(Math.abs(pc * pv - pcv) < 1e-8);
      assert.ok(Number(v[8]) > 0);
    }
    const n = rows.length - 1;
    assert.ok(Math.abs(clicks / n - 0.1) < 0.015, `CTR ${clicks / n}`);
    assert.ok(Math.abs(convs / clicks - 0.2) < 0.03, `CVR on clicks ${convs / clicks}`);
    const o = meta.splits.train.oracle;
    assert.equal(o.click!.positives, clicks);
    assert.equal(o.ctcvr!.positives, convs);
    assert.equal(o.cvr_on_clicks!.rows, clicks);
    for (const k of ['click', 'ctcvr'] as const) assert.ok(o[k]!.auc > 0.7 && o[k]!.auc < 0.92, `${k} oracle AUC ${o[k]!.auc}`);
    assert.ok(o.cvr_on_clicks!.auc > 0.62 && o.cvr_on_clicks!.auc < 0.85, `cvr_on_clicks oracle AUC ${o.cvr_on_clicks!.auc}`);
    // The CVR shares item appeal and user activity with the CTR: the two logits are strongly
    // correlated, clicked rows over-represent appealing items and convert more often than the
    // average impression would (selection bias), and the item's own quality is not selected on.
    const d = meta.splits.train.diagnostics!;
    assert.ok(d.ctrCvrLogitCorrelation! > 0.6, `logit correlation ${d.ctrCvrLogitCorrelation}`);
    assert.ok(d.attractivenessShiftOnClicks! > 0.4, `appeal shift ${d.attractivenessShiftOnClicks}`);
    assert.ok(Math.abs(d.qualityShiftOnClicks!) < 0.1, `own-quality shift ${d.qualityShiftOnClicks}`);
    assert.ok(d.meanPcvrClicked! > 1.4 * d.meanPcvrAllImpressions!, `mean pCVR ${d.meanPcvrClicked} on clicks vs ${d.meanPcvrAllImpressions}`);
    // Sparsity: a good share of the impressions is on items with fewer than 5 clicks in the split.
    assert.ok(d.impressionsOnItemsWithUnder5Clicks! > 0.05 && d.impressionsOnItemsWithUnder5Clicks! < 0.6, JSON.stringify(d));
    // No user–item match by default: the no-match ceilings are the oracle.
    assert.equal(d.ctcvrAucWithoutUserItemMatch, o.ctcvr!.auc);
    assert.equal(d.ctrAucWithoutUserItemMatch, o.click!.auc);
    // With the match switched on, the best AUCs without it fall.
    const dir2 = tmp();
    try {
      const withMatch = generateMultitask({ ...MULTITASK_DEFAULTS, ctrMatch: 0.8, cvrMatch: 0.6 }, { outDir: dir2, rows: 5000, seed: 9 });
      const t = withMatch.splits.train;
      assert.ok(t.diagnostics!.ctrAucWithoutUserItemMatch! < t.oracle.click!.auc - 0.02, JSON.stringify(t.diagnostics));
      assert.ok(t.diagnostics!.ctcvrAucWithoutUserItemMatch! < t.oracle.ctcvr!.auc - 0.02, JSON.stringify(t.diagnostics));
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
    const schema = loadSchema(join(dir, 'schema.json'));
    assert.deepEqual(
      schema.columns.filter((c) => c.role === 'label').map((c) => c.name),
      ['click', 'conversion'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
