/**
 * One family of native kernels beside the engine's dense ones (attention, rows, Dice, gate
 * mixture, GRU, GBDT), each with its TypeScript twins: found in the addon once, and chosen
 * per engine backend.
 */
import { kernels } from './index.js';
import { loadNativeAddon } from './native.js';
import type { Kernels } from './types.js';

/** A kernel family: `name` ('native' | 'typescript') plus its kernel functions. */
export interface KernelFamily {
  name: string;
}

/** Where the native kernels of a family come from, and how the active set is chosen. */
export interface NativeKernelFamily<K extends KernelFamily> {
  /** The native kernels, or why they are unavailable (no addon, or a stale build without them). Loaded once. */
  load(): { kernels: K } | { error: string };
  /** Forced kernels when set, else native with the native engine backend (when the addon has them), else the TypeScript twins. */
  active(): K;
  /** Forces a kernel set (tests compare backends; benchmarks switch them); null restores the automatic choice. */
  force(k: K | null): void;
}

/**
 * A family whose kernel `key` is the addon's function `addonNames[key]`: `load()` checks that
 * every one of them is a function (else the error names them all and suggests a rebuild).
 */
export function nativeKernelFamily<K extends KernelFamily>(
  addonNames: { readonly [P in Exclude<keyof K, 'name'>]: string },
  typescript: K,
): NativeKernelFamily<K> {
  let cache: { kernels: K } | { error: string } | null = null;
  let forced: K | null = null;
  let chosenFor: Kernels | null = null;
  let chosen: K = typescript;
  const load = (): { kernels: K } | { error: string } => {
    if (cache !== null) return cache;
    const loaded = loadNativeAddon();
    if ('error' in loaded) return (cache = { error: loaded.error });
    const addon = loaded.addon as unknown as Record<string, unknown>;
    const entries = Object.entries(addonNames) as Array<[string, string]>;
    if (entries.some(([, fn]) => typeof addon[fn] !== 'function')) {
      return (cache = { error: `native addon lacks ${entries.map(([, fn]) => `${fn}()`).join('/')} (stale build? run npm rebuild)` });
    }
    const native: Record<string, unknown> = { name: 'native' };
    for (const [key, fn] of entries) native[key] = addon[fn];
    return (cache = { kernels: native as unknown as K });
  };
  return {
    load,
    active(): K {
      if (forced !== null) return forced;
      const engine = kernels();
      if (engine !== chosenFor) {
        chosenFor = engine;
        const n = engine.name === 'native' ? load() : null;
        chosen = n !== null && 'kernels' in n ? n.kernels : typescript;
      }
      return chosen;
    },
    force(k: K | null): void {
      forced = k;
    },
  };
}
