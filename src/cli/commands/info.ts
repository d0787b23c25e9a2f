import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kernels } from '../../engine/kernels/index.js';
import { packageRoot } from '../../engine/kernels/native.js';
import { listModels } from '../../models/registry.js';

/** The facts `finerank info` prints. */
export function infoReport(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const k = kernels();
  return {
    finerank: pkg.version,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    backend: k.name,
    backendDetail: k.detail,
    threads: k.getThreads(),
    models: listModels().map((m) => m.name),
  };
}

/** `finerank info [--json]`: versions, the active kernel backend and the models. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: finerank info [--json]\n\nPrints versions, the active kernel backend (FINERANK_BACKEND=native|typescript forces one; FINERANK_THREADS sets BLAS threads) and the registered models.');
    return 0;
  }
  const r = infoReport();
  if (values.json) console.log(JSON.stringify(r));
  else for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(14)} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return 0;
}
