import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { ACTIVATION_NAMES, activation, concat, convRows, maxPoolRows, pooledRows, reshape, transpose } from '../../engine/ops/index.js';
import { BatchNorm } from '../../nn/batchnorm.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';

/** Per-layer settings of FGCNN's feature generation (FuxiCTR's FGCNN_Layer arguments). */
export interface FeatureGenerationOptions {
  /** Convolution output channels per layer (`channels`). */
  channels: number[];
  /** Convolution kernel height per layer, odd (`kernel_heights`). */
  kernelHeights: number[];
  /** Max-pooling height per layer (`pooling_sizes`). */
  poolingSizes: number[];
  /** New features per pooled position per layer (`recombined_channels`). */
  recombinedChannels: number[];
  /** Activation after the convolution and after the recombination (`conv_activation`). */
  activation: string;
  /** BatchNorm between the convolution and its activation (`conv_batch_norm`). */
  batchNorm: boolean;
}

/** The heights H_1…H_L after each pooling, from F fields: H_i = ⌈H_{i−1} / p_i⌉, refusing layouts FuxiCTR cannot build. */
export function generatedHeights(numFields: number, opts: FeatureGenerationOptions): number[] {
  const L = opts.channels.length;
  if (L === 0) throw new Error("FGCNN: 'channels' needs at least one convolution layer");
  const lists = { kernel_heights: opts.kernelHeights, pooling_sizes: opts.poolingSizes, recombined_channels: opts.recombinedChannels };
  for (const [name, list] of Object.entries(lists)) {
    if (list.length !== L) throw new Error(`FGCNN: '${name}' has ${list.length} entries, 'channels' has ${L}: give one per convolution layer`);
  }
  if (!(ACTIVATION_NAMES as readonly string[]).includes(opts.activation.toLowerCase())) {
    throw new Error(`FGCNN: conv_activation must be one of ${ACTIVATION_NAMES.join(', ')}, got '${opts.activation}'`);
  }
  const heights: number[] = [];
  let H = numFields;
  opts.kernelHeights.forEach((k, i) => {
    if (k % 2 !== 1) throw new Error(`FGCNN: kernel_heights must be odd (the convolution keeps the field count with padding (k−1)/2), got ${k}`);
    const p = opts.poolingSizes[i]!;
    const next = Math.ceil(H / p);
    if (pooledRows(H, p, H % p) !== next || 2 * (H % p) > p) {
      throw new Error(
        `FGCNN: pooling size ${p} over ${H} rows (layer ${i + 1}) cannot be built as FuxiCTR builds it (max pooling with padding ${H} mod ${p} = ${H % p} must give ⌈${H}/${p}⌉ = ${next} rows and pad at most ${p}/2); choose a pooling size that divides ${H} or leaves a remainder between ${p}/3 and ${p}/2`,
      );
    }
    H = next;
    heights.push(H);
  });
  return heights;
}

/**
 * FGCNN's feature generation (Liu et al. 2019, Fig. 3) as FuxiCTR's FGCNN_Layer: the field
 * embeddings e [B, F, D] are an image of one channel with F rows and D columns; layer i
 *   convolution  kernel (k_i × 1), padding (k_i − 1)/2, C_{i−1} → C_i channels (+ bias),
 *   [BatchNorm over the channel], activation, max pooling (p_i × 1) with FuxiCTR's padding
 *   H_{i−1} mod p_i, giving H_i = ⌈H_{i−1}/p_i⌉ rows,
 *   recombination  activation(Linear(flatten) : H_i·D·C_i → H_i·D·R_i) read as H_i·R_i new
 *   fields of dimension D,
 * and the new fields of all layers are concatenated: [B, Σ_i H_i·R_i, D]. The convolution
 * runs as im2col and GEMM (`convRows`, in chunks of rows: no full im2col matrix) with a
 * (k·C → C') Linear's weight and bias, on a channels-last [B·D, H, C] layout;
 * the flattening order (d, h, c) differs from torch's (c, h, d) only by a fixed permutation
 * of the recombination weights. Choice: convolution weights are Xavier-normal with zero bias
 * like every Linear here (FuxiCTR leaves torch's Conv2d default). Parameters per layer:
 * C_i·C_{i−1}·k_i + C_i (+2·C_i with BN) + (H_i·D·C_i + 1)·H_i·D·R_i.
 */
export class FeatureGeneration extends Module {
  /** Number of generated fields Σ_i H_i·R_i. */
  readonly numNewFields: number;
  private readonly dim: number;
  private readonly heights: number[];
  private readonly convs: Linear[] = [];
  private readonly norms: (BatchNorm | null)[] = [];
  private readonly recombine: Linear[] = [];

  constructor(
    private readonly numFields: number,
    dim: number,
    private readonly opts: FeatureGenerationOptions,
    rng: Rng,
  ) {
    super();
    this.dim = dim;
    this.heights = generatedHeights(numFields, opts);
    let inChannels = 1;
    opts.channels.forEach((C, i) => {
      const k = opts.kernelHeights[i]!,
        H = this.heights[i]!,
        R = opts.recombinedChannels[i]!;
      this.convs.push(this.child(`conv${i}`, new Linear(k * inChannels, C, { rng })));
      this.norms.push(opts.batchNorm ? this.child(`conv_bn${i}`, new BatchNorm(C)) : null);
      this.recombine.push(this.child(`recombine${i}`, new Linear(H * dim * C, H * dim * R, { rng })));
      inChannels = C;
    });
    this.numNewFields = this.heights.reduce((s, H, i) => s + H * opts.recombinedChannels[i]!, 0);
  }

  /** e [B, F, D] → new fields [B, Σ H_i·R_i, D]. */
  forward(e: Tensor): Tensor {
    const [B, F, D] = e.shape as [number, number, number];
    if (e.rank !== 3 || F !== this.numFields || D !== this.dim) {
      throw new Error(`FeatureGeneration: expected [B, ${this.numFields}, ${this.dim}], got [${e.shape}]`);
    }
    let x = reshape(transpose(e, [0, 2, 1]), [B * D, F, 1]); // [B·D, H, C] with one channel
    const generated: Tensor[] = [];
    this.convs.forEach((conv, i) => {
      const k = this.opts.kernelHeights[i]!,
        H = x.shape[1]!,
        p = this.opts.poolingSizes[i]!;
      let y = convRows(x, conv.weight, conv.bias, k, (k - 1) / 2); // [B·D, H, C_i]
      const bn = this.norms[i]!;
      if (bn !== null) y = bn.forward(y);
      x = maxPoolRows(activation(y, this.opts.activation), p, H % p); // [B·D, H_i, C_i]
      const flat = reshape(x, [B, D * x.shape[1]! * x.shape[2]!]);
      const r = activation(this.recombine[i]!.forward(flat), this.opts.activation);
      generated.push(reshape(r, [B, r.shape[1]! / D, D]));
    });
    return generated.length === 1 ? generated[0]! : concat(generated, 1);
  }
}
