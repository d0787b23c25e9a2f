import { generateFieldCtr } from './src/data/synth/criteo.js';
import { criteoSpec, CRITEO_SMALL_DEFAULTS, frappeSpec, FRAPPE_DEFAULTS } from './src/data/synth/criteo-presets.js';
const [what, rows, out, over] = process.argv.slice(2);
const o = { ...CRITEO_SMALL_DEFAULTS, ...(over ? JSON.parse(over) : {}) };
const spec = what === 'frappe' ? frappeSpec({ ...FRAPPE_DEFAULTS, ...(over ? JSON.parse(over) : {}) }) : criteoSpec('criteo-small', o);
const m = generateFieldCtr(spec, { outDir: out!, rows: Number(rows), seed: 1, format: what === 'frappe' ? 'libfm' : 'csv' });
console.log(JSON.stringify({ pilot: m.params.pilot, bias: m.params.bias, timing: m.timing }));
for (const [s, v] of Object.entries(m.splits)) console.log(s, JSON.stringify(Object.values(v.oracle)[0]!.auc), JSON.stringify(v.diagnostics));
