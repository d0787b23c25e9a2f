import { Tensor, fromOp } from '../../engine/tensor.js';
import { FeatureInputs, type FeatureInputsOptions } from '../embeddings/feature-inputs.js';
import type { Batch } from '../../features/batch.js';
import type { FeatureSpec } from '../../features/fields.js';
import { Module } from '../../nn/module.js';

/**
 * The field-aware pair sum of FFM (Juan et al. 2016, eq. 3) over FuxiCTR's layout of F − 1
 * embedding copies, copies[k] [B, F, D]: field f's vector toward field g is copy
 * (g < f ? g : g − 1) at field f, so
 *   y_b = Σ_{f<g} ⟨copies[g−1]_{b,f}, copies[f]_{b,g}⟩,   output [B].
 * Fused; backward: each of the two vectors of a pair gets g_b times the other.
 */
export function ffmInteraction(copies: readonly Tensor[]): Tensor {
  const F = copies.length + 1;
  for (const c of copies) {
    if (c.rank !== 3 || c.shape[1] !== F || c.shape[0] !== copies[0]!.shape[0] || c.shape[2] !== copies[0]!.shape[2]) {
      throw new Error(`ffmInteraction: expected ${F - 1} copies of [B, ${F}, D], got [${c.shape}]`);
    }
  }
  if (copies.length === 0) throw new Error('ffmInteraction: needs at least 2 fields (1 copy)');
  const [B, , D] = copies[0]!.shape as [number, number, number];
  const data = copies.map((c) => c.data);
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const base = b * F * D;
    let s = 0;
    for (let f = 0; f < F; f++) {
      for (let g = f + 1; g < F; g++) {
        const vf = data[g - 1]!,
          vg = data[f]!,
          of = base + f * D,
          og = base + g * D;
        for (let d = 0; d < D; d++) s += vf[of + d]! * vg[og + d]!;
      }
    }
    out[b] = s;
  }
  return fromOp(out, [B], copies, (g) => {
    const grads = copies.map((c) => (c.requiresGrad ? c.gradBuffer() : null));
    for (let b = 0; b < B; b++) {
      const gb = g[b]!;
      if (gb === 0) continue;
      const base = b * F * D;
      for (let f = 0; f < F; f++) {
        for (let h = f + 1; h < F; h++) {
          const vf = data[h - 1]!,
            vg = data[f]!,
            gf = grads[h - 1]!,
            gg = grads[f]!,
            of = base + f * D,
            og = base + h * D;
          for (let d = 0; d < D; d++) {
            if (gf !== null) gf[of + d]! += gb * vg[og + d]!;
            if (gg !== null) gg[og + d]! += gb * vf[of + d]!;
          }
        }
      }
    }
  });
}

/**
 * Field-aware embeddings: F − 1 input layers over the same fields, each with its own tables
 * (`ffm<k>.<table>`), FuxiCTR's FFM layout (one vector per feature and other field, the
 * vector toward field g held in copy g or g − 1). Embedding rows: (F − 1)·Σ tables.
 */
export class FieldAwareEmbeddings extends Module {
  private readonly copies: FeatureInputs[] = [];

  constructor(spec: FeatureSpec, opts: Omit<FeatureInputsOptions, 'prefix'>) {
    super();
    const first = new FeatureInputs(spec, { ...opts, prefix: 'ffm0.' });
    const F = first.numFields;
    if (F < 2) throw new Error(`${opts.owner ?? 'field-aware embeddings'} needs at least 2 embedded fields, got ${F}`);
    this.copies.push(this.child('copy0', first));
    for (let k = 1; k < F - 1; k++) this.copies.push(this.child(`copy${k}`, new FeatureInputs(spec, { ...opts, prefix: `ffm${k}.` })));
  }

  /** Number of fields F. */
  get numFields(): number {
    return this.copies[0]!.numFields;
  }

  /** The F − 1 stacked copies [B, F, D] of a batch. */
  forward(batch: Batch): Tensor[] {
    return this.copies.map((c) => c.forward(batch).stacked());
  }
}
