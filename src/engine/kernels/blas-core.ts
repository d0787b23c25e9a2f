import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `npm install` found out about OpenBLAS's kernel choice on this machine
 * (build/blas-core.json, written by scripts/build-native.mjs): OpenBLAS picks its kernel set
 * once per process from the CPU id, and a release older than the CPU falls back to a generic
 * pre-AVX2 set (OpenBLAS 0.3.21 runs its SSE3 "Prescott" kernels on 5th-generation Xeons, at
 * a fifth of the speed). The build probes the sets the CPU's flags allow in child processes,
 * checks their sgemm against a float64 reference, and records the fastest verified one.
 */
export interface BlasCoreChoice {
  /** The kernel set to force (an `OPENBLAS_CORETYPE` value), e.g. "SkylakeX". */
  core: string;
  /** The set OpenBLAS picks by itself on this CPU, e.g. "Prescott". */
  openblasCore: string;
  /** /proc/cpuinfo flags the forced set needs; checked again at every load (the build may have run elsewhere). */
  requires: string[];
  /** Single-thread GFLOP/s (per CPU second) of the forced set and of OpenBLAS's own at install time. */
  gflops: number;
  defaultGflops: number;
  /** Largest sgemm error of the forced set against the float64 reference, relative to Σ|a·b|. */
  maxError: number;
}

/** The CPU's feature flags from /proc/cpuinfo (Linux), or null where they cannot be read. */
export function cpuFlags(): Set<string> | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^flags\s*:/.test(l));
    return line === undefined
      ? null
      : new Set(
          line
            .slice(line.indexOf(':') + 1)
            .trim()
            .split(/\s+/),
        );
  } catch {
    return null;
  }
}

/** Reads build/blas-core.json under `root`; null when absent or unreadable (no choice recorded). */
export function readBlasCoreChoice(root: string): BlasCoreChoice | null {
  const path = join(root, 'build', 'blas-core.json');
  if (!existsSync(path)) return null;
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as Partial<BlasCoreChoice>;
    if (typeof c.core !== 'string' || typeof c.openblasCore !== 'string' || !Array.isArray(c.requires)) return null;
    return c as BlasCoreChoice;
  } catch {
    return null;
  }
}

/**
 * Sets `OPENBLAS_CORETYPE` from the install-time choice, before the addon (and with it
 * OpenBLAS) loads, unless the user decided: an `OPENBLAS_CORETYPE` already in the environment
 * is kept as it is, and `FINERANK_BLAS_CORE=openblas` keeps OpenBLAS's own choice. The forced
 * set is applied only if this CPU still has the flags it needs. Returns a note for the
 * backend's detail line saying what was done and why (null when there was nothing to decide).
 */
export function applyBlasCoreChoice(root: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.OPENBLAS_CORETYPE !== undefined) return `OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} from the environment`;
  const choice = readBlasCoreChoice(root);
  if (choice === null) return null;
  const keep = `OpenBLAS alone picks ${choice.openblasCore} on this CPU`;
  const mode = env.FINERANK_BLAS_CORE;
  if (mode === 'openblas') return `FINERANK_BLAS_CORE=openblas: ${keep}`;
  if (mode !== undefined && mode !== '' && mode !== 'auto') {
    throw new Error(`FINERANK_BLAS_CORE must be 'auto' (the default) or 'openblas', got '${mode}'`);
  }
  const flags = cpuFlags();
  const missing = flags === null ? choice.requires : choice.requires.filter((f) => !flags.has(f));
  if (missing.length > 0) return `${keep}; the install-time choice ${choice.core} needs CPU flags this machine lacks (${missing.join(', ')})`;
  env.OPENBLAS_CORETYPE = choice.core;
  return (
    `${choice.core} forced by finerank (${keep}: ${choice.defaultGflops.toFixed(0)} against ${choice.gflops.toFixed(0)} GFLOP/s ` +
    `measured at install, results checked; FINERANK_BLAS_CORE=openblas keeps OpenBLAS's choice)`
  );
}
