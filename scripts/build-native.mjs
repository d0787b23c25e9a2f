// Builds the native kernel addon (build/Release/finerank_native.node) with node-gyp.
// Run by npm as the package's "install" script (npm install / npm ci / npm rebuild).
//
// It never fails the install: when the build cannot run or fails (most often because
// OpenBLAS is missing: `apt-get install libopenblas-dev`), or the built addon does not
// load, it prints ONE warning saying finerank will use its TypeScript kernels, leaves no
// addon behind, and exits 0. FINERANK_SKIP_NATIVE=1 skips the build on purpose.
//
// `node scripts/build-native.mjs --print include_dirs|libraries` prints the OpenBLAS
// compiler flags binding.gyp needs (pkg-config first, then the usual locations);
// FINERANK_OPENBLAS_INCLUDE / FINERANK_OPENBLAS_LIB override the search.
//
// After the build it checks OpenBLAS's own kernel choice (chooseBlasCore below): when
// OpenBLAS falls back to a generic pre-AVX2 kernel set on a CPU it does not know, the
// faster sets the CPU's flags allow are probed (scripts/blas-probe.mjs: sgemm checked
// against a float64 reference, then timed) and the fastest verified one is recorded in
// build/blas-core.json, which the engine applies at load (src/engine/kernels/blas-core.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(root, 'build', 'Release', 'finerank_native.node');
const logPath = join(root, 'build', 'finerank-native-build.log');

/** Runs pkg-config with the given flags for openblas; null when unavailable. */
function pkgConfig(flags) {
  const r = spawnSync('pkg-config', [...flags, 'openblas'], { encoding: 'utf8' });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  return r.stdout
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '');
}

/** Directories that commonly hold OpenBLAS's cblas.h, most specific first. */
function candidateIncludeDirs() {
  const arch = { x64: 'x86_64', arm64: 'aarch64', ppc64: 'powerpc64le', s390x: 's390x' }[process.arch] ?? process.arch;
  const multi = `/usr/include/${arch}-linux-gnu`;
  return [
    `${multi}/openblas-pthread`,
    `${multi}/openblas-openmp`,
    `${multi}/openblas-serial`,
    '/usr/include/openblas',
    '/usr/local/include/openblas',
    '/opt/homebrew/opt/openblas/include',
    '/usr/local/opt/openblas/include',
  ];
}

/** The include directories for OpenBLAS (may be empty: default compiler paths). */
function includeDirs() {
  if (process.env.FINERANK_OPENBLAS_INCLUDE) return [process.env.FINERANK_OPENBLAS_INCLUDE];
  const fromPkg = pkgConfig(['--cflags-only-I']);
  if (fromPkg !== null && fromPkg.length > 0) return fromPkg.map((f) => f.replace(/^-I/, ''));
  const found = candidateIncludeDirs().find((d) => existsSync(join(d, 'cblas.h')));
  return found !== undefined ? [found] : [];
}

/** Linker flags for OpenBLAS; adds an rpath for library folders outside the system ones. */
function libraries() {
  let libDirs = [];
  if (process.env.FINERANK_OPENBLAS_LIB) libDirs = [process.env.FINERANK_OPENBLAS_LIB];
  else {
    const fromPkg = pkgConfig(['--libs-only-L']);
    if (fromPkg !== null) libDirs = fromPkg.map((f) => f.replace(/^-L/, ''));
    if (libDirs.length === 0) {
      const brew = ['/opt/homebrew/opt/openblas/lib', '/usr/local/opt/openblas/lib'].find((d) => existsSync(d));
      if (brew !== undefined) libDirs = [brew];
    }
  }
  const flags = [];
  for (const d of libDirs) {
    flags.push(`-L${d}`);
    if (!/^\/(usr\/)?lib(32|64)?\//.test(d)) flags.push(`-Wl,-rpath,${d}`);
  }
  flags.push('-lopenblas');
  return flags;
}

/** Finds a runnable node-gyp: [command, argsPrefix], or null. */
function findNodeGyp() {
  const asCommand = (p) => (p.endsWith('.js') || p.endsWith('.cjs') ? [process.execPath, [p]] : [p, []]);
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return asCommand(fromNpm);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'node-gyp'))) return [join(dir, 'node-gyp'), []];
  }
  // npm's bundled copy: <npm package>/node_modules/node-gyp/bin/node-gyp.js.
  const npmRoots = [];
  if (process.env.npm_execpath) npmRoots.push(resolve(dirname(process.env.npm_execpath), '..'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const npmBin = join(dir, 'npm');
    if (dir !== '' && existsSync(npmBin)) {
      try {
        npmRoots.push(resolve(dirname(realpathSync(npmBin)), '..'));
      } catch {
        // unreadable link: try the next one
      }
    }
  }
  npmRoots.push(resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'));
  for (const r of npmRoots) {
    const js = join(r, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(js)) return asCommand(js);
  }
  return null;
}

/** Node's own headers next to this node binary (avoids a download when npm has no nodedir). */
function localNodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? prefix : null;
}

