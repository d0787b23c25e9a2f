/**
 * Fused ops of the mixture-of-experts layers (MMoE, MoE, PLE's CGC): the first layer of many
 * experts and linear gates reading one input as ONE GEMM over their concatenated weights
 * (`linearConcat`), the deeper expert layers as per-expert GEMMs over column blocks of one
 * array (`blockLinearRelu`, no stacking copies), and the softmax gate with its weighted sum of
 * expert outputs in one kernel (`gateMix`, native + TypeScript twin). The parameters stay the
 * separate per-expert / per-gate tensors of the modules (state dicts and exports unchanged);
 * the ops pack them per call and scatter the gradients back.
 */
import { Tensor, fromOp, allocFloat32, releaseFloat32 } from '../tensor.js';
import { kernels, denseKernels } from '../kernels/index.js';
import { gateMixKernels } from '../kernels/gate-mix.js';

/**
 * y = [x·W_1 + b_1 | x·W_2 + b_2 | …] for x [rows, in] and W_j [in, n_j], b_j [n_j] (or null),
 * with max(0, ·) applied to the first `reluCols` columns (experts' first layers first, linear
 * gate logits after them). One GEMM over the packed [in, Σ n_j] weights; backward: the
 * gradient masked by y > 0 on the ReLU columns, dx = dy·Wᵀ (one GEMM), dW = xᵀ·dy (one GEMM,
 * then scattered into each W_j), db_j = column sums.
 */
export function linearConcat(x: Tensor, weights: readonly Tensor[], biases: readonly (Tensor | null)[], reluCols: number): Tensor {
  if (x.rank !== 2) throw new Error(`linearConcat: expected x [rows, in], got [${x.shape}]`);
  if (weights.length === 0 || weights.length !== biases.length)
    throw new Error('linearConcat: needs one bias (or null) per weight, at least one weight');
  const rows = x.shape[0]!,
    inDim = x.shape[1]!;
  const widths = weights.map((w, j) => {
    if (w.rank !== 2 || w.shape[0] !== inDim) throw new Error(`linearConcat: weight ${j} must be [${inDim}, n], got [${w.shape}]`);
    const b = biases[j];
    if (b && (b.rank !== 1 || b.shape[0] !== w.shape[1])) throw new Error(`linearConcat: bias ${j} must be [${w.shape[1]}], got [${b.shape}]`);
    return w.shape[1]!;
  });
  const n = widths.reduce((a, b) => a + b, 0);
  if (!(Number.isInteger(reluCols) && reluCols >= 0 && reluCols <= n))
    throw new Error(`linearConcat: reluCols must be in [0, ${n}], got ${reluCols}`);
  const packed = new Float32Array(inDim * n),
    bias = new Float32Array(n);
  let off = 0;
  weights.forEach((w, j) => {
    const nj = widths[j]!,
      wd = w.data;
    for (let i = 0; i < inDim; i++) packed.set(wd.subarray(i * nj, (i + 1) * nj), i * n + off);
    const b = biases[j];
    if (b) bias.set(b.data, off);
    off += nj;
  });
  const K = kernels();
  const out = allocFloat32(rows * n);
  for (let r = 0; r < rows; r++) out.set(bias, r * n);
  K.sgemm(false, false, rows, n, inDim, 1, x.data, 0, inDim, packed, 0, n, 1, out, 0, n);
  if (reluCols > 0) {
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      for (let c = 0; c < reluCols; c++) {
        const v = out[o + c]!;
        out[o + c] = (v + Math.abs(v)) * 0.5;
      }
    }
  }
  const parents: Tensor[] = [x, ...weights, ...(biases.filter((b) => b !== null) as Tensor[])];
  return fromOp(
    out,
    [rows, n],
    parents,
    (g) => {
      let gm = g;
      if (reluCols > 0) {
        gm = allocFloat32(rows * n);
        gm.set(g);
        for (let r = 0; r < rows; r++) {
          const o = r * n;
          for (let c = 0; c < reluCols; c++) if (!(out[o + c]! > 0)) gm[o + c] = 0;
        }
      }
      if (x.requiresGrad) {
        const { grad, overwrite } = x.gradForWrite();
        K.sgemm(false, true, rows, inDim, n, 1, gm, 0, n, packed, 0, n, overwrite ? 0 : 1, grad, 0, inDim);
      }
      if (weights.some((w) => w.requiresGrad)) {
        const gw = new Float32Array(inDim * n);
        K.sgemm(true, false, inDim, n, rows, 1, x.data, 0, inDim, gm, 0, n, 0, gw, 0, n);
        let o = 0;
        weights.forEach((w, j) => {
          const nj = widths[j]!;
          if (w.requiresGrad) {
            const gd = w.gradBuffer();
            for (let i = 0; i < inDim; i++) {
              const src = i * n + o,
                dst = i * nj;
              for (let c = 0; c < nj; c++) gd[dst + c]! += gw[src + c]!;
            }
          }
          o += nj;
        });
      }
      if (biases.some((b) => b !== null && b.requiresGrad)) {
        const gb = new Float32Array(n);
        denseKernels().addColumnSums(gm, rows, n, gb);
        let o = 0;
        biases.forEach((b, j) => {
          const nj = widths[j]!;
          if (b !== null && b.requiresGrad) {
            const gd = b.gradBuffer();
            for (let c = 0; c < nj; c++) gd[c]! += gb[o + c]!;
          }
          o += nj;
        });
      }
      if (gm !== g) releaseFloat32(gm);
    },
    { releasesGrad: true },
  );
}

