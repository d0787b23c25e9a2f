import assert from 'node:assert/strict';
import { noGrad } from '../../src/engine/tensor.js';
import { concat } from '../../src/engine/ops/index.js';
import { Rng } from '../../src/engine/random.js';
import type { Batch } from '../../src/features/batch.js';
import type { RankingModel } from '../../src/models/base.js';
import type { EmbeddingTable } from '../../src/embedding/table.js';

/**
 * End-to-end finite-difference check of a model: L = Σ_t Σ_b w_{t,b}·logit_{t,b} over every task (fixed random w,
 * summed in float64). Compares the analytic gradient of every dense parameter coordinate
 * (up to `maxCoords` per parameter, chosen at random) and of the embedding rows the batch
 * touches against central differences. Tolerance reasoning as in gradcheck.ts: float32
 * forward rounding through a few layers stays near 1e-6 relative, so eps = 1e-3 keeps the
 * numeric error ≲ 1e-3 while curvature error is O(eps²); eps must also stay small enough
 * that no ReLU pre-activation crosses zero (a kink) — 1e-2 did on these fixed seeds.
 */
export function modelGradcheck(
  model: RankingModel,
  batch: Batch,
  opts: { eps?: number; tol?: number; maxCoords?: number; seed?: number } = {},
): number {
  const eps = opts.eps ?? 1e-3;
  const tol = opts.tol ?? 5e-3;
  const maxCoords = opts.maxCoords ?? 12;
  const rng = new Rng(opts.seed ?? 3);
  const w = new Float32Array(batch.size * model.tasks.length);
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-1, 1);
  model.zeroGrad();
  const tables = model.namedEmbeddings().map(([n, t]) => [n, t as EmbeddingTable] as const);
  for (const [, t] of tables) t.zeroGrad();
  // Every task's logits, concatenated: one scalar L = Σ_t Σ_b w_{t,b}·logit_{t,b} covers all heads.
  const all = () => {
    const out = model.forwardTasks(batch);
    return model.tasks.length === 1
      ? out[model.tasks[0]!]!
      : concat(
          model.tasks.map((t) => out[t]!),
          0,
        );
  };
  all().backward(w);
  const probe = (): number => {
    const out = noGrad(all);
    let s = 0;
    for (let i = 0; i < out.size; i++) s += w[i]! * out.data[i]!;
    return s;
  };
  const check = (name: string, values: Float32Array, i: number, analytic: number) => {
    const orig = values[i]!;
    values[i] = orig + eps;
    const plus = probe();
    values[i] = orig - eps;
    const minus = probe();
    values[i] = orig;
    const numeric = (plus - minus) / (2 * eps);
    const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
    assert.ok(err <= tol, `${name}[${i}]: analytic ${analytic} vs numeric ${numeric} (relative error ${err.toExponential(2)})`);
  };
  let checked = 0;
  for (const [name, p] of model.namedParameters()) {
    const g = p.grad ?? new Float32Array(p.size);
    const coords = rng.shuffle([...Array(p.size).keys()]).slice(0, maxCoords);
    for (const i of coords) {
      check(name, p.data, i, g[i]!);
      checked++;
    }
  }
  for (const [name, t] of tables) {
    const { ids, values } = t.sparseGrad();
    const picks = rng.shuffle([...Array(ids.length).keys()]).slice(0, Math.max(1, Math.floor(maxCoords / t.dim)));
    for (const k of picks) {
      const row = ids[k]!;
      for (let d = 0; d < t.dim; d++) {
        check(`${name} row ${row}`, t.weight, row * t.dim + d, values[k * t.dim + d]!);
        checked++;
      }
    }
  }
  return checked;
}
