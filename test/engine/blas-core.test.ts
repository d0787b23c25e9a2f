import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { applyBlasCoreChoice, cpuFlags, type BlasCoreChoice } from '../../src/engine/kernels/blas-core.js';
import { packageRoot } from '../../src/engine/kernels/native.js';

/** A package root holding build/blas-core.json with `choice` (or no file when null). */
function rootWith(choice: Partial<BlasCoreChoice> | null): string {
  const root = mkdtempSync(join(tmpdir(), 'blas-core-'));
  mkdirSync(join(root, 'build'));
  if (choice !== null) writeFileSync(join(root, 'build', 'blas-core.json'), JSON.stringify(choice));
  return root;
}

const choice: BlasCoreChoice = { core: 'SkylakeX', openblasCore: 'Prescott', requires: [], gflops: 110, defaultGflops: 20, maxError: 1e-7 };

test('applyBlasCoreChoice forces the recorded kernel set when the user set nothing', () => {
  const root = rootWith(choice);
  const env: NodeJS.ProcessEnv = {};
  const note = applyBlasCoreChoice(root, env);
  assert.equal(env.OPENBLAS_CORETYPE, 'SkylakeX');
  assert.match(note ?? '', /SkylakeX forced by finerank .*Prescott/);
  rmSync(root, { recursive: true });
});

test("applyBlasCoreChoice keeps the user's OPENBLAS_CORETYPE and FINERANK_BLAS_CORE=openblas", () => {
  const root = rootWith(choice);
  const user: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
  assert.match(applyBlasCoreChoice(root, user) ?? '', /OPENBLAS_CORETYPE=Haswell from the environment/);
  assert.equal(user.OPENBLAS_CORETYPE, 'Haswell');
  const keep: NodeJS.ProcessEnv = { FINERANK_BLAS_CORE: 'openblas' };
  assert.match(applyBlasCoreChoice(root, keep) ?? '', /FINERANK_BLAS_CORE=openblas/);
  assert.equal(keep.OPENBLAS_CORETYPE, undefined);
  assert.throws(
    () => applyBlasCoreChoice(root, { FINERANK_BLAS_CORE: 'fast' }),
    /FINERANK_BLAS_CORE must be 'auto' \(the default\) or 'openblas', got 'fast'/,
  );
  rmSync(root, { recursive: true });
});

test('applyBlasCoreChoice does nothing without a record, and refuses a set whose CPU flags are missing', () => {
  const none = rootWith(null);
  const env: NodeJS.ProcessEnv = {};
  assert.equal(applyBlasCoreChoice(none, env), null);
  assert.equal(env.OPENBLAS_CORETYPE, undefined);
  const other = rootWith({ ...choice, requires: ['avx512f', 'no_such_cpu_flag'] });
  const env2: NodeJS.ProcessEnv = {};
  assert.match(applyBlasCoreChoice(other, env2) ?? '', /needs CPU flags this machine lacks \(.*no_such_cpu_flag\)/);
  assert.equal(env2.OPENBLAS_CORETYPE, undefined);
  rmSync(none, { recursive: true });
  rmSync(other, { recursive: true });
});

test('cpuFlags reads the CPU flags on Linux', { skip: process.platform !== 'linux' }, () => {
  const flags = cpuFlags();
  assert.ok(flags !== null && flags.size > 5, 'expected a flags line in /proc/cpuinfo');
  assert.ok(flags.has('sse2') || flags.has('fp') || flags.has('asimd'), 'an x86 or arm baseline flag');
});

const addon = join(packageRoot(), 'build', 'Release', 'finerank_native.node');
test('scripts/blas-probe.mjs checks sgemm against float64 and names the kernel set it ran', { skip: !existsSync(addon) }, () => {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'scripts', 'blas-probe.mjs'), addon], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as { core: string; maxError: number; gflops: number };
  assert.equal(typeof out.core, 'string');
  assert.ok(out.core.length > 0);
  assert.ok(out.maxError < 1e-5, `sgemm error ${out.maxError}`);
  assert.ok(out.gflops > 0);
});
