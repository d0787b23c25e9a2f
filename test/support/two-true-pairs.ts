import type { FieldCtrSpec } from '../../src/data/synth/criteo.js';

/**
 * A learnability case with known true pairs: five fields × 30 values, weak first-order weights,
 * and only the pairs (a, b) and (c, d) interacting (strong latent factors); the other eight pairs
 * are noise. Used where a model must tell true pairs from noise (AFM's attention, AutoFIS's gates).
 */
export function twoTruePairsSpec(preset: string): FieldCtrSpec {
  return {
    preset,
    description: 'learnability test: 5 fields × 30 values, only (a,b) and (c,d) interact',
    label: 'click',
    numeric: [],
    categorical: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, vocab: 30, zipf: 0.2, missing: 0, firstOrderStd: 0.1 })),
    hiddenDim: 3,
    pairs: [
      { a: 'a', b: 'b', strength: 1.2 },
      { a: 'c', b: 'd', strength: 1.2 },
    ],
    triples: [],
    targetRate: 0.3,
    valueStyle: 'int',
    splitFractions: [0.8, 0.1, 0.1],
  };
}
