/**
 * Runs a seeded benchmark once per seed in child processes, `jobs` at a time (each child is
 * this same script with `--seeds S --jobs 1`), and merges their per-variant runs. Each child
 * is single-threaded training, so on a shared machine the seeds finish sooner side by side.
 */
import { spawn } from 'node:child_process';

/** Per variant, the runs of every seed, in seed order. */
export async function runSeedsInChildren<R>(seeds: readonly number[], jobs: number): Promise<Record<string, R[]>> {
  const script = process.argv[1]!;
  const args = process.argv.slice(2).filter((_, i, a) => !['--seeds', '--jobs'].includes(a[i]!) && !['--seeds', '--jobs'].includes(a[i - 1]!));
  const out: Record<string, R[]>[] = new Array(seeds.length);
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) {
      const k = next++;
      out[k] = await new Promise<Record<string, R[]>>((resolve, reject) => {
        const child = spawn(process.execPath, [script, ...args, '--seeds', String(seeds[k]), '--jobs', '1'], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`seed ${seeds[k]}: child exited with ${code}`));
          const last = JSON.parse(text.trim().split('\n').at(-1)!) as { results: Record<string, { runs: R[] }> };
          resolve(Object.fromEntries(Object.entries(last.results).map(([name, r]) => [name, r.runs])));
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, worker));
  const merged: Record<string, R[]> = {};
  for (const o of out) for (const [name, rs] of Object.entries(o)) (merged[name] ??= []).push(...rs);
  return merged;
}
