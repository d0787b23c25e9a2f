import { spawnSync } from 'node:child_process';
import { kernels } from '../../src/engine/kernels/index.js';

let cached: string | null = null;

/**
 * Finds a Python interpreter that can import torch (and numpy). Order: $FINERANK_PYTHON,
 * then /usr/bin/python3 (Debian's python3-torch installs there; a pyenv or venv `python3`
 * earlier on PATH usually lacks it), then `python3` on PATH. Throws with the set-up
 * command when none works.
 *
 * It also loads finerank's kernels first: the OpenBLAS kernel set finerank chose
 * (`OPENBLAS_CORETYPE`, see docs/native.md) is then in this process's environment, which every
 * child inherits, so the PyTorch side runs the same OpenBLAS kernels (Debian's torch uses
 * the same libopenblas) and the two sides differ by framework, not by BLAS kernels.
 */
export function torchPython(): string {
  kernels();
  if (cached !== null) return cached;
  const candidates = [process.env.FINERANK_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => typeof c === 'string' && c !== '');
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) {
      cached = py;
      return py;
    }
    tried.push(`${py}: ${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop()}`);
  }
  throw new Error(
    'no Python with PyTorch found (needed for the reference side of the benchmark).\n' +
      "Install Debian's packages: apt-get install -y python3-torch python3-sklearn\n" +
      'or point FINERANK_PYTHON at an interpreter that has torch and numpy.\nTried:\n  ' +
      tried.join('\n  '),
  );
}
