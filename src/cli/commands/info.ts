import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kernels } from '../../engine/kernels/index.js';
import { packageRoot } from '../../engine/kernels/native.js';
import { listModels } from '../../models/registry.js';
import { snakeCase } from '../../util/case.js';
import { artifactTasks, loadArtifact } from '../../serve/artifact.js';
import { modelOutputs, type OutputDef } from '../../models/base.js';
import { GbdtModel } from '../../gbdt/model.js';
import { AutoFIS } from '../../models/autofis.js';
import { formatTreeReport, treeReport } from '../../gbdt/report.js';

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
      name: m.name,
      summary: m.summary,
      multiTask: m.multiTask,
      options: Object.fromEntries(Object.entries(m.defaults).map(([k, v]) => [snakeCase(k), v])),
    })),
  };
}

/**
 * What `finerank info MODEL_FILE` prints: the artifact's model, label, outputs (the columns of
 * `finerank predict`, each with the label it is judged against) and training summary, and for
 * tree models the trees.
 */
export function modelReport(path: string, top: number): Record<string, unknown> {
  const art = loadArtifact(path);
  const out: Record<string, unknown> = {
    model: art.meta.model,
    label: art.meta.label,
    outputs: modelOutputs(art.model, artifactTasks(art.meta)),
    summary: art.meta.training.summary ?? null,
  };
  if (art.model instanceof GbdtModel) out.trees = treeReport(art.model.booster(), top);
  if (art.model instanceof AutoFIS) out.keptPairs = art.model.pairNames;
  return out;
}

/** `finerank info [MODEL_FILE] [--json]`: versions, the active kernel backend and the models; or a model file's facts. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, top: { type: 'string', default: '10' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(
      'usage: finerank info [MODEL_FILE] [--top N] [--json]\n\nPrints versions, the active kernel backend (FINERANK_BACKEND=native|typescript forces one; FINERANK_THREADS sets BLAS threads) and the registered models.\nWith a model file: its model, label, outputs (the columns finerank predict writes, each with the label that judges it) and training summary; for autofis the interaction pairs its search kept; for gbdt / gbdt_lr also the tree count, depths, leaves and the N features with the most split gain (docs/gbdt.md).',
    );
    return 0;
  }
  if (positionals.length > 1) throw new Error('finerank info takes at most one model file');
  if (positionals.length === 1) {
    const top = Number(values.top);
    if (!Number.isInteger(top) || top < 1) throw new Error(`--top must be a positive integer, got '${values.top}'`);
    const r = modelReport(positionals[0]!, top);
    if (values.json) {
      console.log(JSON.stringify(r));
      return 0;
    }
    console.log(`model          ${String(r.model)}`);
    console.log(`label          ${String(r.label)}`);
    const outputs = r.outputs as OutputDef[];
    console.log(
      `outputs        ${outputs.map((o) => `${o.name} (${o.kind === 'extra' ? 'extra output, ' : ''}${o.label}${o.where !== null ? ` where ${o.where}` : ''})`).join(', ')}`,
    );
    if (r.keptPairs !== undefined) {
      const kept = r.keptPairs as string[];
      console.log(`kept pairs     ${kept.length}${kept.length > 0 ? `: ${kept.join(', ')}` : ''}`);
    }
    if (r.trees !== undefined) for (const line of formatTreeReport(r.trees as ReturnType<typeof treeReport>)) console.log(line);
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
      console.log(
        `  ${''.padEnd(14)} ${Object.entries(m.options)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' ')}`,
      );
    }
  }
  return 0;
}
