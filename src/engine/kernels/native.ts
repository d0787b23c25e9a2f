import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './types.js';

/** The functions exported by the compiled addon (native/finerank.cc). */
export interface NativeAddon {
  sgemm: Kernels['sgemm'];
  setThreads(n: number): void;
  getThreads(): number;
  /** OpenBLAS build configuration string. */
  blasConfig(): string;
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
 * Loads the addon from build/Release. Returns the addon, or the reason it could not load.
 */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  const path = join(packageRoot(), 'build', 'Release', 'finerank_native.node');
  if (!existsSync(path)) return { error: `native addon not built (${path} missing; install libopenblas-dev and run npm rebuild)` };
  try {
    const require = createRequire(import.meta.url);
    return { addon: require(path) as NativeAddon };
  } catch (e) {
    return { error: `native addon failed to load: ${(e as Error).message}` };
  }
}

/** Kernels backed by the addon's OpenBLAS sgemm. */
export function nativeKernels(addon: NativeAddon): Kernels {
  return {
    name: 'native',
    get detail() {
      return `OpenBLAS sgemm (${addon.blasConfig()}), ${addon.getThreads()} thread(s)`;
    },
    sgemm: addon.sgemm,
    setThreads: (n: number) => addon.setThreads(n),
    getThreads: () => addon.getThreads(),
  };
}
