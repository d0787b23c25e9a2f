import { generateMultitask, MULTITASK_DEFAULTS } from './src/data/synth/multitask.js';
const [rows, out, over] = process.argv.slice(2);
const m = generateMultitask({ ...MULTITASK_DEFAULTS, ...(over ? JSON.parse(over) : {}) }, { outDir: out!, rows: Number(rows), seed: 1, withTruth: true });
console.log(JSON.stringify({ b: [m.params.ctrBias, m.params.cvrBias], timing: m.timing }));
for (const [s, v] of Object.entries(m.splits)) console.log(s, JSON.stringify(Object.fromEntries(Object.entries(v.oracle).map(([k, o]) => [k, [o.auc.toFixed(4), o.positiveRate.toFixed(4)]]))), JSON.stringify(v.diagnostics));
