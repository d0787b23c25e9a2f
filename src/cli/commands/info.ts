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
    modelDetails: listModels().map((m) => ({
      name: m.name, summary: m.summary, multiTask: m.multiTask,
      options: Object.fromEntries(Object.entries(m.defaults).map(([k, v]) => [snakeCase(k), v])),
    })),
  };
}

/** camelCase → snake_case, the way configs (and FuxiCTR) write option names. */
function snakeCase(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
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
  else {
    const { modelDetails, ...facts } = r;
    for (const [k, v] of Object.entries(facts)) console.log(`${k.padEnd(14)} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    console.log('\nmodels (model_options with their defaults):');
    for (const m of modelDetails as Array<{ name: string; summary: string; multiTask: boolean; options: Record<string, unknown> }>) {
      console.log(`  ${m.name.padEnd(14)} ${m.summary}${m.multiTask ? ' [multi-task]' : ''}`);
      console.log(`  ${''.padEnd(14)} ${Object.entries(m.options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
    }
  }
  return 0;
}
