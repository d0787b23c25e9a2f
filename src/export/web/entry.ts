/**
 * Entry point of the in-browser scorer bundle (finerank-scorer.js, built by ./bundle.ts):
 * selects the TypeScript kernels and exposes `load()` (fetches model.bin beside the module)
 * and `WebScorer` (`score(rows)`, `rank(context, candidates)`).
 */
import { setKernels, typescriptKernels } from '../../engine/kernels/index.js';
import { WebScorer } from './scorer.js';

setKernels(typescriptKernels('portable TypeScript kernels (browser)'));

export { WebScorer, type RankedRow, type ScoredRow } from './scorer.js';

/** Fetches the weights file (default: model.bin beside this module) and builds the scorer. */
export async function load(url: string | URL = new URL('./model.bin', import.meta.url)): Promise<WebScorer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`finerank: cannot fetch ${String(url)}: HTTP ${res.status}`);
  return new WebScorer(new Uint8Array(await res.arrayBuffer()));
}