/**
 * Per-block fully connected layers with ReLU: block q of the input, columns
 * q·in … (q + 1)·in − 1 of h [rows, w] (w ≥ blocks·in; further columns are ignored), goes
 * through W_q [in, out], b_q [out]: y[:, q·out … (q + 1)·out − 1] = max(0, h_q·W_q + b_q),
 * y [rows, blocks·out]. Each block is one GEMM reading and writing strided column blocks
 * (no slicing or stacking copies). Backward: the gradient masked by y > 0, then per block
 * dh_q = dy_q·W_qᵀ, dW_q = h_qᵀ·dy_q, db_q = column sums.
 */
export function blockLinearRelu(h: Tensor, weights: readonly Tensor[], biases: readonly (Tensor | null)[]): Tensor {
  const blocks = weights.length;
  if (h.rank !== 2 || blocks === 0 || biases.length !== blocks)
    throw new Error('blockLinearRelu: expects h [rows, w] and one bias (or null) per weight');
  const inDim = weights[0]!.shape[0]!,
    outDim = weights[0]!.shape[1]!;
  weights.forEach((w, q) => {
    if (w.rank !== 2 || w.shape[0] !== inDim || w.shape[1] !== outDim)
      throw new Error(`blockLinearRelu: weight ${q} must be [${inDim}, ${outDim}], got [${w.shape}]`);
    const b = biases[q];
    if (b && (b.rank !== 1 || b.shape[0] !== outDim)) throw new Error(`blockLinearRelu: bias ${q} must be [${outDim}], got [${b.shape}]`);
  });
  const rows = h.shape[0]!,
    hw = h.shape[1]!,
    n = blocks * outDim;
  if (hw < blocks * inDim) throw new Error(`blockLinearRelu: h has ${hw} columns, ${blocks} blocks of ${inDim} need ${blocks * inDim}`);
  const K = kernels();
  const out = allocFloat32(rows * n);
  for (let q = 0; q < blocks; q++) {
    const b = biases[q];
    for (let r = 0; r < rows; r++) {
      if (b) out.set(b.data, r * n + q * outDim);
      else out.fill(0, r * n + q * outDim, r * n + (q + 1) * outDim);
    }
    K.sgemm(false, false, rows, outDim, inDim, 1, h.data, q * inDim, hw, weights[q]!.data, 0, outDim, 1, out, q * outDim, n);
  }
  denseKernels().relu(out, rows * n, out);
  const parents: Tensor[] = [h, ...weights, ...(biases.filter((b) => b !== null) as Tensor[])];
  return fromOp(
    out,
    [rows, n],
    parents,
    (g) => {
      const gm = allocFloat32(rows * n);
      for (let i = 0; i < rows * n; i++) gm[i] = out[i]! > 0 ? g[i]! : 0;
      const gh = h.requiresGrad ? h.gradBuffer() : null;
      const gb = biases.some((b) => b !== null && b.requiresGrad) ? new Float32Array(n) : null;
      if (gb !== null) denseKernels().addColumnSums(gm, rows, n, gb);
      for (let q = 0; q < blocks; q++) {
        const w = weights[q]!;
        if (gh !== null) K.sgemm(false, true, rows, inDim, outDim, 1, gm, q * outDim, n, w.data, 0, outDim, 1, gh, q * inDim, hw);
        if (w.requiresGrad) K.sgemm(true, false, inDim, outDim, rows, 1, h.data, q * inDim, hw, gm, q * outDim, n, 1, w.gradBuffer(), 0, outDim);
        const b = biases[q] ?? null;
        if (gb !== null && b !== null && b.requiresGrad) {
          const gd = b.gradBuffer();
          for (let c = 0; c < outDim; c++) gd[c]! += gb[q * outDim + c]!;
        }
      }
      releaseFloat32(gm);
    },
    { releasesGrad: true },
  );
}

