// Dense kernels of the finerank addon: fused loops called from TypeScript, each with a
// TypeScript twin (src/engine/kernels/typescript.ts) used when the addon is absent.
// Registered by Init in finerank.cc.
//
// Exports (see DenseKernels in src/engine/kernels/types.ts for the full contracts; every
// function writes only into typed arrays the caller allocated; "drop" stands for the three
// arguments (seed, threshold, dropScale) of a dropout mask, described below):
//   bnStats(x, rows, c, out64)
//       out64[j] = batch mean, out64[c + j] = biased batch variance of channel j of the
//       row-major [rows, c] x (float64 sums of x − x[0, j], the first row as a shift).
//   bnForward(x, rows, c, mean, scale, shift, relu, drop, out)
//       y = (x − mean)·scale + shift per channel, then max(0, y) as (y + |y|)/2 if relu,
//       rounded to float, then times the dropout factor: out = float(y)·factor(i).
//   bnGradSums(g, mask, x, mean, invStd, rows, c, drop, out64)
//       out64[j] = Σ gv, out64[c + j] = invStd·Σ gv·(x − mean), with
//       gv = float(g·factor(i))·[mask bits > 0] (mask: the forward result, or null).
//   bnInputGrad(g, mask, x, mean, scale, k, b, rows, c, drop, accumulate, gx)
//       gx (+)= gv·scale − k·(x − mean) − b per channel.
//   dropoutForward(x, n, seed, threshold, scale, out)       out[i] = x[i]·factor(i)
//   dropoutBackward(g, n, seed, threshold, scale, accumulate, gx)   gx[i] (+)= g[i]·factor(i)
//   addColumnSums(g, rows, c, out)
//       out[j] += Σ_i g[i, j] (float64 sum, one rounding).
//   copyRows(src, srcOffset, srcStride, rows, n, dst, dstOffset, dstStride)
//       dst[dstOffset + r·dstStride + j] = src[srcOffset + r·srcStride + j], r < rows, j < n
//       (one memcpy per row; src and dst must not overlap).
//   fillRows(row, rows, n, out)                              out[r·n + j] = row[j], r < rows, j < n
//       (the bias rows of a linear layer before its GEMM; one memcpy per row from a row in L1).
//   adamUpdate(w, g, m, v, n, b1, b2, a, e, l2)
//       dense Adam step in double, one rounding per store: gi = g + l2·w; m = b1·m + (1−b1)·gi;
//       v = b2·v + (1−b2)·gi·gi; w = w − a·m/(√v + e) (m, v unrounded in the w update).
//   relu(x, n, out)                                          out[i] = (x[i] + |x[i]|)/2 (out may be x)
//   reluBackward(x, g, n, accumulate, gx)                    gx[i] (+)= x[i] > 0 ? g[i] : 0
//   reluBackwardColumnSums(x, g, rows, c, gx, out)
//       gx[i, j] = x[i, j] > 0 ? g[i, j] : 0 (gx may be g itself: in place), and out[j] += Σ_i gx[i, j]
//       (float64 sums, one rounding): reluBackward then addColumnSums in one pass (a fused
//       linear + ReLU layer's backward before its GEMMs).
//   fmSecondOrder(x, rows, fields, dim, out, s[, xStride])
//       s[b, d] = Σ_f x[b, f, d] (float sums in field order), out[b] = ½(Σ_d s² − Σ_d Σ_f x²)
//       (double sums: the squares per coordinate over the fields, then over d; one rounding).
//       Row b of x starts at b·xStride (default fields·dim; larger: the fields are the first
//       fields·dim values of each row of a wider array, e.g. an MLP's input rows).
//   fmSecondOrderBackward(x, s, g, rows, fields, dim, accumulate, gx[, xStride])
//       gx[b, f, d] (+)= g[b]·(s[b, d] − x[b, f, d]) in double, one rounding; rows with
//       g[b] = 0 are skipped (left unchanged, or +0 when overwriting).
//
// Dropout mask: factor(i) = scale (a float) when mix(mix(i ⊕ seed) + mix(seed ⊕ 0x9e3779b9))
// ≥ threshold, else 0, for the flat (row-major) index i; mix is the lowbias32 integer hash.
// threshold 0 with scale 1 means no dropout; threshold 2^32 keeps nothing. With
// accumulate false, gx is overwritten (a fresh gradient) instead of added to.

// Exactness: the TypeScript twins compute in float64 and round to float32 on every store;
// these kernels do the same operations in the same order in double, so native and TypeScript
// results agree bit for bit (tests check it). That needs no fused multiply-add contraction:
// binding.gyp passes -ffp-contract=off, and for clang the pragma below turns it off.
//
// Speed: the loops are written so that GCC vectorizes them (over channels, or over
// elements); on x86-64 Linux each kernel is compiled twice, for AVX2 and for the baseline,
// and the loader picks one at run time (target_clones), so the addon still runs on any
// x86-64 machine. Both versions give the same bits (IEEE operations, no contraction).

#include "dense.h"
#include "napi-args.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_CLONES
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FR_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define FR_ALWAYS_INLINE inline
#endif

