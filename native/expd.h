// The exp shared by the fused kernels whose TypeScript twins must give the same bits
// (gru.cc, dice.cc; twin: src/engine/kernels/expd.ts). Not the C library's exp, which differs
// from V8's Math.exp in the last bit now and then.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace finerank_expd {

// exp(x) for x clamped to [−700, 700]: k = ⌊x·log₂e + ½⌋, r = (x − k·ln2_hi) − k·ln2_lo
// (|r| ≤ 0.35), exp(r) by Horner on the Taylor series to r¹² (relative error < 2e-16),
// times 2^k built from its bits (exact). Mirrored operation for operation in TypeScript.
inline double ExpD(double x) {
  x = x < -700.0 ? -700.0 : (x > 700.0 ? 700.0 : x);
  const double k = std::floor(x * 1.4426950408889634 + 0.5);
  const double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k from its bits: k + 1.5·2^52 holds k in its low mantissa bits (|k| ≤ 1010, exact), so
  // no double → int64 conversion (which only AVX-512 vectorizes).
  const double shifted = k + 6755399441055744.0;
  int64_t kbits;
  std::memcpy(&kbits, &shifted, sizeof kbits);
  const uint64_t bits = static_cast<uint64_t>(kbits - INT64_C(0x4338000000000000) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline double SigmoidD(double x) { return 1.0 / (1.0 + ExpD(-x)); }

// tanh from one exp: sign(x)·(1 − e)/(1 + e), e = exp(−2|x|); below |x| < 2⁻¹⁴ the series
// x − x³/3 + 2x⁵/15 (no cancellation).
inline double TanhD(double x) {
  const double ax = x < 0 ? -x : x;
  const double e = ExpD(-2.0 * ax);
  const double big = (1.0 - e) / (1.0 + e);
  const double x2 = x * x;
  const double small = x - x * x2 / 3.0 + 2.0 * x * x2 * x2 / 15.0;
  return ax < 6.103515625e-05 ? small : (x < 0 ? -big : big);
}

}  // namespace finerank_expd