/**
 * One softmax gate's mixture of experts: w = softmax(logits[:, loff … loff + k − 1]) per row,
 * y[r, :] = Σ_e w[r, e]·experts[r, cols[e] … cols[e] + h − 1] for logits [rows, lw] and
 * experts [rows, ew] (expert e's h outputs start at column cols[e]); y [rows, h]. Fuses the
 * gate's softmax, the broadcast product and the sum over experts (`mixExperts`'s
 * softmax → unsqueeze → mul → sum) into one kernel each way (kernels/gate-mix.ts). The
 * weights w are kept for the backward: dexperts = w·dy, dlogits = w ⊙ (d − Σ w·d) with
 * d_e = ⟨dy, expert e⟩.
 */
export function gateMix(logits: Tensor, loff: number, k: number, experts: Tensor, cols: readonly number[], h: number): Tensor {
  if (logits.rank !== 2 || experts.rank !== 2 || logits.shape[0] !== experts.shape[0])
    throw new Error(`gateMix: expects logits [rows, lw] and experts [rows, ew], got [${logits.shape}] and [${experts.shape}]`);
  const rows = logits.shape[0]!,
    lw = logits.shape[1]!,
    ew = experts.shape[1]!;
  if (!(Number.isInteger(k) && k >= 1 && Number.isInteger(loff) && loff >= 0 && loff + k <= lw))
    throw new Error(`gateMix: gate columns ${loff} … ${loff + k - 1} are outside the ${lw} logit columns`);
  if (cols.length !== k) throw new Error(`gateMix: needs ${k} expert column offsets, got ${cols.length}`);
  if (!(Number.isInteger(h) && h >= 1)) throw new Error(`gateMix: h must be a positive integer, got ${h}`);
  cols.forEach((c, e) => {
    if (!(Number.isInteger(c) && c >= 0 && c + h <= ew))
      throw new Error(`gateMix: expert ${e} at column ${c} (width ${h}) is outside the ${ew} expert columns`);
  });
  const colArr = Int32Array.from(cols);
  const K = gateMixKernels();
  const w = new Float32Array(rows * k);
  const out = allocFloat32(rows * h);
  K.forward(logits.data, rows, lw, loff, k, experts.data, ew, colArr, h, w, out);
  return fromOp(
    out,
    [rows, h],
    [logits, experts],
    (g) => {
      K.backward(
        g,
        w,
        rows,
        k,
        h,
        experts.data,
        ew,
        colArr,
        experts.requiresGrad ? experts.gradBuffer() : null,
        lw,
        loff,
        logits.requiresGrad ? logits.gradBuffer() : null,
      );
    },
    { releasesGrad: true },
  );
}