namespace finerank_dense {

// ---------------------------------------------------------------------------------------
// The dropout mask's counter-based generator: keep(i) = Mix(Mix(i ^ seed) + Mix(seed ^ φ))
// ≥ threshold. Mix is the "lowbias32" integer hash (a bijection of uint32); keyed twice so
// that masks of different seeds are not shifts of one another. Mirrored in typescript.ts.

inline uint32_t Mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// A dropout mask (see the header comment): factor(i) = keep(i) ? scale : 0 as a float.
// threshold 0 with scale 1 is "no dropout" (every factor 1, skipped by the loops: the
// same values); threshold 2^32 keeps nothing (every factor 0).
struct Drop {
  uint32_t seed, k2, t;
  float s;
  bool active;
  Drop(uint32_t seed_, uint64_t threshold, float scale) : seed(seed_), k2(Mix(seed_ ^ 0x9e3779b9U)) {
    const bool none = threshold > 0xffffffffULL;
    t = none ? 0U : static_cast<uint32_t>(threshold);
    s = none ? 0.0f : scale;
    active = none || threshold != 0 || scale != 1.0f;
  }
  inline float Factor(int64_t i) const {
    const uint32_t h = Mix(Mix(static_cast<uint32_t>(i) ^ seed) + k2);
    return h >= t ? s : 0.0f;
  }
};

// f[q] = drop.Factor(base + q) for q < count. A loop of its own (pure 32-bit integer
// work, vectorized 8-wide with AVX2); the arithmetic loops then read the factors from L1.
FR_ALWAYS_INLINE void FillFactors(const Drop drop, int64_t base, int64_t count, float* __restrict f) {
  const uint32_t seed = drop.seed, k2 = drop.k2, t = drop.t;
  const float s = drop.s;
  const uint32_t b = static_cast<uint32_t>(base);
  for (int64_t q = 0; q < count; q++) {
    const uint32_t h = Mix(Mix((b + static_cast<uint32_t>(q)) ^ seed) + k2);
    f[q] = h >= t ? s : 0.0f;
  }
}

// Elements per chunk of the flat dropout kernels (the factors of a chunk stay in L1).
constexpr int64_t kDropChunk = 1024;

// 1.0 where the float's bits are a positive int32 (a positive number or NaN), else 0.0 —
// TypeScript's ((−bits) >>> 31) on a relu result (+0 or positive, possibly scaled by a
// dropout factor ≥ 0).
inline double MaskOf(const float* m, int64_t i) {
  uint32_t bits;
  std::memcpy(&bits, m + i, sizeof bits);
  return static_cast<double>((0u - bits) >> 31);
}

// ---------------------------------------------------------------------------------------
// Kernels (pure loops; arguments already validated). Loop variants are template
// parameters so that each inner loop is branch-free and vectorizes.

FR_CLONES
void BnStats(const float* __restrict x, int64_t rows, int64_t c, double* __restrict out, double* __restrict shift) {
  double* __restrict s1 = out;
  double* __restrict s2 = out + c;
  for (int64_t j = 0; j < c; j++) {
    shift[j] = x[j];
    s1[j] = 0;
    s2[j] = 0;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict row = x + i * c;
    for (int64_t j = 0; j < c; j++) {
      const double d = static_cast<double>(row[j]) - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
  const double n = static_cast<double>(rows);
  for (int64_t j = 0; j < c; j++) {
    const double md = s1[j] / n;
    const double m = shift[j] + md;
    double v = s2[j] / n - md * md;
    if (v < 0 || v == 0) v = 0;  // clamps negatives and −0, keeps NaN
    s1[j] = m;
    s2[j] = v;
  }
}

template <bool kRelu, bool kDrop>
inline void BnForwardRows(const float* __restrict x, int64_t rows, int64_t c, const float* __restrict mean,
                          const float* __restrict scale, const float* __restrict shift, const Drop drop,
                          float* __restrict fr, float* __restrict out) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict xr = x + i * c;
    float* __restrict o = out + i * c;
    if (kDrop) FillFactors(drop, i * c, c, fr);
    for (int64_t j = 0; j < c; j++) {
      double y = (static_cast<double>(xr[j]) - static_cast<double>(mean[j])) * static_cast<double>(scale[j]) +
                 static_cast<double>(shift[j]);
      if (kRelu) y = 0.5 * (y + std::fabs(y));
      const float v = static_cast<float>(y);
      o[j] = kDrop ? v * fr[j] : v;
    }
  }
}

FR_CLONES
void BnForward(const float* __restrict x, int64_t rows, int64_t c, const float* __restrict mean,
               const float* __restrict scale, const float* __restrict shift, bool relu, const Drop drop,
               float* __restrict fr, float* __restrict out) {
  if (relu) {
    if (drop.active) BnForwardRows<true, true>(x, rows, c, mean, scale, shift, drop, fr, out);
    else BnForwardRows<true, false>(x, rows, c, mean, scale, shift, drop, fr, out);
  } else {
    if (drop.active) BnForwardRows<false, true>(x, rows, c, mean, scale, shift, drop, fr, out);
    else BnForwardRows<false, false>(x, rows, c, mean, scale, shift, drop, fr, out);
  }
}

// The gradient reaching the batch-norm output: gv = float(g·factor) · mask (see header).
template <bool kMask, bool kDrop>
inline double GradIn(const float* __restrict gr, const float* __restrict mr, const float* __restrict fr, int64_t j) {
  double gv = kDrop ? static_cast<double>(gr[j] * fr[j]) : static_cast<double>(gr[j]);
  if (kMask) gv *= MaskOf(mr, j);
  return gv;
}

template <bool kMask, bool kDrop>
inline void BnGradSumsRows(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                           const float* __restrict mean, int64_t rows, int64_t c, const Drop drop,
                           float* __restrict fr, double* __restrict sg, double* __restrict sgx) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict gr = g + i * c;
    const float* __restrict xr = x + i * c;
    const float* __restrict mr = kMask ? mask + i * c : nullptr;
    if (kDrop) FillFactors(drop, i * c, c, fr);
    for (int64_t j = 0; j < c; j++) {
      const double gv = GradIn<kMask, kDrop>(gr, mr, fr, j);
      sg[j] += gv;
      sgx[j] += gv * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]));
    }
  }
}

