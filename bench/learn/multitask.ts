/**
 * Multi-task learnability benchmark (issue 10): on `finerank gen multitask` data (click →
 * conversion with selection bias, true pCTR/pCVR known), trains ESMM and the models that
 * learn CVR on clicked rows only (Shared-Bottom, MMoE, MoE, PLE with tasks ctr→click and
 * cvr→conversion where click, the latter weighted by the training click rate, `--cvr-weight`;
 * `cvr_only`: the paper's BASE, ESMM's CVR tower — embeddings, then the tower — with its own embeddings and the one task cvr→conversion where click, i.e.
 * Shared-Bottom without a bottom), and prints per model: CTR AUC, CVR AUC on clicked rows, CVR
 * AUC over all impressions against the generator's true pCVR (soft-label AUC), CTCVR AUC
 * (ESMM: its pCTCVR output; the others: pCTR·pCVR), each against the oracle (the true
 * probabilities) and the oracle without the user–item match term (the generator's
 * diagnostic: what a model that does not learn ⟨p_u, q_i⟩ can reach), the CTCVR gap's standard
 * error (paired Poisson bootstrap of AUC(oracle) − AUC(model) over the test rows, 200
 * resamples: is the gap larger than the test set's noise?), then one JSON line. A model
 * named `<model>+ctcvr` (shared_bottom, mmoe, moe, ple) gets a third task, ctcvr on the
 * conversion label over all impressions (FuxiCTR's multitask setup: its labels click and
 * conversion carry no masks), and its CTCVR AUC is that head's.
 * `--spec '{"users":1000,…}'` overrides generator parameters (MultitaskSpec; cached per setting). The data is cached under bench/out/multitask-*.
 *
 *   npm run bench:multitask -- [--rows N] [--models esmm,cvr_only,shared_bottom,mmoe,moe,ple,mmoe+ctcvr,…] [--epochs N] [--batch-size N] [--embedding-l2 λ] [--cvr-weight w] [--seed S]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateMultitask, MULTITASK_DEFAULTS, type MultitaskSpec, type SynthMeta } from '../../src/data/synth/index.js';
import { readTruthColumn } from '../../src/data/synth/truth.js';
import { loadSchema } from '../../src/features/schema.js';
import { resolveModelOptions, acceptedOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles } from '../../src/train/run.js';
import { predict } from '../../src/train/trainer.js';
import { loadDataSource } from '../../src/data/load.js';
import { clickConversionReport, type ClickConversionReport } from '../../src/metrics/click-conversion.js';
import { bootstrapAucDiff, type AucDiffBootstrap } from '../../src/metrics/auc-bootstrap.js';
import { repoRoot } from '../common/paths.js';
import { machineInfo } from '../common/machine.js';
import { formatTable } from '../common/table.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '400000' },
    models: { type: 'string', default: 'esmm,cvr_only,shared_bottom,mmoe,moe,ple' },
    'batch-size': { type: 'string', default: '512' },
    'embedding-l2': { type: 'string', default: '0' },
    epochs: { type: 'string', default: '4' },
    'cvr-weight': { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '2018' },
    spec: { type: 'string', default: '{}' },
  },
});
const rows = Number(values.rows),
  seed = Number(values.seed);
const specOverrides = JSON.parse(values.spec!) as Partial<MultitaskSpec>;
const specTag = Object.entries(specOverrides)
  .map(([k, v]) => `-${k}${String(v)}`)
  .join('');
const dir = join(repoRoot(), 'bench', 'out', `multitask-v2-${rows}-${seed}${specTag}`);
let meta: SynthMeta;
const cached = existsSync(join(dir, 'meta.json')) ? (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta) : null;
if (cached !== null && cached.splits.test.diagnostics?.impressionsOnItemsWithUnder5Clicks !== undefined) {
  meta = cached;
} else {
  process.stderr.write(`generating multitask (${rows} rows, with truth) into ${dir}\n`);
  meta = generateMultitask({ ...MULTITASK_DEFAULTS, ...specOverrides }, { outDir: dir, rows, seed, withTruth: true, format: 'csv' });
}
const schema = loadSchema(join(dir, meta.schemaFile));
const file = (s: 'train' | 'valid' | 'test') => join(dir, meta.splits[s].file);
const truth = { pctr: readTruthColumn(file('test'), 'p_ctr'), pcvr: readTruthColumn(file('test'), 'p_cvr') };
const MODEL = {
  embeddingDim: 16,
  embeddingInitStd: 0.01,
  towerHiddenUnits: [64, 32],
  bottomHiddenUnits: [128, 64],
  numExperts: 4,
  expertHiddenUnits: [128, 64],
  gateHiddenUnits: [],
  numLayers: 1,
  numSharedExperts: 2,
  numSpecificExperts: 1,
};
const ESMM_TASKS = [
  { name: 'ctr', label: 'click', weight: 1, where: null },
  { name: 'ctcvr', label: 'conversion', weight: 1, where: null },
];
/**
 * Weight of the clicks-only CVR task next to a CTR task. Its loss is a mean over the batch's
 * clicked rows, so at weight 1 each clicked row pulls ~1/click-rate times harder on the shared
 * embeddings than a row of the CTR loss; `auto` (the default) sets the weight to the training
 * split's click rate, which makes it about the masked mean over every impression, Σ_clicked BCE / B
 * (one impression, one unit of loss in either task). A number sets it; the clicks-only
 * `cvr_only` model has no other task and keeps weight 1.
 */
