/**
 * Stands in for src/engine/kernels/native.ts in the browser bundle (substituted by the
 * bundler, see ./bundle.ts): there is no native addon in a browser, so loading it reports
 * an error and the engine and the booster run their TypeScript kernels.
 */
import type { DenseKernels, Kernels } from '../../engine/kernels/types.js';

/** Always the error: the browser has no native addon. */
export function loadNativeAddon(): { error: string } {
  return { error: 'no native addon in the browser' };
}

/** Never called (loadNativeAddon never succeeds); throws if it is. */
export function nativeKernels(): Kernels {
  throw new Error('native kernels are not available in the browser');
}

/** The addon's fused dense kernels: none in the browser (the TypeScript twins run). */
export const DENSE_KERNEL_NAMES: readonly (keyof DenseKernels)[] = [];