FR_CLONES
void BnGradSums(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                const float* __restrict mean, const float* __restrict invStd, int64_t rows, int64_t c,
                const Drop drop, float* __restrict fr, double* __restrict out) {
  double* __restrict sg = out;
  double* __restrict sgx = out + c;
  for (int64_t j = 0; j < c; j++) {
    sg[j] = 0;
    sgx[j] = 0;
  }
  if (mask != nullptr) {
    if (drop.active) BnGradSumsRows<true, true>(g, mask, x, mean, rows, c, drop, fr, sg, sgx);
    else BnGradSumsRows<true, false>(g, mask, x, mean, rows, c, drop, fr, sg, sgx);
  } else {
    if (drop.active) BnGradSumsRows<false, true>(g, mask, x, mean, rows, c, drop, fr, sg, sgx);
    else BnGradSumsRows<false, false>(g, mask, x, mean, rows, c, drop, fr, sg, sgx);
  }
  for (int64_t j = 0; j < c; j++) sgx[j] *= static_cast<double>(invStd[j]);
}

template <bool kMask, bool kDrop, bool kAcc>
inline void BnInputGradRows(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                            const float* __restrict mean, const float* __restrict scale, const float* __restrict k,
                            const float* __restrict b, int64_t rows, int64_t c, const Drop drop,
                            float* __restrict fr, float* __restrict gx) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict gr = g + i * c;
    const float* __restrict xr = x + i * c;
    const float* __restrict mr = kMask ? mask + i * c : nullptr;
    float* __restrict o = gx + i * c;
    if (kDrop) FillFactors(drop, i * c, c, fr);
    for (int64_t j = 0; j < c; j++) {
      const double gv = GradIn<kMask, kDrop>(gr, mr, fr, j);
      const double d = (gv * static_cast<double>(scale[j]) -
                        static_cast<double>(k[j]) * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]))) -
                       static_cast<double>(b[j]);
      o[j] = kAcc ? static_cast<float>(static_cast<double>(o[j]) + d) : static_cast<float>(d);
    }
  }
}

FR_CLONES
void BnInputGrad(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                 const float* __restrict mean, const float* __restrict scale, const float* __restrict k,
                 const float* __restrict b, int64_t rows, int64_t c, const Drop drop, bool accumulate,
                 float* __restrict fr, float* __restrict gx) {
#define FR_BN_INPUT_GRAD(M, D, A) BnInputGradRows<M, D, A>(g, mask, x, mean, scale, k, b, rows, c, drop, fr, gx)
  const bool m = mask != nullptr, d = drop.active;
  if (accumulate) {
    if (m && d) FR_BN_INPUT_GRAD(true, true, true);
    else if (m) FR_BN_INPUT_GRAD(true, false, true);
    else if (d) FR_BN_INPUT_GRAD(false, true, true);
    else FR_BN_INPUT_GRAD(false, false, true);
  } else {
    if (m && d) FR_BN_INPUT_GRAD(true, true, false);
    else if (m) FR_BN_INPUT_GRAD(true, false, false);
    else if (d) FR_BN_INPUT_GRAD(false, true, false);
    else FR_BN_INPUT_GRAD(false, false, false);
  }
#undef FR_BN_INPUT_GRAD
}

FR_CLONES
void DropoutForward(const float* __restrict x, int64_t n, const Drop drop, float* __restrict out) {
  // float·float rounds like TypeScript's float64 product rounded to float32 (the exact
  // product of two floats fits a double).
  float f[kDropChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kDropChunk) {
    const int64_t len = n - i0 < kDropChunk ? n - i0 : kDropChunk;
    FillFactors(drop, i0, len, f);
    const float* __restrict xr = x + i0;
    float* __restrict o = out + i0;
    for (int64_t q = 0; q < len; q++) o[q] = xr[q] * f[q];
  }
}

FR_CLONES
void DropoutBackward(const float* __restrict g, int64_t n, const Drop drop, bool accumulate, float* __restrict gx) {
  float f[kDropChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kDropChunk) {
    const int64_t len = n - i0 < kDropChunk ? n - i0 : kDropChunk;
    FillFactors(drop, i0, len, f);
    const float* __restrict gr = g + i0;
    float* __restrict o = gx + i0;
    if (accumulate) {
      for (int64_t q = 0; q < len; q++) {
        o[q] = static_cast<float>(static_cast<double>(o[q]) + static_cast<double>(gr[q]) * static_cast<double>(f[q]));
      }
    } else {
      for (int64_t q = 0; q < len; q++) o[q] = gr[q] * f[q];
    }
  }
}

// out[i] = (x[i] + |x[i]|)/2: x + |x| is 2x or 0 exactly in float (below FLT_MAX/2), so
// this equals the TypeScript twin's double arithmetic; out may alias x (no __restrict).
FR_CLONES
void Relu(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    out[i] = (v + std::fabs(v)) * 0.5f;
  }
}