/** Removes any addon left behind so that the TypeScript fallback is what loads. */
function removeAddon() {
  rmSync(addonPath, { force: true });
}

/**
 * Prints the single fallback warning and exits successfully. npm (7+) hides the output of
 * install scripts that succeed unless run with --foreground-scripts, so when stderr is not
 * a terminal the warning also goes to the controlling terminal, if there is one.
 */
function fallBack(reason) {
  removeAddon();
  const message =
    `finerank: WARNING: native kernels not built (${reason}); finerank will use its portable TypeScript kernels ` +
    '(correct, ~20x slower GEMM). To get them: install OpenBLAS (Debian/Ubuntu: apt-get install -y libopenblas-dev) and run `npm rebuild finerank`.';
  console.warn(message);
  if (!process.stderr.isTTY) {
    try {
      writeFileSync('/dev/tty', `${message}\n`);
    } catch {
      // no controlling terminal (CI): the warning is in npm's log and `finerank info`
    }
  }
  process.exit(0);
}

/** The most telling line of a failed build's output (the first compiler/linker error). */
function firstError(output) {
  const lines = output.split('\n');
  const hit =
    lines.find((l) => /fatal error|error:|cannot find -l|undefined reference/i.test(l)) ??
    lines.find((l) => /gyp ERR!.*(stack Error|not ok|find Python|make)/.test(l)) ??
    lines.find((l) => /ERR!/.test(l));
  return (hit ?? 'unknown error').trim().slice(0, 300);
}