const cvrWeight = values['cvr-weight'] === 'auto' ? (meta.splits.train.oracle?.click?.positiveRate ?? NaN) : Number(values['cvr-weight']);
if (!(cvrWeight > 0)) throw new Error(`--cvr-weight must be 'auto' or a positive number, got ${values['cvr-weight']}`);
const CLICK_TASKS = [
  { name: 'ctr', label: 'click', weight: 1, where: null },
  { name: 'cvr', label: 'conversion', weight: cvrWeight, where: 'click' },
];
/**
 * `<model>+ctcvr`: a third head learns the conversion label over ALL impressions (CTCVR), as
 * FuxiCTR's multitask MMoE / PLE / ShareBottom do with the labels click and conversion (no
 * masks); its pCTCVR is judged directly instead of pCTR·pCVR, the CVR head stays on clicks.
 */
const CTCVR_TASK = { name: 'ctcvr', label: 'conversion', weight: 1, where: null };

const reports: Record<string, ClickConversionReport & { samples_per_sec: number; epochs: number; ctcvr_gap: AucDiffBootstrap }> = {};
const testLabels = (() => {
  const lines = readFileSync(file('test'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const ci = head.indexOf('click'),
    vi = head.indexOf('conversion');
  const cols = lines.slice(1).map((l) => l.split(','));
  return { click: cols.map((c) => Number(c[ci])), conversion: cols.map((c) => Number(c[vi])) };
})();
const oraclePctcvr = Float64Array.from(truth.pctr, (p, i) => p * truth.pcvr[i]!);
for (const name of values.models!.split(',')) {
  const ctcvrHead = name.endsWith('+ctcvr');
  const base = ctcvrHead ? name.slice(0, -'+ctcvr'.length) : name;
  const esmm = base === 'esmm';
  const cvrOnly = base === 'cvr_only';
  if (ctcvrHead && (esmm || cvrOnly))
    throw new Error(`--models: '${name}': +ctcvr is for shared_bottom, mmoe, moe, ple (ESMM has its CTCVR task already)`);
  const model = cvrOnly ? 'shared_bottom' : base;
  const out = await trainOnFiles(
    {
      data: { train: file('train'), valid: file('valid'), test: file('test'), onBadRow: 'error' },
      schema,
      label: null,
      tasks: esmm ? ESMM_TASKS : cvrOnly ? [{ ...CLICK_TASKS[1]!, weight: 1 }] : ctcvrHead ? [...CLICK_TASKS, CTCVR_TASK] : CLICK_TASKS,
      model,
      // cvr_only is the paper's BASE: ESMM's CVR tower (embeddings → tower) alone, no bottom.
      modelOptions: resolveModelOptions(model, acceptedOptions(model, cvrOnly ? { ...MODEL, bottomHiddenUnits: [] } : MODEL)),
      train: {
        ...TRAIN_DEFAULTS,
        epochs: Number(values.epochs),
        batchSize: Number(values['batch-size']),
        embeddingL2: Number(values['embedding-l2']),
        embeddingL2Mode: 'batch',
        optimizer: { type: 'adam', lr: 2e-3 },
        monitorTask: 'mean',
        seed,
        progress: false,
      },
    },
    { log: (l) => process.stderr.write(`[${name}] ${l}\n`) },
  );
  const p = await predict(out.model, await loadDataSource(out.featureMap, file('test')));
  const prob = (o: string) => p.probs[o]!;
  const scores = {
    ...(cvrOnly ? {} : { pctr: prob('ctr') }),
    pcvr: prob('cvr'),
    ...(esmm || ctcvrHead ? { pctcvr: prob('ctcvr') } : {}),
  };
  const r = clickConversionReport(scores, testLabels.click, testLabels.conversion, truth.pcvr);
  const pctcvr = scores.pctcvr ?? (scores.pctr === undefined ? null : Float64Array.from(scores.pctr, (q, i) => q * scores.pcvr[i]!));
  const gap = pctcvr === null ? { diff: NaN, se: NaN, resamples: 0 } : bootstrapAucDiff(oraclePctcvr, pctcvr, testLabels.conversion, 200, seed);
  reports[name] = { ...r, samples_per_sec: Math.round(out.result.samplesPerSec), epochs: out.result.epochs, ctcvr_gap: gap };
}
// The oracle: the true probabilities judged the same way.
const oracle = clickConversionReport({ pctr: truth.pctr, pcvr: truth.pcvr }, testLabels.click, testLabels.conversion, truth.pcvr);
const f = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(4));
// The best a model that cannot learn the user–item match ⟨p_u, q_i⟩ can reach (the generator's diagnostic).
const noMatch = {
  ctrAuc: meta.splits.test.diagnostics!.ctrAucWithoutUserItemMatch!,
  ctcvrAuc: meta.splits.test.diagnostics!.ctcvrAucWithoutUserItemMatch!,
};
const rowsOut = [...Object.entries(reports), ['oracle', oracle] as const].map(([m, r]) => [
  m,
  f(r.ctrAuc),
  f(r.cvrAucClicked),
  f(r.cvrAucEntireSpace),
  f(r.ctcvrAuc),
  f(oracle.ctcvrAuc - r.ctcvrAuc),
  'ctcvr_gap' in r ? f(r.ctcvr_gap.se) : '',
  'samples_per_sec' in r ? String(r.samples_per_sec) : '',
  'epochs' in r ? String(r.epochs) : '',
]);
rowsOut.push(['oracle without match', f(noMatch.ctrAuc), '', '', f(noMatch.ctcvrAuc), f(oracle.ctcvrAuc - noMatch.ctcvrAuc), '', '', '']);
const machine = machineInfo();
console.log(
  `multitask, ${rows} rows (test ${oracle.rows} impressions, ${oracle.clicks} clicks, ${testLabels.conversion.reduce((a, b) => a + b, 0)} conversions), seed ${seed}, embedding L2 ${values['embedding-l2']}, CVR task weight ${cvrWeight}${values['cvr-weight'] === 'auto' ? ' (auto: the training click rate)' : ''}; load average ${machine.load_avg_1m} on ${machine.cores} cores (shared machine)`,
);
console.log(
  formatTable(['model', 'CTR AUC', 'CVR AUC clicked', 'CVR AUC entire (truth)', 'CTCVR AUC', 'CTCVR gap', 'gap s.e.', 'rows/s', 'epochs'], rowsOut),
);
console.log(
  JSON.stringify({
    bench: 'multitask',
    rows,
    seed,
    embedding_l2: Number(values['embedding-l2']),
    cvr_weight: cvrWeight,
    ...machine,
    oracle,
    oracle_without_user_item_match: noMatch,
    models: reports,
  }),
);