// The relu gradient as a select (torch's threshold_backward): masked positions get exactly
// +0 (or leave gx unchanged), whatever g holds; x is the relu's input or its output (the
// same mask). A select, not a branch: compilers vectorize it (a branch on mixed signs
// mispredicts half the time).
FR_CLONES
void ReluBackward(const float* __restrict x, const float* __restrict g, int64_t n, bool accumulate, float* __restrict gx) {
  if (accumulate) {
    for (int64_t i = 0; i < n; i++) gx[i] += x[i] > 0.0f ? g[i] : 0.0f;
  } else {
    for (int64_t i = 0; i < n; i++) gx[i] = x[i] > 0.0f ? g[i] : 0.0f;
  }
}

// FM second order over [rows, fields, dim] x. The same operations in the same order as the
// TypeScript twin (float sums for s; the squares summed in double per coordinate over the
// fields, then over the coordinates), so the bits agree. Per-coordinate sums are dim
// independent chains the compiler vectorises; one running sum over fields and coordinates
// was a single dependent chain of fields·dim double adds per row (latency-bound).
FR_CLONES
void FmSecondOrder(const float* __restrict x, int64_t rows, int64_t fields, int64_t dim, int64_t xStride, float* __restrict out,
                   float* __restrict s) {
  std::vector<double> qv(static_cast<size_t>(dim));
  double* __restrict q = qv.data();
  for (int64_t b = 0; b < rows; b++) {
    const float* xb = x + b * xStride;
    float* sb = s + b * dim;
    for (int64_t d = 0; d < dim; d++) sb[d] = 0.0f;
    for (int64_t d = 0; d < dim; d++) q[d] = 0.0;
    for (int64_t f = 0; f < fields; f++) {
      const float* o = xb + f * dim;
      for (int64_t d = 0; d < dim; d++) sb[d] += o[d];
      for (int64_t d = 0; d < dim; d++) q[d] += static_cast<double>(o[d]) * static_cast<double>(o[d]);
    }
    double sq = 0;
    for (int64_t d = 0; d < dim; d++) sq += q[d];
    double ss = 0;
    for (int64_t d = 0; d < dim; d++) ss += static_cast<double>(sb[d]) * static_cast<double>(sb[d]);
    out[b] = static_cast<float>(0.5 * (ss - sq));
  }
}

FR_CLONES
void FmSecondOrderBackward(const float* __restrict x, const float* __restrict s, const float* __restrict g, int64_t rows,
                           int64_t fields, int64_t dim, bool accumulate, float* __restrict gx, int64_t xStride) {
  const int64_t row = fields * dim;
  for (int64_t b = 0; b < rows; b++) {
    const double gb = g[b];
    float* o = gx + b * xStride;
    if (gb == 0) {
      if (!accumulate)
        for (int64_t i = 0; i < row; i++) o[i] = 0.0f;
      continue;
    }
    const float* xb = x + b * xStride;
    const float* sb = s + b * dim;
    for (int64_t f = 0; f < fields; f++) {
      const float* xf = xb + f * dim;
      float* of = o + f * dim;
      if (accumulate) {
        for (int64_t d = 0; d < dim; d++)
          of[d] = static_cast<float>(static_cast<double>(of[d]) + gb * (static_cast<double>(sb[d]) - static_cast<double>(xf[d])));
      } else {
        for (int64_t d = 0; d < dim; d++) of[d] = static_cast<float>(gb * (static_cast<double>(sb[d]) - static_cast<double>(xf[d])));
      }
    }
  }
}

FR_CLONES
void AddColumnSums(const float* __restrict g, int64_t rows, int64_t c, float* __restrict out, double* __restrict acc) {
  for (int64_t j = 0; j < c; j++) acc[j] = 0;
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict gr = g + i * c;
    for (int64_t j = 0; j < c; j++) acc[j] += static_cast<double>(gr[j]);
  }
  for (int64_t j = 0; j < c; j++) out[j] = static_cast<float>(static_cast<double>(out[j]) + acc[j]);
}

// reluBackward (overwrite) and addColumnSums over its result in one pass over [rows, c]: the
// same selects and the same double sums in the same row order, so the bits equal the two
// kernels run one after the other. kInPlace: gx is g (the masked gradient overwrites it).
template <bool kInPlace>
FR_ALWAYS_INLINE void ReluBackwardColumnSumsT(const float* __restrict x, const float* __restrict g, int64_t rows, int64_t c,
                                              float* __restrict gx, float* __restrict out, double* __restrict acc) {
  for (int64_t j = 0; j < c; j++) acc[j] = 0;
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict xr = x + i * c;
    float* __restrict o = gx + i * c;
    // Two loops over the row (it stays in L1 between them): each vectorises as its own kernel
    // does; one loop mixing the float select and the double sums did not (7× slower).
    if (kInPlace) {
      for (int64_t j = 0; j < c; j++) o[j] = xr[j] > 0.0f ? o[j] : 0.0f;
    } else {
      const float* __restrict gr = g + i * c;
      for (int64_t j = 0; j < c; j++) o[j] = xr[j] > 0.0f ? gr[j] : 0.0f;
    }
    for (int64_t j = 0; j < c; j++) acc[j] += static_cast<double>(o[j]);
  }
  for (int64_t j = 0; j < c; j++) out[j] = static_cast<float>(static_cast<double>(out[j]) + acc[j]);
}

FR_CLONES
void ReluBackwardColumnSumsInPlace(const float* x, float* g, int64_t rows, int64_t c, float* out, double* acc) {
  ReluBackwardColumnSumsT<true>(x, nullptr, rows, c, g, out, acc);
}

