import type { Kernels } from './types.js';

/**
 * Portable GEMM in TypeScript: packs op(B) into a contiguous k×n panel when transposed, then
 * runs an i-k-j loop (row of A times rows of B) that V8 vectorizes well enough.
 */
function sgemmTS(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOff: number, lda: number,
  b: Float32Array, bOff: number, ldb: number,
  beta: number, c: Float32Array, cOff: number, ldc: number,
): void {
  // Scale C by beta.
  for (let i = 0; i < m; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) for (let j = 0; j < n; j++) c[row + j] = 0;
    else if (beta !== 1) for (let j = 0; j < n; j++) c[row + j]! *= beta;
  }
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;
  // Contiguous op(B) (k×n) so the inner loop is unit-stride.
  let bp: Float32Array;
  let bpOff: number;
  let bStride: number;
  if (transB) {
    bp = new Float32Array(k * n);
    for (let j = 0; j < n; j++) {
      const src = bOff + j * ldb;
      for (let p = 0; p < k; p++) bp[p * n + j] = b[src + p]!;
    }
    bpOff = 0;
    bStride = n;
  } else {
    bp = b;
    bpOff = bOff;
    bStride = ldb;
  }
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * ldc;
    for (let p = 0; p < k; p++) {
      const av = alpha * (transA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!);
      if (av === 0) continue;
      const bRow = bpOff + p * bStride;
      for (let j = 0; j < n; j++) c[cRow + j]! += av * bp[bRow + j]!;
    }
  }
}

/** The portable TypeScript kernels (used when the native addon is absent or disabled). */
export function typescriptKernels(detail = 'portable TypeScript kernels'): Kernels {
  return {
    name: 'typescript',
    detail,
    sgemm: sgemmTS,
    setThreads: () => {},
    getThreads: () => 1,
  };
}