/** Loads the fresh addon in a child process and runs a 2×2 sgemm; returns an error text or null. */
function smokeTest() {
  const code = `
    const a = require(${JSON.stringify(addonPath)});
    const x = new Float32Array([1, 2, 3, 4]), y = new Float32Array([5, 6, 7, 8]), z = new Float32Array(4);
    a.sgemm(false, false, 2, 2, 2, 1, x, 0, 2, y, 0, 2, 0, z, 0, 2);
    if (z.join(',') !== '19,22,43,50') throw new Error('sgemm smoke test gave ' + z.join(','));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status === 0) return null;
  const msg = `${r.stderr ?? ''}`.split('\n').find((l) => /Error/.test(l)) ?? `exit status ${r.status}`;
  return msg.trim().slice(0, 300);
}

/** OpenBLAS kernel sets without AVX2: what it falls back to on x86 CPUs newer than its release. */
const PRE_AVX2_CORES = new Set(
  ['Katmai', 'Coppermine', 'Northwood', 'Prescott', 'Banias', 'Atom', 'Core2', 'Penryn', 'Dunnington', 'Nehalem', 'Sandybridge']
    .concat(['Opteron', 'Opteron(SSE3)', 'Barcelona', 'Bobcat', 'Bulldozer', 'Piledriver', 'Steamroller', 'Nano', 'Unknown'])
    .map((c) => c.toLowerCase()),
);

/**
 * Faster kernel sets to try, in order of preference, with the /proc/cpuinfo flags each needs.
 * The first verified one wins (a deterministic choice: two sets that time alike but block their
 * sums differently would otherwise be a coin flip between installs, and trained weights differ
 * in their last bits between them). Cooperlake is not listed: its fp32 sgemm is SkylakeX's
 * (it adds bf16 kernels, which finerank does not use), yet it blocks differently.
 */
const FASTER_CORES = [
  { core: 'SkylakeX', requires: ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'] },
  { core: 'Haswell', requires: ['avx2', 'fma'] },
];

/** Runs scripts/blas-probe.mjs with OPENBLAS_CORETYPE = core (undefined: OpenBLAS's own choice); null on failure. */
function probeBlas(core) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  if (core !== undefined) env.OPENBLAS_CORETYPE = core;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'blas-probe.mjs'), addonPath], { encoding: 'utf8', env });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

/**
 * Records in build/blas-core.json a verified faster OpenBLAS kernel set when OpenBLAS's own
 * choice is a pre-AVX2 fallback on a CPU with AVX2 / AVX-512 (removes a stale record first).
 * Accepted: the set OpenBLAS then reports is the one asked for, its sgemm errors stay below
 * 1e-5 of Σ|a·b|, and it is at least 1.25× as fast. Returns a line for the install log.
 */
function chooseBlasCore() {
  const recordPath = join(root, 'build', 'blas-core.json');
  rmSync(recordPath, { force: true });
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  let flags;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^flags\s*:/.test(l));
    flags = new Set(
      (line ?? '')
        .slice((line ?? '').indexOf(':') + 1)
        .trim()
        .split(/\s+/),
    );
  } catch {
    return null;
  }
  const own = probeBlas(undefined);
  if (own === null) return 'OpenBLAS kernel probe failed; keeping its own choice';
  if (!PRE_AVX2_CORES.has(String(own.core).toLowerCase())) return `OpenBLAS kernels: ${own.core}`;
  let best = null;
  for (const c of FASTER_CORES) {
    if (!c.requires.every((f) => flags.has(f))) continue;
    const r = probeBlas(c.core);
    if (r === null || String(r.core).toLowerCase() !== c.core.toLowerCase() || !(r.maxError <= 1e-5)) continue;
    if (r.gflops >= 1.25 * own.gflops) {
      best = { ...c, ...r };
      break;
    }
  }
  if (best === null) return `OpenBLAS kernels: ${own.core} (no faster verified set for this CPU)`;
  const record = {
    core: best.core,
    openblasCore: own.core,
    requires: best.requires,
    gflops: best.gflops,
    defaultGflops: own.gflops,
    maxError: best.maxError,
  };
  writeFileSync(`${recordPath}.tmp`, JSON.stringify(record, null, 2) + '\n');
  renameSync(`${recordPath}.tmp`, recordPath);
  return (
    `OpenBLAS picks its generic ${own.core} kernels on this CPU (${own.gflops.toFixed(0)} GFLOP/s); ` +
    `finerank will run ${best.core} (${best.gflops.toFixed(0)} GFLOP/s, checked; FINERANK_BLAS_CORE=openblas or OPENBLAS_CORETYPE overrides)`
  );
}

function main() {
  if (process.argv[2] === '--print') {
    const what = process.argv[3];
    if (what === 'include_dirs') console.log(includeDirs().join(' '));
    else if (what === 'libraries') console.log(libraries().join(' '));
    else {
      console.error(`build-native: --print expects include_dirs or libraries, got '${what}'`);
      process.exit(2);
    }
    return;
  }
  const skip = process.env.FINERANK_SKIP_NATIVE;
  if (skip !== undefined && skip !== '' && skip !== '0' && skip.toLowerCase() !== 'false') {
    fallBack('FINERANK_SKIP_NATIVE is set');
  }
  const gyp = findNodeGyp();
  if (gyp === null) fallBack("node-gyp not found (npm_config_node_gyp, PATH, or npm's bundled copy)");
  const [cmd, prefix] = gyp;
  const args = [...prefix, 'rebuild', '--release'];
  if (!process.env.npm_config_nodedir) {
    const nodeDir = localNodeDir();
    if (nodeDir !== null) args.push(`--nodedir=${nodeDir}`);
  }
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, output);
  } catch {
    // the log is a convenience only
  }
  if (r.status !== 0 || !existsSync(addonPath)) {
    fallBack(`build failed: ${firstError(output)}; full log: ${logPath}`);
  }
  const loadError = smokeTest();
  if (loadError !== null) fallBack(`built addon does not load: ${loadError}`);
  let config = '';
  try {
    const req = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(addonPath)}).blasConfig())`], {
      encoding: 'utf8',
    });
    config = req.status === 0 ? ` (${req.stdout.trim()})` : '';
  } catch {
    config = '';
  }
  console.log(`finerank: native kernels built: ${addonPath}${config}`);
  const core = chooseBlasCore();
  if (core !== null) console.log(`finerank: ${core}`);
}

main();