FR_CLONES
void ReluBackwardColumnSums(const float* x, const float* g, int64_t rows, int64_t c, float* gx, float* out, double* acc) {
  ReluBackwardColumnSumsT<false>(x, g, rows, c, gx, out, acc);
}

// The dense Adam step of src/train/optim.ts (AdamBase.adamUpdate), the same double operations
// in the same order as the TypeScript twin, so the bits agree; pairs of elements in SSE2
// registers (sqrt and division dominate; -O3 alone keeps them scalar because of errno).
void AdamUpdate(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
                double b1, double b2, double a, double e, double l2) {
  const double c1 = 1 - b1, c2 = 1 - b2;
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128d B1 = _mm_set1_pd(b1), C1 = _mm_set1_pd(c1), B2 = _mm_set1_pd(b2), C2 = _mm_set1_pd(c2);
  const __m128d A = _mm_set1_pd(a), E = _mm_set1_pd(e), L2 = _mm_set1_pd(l2);
  auto load2 = [](const float* p) { return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))); };
  auto store2 = [](float* p, __m128d x) { _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(_mm_cvtpd_ps(x))); };
  for (; i + 2 <= n; i += 2) {
    const __m128d wi = load2(w + i);
    const __m128d gi = _mm_add_pd(load2(g + i), _mm_mul_pd(L2, wi));
    const __m128d mi = _mm_add_pd(_mm_mul_pd(B1, load2(m + i)), _mm_mul_pd(C1, gi));
    const __m128d vi = _mm_add_pd(_mm_mul_pd(B2, load2(v + i)), _mm_mul_pd(_mm_mul_pd(C2, gi), gi));
    store2(m + i, mi);
    store2(v + i, vi);
    store2(w + i, _mm_sub_pd(wi, _mm_div_pd(_mm_mul_pd(A, mi), _mm_add_pd(_mm_sqrt_pd(vi), E))));
  }
#endif
  for (; i < n; i++) {
    const double wi = w[i];
    const double gi = static_cast<double>(g[i]) + l2 * wi;
    const double mi = b1 * static_cast<double>(m[i]) + c1 * gi;
    const double vi = b2 * static_cast<double>(v[i]) + c2 * gi * gi;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    w[i] = static_cast<float>(wi - a * mi / (std::sqrt(vi) + e));
  }
}

}  // namespace finerank_dense

namespace {

using namespace finerank_dense;

using namespace finerank_napi;

// ---------------------------------------------------------------------------------------
// Argument handling: plain Node-API calls (these functions run tens of times per step);
// every error is a JS exception whose message starts with the kernel's name.



// A typed array of the wanted type holding at least `need` elements.
template <typename T>
bool GetArray(napi_env env, const char* fn, napi_value v, const char* name, napi_typedarray_type want,
              const char* typeName, int64_t need, T** data) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != want) {
    Throw(env, fn, 'T', std::string(name) + " must be a " + typeName);
    return false;
  }
  if (static_cast<int64_t>(len) < need) {
    Throw(env, fn, 'R', std::string(name) + " has " + std::to_string(len) + " elements, needs at least " +
                            std::to_string(need));
    return false;
  }
  *data = static_cast<T*>(ptr);
  return true;
}

bool GetF32(napi_env env, const char* fn, napi_value v, const char* name, int64_t need, float** data) {
  return GetArray(env, fn, v, name, napi_float32_array, "Float32Array", need, data);
}

bool GetF64(napi_env env, const char* fn, napi_value v, const char* name, int64_t need, double** data) {
  return GetArray(env, fn, v, name, napi_float64_array, "Float64Array", need, data);
}

// A Float32Array of at least `need` elements, or null / undefined (data = nullptr).
bool GetOptF32(napi_env env, const char* fn, napi_value v, const char* name, int64_t need, float** data) {
  if (IsNullish(env, v)) {
    *data = nullptr;
    return true;
  }
  return GetF32(env, fn, v, name, need, data);
}

// A number as JavaScript prints it for the values that matter here (integers, short decimals).
std::string Num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// An integer in [lo, hi] (seeds, thresholds).
bool GetInteger(napi_env env, const char* fn, napi_value v, const char* name, double lo, double hi, double* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= lo && d <= hi) || d != std::floor(d)) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [" + Num(lo) + ", " + Num(hi) + "], got " + Num(d));
    return false;
  }
  *out = d;
  return true;
}

bool GetNumber(napi_env env, const char* fn, napi_value v, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  return true;
}

bool GetBool(napi_env env, const char* fn, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a boolean");
    return false;
  }
  return true;
}

// rows·c as the element count of a [rows, c] matrix (both < 2^31, so no overflow in int64).
int64_t Count(int64_t rows, int64_t c) { return rows * c; }

// ---------------------------------------------------------------------------------------
// Bindings.

// bnStats(x, rows, c, out64)
napi_value JsBnStats(napi_env env, napi_callback_info info) {
  const char* fn = "bnStats";
  napi_value a[4];
  if (!GetArgs(env, info, fn, 4, a)) return nullptr;
  int64_t rows, c;
  float* x;
  double* out;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "c", &c)) return nullptr;
  if (rows < 1) return Throw(env, fn, 'R', "rows must be at least 1");
  if (!GetF32(env, fn, a[0], "x", Count(rows, c), &x) || !GetF64(env, fn, a[3], "out", 2 * c, &out)) return nullptr;
  std::vector<double> shift(static_cast<size_t>(c));
  BnStats(x, rows, c, out, shift.data());
  return nullptr;
}

