// Dice (DIN's activation) as two fused kernels, twins of src/engine/kernels/dice.ts.
// Registered by Init in finerank.cc.
//
//   diceForward(x, rows, c, mean, invStd, alpha, p, out)
//       p = float(σ((x − mean[j])·invStd[j])), out = x·(α_j + (1 − α_j)·p) over the row-major
//       [rows, c] x (mean, invStd: the batch or running statistics, computed by the caller).
//   diceBackward(g, x, p, rows, c, mean, invStd, alpha, training, gx, ga)
//       ga[j] += Σ_i g·x·(1 − p) (ga may be null); with d = g·x·(1 − α)·p·(1 − p):
//       gx += g·(α + (1 − α)·p) + d·invStd, and in training the batch-statistics terms
//       gx −= k_j·(x − mean) + b_j, k_j = invStd²·Σ_i d·(x − mean)·invStd / rows,
//       b_j = invStd·Σ_i d / rows (float64 column sums, k and b rounded to float).
//
// Same double operations in the same order as the twin, σ from ExpD (expd.h), a float store
// per result: bit-identical to TypeScript (test/engine/dice-kernels.test.ts).
#include "dice.h"

#include <cstdint>
#include <string>
#include <vector>

#include "expd.h"
#include "napi-args.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_DICE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_DICE_CLONES
#endif

namespace {

using namespace finerank_napi;
using finerank_expd::SigmoidD;

FR_DICE_CLONES
void Forward(const float* x, int64_t rows, int64_t c, const float* mean, const float* invStd, const float* alpha, float* p, float* out) {
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * c;
    float* pr = p + i * c;
    float* orow = out + i * c;
    for (int64_t j = 0; j < c; j++) {
      const double xv = xr[j];
      const float pv = static_cast<float>(SigmoidD((xv - static_cast<double>(mean[j])) * static_cast<double>(invStd[j])));
      pr[j] = pv;
      const double a = alpha[j];
      orow[j] = static_cast<float>(xv * (a + (1.0 - a) * static_cast<double>(pv)));
    }
  }
}

FR_DICE_CLONES
void Backward(const float* g, const float* x, const float* p, int64_t rows, int64_t c, const float* mean, const float* invStd, const float* alpha,
              bool training, float* gx, float* ga, double* sumD, double* sumDX) {
  for (int64_t j = 0; j < c; j++) sumD[j] = sumDX[j] = 0.0;
  for (int64_t i = 0; i < rows; i++) {
    const float* gr = g + i * c;
    const float* xr = x + i * c;
    const float* pr = p + i * c;
    float* gxr = gx + i * c;
    for (int64_t j = 0; j < c; j++) {
      const double xv = xr[j], pv = pr[j], gv = gr[j], a = alpha[j], s = invStd[j];
      if (ga != nullptr) ga[j] = static_cast<float>(static_cast<double>(ga[j]) + gv * xv * (1.0 - pv));
      const double d = gv * xv * (1.0 - a) * pv * (1.0 - pv);
      gxr[j] = static_cast<float>(static_cast<double>(gxr[j]) + (gv * (a + (1.0 - a) * pv) + d * s));
      if (training) {
        sumD[j] += d;
        sumDX[j] += d * (xv - static_cast<double>(mean[j])) * s;
      }
    }
  }
  if (!training) return;
  std::vector<float> k(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) {
    const double s = invStd[j];
    k[j] = static_cast<float>(s * s * (sumDX[j] / static_cast<double>(rows)));
    b[j] = static_cast<float>(s * (sumD[j] / static_cast<double>(rows)));
  }
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * c;
    float* gxr = gx + i * c;
    for (int64_t j = 0; j < c; j++)
      gxr[j] = static_cast<float>(static_cast<double>(gxr[j]) -
                                  (static_cast<double>(k[j]) * (static_cast<double>(xr[j]) - static_cast<double>(mean[j])) + static_cast<double>(b[j])));
  }
}

napi_value DiceForward(napi_env env, napi_callback_info info) {
  const char* fn = "diceForward";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t rows, c;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "c", &c)) return nullptr;
  if (rows * c >= (int64_t{1} << 31)) return Throw(env, fn, 'R', "rows·c must be below 2^31");
  float *x, *mean, *invStd, *alpha, *p, *out;
  if (!GetF32(env, fn, a[0], "x", rows * c, false, &x) || !GetF32(env, fn, a[3], "mean", c, false, &mean) ||
      !GetF32(env, fn, a[4], "invStd", c, false, &invStd) || !GetF32(env, fn, a[5], "alpha", c, false, &alpha) ||
      !GetF32(env, fn, a[6], "p", rows * c, false, &p) || !GetF32(env, fn, a[7], "out", rows * c, false, &out))
    return nullptr;
  Forward(x, rows, c, mean, invStd, alpha, p, out);
  return nullptr;
}

napi_value DiceBackward(napi_env env, napi_callback_info info) {
  const char* fn = "diceBackward";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t rows, c;
  if (!GetSize(env, fn, a[3], "rows", &rows) || !GetSize(env, fn, a[4], "c", &c)) return nullptr;
  if (rows * c >= (int64_t{1} << 31)) return Throw(env, fn, 'R', "rows·c must be below 2^31");
  float *g, *x, *p, *mean, *invStd, *alpha, *gx, *ga;
  bool training;
  if (!GetF32(env, fn, a[0], "g", rows * c, false, &g) || !GetF32(env, fn, a[1], "x", rows * c, false, &x) ||
      !GetF32(env, fn, a[2], "p", rows * c, false, &p) || !GetF32(env, fn, a[5], "mean", c, false, &mean) ||
      !GetF32(env, fn, a[6], "invStd", c, false, &invStd) || !GetF32(env, fn, a[7], "alpha", c, false, &alpha))
    return nullptr;
  if (napi_get_value_bool(env, a[8], &training) != napi_ok) return Throw(env, fn, 'T', "training must be a boolean");
  if (!GetF32(env, fn, a[9], "gx", rows * c, false, &gx) || !GetF32(env, fn, a[10], "ga", c, true, &ga)) return nullptr;
  if (training && rows == 0) return Throw(env, fn, 'R', "training needs rows > 0");
  std::vector<double> sums(static_cast<size_t>(2 * c));
  Backward(g, x, p, rows, c, mean, invStd, alpha, training, gx, ga, sums.data(), sums.data() + c);
  return nullptr;
}

}  // namespace

void RegisterDiceKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "diceForward", DiceForward);
  Export(env, exports, "diceBackward", DiceBackward);
}
