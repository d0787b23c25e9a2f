import { Tensor, fromOp, allocFloat32 } from '../../engine/tensor.js';
import { pairKernels } from '../../engine/kernels/pairs.js';
import { Rng } from '../../engine/random.js';
import { xavierNormal } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { fieldPairs, type FieldPairs } from './pairs.js';

function checkFields(op: string, e: Tensor): [number, number, number] {
  if (e.rank !== 3) throw new Error(`${op}: expected field embeddings [B, F, D], got [${e.shape}]`);
  return e.shape as [number, number, number];
}

/**
 * PNN's inner product layer (Qu et al. 2016, IPNN) on e [B, F, D]: one value per field pair,
 *   p_{b,(f,g)} = ⟨e_{bf}, e_{bg}⟩,   output [B, F(F−1)/2] in `fieldPairs` order
 * (FuxiCTR's InnerProductInteraction(output="inner_product")). Fused (the `innerProducts`
 * kernels of engine/kernels/pairs.ts, native or TypeScript): no [B, P, D] product tensor;
 * backward ∂e_f += Σ_{g≠f} ∂p_{(f,g)}·e_g.
 */
export function innerProducts(e: Tensor): Tensor {
  const [B, F, D] = checkFields('innerProducts', e);
  const P = (F * (F - 1)) / 2;
  const K = pairKernels();
  const out = allocFloat32(B * P);
  K.innerProducts(e.data, B, F, D, out);
  return fromOp(out, [B, P], [e], (g) => K.innerProductsBackward(e.data, g, B, F, D, e.gradBuffer()));
}

/**
 * PNN's outer product layer with a kernel (OPNN), as DeepCTR's OutterProductLayer with
 * `kernel_type='mat'`: one learned D×D kernel per field pair,
 *   p_{b,(f,g)} = e_{bf}ᵀ K_{(f,g)} e_{bg} = Σ_{d,c} e_{bfd} K_{(f,g),d,c} e_{bgc},   K [P, D, D],
 * output [B, P]. Fused; with t = K e_g: ∂e_f += g·t, ∂e_g += g·Kᵀe_f, ∂K += g·e_f e_gᵀ.
 */
export function kernelOuterProducts(e: Tensor, kernel: Tensor): Tensor {
  const [B, F, D] = checkFields('kernelOuterProducts', e);
  const { count: P, left, right } = fieldPairs(F);
  if (kernel.rank !== 3 || kernel.shape[0] !== P || kernel.shape[1] !== D || kernel.shape[2] !== D) {
    throw new Error(`kernelOuterProducts: kernel must be [${P}, ${D}, ${D}] for ${F} fields of dimension ${D}, got [${kernel.shape}]`);
  }
  const x = e.data,
    K = kernel.data;
  const out = new Float32Array(B * P);
  for (let b = 0; b < B; b++) {
    const base = b * F * D;
    for (let p = 0; p < P; p++) {
      const oi = base + left[p]! * D,
        oj = base + right[p]! * D,
        ok = p * D * D;
      let s = 0;
      for (let d = 0; d < D; d++) {
        let t = 0;
        for (let c = 0; c < D; c++) t += K[ok + d * D + c]! * x[oj + c]!;
        s += x[oi + d]! * t;
      }
      out[b * P + p] = s;
    }
  }
  return fromOp(out, [B, P], [e, kernel], (g) => {
    const ge = e.requiresGrad ? e.gradBuffer() : null;
    const gk = kernel.requiresGrad ? kernel.gradBuffer() : null;
    for (let b = 0; b < B; b++) {
      const base = b * F * D;
      for (let p = 0; p < P; p++) {
        const gp = g[b * P + p]!;
        if (gp === 0) continue;
        const oi = base + left[p]! * D,
          oj = base + right[p]! * D,
          ok = p * D * D;
        for (let d = 0; d < D; d++) {
          const ei = x[oi + d]!;
          let t = 0;
          for (let c = 0; c < D; c++) {
            const k = K[ok + d * D + c]!;
            t += k * x[oj + c]!;
            if (ge !== null) ge[oj + c]! += gp * ei * k;
            if (gk !== null) gk[ok + d * D + c]! += gp * ei * x[oj + c]!;
          }
          if (ge !== null) ge[oi + d]! += gp * t;
        }
      }
    }
  });
}

/** The outer product layer as a module: owns the [P, D, D] kernel (Xavier-normal per D×D block; DeepCTR uses Glorot too). */
export class KernelOuterProduct extends Module {
  readonly pairs: FieldPairs;
  readonly kernel: Tensor;

  constructor(numFields: number, dim: number, rng: Rng) {
    super();
    this.pairs = fieldPairs(numFields);
    const k = Tensor.zeros([this.pairs.count, dim, dim]);
    xavierNormal(k, rng, dim, dim);
    this.kernel = this.param('kernel', k);
  }

  /** e [B, F, D] → [B, P]. */
  forward(e: Tensor): Tensor {
    return kernelOuterProducts(e, this.kernel);
  }
}
