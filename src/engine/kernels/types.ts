/**
 * The kernel interface: the few dense routines whose speed decides training speed.
 * Two implementations exist: the native addon (OpenBLAS sgemm + fused loops in C++) and
 * portable TypeScript. Both must agree to float32 rounding.
 */
export interface Kernels {
  /** 'native' (OpenBLAS addon) or 'typescript'. */
  readonly name: 'native' | 'typescript';
  /** Human-readable detail: BLAS library and thread count, or why the addon is not in use. */
  readonly detail: string;
  /**
   * Row-major GEMM: C = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ.
   * op(A) is m×k, op(B) is k×n, C is m×n. Offsets index into the arrays; lda, ldb, ldc
   * are the row strides of A, B and C as stored.
   */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number,
    b: Float32Array, bOffset: number, ldb: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number,
  ): void;
  /** Sets the number of BLAS threads (no-op for the TypeScript backend). */
  setThreads(n: number): void;
  /** The number of BLAS threads in use (1 for TypeScript). */
  getThreads(): number;
}