// Reads a dropout mask's (seed, threshold, scale) arguments.
bool GetDrop(napi_env env, const char* fn, napi_value* a, uint32_t* seed, uint64_t* threshold, float* scale) {
  double s, t, f;
  if (!GetInteger(env, fn, a[0], "seed", 0, 4294967295.0, &s) ||
      !GetInteger(env, fn, a[1], "threshold", 0, 4294967296.0, &t) || !GetNumber(env, fn, a[2], "scale", &f)) {
    return false;
  }
  *seed = static_cast<uint32_t>(s);
  *threshold = static_cast<uint64_t>(t);
  *scale = static_cast<float>(f);
  return true;
}

// bnForward(x, rows, c, mean, scale, shift, relu, seed, threshold, dropScale, out)
napi_value JsBnForward(napi_env env, napi_callback_info info) {
  const char* fn = "bnForward";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t rows, c;
  float *x, *mean, *scale, *shift, *out;
  bool relu;
  uint32_t seed;
  uint64_t threshold;
  float dropScale;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "scale", c, &scale) || !GetF32(env, fn, a[5], "shift", c, &shift) ||
      !GetBool(env, fn, a[6], "relu", &relu) || !GetDrop(env, fn, a + 7, &seed, &threshold, &dropScale) ||
      !GetF32(env, fn, a[10], "out", n, &out)) {
    return nullptr;
  }
  std::vector<float> fr(static_cast<size_t>(c));
  BnForward(x, rows, c, mean, scale, shift, relu, Drop(seed, threshold, dropScale), fr.data(), out);
  return nullptr;
}

// bnGradSums(g, mask, x, mean, invStd, rows, c, seed, threshold, dropScale, out64)
napi_value JsBnGradSums(napi_env env, napi_callback_info info) {
  const char* fn = "bnGradSums";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t rows, c;
  float *g, *mask, *x, *mean, *invStd;
  double* out;
  uint32_t seed;
  uint64_t threshold;
  float dropScale;
  if (!GetSize(env, fn, a[5], "rows", &rows) || !GetSize(env, fn, a[6], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetOptF32(env, fn, a[1], "mask", n, &mask) ||
      !GetF32(env, fn, a[2], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "invStd", c, &invStd) || !GetDrop(env, fn, a + 7, &seed, &threshold, &dropScale) ||
      !GetF64(env, fn, a[10], "out", 2 * c, &out)) {
    return nullptr;
  }
  std::vector<float> fr(static_cast<size_t>(c));
  BnGradSums(g, mask, x, mean, invStd, rows, c, Drop(seed, threshold, dropScale), fr.data(), out);
  return nullptr;
}

// bnInputGrad(g, mask, x, mean, scale, k, b, rows, c, seed, threshold, dropScale, accumulate, gx)
napi_value JsBnInputGrad(napi_env env, napi_callback_info info) {
  const char* fn = "bnInputGrad";
  napi_value a[14];
  if (!GetArgs(env, info, fn, 14, a)) return nullptr;
  int64_t rows, c;
  float *g, *mask, *x, *mean, *scale, *k, *b, *gx;
  uint32_t seed;
  uint64_t threshold;
  float dropScale;
  bool accumulate;
  if (!GetSize(env, fn, a[7], "rows", &rows) || !GetSize(env, fn, a[8], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetOptF32(env, fn, a[1], "mask", n, &mask) ||
      !GetF32(env, fn, a[2], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "scale", c, &scale) || !GetF32(env, fn, a[5], "k", c, &k) ||
      !GetF32(env, fn, a[6], "b", c, &b) || !GetDrop(env, fn, a + 9, &seed, &threshold, &dropScale) ||
      !GetBool(env, fn, a[12], "accumulate", &accumulate) || !GetF32(env, fn, a[13], "gx", n, &gx)) {
    return nullptr;
  }
  if (n > 0 && (gx == g || gx == x || gx == mask)) return Throw(env, fn, 'E', "gx must not alias an input");
  std::vector<float> fr(static_cast<size_t>(c));
  BnInputGrad(g, mask, x, mean, scale, k, b, rows, c, Drop(seed, threshold, dropScale), accumulate, fr.data(), gx);
  return nullptr;
}

// dropoutForward(x, n, seed, threshold, scale, out)
napi_value JsDropoutForward(napi_env env, napi_callback_info info) {
  const char* fn = "dropoutForward";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  int64_t n;
  uint32_t seed;
  uint64_t threshold;
  float scale;
  float *x, *out;
  if (!GetSize(env, fn, a[1], "n", &n) || !GetDrop(env, fn, a + 2, &seed, &threshold, &scale)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[5], "out", n, &out)) return nullptr;
  DropoutForward(x, n, Drop(seed, threshold, scale), out);
  return nullptr;
}

// dropoutBackward(g, n, seed, threshold, scale, accumulate, gx)
napi_value JsDropoutBackward(napi_env env, napi_callback_info info) {
  const char* fn = "dropoutBackward";
  napi_value a[7];
  if (!GetArgs(env, info, fn, 7, a)) return nullptr;
  int64_t n;
  uint32_t seed;
  uint64_t threshold;
  float scale;
  bool accumulate;
  float *g, *gx;
  if (!GetSize(env, fn, a[1], "n", &n) || !GetDrop(env, fn, a + 2, &seed, &threshold, &scale) ||
      !GetBool(env, fn, a[5], "accumulate", &accumulate)) {
    return nullptr;
  }
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetF32(env, fn, a[6], "gx", n, &gx)) return nullptr;
  if (n > 0 && gx == g) return Throw(env, fn, 'E', "gx must not alias g");
  DropoutBackward(g, n, Drop(seed, threshold, scale), accumulate, gx);
  return nullptr;
}

