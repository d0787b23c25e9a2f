/**
 * Data benchmark (`npm run bench:data`): reading + encoding throughput of finerank against
 * pandas on a Criteo-shaped CSV (label, 13 numeric, 26 categorical hex columns, Zipf-skewed).
 *
 * 1. Generates the CSV once and caches it under bench/out/ (default 2 000 000 rows) with the
 *    synthetic generator of src/data/synth/ (preset `criteo`: the train split of rows/0.8 rows,
 *    with the generator's own schema file), or with bench/data/criteo-writer when
 *    `--writer simple` is given or the generator fails.
 * 2. Runs finerank (bench/data/finerank_run: fit pass + transform pass into 4096-row batches)
 *    and pandas (bench/data/pandas_ref.py: read_csv + factorize of the 26 categorical
 *    columns), each in its own process, `--repeat` times (default 1), keeping the fastest.
 * 3. Prints one JSON line: both tools' rows/s, MB/s, peak RSS, and the ratios.
 *
 * Options: --rows N, --repeat K, --writer synth|simple, --file PATH [--schema PATH] (use an
 * existing Criteo-shaped CSV).
 */
import { existsSync, mkdirSync, readFileSync, statSync, renameSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCriteoCsv } from './criteo-writer.js';
import { generatePreset } from '../../src/data/synth/index.js';
import { loadSchema } from '../../src/features/schema.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench/data → repository root
const root = resolve(here, '..', '..', '..');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

function findPython(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import pandas'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new Error('pandas not found: apt-get install -y python3-pandas');
}

function runJson(cmd: string, args: string[]): Record<string, number | string> {
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, number | string>;
}

async function main(): Promise<void> {
  const rows = Number(arg('rows', '2000000'));
  const repeat = Math.max(1, Number(arg('repeat', '1')));
  let file = arg('file', '');
  let schema = arg('schema', '');
  if (!file) {
    const outDir = join(root, 'bench', 'out');
    mkdirSync(outDir, { recursive: true });
    const writer = arg('writer', 'synth');
    if (writer === 'synth') {
      const dir = join(outDir, `criteo_synth_${rows}`);
      const meta = join(dir, 'meta.json');
      try {
        if (!existsSync(meta)) {
          console.error(`generating ${dir} with src/data/synth (preset criteo, train split of ${Math.ceil(rows / 0.8)} rows) ...`);
          const t = performance.now();
          generatePreset('criteo', { outDir: dir, rows: Math.ceil(rows / 0.8), seed: 1, format: 'csv' });
          console.error(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        }
        const m = JSON.parse(readFileSync(meta, 'utf8')) as { schemaFile: string; splits: Record<string, { file: string }> };
        file = resolve(dir, m.splits['train']!.file);
        schema = resolve(dir, m.schemaFile);
      } catch (e) {
        console.error(`synthetic generator failed (${(e as Error).message}); using bench/data/criteo-writer`);
        file = '';
        schema = '';
      }
    }
    if (!file) {
      file = join(outDir, `criteo_${rows}.csv`);
      if (!existsSync(file)) {
        console.error(`generating ${file} (${rows} rows) ...`);
        const t = performance.now();
        await writeCriteoCsv(file + '.tmp', rows, 1);
        renameSync(file + '.tmp', file);
        console.error(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
    }
  }
  // Categorical columns pandas encodes: the schema's sparse columns (C1..C26 without a schema).
  const cats = schema
    ? loadSchema(schema)
        .columns.filter((c) => c.role === 'sparse')
        .map((c) => c.source)
    : Array.from({ length: 26 }, (_, i) => `C${i + 1}`);
  const size = statSync(file).size;
  const py = findPython();
  const best = (runs: Array<Record<string, number | string>>) => runs.reduce((a, b) => ((b['wall_s'] as number) < (a['wall_s'] as number) ? b : a));
  const fr: Array<Record<string, number | string>> = [];
  const pd: Array<Record<string, number | string>> = [];
  for (let k = 0; k < repeat; k++) {
    fr.push(runJson(process.execPath, [join(here, 'finerank_run.js'), file, ...(schema ? [schema] : [])]));
    console.error(`finerank: ${JSON.stringify(fr[fr.length - 1])}`);
    pd.push(runJson(py, [join(root, 'bench', 'data', 'pandas_ref.py'), file, cats.join(',')]));
    console.error(`pandas:   ${JSON.stringify(pd[pd.length - 1])}`);
  }
  const f = best(fr),
    p = best(pd);
  if (f['rows'] !== p['rows']) throw new Error(`row counts differ: finerank ${f['rows']}, pandas ${p['rows']}`);
  const n = (x: number | string | undefined) => Number(x);
  console.log(
    JSON.stringify({
      bench: 'data',
      file,
      schema: schema || null,
      categorical_columns: cats.length,
      rows: f['rows'],
      file_mb: +(size / 1e6).toFixed(1),
      finerank: {
        rows_per_s: f['rows_per_s'],
        mb_per_s: f['mb_per_s'],
        peak_rss_mb: f['peak_rss_mb'],
        wall_s: f['wall_s'],
        cpu_s: f['cpu_s'],
        fit_s: f['fit_s'],
        transform_s: f['transform_s'],
      },
      pandas: {
        rows_per_s: p['rows_per_s'],
        mb_per_s: p['mb_per_s'],
        peak_rss_mb: p['peak_rss_mb'],
        wall_s: p['wall_s'],
        cpu_s: p['cpu_s'],
        read_s: p['read_s'],
        encode_s: p['encode_s'],
      },
      ratio: {
        speed: +(n(f['rows_per_s']) / n(p['rows_per_s'])).toFixed(2),
        cpu: +(n(p['cpu_s']) / n(f['cpu_s'])).toFixed(2),
        peak_rss: +(n(f['peak_rss_mb']) / n(p['peak_rss_mb'])).toFixed(3),
      },
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
