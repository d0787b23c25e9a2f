/**
 * Multi-task learnability benchmark (issue 10): on `finerank gen multitask` data (click →
 * conversion with selection bias, true pCTR/pCVR known), trains ESMM and the models that
 * learn CVR on clicked rows only (Shared-Bottom, MMoE, MoE, PLE with tasks ctr→click and
 * cvr→conversion where click; `cvr_only`: the paper's BASE, ESMM's CVR tower — embeddings,
 * then the tower — with its own embeddings and the one task cvr→conversion where click, i.e.
 * Shared-Bottom without a bottom), and prints per model: CTR AUC, CVR AUC on clicked rows, CVR
 * AUC over all impressions against the generator's true pCVR (soft-label AUC), CTCVR AUC
 * (ESMM: its pCTCVR output; the others: pCTR·pCVR), each against the oracle (the true
 * probabilities) and the oracle without the user–item match term (the generator's
 * diagnostic: what a model that does not learn ⟨p_u, q_i⟩ can reach), then one JSON line.
 * `--spec '{"users":1000,…}'` overrides generator parameters (MultitaskSpec; cached per setting). The data is cached under bench/out/multitask-*.
 *
 *   npm run bench:multitask -- [--rows N] [--models esmm,cvr_only,shared_bottom,mmoe,moe,ple] [--epochs N] [--batch-size N] [--embedding-l2 λ] [--seed S]
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
import { evaluateClickConversion } from '../../src/train/click-conversion.js';
import { clickConversionReport, type ClickConversionReport } from '../../src/metrics/click-conversion.js';
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
const CLICK_TASKS = [
  { name: 'ctr', label: 'click', weight: 1, where: null },
  { name: 'cvr', label: 'conversion', weight: 1, where: 'click' },
];

const reports: Record<string, ClickConversionReport & { samples_per_sec: number; epochs: number }> = {};
for (const name of values.models!.split(',')) {
  const esmm = name === 'esmm';
  const cvrOnly = name === 'cvr_only';
  const model = cvrOnly ? 'shared_bottom' : name;
  const out = await trainOnFiles(
    {
      data: { train: file('train'), valid: file('valid'), test: file('test'), onBadRow: 'error' },
      schema,
      label: null,
      tasks: esmm ? ESMM_TASKS : cvrOnly ? CLICK_TASKS.slice(1) : CLICK_TASKS,
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
  const r = await evaluateClickConversion(
    out.model,
    out.featureMap,
    file('test'),
    { ...(cvrOnly ? {} : { ctr: 'ctr' }), cvr: 'cvr', ...(esmm ? { ctcvr: 'ctcvr' } : {}), click: 'click', conversion: 'conversion' },
    truth.pcvr,
  );
  reports[name] = { ...r, samples_per_sec: Math.round(out.result.samplesPerSec), epochs: out.result.epochs };
}
// The oracle: the true probabilities judged the same way.
const labels = await (async () => {
  const cols = readFileSync(file('test'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  return { click: cols.map((c) => Number(c[0])), conversion: cols.map((c) => Number(c[1])) };
})();
const oracle = clickConversionReport({ pctr: truth.pctr, pcvr: truth.pcvr }, labels.click, labels.conversion, truth.pcvr);
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
  'samples_per_sec' in r ? String(r.samples_per_sec) : '',
  'epochs' in r ? String(r.epochs) : '',
]);
rowsOut.push(['oracle without match', f(noMatch.ctrAuc), '', '', f(noMatch.ctcvrAuc), f(oracle.ctcvrAuc - noMatch.ctcvrAuc), '', '']);
const machine = machineInfo();
console.log(
  `multitask, ${rows} rows (test ${oracle.rows} impressions, ${oracle.clicks} clicks), seed ${seed}, embedding L2 ${values['embedding-l2']}; load average ${machine.load_avg_1m} on ${machine.cores} cores (shared machine)`,
);
console.log(formatTable(['model', 'CTR AUC', 'CVR AUC clicked', 'CVR AUC entire (truth)', 'CTCVR AUC', 'CTCVR gap', 'rows/s', 'epochs'], rowsOut));
console.log(
  JSON.stringify({
    bench: 'multitask',
    rows,
    seed,
    embedding_l2: Number(values['embedding-l2']),
    ...machine,
    oracle,
    oracle_without_user_item_match: noMatch,
    models: reports,
  }),
);
