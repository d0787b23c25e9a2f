/**
 * Young-generation size (MiB per semi-space) of a serving process. V8's default (16 MiB on
 * 64-bit, reached only when many objects survive) meant a scavenge every ~70 rank-100 or
 * ~30 rank-1000 requests, each a 0.5–1.5 ms pause in one request's latency; 32 MiB halves
 * them (bench/serve/phases.ts with --trace-gc: 76 → 33 scavenges over the same requests).
 * It costs up to 2 × 32 MiB of resident memory.
 */
export const SERVING_SEMI_SPACE_MIB = 32;

/**
 * The node flags a serving process should run with: `execArgv` plus
 * `--min-semi-space-size` / `--max-semi-space-size` of `SERVING_SEMI_SPACE_MIB`, unless
 * `execArgv` sets either already (the operator's choice wins). V8 reads them only at start,
 * so they go on the command line of a new process (a cluster worker, the bench's server).
 */
export function servingNodeFlags(execArgv: readonly string[]): string[] {
  if (execArgv.some((a) => /^--(min|max)[-_]semi[-_]space[-_]size(=|$)/.test(a))) return [...execArgv];
  return [...execArgv, `--min-semi-space-size=${SERVING_SEMI_SPACE_MIB}`, `--max-semi-space-size=${SERVING_SEMI_SPACE_MIB}`];
}
