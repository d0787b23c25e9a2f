import { Rng } from '../../src/engine/random.js';
import type { Batch } from '../../src/features/batch.js';
import { sparseField, type FeatureSpec } from '../../src/features/fields.js';

/**
 * A pre-encoded dataset whose click logit is a sum of pairwise latent dot products between
 * F categorical fields (vocabulary V each, plus padding/OOV rows): first-order models cannot
 * express it, FM-style models can. `signal` = 0 gives pure noise labels.
 */
export function pairwiseDataset(
  n: number,
  seed: number,
  opts: { fields?: number; vocab?: number; signal?: number } = {},
): { spec: FeatureSpec; batch: Batch } {
  const F = opts.fields ?? 5,
    V = opts.vocab ?? 15,
    signal = opts.signal ?? 0.8;
  const latent = new Rng(1000);
  const v: number[][][] = [];
  for (let f = 0; f < F; f++) {
    v.push([]);
    for (let i = 0; i < V; i++) v[f]!.push([latent.normal(), latent.normal(), latent.normal()]);
  }
  const rng = new Rng(seed);
  const sparse: Record<string, Int32Array> = {};
  for (let f = 0; f < F; f++) sparse[`f${f}`] = new Int32Array(n);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const ids: number[] = [];
    for (let f = 0; f < F; f++) {
      const id = rng.int(V);
      ids.push(id);
      sparse[`f${f}`]![r] = id + 2;
    }
    let z = 0;
    for (let f = 0; f < F; f++) {
      for (let g = f + 1; g < F; g++) {
        const a = v[f]![ids[f]!]!,
          b = v[g]![ids[g]!]!;
        z += signal * (a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!);
      }
    }
    y[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const spec: FeatureSpec = { fields: Array.from({ length: F }, (_, f) => sparseField(`f${f}`, V + 2)), labels: ['click'] };
  return { spec, batch: { size: n, sparse, dense: {}, varlen: {}, labels: { click: y } } };
}