// copyRows(src, srcOffset, srcStride, rows, n, dst, dstOffset, dstStride)
napi_value JsCopyRows(napi_env env, napi_callback_info info) {
  const char* fn = "copyRows";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t so, ss, rows, n, dof, ds;
  if (!GetSize(env, fn, a[1], "srcOffset", &so) || !GetSize(env, fn, a[2], "srcStride", &ss) ||
      !GetSize(env, fn, a[3], "rows", &rows) || !GetSize(env, fn, a[4], "n", &n) ||
      !GetSize(env, fn, a[6], "dstOffset", &dof) || !GetSize(env, fn, a[7], "dstStride", &ds))
    return nullptr;
  const bool empty = rows == 0 || n == 0;
  float *src, *dst;
  if (!GetF32(env, fn, a[0], "src", empty ? 0 : so + (rows - 1) * ss + n, &src) ||
      !GetF32(env, fn, a[5], "dst", empty ? 0 : dof + (rows - 1) * ds + n, &dst))
    return nullptr;
  if (empty) return nullptr;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + dof + r * ds, src + so + r * ss, bytes);
  return nullptr;
}

// fillRows(row, rows, n, out)
napi_value JsFillRows(napi_env env, napi_callback_info info) {
  const char* fn = "fillRows";
  napi_value a[4];
  if (!GetArgs(env, info, fn, 4, a)) return nullptr;
  int64_t rows, n;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "n", &n)) return nullptr;
  float *row, *out;
  if (!GetF32(env, fn, a[0], "row", n, &row) || !GetF32(env, fn, a[3], "out", Count(rows, n), &out)) return nullptr;
  if (rows == 0 || n == 0) return nullptr;
  if (out < row + n && row < out + rows * n) return Throw(env, fn, 'E', "out must not overlap row");
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  for (int64_t r = 0; r < rows; r++) std::memcpy(out + r * n, row, bytes);
  return nullptr;
}

// adamUpdate(w, g, m, v, n, b1, b2, a, e, l2)
napi_value JsAdamUpdate(napi_env env, napi_callback_info info) {
  const char* fn = "adamUpdate";
  napi_value a[10];
  if (!GetArgs(env, info, fn, 10, a)) return nullptr;
  int64_t n;
  if (!GetSize(env, fn, a[4], "n", &n)) return nullptr;
  float *w, *g, *m, *v;
  if (!GetF32(env, fn, a[0], "w", n, &w) || !GetF32(env, fn, a[1], "g", n, &g) || !GetF32(env, fn, a[2], "m", n, &m) ||
      !GetF32(env, fn, a[3], "v", n, &v))
    return nullptr;
  double h[5];
  const char* names[5] = {"b1", "b2", "a", "e", "l2"};
  for (int k = 0; k < 5; k++) {
    if (napi_get_value_double(env, a[5 + k], &h[k]) != napi_ok) return Throw(env, fn, 'T', std::string(names[k]) + " must be a number");
  }
  if (n > 0 && (w == g || w == m || w == v || g == m || g == v || m == v)) return Throw(env, fn, 'E', "w, g, m and v must be distinct arrays");
  AdamUpdate(w, g, m, v, n, h[0], h[1], h[2], h[3], h[4]);
  return nullptr;
}

// relu(x, n, out)
napi_value JsRelu(napi_env env, napi_callback_info info) {
  const char* fn = "relu";
  napi_value a[3];
  if (!GetArgs(env, info, fn, 3, a)) return nullptr;
  int64_t n;
  float *x, *out;
  if (!GetSize(env, fn, a[1], "n", &n)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[2], "out", n, &out)) return nullptr;
  Relu(x, n, out);
  return nullptr;
}

// reluBackward(x, g, n, accumulate, gx)
napi_value JsReluBackward(napi_env env, napi_callback_info info) {
  const char* fn = "reluBackward";
  napi_value a[5];
  if (!GetArgs(env, info, fn, 5, a)) return nullptr;
  int64_t n;
  bool accumulate;
  float *x, *g, *gx;
  if (!GetSize(env, fn, a[2], "n", &n) || !GetBool(env, fn, a[3], "accumulate", &accumulate)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[1], "g", n, &g) || !GetF32(env, fn, a[4], "gx", n, &gx)) return nullptr;
  if (n > 0 && (gx == g || gx == x)) return Throw(env, fn, 'E', "gx must not alias an input");
  ReluBackward(x, g, n, accumulate, gx);
  return nullptr;
}

// Reads the optional row stride of x (and gx) at a[i] when i < argc: at least fields·dim;
// fields·dim (contiguous rows) when absent. *extent = the elements rows of that stride span.
bool GetRowStride(napi_env env, const char* fn, napi_value* a, size_t i, size_t argc, int64_t rows, int64_t row, int64_t* stride,
                  int64_t* extent) {
  *stride = row;
  if (i < argc && !GetSize(env, fn, a[i], "xStride", stride)) return false;
  if (*stride < row) {
    Throw(env, fn, 'R', "xStride must be at least fields·dim = " + std::to_string(row) + ", got " + std::to_string(*stride));
    return false;
  }
  *extent = rows == 0 || row == 0 ? 0 : Count(rows - 1, *stride) + row;
  return true;
}

