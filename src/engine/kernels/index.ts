import type { DenseKernels, Kernels } from './types.js';
import { typescriptKernels, denseKernelsTS } from './typescript.js';
import { loadNativeAddon, nativeKernels } from './native.js';

export type { DenseKernels, Kernels } from './types.js';

let active: Kernels | null = null;
let activeDense: DenseKernels | null = null;

/**
 * Chooses the backend once: FINERANK_BACKEND=typescript forces the portable kernels,
 * FINERANK_BACKEND=native requires the addon (error if it cannot load), otherwise the
 * addon is used when it loads and TypeScript otherwise. FINERANK_THREADS sets the BLAS
 * thread count (default 1 — see DESIGN.md: threads are a setting).
 */
function choose(): Kernels {
  const forced = (process.env.FINERANK_BACKEND ?? '').trim().toLowerCase();
  if (forced !== '' && forced !== 'native' && forced !== 'typescript' && forced !== 'ts') {
    throw new Error(`FINERANK_BACKEND must be 'native' or 'typescript' (or unset for automatic), got '${process.env.FINERANK_BACKEND}'`);
  }
  const threadsText = (process.env.FINERANK_THREADS ?? '').trim();
  const threads = threadsText === '' ? 1 : Number(threadsText);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`FINERANK_THREADS must be a positive integer, got '${process.env.FINERANK_THREADS}'`);
  }
  if (forced === 'typescript' || forced === 'ts') return typescriptKernels('portable TypeScript kernels (forced by FINERANK_BACKEND)');
  const loaded = loadNativeAddon();
  if ('error' in loaded) {
    if (forced === 'native') throw new Error(`FINERANK_BACKEND=native but ${loaded.error}`);
    return typescriptKernels(`portable TypeScript kernels — ${loaded.error}`);
  }
  const k = nativeKernels(loaded.addon, loaded.blasNote);
  k.setThreads(threads);
  return k;
}

/** The active kernel backend (chosen on first use). */
export function kernels(): Kernels {
  if (active === null) active = choose();
  return active;
}

/** Replaces the active backend (tests compare backends; benchmarks switch them). */
export function setKernels(k: Kernels): void {
  active = k;
  activeDense = null;
}

/**
 * The fused dense kernels of the active backend, each falling back to its TypeScript twin
 * when the backend lacks it (an older addon build, or a hand-made Kernels object).
 */
export function denseKernels(): DenseKernels {
  if (activeDense === null) {
    const k = kernels();
    activeDense = {
      bnStats: k.bnStats ?? denseKernelsTS.bnStats,
      bnForward: k.bnForward ?? denseKernelsTS.bnForward,
      bnGradSums: k.bnGradSums ?? denseKernelsTS.bnGradSums,
      bnInputGrad: k.bnInputGrad ?? denseKernelsTS.bnInputGrad,
      dropoutForward: k.dropoutForward ?? denseKernelsTS.dropoutForward,
      dropoutBackward: k.dropoutBackward ?? denseKernelsTS.dropoutBackward,
      addColumnSums: k.addColumnSums ?? denseKernelsTS.addColumnSums,
      copyRows: k.copyRows ?? denseKernelsTS.copyRows,
      fillRows: k.fillRows ?? denseKernelsTS.fillRows,
      adamUpdate: k.adamUpdate ?? denseKernelsTS.adamUpdate,
      relu: k.relu ?? denseKernelsTS.relu,
      reluBackward: k.reluBackward ?? denseKernelsTS.reluBackward,
      reluBackwardColumnSums: k.reluBackwardColumnSums ?? denseKernelsTS.reluBackwardColumnSums,
      fmSecondOrder: k.fmSecondOrder ?? denseKernelsTS.fmSecondOrder,
      fmSecondOrderBackward: k.fmSecondOrderBackward ?? denseKernelsTS.fmSecondOrderBackward,
    };
  }
  return activeDense;
}

export { typescriptKernels, denseKernelsTS } from './typescript.js';
export { loadNativeAddon, nativeKernels, DENSE_KERNEL_NAMES } from './native.js';
