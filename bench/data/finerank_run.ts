/**
 * One finerank measurement of the data benchmark (run in its own process so that peak RSS
 * is its own): fit a feature map on a Criteo-shaped CSV (pass 1: parse + count vocabularies +
 * numeric statistics), then transform it into batches of 4096 (pass 2: parse + encode +
 * batch). Prints one JSON line.
 *
 * Usage: node dist/bench/data/finerank_run.js FILE [SCHEMA] (without a schema: label, I1..I13,
 * C1..C26 as written by bench/data/criteo-writer).
 */
import { statSync } from 'node:fs';
import { readCsv } from '../../src/readers/csv.js';
import { batches } from '../../src/data/batcher.js';
import { FeatureMap } from '../../src/features/featuremap.js';
import { defineSchema, dense, label, loadSchema, sparse, type ColumnInput } from '../../src/features/schema.js';

/** The benchmark schema: label, I1..I13 dense (log1p), C1..C26 vocabulary-encoded (minCount 1, like pandas.factorize). */
export function criteoSchema() {
  const cols: ColumnInput[] = [label('label')];
  for (let i = 1; i <= 13; i++) cols.push(dense(`I${i}`, { transform: ['log1p'] }));
  for (let i = 1; i <= 26; i++) cols.push(sparse(`C${i}`, { encoder: { type: 'vocab', minCount: 1 } }));
  return defineSchema({ columns: cols });
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: finerank_run.js FILE [SCHEMA]');
  const size = statSync(file).size;
  const schema = process.argv[3] ? loadSchema(process.argv[3]) : criteoSchema();
  const firstSparse = schema.columns.find((c) => c.role === 'sparse')!.name;
  const csv = { separator: schema.dataset?.separator, header: schema.dataset?.header, columns: schema.dataset?.columns };
  const w0 = performance.now(),
    c0 = cpuSeconds();
  const fmap = await FeatureMap.fit(schema, readCsv(file, csv));
  const w1 = performance.now(),
    c1 = cpuSeconds();
  let rows = 0,
    nb = 0,
    check = 0;
  for await (const b of batches(readCsv(file, csv), fmap, { batchSize: 4096 })) {
    rows += b.size;
    nb++;
    check += b.sparse[firstSparse]![0]!;
  }
  const w2 = performance.now(),
    c2 = cpuSeconds();
  const wall = (w2 - w0) / 1000;
  const vocab = fmap.vocabSizes();
  console.log(
    JSON.stringify({
      tool: 'finerank',
      rows,
      batches: nb,
      checksum: check,
      vocabulary_rows: Object.values(vocab).reduce((a, b) => a + b, 0),
      fit_s: +((w1 - w0) / 1000).toFixed(3),
      transform_s: +((w2 - w1) / 1000).toFixed(3),
      wall_s: +wall.toFixed(3),
      cpu_s: +(c2 - c0).toFixed(3),
      fit_cpu_s: +(c1 - c0).toFixed(3),
      transform_cpu_s: +(c2 - c1).toFixed(3),
      rows_per_s: Math.round(rows / wall),
      mb_per_s: +(size / 1e6 / wall).toFixed(2),
      peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
