import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
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

/** The AVX-512 subsets OpenBLAS's SkylakeX kernels use. */
const AVX512_FLAGS = ['avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl'];

/**
 * The OPENBLAS_CORETYPE to force while OpenBLAS initializes, or null to let it detect the CPU.
 * OpenBLAS 0.3.21 (Debian 12) does not recognise AMD Zen 4/5 and falls back to its Haswell
 * (AVX2) kernels; on such CPUs, which have AVX-512, its SkylakeX kernels measured 2× faster
 * (sgemm 4096×429·429×400: 180 against 92 GFLOP/s on one core) with the same results to
 * float32 rounding. So on x86-64 Linux AMD CPUs with AVX-512 this returns 'SkylakeX' (newer
 * OpenBLAS releases pick those kernels for Zen 4/5 themselves). An OPENBLAS_CORETYPE set by
 * the user always wins.
 */
export function preferredCoreType(cpuinfo?: string): string | null {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return null;
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  let info = cpuinfo;
  if (info === undefined) {
    try {
      info = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return null;
    }
  }
  if (/^vendor_id\s*:\s*(\S+)/m.exec(info)?.[1] !== 'AuthenticAMD') return null;
  const flags = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? '').trim().split(/\s+/));
  return AVX512_FLAGS.every((f) => flags.has(f)) ? 'SkylakeX' : null;
}

/**
 * Loads the addon from build/Release/finerank_native.node (built by scripts/build-native.mjs
 * during npm install). Returns the addon, or the reason it could not load: not built, failed
 * to load (e.g. libopenblas.so.0 missing at run time), or lacking an expected function.
 */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  const path = join(packageRoot(), 'build', 'Release', 'finerank_native.node');
  if (!existsSync(path)) {
    const log = join(packageRoot(), 'build', 'finerank-native-build.log');
    const seeLog = existsSync(log) ? `; the last build attempt's log is ${log}` : '';
    return { error: `native addon not built (${path} missing; install libopenblas-dev and run npm rebuild${seeLog})` };
  }
  let addon: Partial<NativeAddon>;
  // OpenBLAS reads OPENBLAS_CORETYPE once, when the addon's dlopen initializes it; the
  // variable is removed again so that child processes do not inherit it.
  const coreType = preferredCoreType();
  if (coreType !== null) process.env.OPENBLAS_CORETYPE = coreType;
  try {
    const require = createRequire(import.meta.url);
    addon = require(path) as Partial<NativeAddon>;
  } catch (e) {
    return { error: `native addon failed to load (${path}): ${(e as Error).message}; run npm rebuild` };
  } finally {
    if (coreType !== null) delete process.env.OPENBLAS_CORETYPE;
  }
  for (const fn of ['sgemm', 'setThreads', 'getThreads', 'blasConfig'] as const) {
    if (typeof addon[fn] !== 'function') return { error: `native addon ${path} lacks ${fn}() (stale build? run npm rebuild)` };
  }
  return { addon: addon as NativeAddon };
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
