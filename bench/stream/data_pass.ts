/**
 * One measured step of the streaming data path, run in its own process so that its peak RSS
 * is its own (`bench/stream/run.ts` drives it):
 *
 *   fit   DIR   fits the feature map on DIR/train.csv (streaming) and writes DIR/featuremap.json
 *   text  DIR   one shuffled pass of 4096-row batches over DIR/train.csv from text (builds the cache)
 *   cache DIR   the same pass again, in a new process, from the encoded cache
 *   vocab DIR MIN exact|sketch [BYTES]   fits the feature map of DIR/train.csv with every
 *               categorical field's minCount set to MIN, exactly (one pass) or through a
 *               count-min sketch of BYTES (default 64 MiB; two passes): seconds, peak RSS,
 *               values counted exactly (exact: every distinct value; sketch: the candidates),
 *               values kept, and the SHA-256 of the fitted map (equal for both methods)
 *   overlap DIR MS WORKER   a pass from text (no cache) with MS ms of busy compute per batch
 *               standing in for a training step, parsing in a worker thread (WORKER=1) or on
 *               the same thread (WORKER=0): with overlap the pass takes about max(parse,
 *               compute) instead of their sum
 *
 * Prints one JSON line: rows, seconds, rows_per_s, peak_rss_mb (and for text/cache: cache_bytes,
 * origin, cpu_seconds = the process's CPU time over the pass, all threads, rows_per_cpu_s).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadSchema, schemaToJSON, validateSchema } from '../../src/features/schema.js';
import { FeatureMap, FeatureMapFitter } from '../../src/features/featuremap.js';
import { fitFeatureMap, rawChunks } from '../../src/data/stream.js';
import { DEFAULT_VOCAB_SKETCH_BYTES } from '../../src/train/streaming-choice.js';
import { StreamingDataSource } from '../../src/data/streaming/source.js';
import { cachePath } from '../../src/data/streaming/cache.js';
import { peakRssBytes, toMiB } from '../common/rss.js';
import { statSync } from 'node:fs';

async function main(): Promise<void> {
  const [mode, dir, ms, worker] = process.argv.slice(2);
  if (dir === undefined || !['fit', 'text', 'cache', 'overlap', 'vocab'].includes(mode!))
    throw new Error('usage: data_pass fit|text|cache DIR | overlap DIR MS 0|1 | vocab DIR MIN exact|sketch [BYTES]');
  const train = join(dir, 'train.csv');
  const t0 = performance.now();
  if (mode === 'vocab') {
    const min = Number(ms);
    const json = schemaToJSON(loadSchema(join(dir, 'schema.json')));
    for (const c of json.columns) if (c.role === 'sparse') c.encoder = { type: 'vocab', minCount: min };
    const schema = validateSchema(json, 'schema.json');
    const sketch = worker === 'sketch' ? Number(process.argv[6] ?? DEFAULT_VOCAB_SKETCH_BYTES) : undefined;
    const fitter = new FeatureMapFitter(schema, sketch === undefined ? {} : { vocabSketchBytes: sketch });
    for await (const c of rawChunks(train, schema)) fitter.update(c);
    let counted = fitter.distinctCounted;
    if (fitter.needsRecount) {
      fitter.startRecount();
      for await (const c of rawChunks(train, schema)) fitter.update(c);
      counted = fitter.distinctCounted;
    }
    const fm = fitter.finish();
    const kept = schema.columns.filter((c) => c.role === 'sparse').reduce((n, c) => n + fm.encoder(c.name).size - 2, 0);
    const sha = createHash('sha256').update(JSON.stringify(fm.toJSON())).digest('hex');
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        mode,
        method: worker,
        min_count: min,
        seconds: round(seconds),
        peak_rss_mb: toMiB(peakRssBytes()),
        counted,
        kept,
        sha256: sha,
      }),
    );
    return;
  }
  if (mode === 'fit') {
    const fm = await fitFeatureMap(train, loadSchema(join(dir, 'schema.json')));
    writeFileSync(join(dir, 'featuremap.json'), JSON.stringify(fm.toJSON()));
    const seconds = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({ mode, seconds: round(seconds), peak_rss_mb: toMiB(peakRssBytes()) }));
    return;
  }
  const fm = FeatureMap.fromJSON(JSON.parse(readFileSync(join(dir, 'featuremap.json'), 'utf8')));
  // The vocabulary grows with the rows (Zipf fields, minCount 1): what the map itself costs is
  // read here, so that the data path's own working set (peak − this) can be compared across sizes.
  const vocabEntries = Object.values(fm.vocabSizes()).reduce((a, b) => a + b, 0);
  const rssWithMapMb = toMiB(process.memoryUsage().rss);
  if (mode === 'overlap') {
    const busy = Number(ms);
    const src = new StreamingDataSource(train, fm, { cacheDir: null, parseWorker: worker === '1' });
    const t = performance.now();
    let batches = 0,
      rows = 0;
    for await (const b of src.batches({ batchSize: 4096, shuffle: true, seed: 1, epoch: 0 })) {
      const until = performance.now() + busy;
      while (performance.now() < until); // stands in for a training step
      batches++;
      rows += b.size;
    }
    const seconds = (performance.now() - t) / 1000;
    console.log(
      JSON.stringify({
        mode,
        worker: worker === '1' ? 1 : 0,
        rows,
        batches,
        compute_seconds: round((batches * busy) / 1000),
        seconds: round(seconds),
        peak_rss_mb: toMiB(peakRssBytes()),
      }),
    );
    return;
  }
  const cacheDir = join(dir, 'cache');
  const src = new StreamingDataSource(train, fm, { cacheDir });
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  let rows = 0;
  let batches = 0;
  for await (const b of src.batches({ batchSize: 4096, shuffle: true, seed: 1, epoch: 0 })) {
    rows += b.size;
    batches++;
  }
  const seconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu1);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const expected = mode === 'text' ? 'text' : 'cache';
  if (src.lastOrigin !== expected) throw new Error(`pass read from ${src.lastOrigin}, expected ${expected} (${src.cacheMiss})`);
  console.log(
    JSON.stringify({
      mode,
      rows,
      batches,
      seconds: round(seconds),
      rows_per_s: Math.round(rows / seconds),
      cpu_seconds: round(cpuSeconds),
      rows_per_cpu_s: Math.round(rows / cpuSeconds),
      peak_rss_mb: toMiB(peakRssBytes()),
      vocab_entries: vocabEntries,
      rss_with_feature_map_mb: rssWithMapMb,
      cache_bytes: statSync(cachePath(cacheDir, train)).size,
      origin: src.lastOrigin,
    }),
  );
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((e) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
