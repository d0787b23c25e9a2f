/**
 * bench:web — the in-browser scorer: bundle size, model.bin size, and the time to rank N
 * candidates (default 100) with the BARS Frappe DeepFM (bench/serve/frappe-model.ts:
 * 10 fields, embedding 10, MLP 400-400-400 with batch norm) in headless Chromium, next to
 * the same WebScorer in this Node process on the TypeScript kernels and on the native ones
 * (ratios: Chromium / Node-TypeScript shows the browser's cost for the same code).
 *
 *   npm run bench:web                       # 100 candidates, 30 timed rounds after 5 warm-up rounds
 *   npm run bench:web -- --candidates 100,1000 --iters 50
 *
 * Prints a table and, last, one JSON line. Times are wall-clock medians (ms) of whole
 * `rank(context, candidates)` calls (encode + forward + sort); the load average is printed
 * with them (a shared machine inflates them).
 */
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kernels, setKernels, typescriptKernels } from '../../src/engine/kernels/index.js';
import { loadArtifact } from '../../src/serve/artifact.js';
import { exportWeb } from '../../src/export/web/bundle.js';
import { WebScorer } from '../../src/export/web/scorer.js';
import { rankRequest, writeFrappeArtifact } from '../serve/frappe-model.js';

const { values } = parseArgs({ options: { candidates: { type: 'string', default: '100' }, iters: { type: 'string', default: '30' } } });
const counts = values.candidates.split(',').map(Number);
const iters = Number(values.iters);
const WARMUP = 5;

function median(ms: number[]): number {
  const s = ms.slice().sort((a, b) => a - b);
  return Number(s[Math.floor(s.length / 2)]!.toFixed(2));
}

function timeNode(scorer: WebScorer, n: number): number {
  const { context, candidates } = rankRequest(n, 7);
  const ms: number[] = [];
  for (let k = 0; k < WARMUP + iters; k++) {
    const t0 = performance.now();
    scorer.rank(context, candidates);
    if (k >= WARMUP) ms.push(performance.now() - t0);
  }
  return median(ms);
}

const load0 = loadavg();
const dir = mkdtempSync(join(tmpdir(), 'finerank-bench-web-'));
const { path } = await writeFrappeArtifact(dir);
const out = join(dir, 'web');
const files = await exportWeb(loadArtifact(path), out);
const bin = readFileSync(files.weights);

const result: Record<string, number | string | number[]> = {
  bench: 'web',
  model: 'deepfm (BARS frappe sizes)',
  bundle_bytes: files.moduleBytes,
  model_bin_bytes: files.weightBytes,
};
const nativeName = kernels().name;
for (const n of counts) result[`node_${nativeName === 'native' ? 'native' : 'default'}_rank${n}_ms`] = timeNode(new WebScorer(bin), n);
setKernels(typescriptKernels('bench'));
for (const n of counts) result[`node_ts_rank${n}_ms`] = timeNode(new WebScorer(bin), n);

if (!existsSync('/usr/bin/chromium')) {
  result.chromium = 'not installed (/usr/bin/chromium)';
} else {
  const server = createServer((req, res) => {
    const name = new URL(req.url!, 'http://x').pathname.slice(1);
    const p = join(out, name);
    if (!['finerank-scorer.js', 'model.bin', 'index.html'].includes(name)) return void res.writeHead(404).end();
    if (name === 'index.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>');
    res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' }).end(readFileSync(p));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/index.html`);
    for (const n of counts) {
      const req = rankRequest(n, 7);
      result[`chromium_rank${n}_ms`] = await page.evaluate(
        async ({ req, iters, warmup, moduleUrl }) => {
          const m = (await import(moduleUrl)) as { load(): Promise<{ rank(c: unknown, cs: unknown[]): unknown[] }> };
          const s = await m.load();
          const ms: number[] = [];
          for (let k = 0; k < warmup + iters; k++) {
            const t0 = performance.now();
            s.rank(req.context, req.candidates);
            if (k >= warmup) ms.push(performance.now() - t0);
          }
          ms.sort((a, b) => a - b);
          return Number(ms[Math.floor(ms.length / 2)]!.toFixed(2));
        },
        { req, iters, warmup: WARMUP, moduleUrl: '/finerank-scorer.js' },
      );
      result[`chromium_over_node_ts_rank${n}`] = Number(
        ((result[`chromium_rank${n}_ms`] as number) / (result[`node_ts_rank${n}_ms`] as number)).toFixed(3),
      );
    }
  } finally {
    await browser.close();
    server.close();
  }
}
result.loadavg_before = load0.map((x) => Number(x.toFixed(2)));
result.loadavg_after = loadavg().map((x) => Number(x.toFixed(2)));
for (const [k, v] of Object.entries(result))
  console.log(`${k.padEnd(32)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(2)) : JSON.stringify(v)}`);
console.log(JSON.stringify(result));