// fmSecondOrder(x, rows, fields, dim, out, s[, xStride])
napi_value JsFmSecondOrder(napi_env env, napi_callback_info info) {
  const char* fn = "fmSecondOrder";
  napi_value a[7];
  size_t argc;
  if (!GetArgsBetween(env, info, fn, 6, 7, a, &argc)) return nullptr;
  int64_t rows, fields, dim, xStride, extent;
  float *x, *out, *s;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "fields", &fields) || !GetSize(env, fn, a[3], "dim", &dim)) {
    return nullptr;
  }
  if (!GetRowStride(env, fn, a, 6, argc, rows, Count(fields, dim), &xStride, &extent)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", extent, &x) || !GetF32(env, fn, a[4], "out", rows, &out) ||
      !GetF32(env, fn, a[5], "s", Count(rows, dim), &s)) {
    return nullptr;
  }
  FmSecondOrder(x, rows, fields, dim, xStride, out, s);
  return nullptr;
}

// fmSecondOrderBackward(x, s, g, rows, fields, dim, accumulate, gx[, xStride])
napi_value JsFmSecondOrderBackward(napi_env env, napi_callback_info info) {
  const char* fn = "fmSecondOrderBackward";
  napi_value a[9];
  size_t argc;
  if (!GetArgsBetween(env, info, fn, 8, 9, a, &argc)) return nullptr;
  int64_t rows, fields, dim, xStride, n;
  bool accumulate;
  float *x, *s, *g, *gx;
  if (!GetSize(env, fn, a[3], "rows", &rows) || !GetSize(env, fn, a[4], "fields", &fields) || !GetSize(env, fn, a[5], "dim", &dim) ||
      !GetBool(env, fn, a[6], "accumulate", &accumulate)) {
    return nullptr;
  }
  if (!GetRowStride(env, fn, a, 8, argc, rows, Count(fields, dim), &xStride, &n)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[1], "s", Count(rows, dim), &s) || !GetF32(env, fn, a[2], "g", rows, &g) ||
      !GetF32(env, fn, a[7], "gx", n, &gx)) {
    return nullptr;
  }
  if (n > 0 && (gx == x || gx == s || gx == g)) return Throw(env, fn, 'E', "gx must not alias an input");
  FmSecondOrderBackward(x, s, g, rows, fields, dim, accumulate, gx, xStride);
  return nullptr;
}

// reluBackwardColumnSums(x, g, rows, c, gx, out)
napi_value JsReluBackwardColumnSums(napi_env env, napi_callback_info info) {
  const char* fn = "reluBackwardColumnSums";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  int64_t rows, c;
  float *x, *g, *gx, *out;
  if (!GetSize(env, fn, a[2], "rows", &rows) || !GetSize(env, fn, a[3], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[1], "g", n, &g) || !GetF32(env, fn, a[4], "gx", n, &gx) ||
      !GetF32(env, fn, a[5], "out", c, &out)) {
    return nullptr;
  }
  auto overlaps = [](const float* p, int64_t pn, const float* q, int64_t qn) { return pn > 0 && qn > 0 && p < q + qn && q < p + pn; };
  if (overlaps(gx, n, x, n) || (gx != g && overlaps(gx, n, g, n)) || overlaps(out, c, x, n) || overlaps(out, c, g, n) ||
      overlaps(out, c, gx, n)) {
    return Throw(env, fn, 'E', "gx must be g itself or not overlap it, and must not overlap x; out must not overlap the others");
  }
  std::vector<double> acc(static_cast<size_t>(c));
  if (gx == g) ReluBackwardColumnSumsInPlace(x, gx, rows, c, out, acc.data());
  else ReluBackwardColumnSums(x, g, rows, c, gx, out, acc.data());
  return nullptr;
}

// addColumnSums(g, rows, c, out)
napi_value JsAddColumnSums(napi_env env, napi_callback_info info) {
  const char* fn = "addColumnSums";
  napi_value a[4];
  if (!GetArgs(env, info, fn, 4, a)) return nullptr;
  int64_t rows, c;
  float *g, *out;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "c", &c)) return nullptr;
  if (!GetF32(env, fn, a[0], "g", Count(rows, c), &g) || !GetF32(env, fn, a[3], "out", c, &out)) return nullptr;
  std::vector<double> acc(static_cast<size_t>(c));
  AddColumnSums(g, rows, c, out, acc.data());
  return nullptr;
}

}  // namespace

void RegisterDenseKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "bnStats", JsBnStats);
  Export(env, exports, "bnForward", JsBnForward);
  Export(env, exports, "bnGradSums", JsBnGradSums);
  Export(env, exports, "bnInputGrad", JsBnInputGrad);
  Export(env, exports, "dropoutForward", JsDropoutForward);
  Export(env, exports, "dropoutBackward", JsDropoutBackward);
  Export(env, exports, "addColumnSums", JsAddColumnSums);
  Export(env, exports, "copyRows", JsCopyRows);
  Export(env, exports, "fillRows", JsFillRows);
  Export(env, exports, "adamUpdate", JsAdamUpdate);
  Export(env, exports, "relu", JsRelu);
  Export(env, exports, "reluBackward", JsReluBackward);
  Export(env, exports, "reluBackwardColumnSums", JsReluBackwardColumnSums);
  Export(env, exports, "fmSecondOrder", JsFmSecondOrder);
  Export(env, exports, "fmSecondOrderBackward", JsFmSecondOrderBackward);
}
