/**
 * The fused GRU step kernels behind `gruSequence` (DIEN's GRU, AUGRU, AGRU): one interface
 * with two backends, the native addon (native/gru.cc) and TypeScript twins
 * (gru-kernels-ts.ts) doing the same float64 operations in the same order (σ and tanh from
 * one shared exp), so the two give identical bits. Chosen like the engine's kernels: native
 * when the engine backend is native and the addon exports them, TypeScript otherwise.
 */
import { typescriptGruKernels } from './gru-kernels-ts.js';
import { nativeKernelFamily } from '../../engine/kernels/native-family.js';

/** 0 = GRU (w = u), 1 = AUGRU (w = a·u), 2 = AGRU (w = a). */
export type GruModeCode = 0 | 1 | 2;

/** Fused GRU step kernels over a [B, H] batch; all arrays row-major float32 except `valid`. */
export interface GruKernels {
  readonly name: 'native' | 'typescript';
  /**
   * One step: with gx = x·W_ih + b_ih and gh = h′·W_hh (no bias), both [B, 3H] laid out
   * [u | r | n]: u = σ(gx_u + (gh_u + b_u)), r = σ(gx_r + (gh_r + b_r)), c = gh_n + b_n,
   * n = tanh(gx_n + r·c), w = u | a·u | a (by mode, a = att[b]), hOut = (1 − w)·h′ + w·n.
   * gates [B, 4H] receives [u | r | n | c] rounded to float32 (hOut uses the rounded values).
   * Rows with valid[b] = 0 copy h′ and zero their gates. att may be null only in mode 0.
   */
  stepForward(
    B: number,
    H: number,
    mode: GruModeCode,
    gx: Float32Array,
    gh: Float32Array,
    bhh: Float32Array,
    hPrev: Float32Array,
    att: Float32Array | null,
    valid: Uint8Array | null,
    hOut: Float32Array,
    gates: Float32Array,
  ): void;
  /**
   * The step's backward from dh = ∂L/∂h: dgx [B, 3H] += (dpu, dpr, dpn) (skipped when null),
   * dgh [B, 3H] = (dpu, dpr, dpn·r) (overwritten), dhPrev [B, H] = dh·(1 − w) (overwritten:
   * the direct path; the path through gh is the caller's dgh·W_hhᵀ), da [B] += Σ_j dh·(n − h′)·u
   * (AUGRU) or Σ_j dh·(n − h′) (AGRU); with dn = dh·w, dpn = dn·(1 − n²), dpr = dpn·c·r(1 − r),
   * dpu = du·u(1 − u), du = dh·(n − h′)·(1 | a | 0). Invalid rows: dhPrev = dh, dgh = 0.
   */
  stepBackward(
    B: number,
    H: number,
    mode: GruModeCode,
    dh: Float32Array,
    gates: Float32Array,
    hPrev: Float32Array,
    att: Float32Array | null,
    valid: Uint8Array | null,
    dgx: Float32Array | null,
    dgh: Float32Array,
    dhPrev: Float32Array,
    da: Float32Array | null,
  ): void;
}

const family = nativeKernelFamily<GruKernels>({ stepForward: 'gruStepForward', stepBackward: 'gruStepBackward' }, typescriptGruKernels);

/** The native GRU kernels, or why they are unavailable. Loaded once. */
export const loadNativeGruKernels = family.load;

/** The active kernels: forced by `setGruKernels`, else native with the native engine backend (when the addon has them), else TypeScript. */
export const gruKernels = family.active;

/** Forces a kernel set (tests compare backends; benchmarks switch them); null restores the automatic choice. */
export const setGruKernels = family.force;

export { typescriptGruKernels } from './gru-kernels-ts.js';
