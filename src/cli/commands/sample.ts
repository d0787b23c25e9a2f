import { parseConfigCommand } from '../format.js';
import { loadSampleConfig } from '../../sampling/config.js';
import { sampleFile } from '../../sampling/sampler.js';

const HELP = `usage: finerank sample --config FILE [--json]

Samples a data file against popularity bias and writes the sample as CSV with an importance
weight column (default "weight"): hot_item downsampling (keep a row of item i with
probability min(1, √(t/f_i) + t/f_i), or min(1, cap/count_i)), negative_downsample (keep
negatives with probability rate; correction: weight | closed_form), popularity_negatives
(implicit feedback: per_positive negatives drawn ∝ count^alpha, never a positive of the
same user). Seeded; the file is streamed twice, never held. See docs/sampling.md.`;

/** `finerank sample --config FILE`: writes a sampled file and prints what each rule did. */
export async function run(args: string[]): Promise<number> {
  const values = parseConfigCommand('sample', args, HELP);
  if (typeof values === 'number') return values;
  const cfg = loadSampleConfig(values.config);
  const r = await sampleFile(cfg, cfg.input, cfg.output, { ...(cfg.format ? { format: cfg.format } : {}), onBadRow: cfg.onBadRow });
  if (values.json) {
    console.log(JSON.stringify({ ...r, output: cfg.output }));
    return 0;
  }
  console.log(`rows in            ${r.rowsIn} (${r.items} items)`);
  console.log(`rows out           ${r.rowsOut} → ${cfg.output}`);
  for (const [k, n] of Object.entries(r.dropped)) console.log(`dropped by ${k.padEnd(8)}${n}`);
  if (r.generatedNegatives > 0)
    console.log(
      `negatives drawn    ${r.generatedNegatives}${r.usersWithoutNegatives ? ` (${r.usersWithoutNegatives} users had no item left to draw)` : ''}`,
    );
  console.log(`sum of weights     ${r.weightSum.toFixed(1)} (column "${cfg.weight}")`);
  if (r.weighted) console.log(`largest weight     ${r.maxWeight.toFixed(2)}`);
  if (r.negativeSampleRate !== 1)
    console.log(`recalibrate with   negative_sample_rate: ${r.negativeSampleRate} (closed form; set it in the train config)`);
  if (r.badRows.skipped > 0)
    console.log(
      `bad rows skipped   ${r.badRows.skipped}, e.g. ${r.badRows.examples
        .slice(0, 3)
        .map((x) => x.reason)
        .join(' | ')}`,
    );
  return 0;
}
