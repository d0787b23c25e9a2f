import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (the nearest folder above this file holding package.json). Works
 * both from bench/common/*.ts (tsx) and from dist/bench/common/*.js (compiled).
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: repository root (package.json) not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
