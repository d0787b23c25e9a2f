import { parseArgs } from 'node:util';
import { generatePreset, SYNTH_PRESETS } from '../../data/synth/presets.js';
import type { SynthFormat } from '../../data/synth/common.js';

function help(): string {
  const lines = [
    'usage: finerank gen PRESET --out DIR [--rows N] [--seed S] [--format csv|libfm] [--with-truth] [--json]',
    '',
    'Writes a synthetic dataset with known click probabilities: train/valid/test files, schema.json',
    '(for finerank train) and meta.json (generative parameters, row counts, and the ORACLE AUC and',
    'logloss of the true probabilities on each split: the ceiling a model can reach).',
    'The same preset, rows and seed always give byte-identical files. See docs/synthetic.md.',
    '',
    'presets:',
  ];
  const width = Math.max(...Object.values(SYNTH_PRESETS).map((p) => p.name.length));
  for (const p of Object.values(SYNTH_PRESETS)) {
    lines.push(`  ${p.name.padEnd(width)}  ${p.description} [${p.defaultRows} rows; ${p.formats.join('/')}]`);
  }
  lines.push(
    '',
    'options:',
    '  --out DIR        output directory (created if absent)',
    "  --rows N         total rows over train/valid/test (default: the preset's)",
    '  --seed S         integer seed (default 1)',
    '  --format F       csv or libfm (libfm: criteo-small, criteo-demo, criteo, frappe-like)',
    '  --with-truth     also write the true probability (CSV column p_true, or <split>.truth for libfm)',
    '  --json           print meta.json instead of the summary',
  );
  return lines.join('\n');
}

/** Parses a non-negative integer flag; accepts 1e6 and 1_000_000 forms. */
function intFlag(name: string, v: string | undefined, def: number | undefined): number | undefined {
  if (v === undefined) return def;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}

class UsageError extends Error {}

/**
 * `finerank gen PRESET --out DIR [--rows N] [--seed S] [--format csv|libfm] [--with-truth]`:
 * writes a synthetic dataset and prints the files, rows and oracle AUC per split.
 * Returns 0 on success, 2 on a usage error.
 */
export async function run(args: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        rows: { type: 'string', short: 'n' },
        seed: { type: 'string', short: 's' },
        format: { type: 'string', short: 'f' },
        'with-truth': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`finerank gen: ${(e as Error).message}\n\n${help()}`);
    return 2;
  }
  if (values.help) {
    console.log(help());
    return 0;
  }
  let preset: string;
  let rows: number | undefined;
  let seed: number;
  let format: SynthFormat | undefined;
  try {
    if (positionals.length !== 1)
      throw new UsageError(positionals.length === 0 ? 'name a preset' : `expected one preset, got ${positionals.join(' ')}`);
    preset = positionals[0]!;
    const p = SYNTH_PRESETS[preset];
    if (!p) throw new UsageError(`unknown preset '${preset}' (available: ${Object.keys(SYNTH_PRESETS).join(', ')})`);
    if (values.out === undefined) throw new UsageError('--out DIR is required');
    rows = intFlag('rows', values.rows, undefined);
    if (rows !== undefined && rows < 3) throw new UsageError(`--rows must be at least 3, got ${rows}`);
    seed = intFlag('seed', values.seed, 1)!;
    if (seed > 0xffffffff) throw new UsageError(`--seed must be below 2^32, got ${seed}`);
    if (values.format !== undefined) {
      if (values.format !== 'csv' && values.format !== 'libfm') throw new UsageError(`--format must be csv or libfm, got '${values.format}'`);
      if (!p.formats.includes(values.format))
        throw new UsageError(`preset ${preset} cannot be written as ${values.format} (formats: ${p.formats.join(', ')})`);
      format = values.format;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`finerank gen: ${e.message}\n\n${help()}`);
    return 2;
  }
  const progress = !values.json && process.stderr.isTTY === true;
  const meta = generatePreset(preset, {
    outDir: values.out!,
    rows,
    seed,
    format,
    withTruth: values['with-truth'],
    onSplit: progress ? (split, n) => process.stderr.write(`  wrote ${split} (${n} rows)\n`) : undefined,
  });
  if (values.json) {
    console.log(JSON.stringify(meta));
    return 0;
  }
  console.log(`finerank gen ${meta.preset}: ${meta.rows} rows, seed ${meta.seed}, ${meta.format} → ${values.out}`);
  for (const s of Object.values(meta.splits)) {
    const labels = Object.entries(s.oracle)
      .map(([name, o]) => `${name}: rate ${o.positiveRate.toFixed(4)}, oracle AUC ${o.auc.toFixed(4)}, logloss ${o.logloss.toFixed(4)}`)
      .join('; ');
    console.log(`  ${s.file.padEnd(12)} ${String(s.rows).padStart(9)} rows  ${labels}`);
  }
  console.log(`  ${meta.schemaFile}, meta.json`);
  console.log(`  ${meta.timing.seconds.toFixed(1)} s, ${Math.round(meta.timing.rowsPerSecond)} rows/s`);
  return 0;
}
