import { generateSequence, SEQUENCE_DEFAULTS } from './src/data/synth/sequence.js';
const [rows, out, over] = process.argv.slice(2);
const m = generateSequence({ ...SEQUENCE_DEFAULTS, ...(over ? JSON.parse(over) : {}) }, { outDir: out!, rows: Number(rows), seed: 1 });
console.log(JSON.stringify({ bias: m.params.bias, timing: m.timing }));
for (const [s, v] of Object.entries(m.splits)) console.log(s, JSON.stringify(v.oracle.label!.auc), v.oracle.label!.positiveRate, JSON.stringify(v.diagnostics));
