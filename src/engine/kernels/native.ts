import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DenseKernels, Kernels } from './types.js';
import { applyBlasCoreChoice } from './blas-core.js';

/**
 * The functions exported by the compiled addon (native/finerank.cc); the fused dense
 * kernels (native/dense.cc) are optional so that an addon built before they existed still
 * loads (their TypeScript twins run instead).
 */
export interface NativeAddon extends Partial<DenseKernels> {
  sgemm: Kernels['sgemm'];
  setThreads(n: number): void;
  getThreads(): number;
  /** OpenBLAS build configuration string. */
  blasConfig(): string;
  /** The kernel set OpenBLAS runs (openblas_get_corename), e.g. "SkylakeX"; absent in addons built before it existed. */
  blasCoreName?(): string;
}

/** Walks up from this file to the package root (the folder holding package.json). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('finerank: package root not found');
    dir = up;
  }
}

/**
 * Loads the addon from build/Release/finerank_native.node (built by scripts/build-native.mjs
 * during npm install). Returns the addon, or the reason it could not load: not built, failed
 * to load (e.g. libopenblas.so.0 missing at run time), or lacking an expected function.
 */
export function loadNativeAddon(): LoadedAddon {
  loaded ??= loadOnce();
  return loaded;
}

/** The addon with the note on OpenBLAS's kernel choice, or why it could not load. */
export type LoadedAddon = { addon: NativeAddon; blasNote: string | null } | { error: string };

/** The first load's outcome (the kernel choice is made once per process, as OpenBLAS's). */
let loaded: LoadedAddon | undefined;

function loadOnce(): LoadedAddon {
  const path = join(packageRoot(), 'build', 'Release', 'finerank_native.node');
  if (!existsSync(path)) {
    const log = join(packageRoot(), 'build', 'finerank-native-build.log');
    const seeLog = existsSync(log) ? `; the last build attempt's log is ${log}` : '';
    return { error: `native addon not built (${path} missing; install libopenblas-dev and run npm rebuild${seeLog})` };
  }
  let addon: Partial<NativeAddon>;
  // Before the addon: OpenBLAS reads OPENBLAS_CORETYPE once, when it loads. A bad
  // FINERANK_BLAS_CORE throws here (a setting error, not a reason to fall back).
  const blasNote = applyBlasCoreChoice(packageRoot());
  try {
    const require = createRequire(import.meta.url);
    addon = require(path) as Partial<NativeAddon>;
  } catch (e) {
    return { error: `native addon failed to load (${path}): ${(e as Error).message}; run npm rebuild` };
  }
  for (const fn of ['sgemm', 'setThreads', 'getThreads', 'blasConfig'] as const) {
    if (typeof addon[fn] !== 'function') return { error: `native addon ${path} lacks ${fn}() (stale build? run npm rebuild)` };
  }
  return { addon: addon as NativeAddon, blasNote };
}

/** Names of the fused dense kernels (DenseKernels), in interface order. */
export const DENSE_KERNEL_NAMES: readonly (keyof DenseKernels)[] = [
  'bnStats',
  'bnForward',
  'bnGradSums',
  'bnInputGrad',
  'dropoutForward',
  'dropoutBackward',
  'addColumnSums',
  'copyRows',
  'fillRows',
  'adamUpdate',
  'relu',
  'reluBackward',
  'reluBackwardColumnSums',
  'fmSecondOrder',
  'fmSecondOrderBackward',
];

/** The addon's fused dense kernels that it exports (an older build may lack some). */
function addonDenseKernels(addon: NativeAddon): Partial<DenseKernels> {
  const out: Partial<DenseKernels> = {};
  for (const name of DENSE_KERNEL_NAMES) {
    const f = addon[name];
    if (typeof f === 'function') (out as Record<string, unknown>)[name] = f;
  }
  return out;
}

/**
 * Kernels backed by the addon's OpenBLAS sgemm and its fused dense kernels. `blasNote` (from
 * `loadNativeAddon`) says how OpenBLAS's kernel set was chosen; the detail line carries it.
 */
export function nativeKernels(addon: NativeAddon, blasNote: string | null = null): Kernels {
  return {
    ...addonDenseKernels(addon),
    name: 'native',
    get detail() {
      const core = addon.blasCoreName?.();
      return `OpenBLAS sgemm (${addon.blasConfig()}), ${addon.getThreads()} thread(s)${core !== undefined ? `, ${core} kernels` : ''}${blasNote !== null ? `; ${blasNote}` : ''}`;
    },
    sgemm: addon.sgemm,
    setThreads: (n: number) => addon.setThreads(n),
    getThreads: () => addon.getThreads(),
  };
}
