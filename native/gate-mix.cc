// The gate–mixture kernels of the mixture-of-experts layers (MMoE, MoE, PLE's CGC), twins of
// src/engine/kernels/gate-mix.ts. Registered by Init in finerank.cc.
//
//   gateMixForward(logits, rows, lw, loff, k, experts, ew, cols, h, w, out)
//       w[r, e] = float(softmax_e(logits[r, loff + e])) (max subtracted, exp from ExpD, double
//       sum), out[r, j] = float(Σ_e w[r, e]·experts[r, cols[e] + j]) (double sum over e in order).
//   gateMixBackward(g, w, rows, k, h, experts, ew, cols, gExperts, lw, loff, gLogits)
//       gExperts[r, cols[e] + j] += w[r, e]·g[r, j]; d_e = Σ_j g[r, j]·experts[r, cols[e] + j];
//       gLogits[r, loff + e] += w_e·(d_e − Σ_f w_f·d_f); either gradient may be null.
//
// Same double operations in the same order as the twin, a float store per result:
// bit-identical to TypeScript (test/engine/gate-mix.test.ts).
#include "gate-mix.h"

#include <cstdint>
#include <string>
#include <vector>

#include "expd.h"
#include "napi-args.h"

namespace {

using namespace finerank_napi;
using finerank_expd::ExpD;

void Forward(const float* logits, int64_t rows, int64_t lw, int64_t loff, int64_t k, const float* experts, int64_t ew, const int32_t* cols,
             int64_t h, float* w, float* out, double* e, double* acc) {
  for (int64_t r = 0; r < rows; r++) {
    const float* lr = logits + r * lw + loff;
    double m = -INFINITY;
    for (int64_t q = 0; q < k; q++)
      if (static_cast<double>(lr[q]) > m) m = lr[q];
    double s = 0;
    for (int64_t q = 0; q < k; q++) {
      e[q] = ExpD(static_cast<double>(lr[q]) - m);
      s += e[q];
    }
    float* wr = w + r * k;
    for (int64_t q = 0; q < k; q++) wr[q] = static_cast<float>(e[q] / s);
    for (int64_t j = 0; j < h; j++) acc[j] = 0;
    const float* er = experts + r * ew;
    for (int64_t q = 0; q < k; q++) {
      const double wq = wr[q];
      const float* x = er + cols[q];
      for (int64_t j = 0; j < h; j++) acc[j] += wq * static_cast<double>(x[j]);
    }
    float* o = out + r * h;
    for (int64_t j = 0; j < h; j++) o[j] = static_cast<float>(acc[j]);
  }
}

void Backward(const float* g, const float* w, int64_t rows, int64_t k, int64_t h, const float* experts, int64_t ew, const int32_t* cols,
              float* gExperts, int64_t lw, int64_t loff, float* gLogits, double* d) {
  for (int64_t r = 0; r < rows; r++) {
    const float* gr = g + r * h;
    const float* wr = w + r * k;
    double s = 0;
    for (int64_t q = 0; q < k; q++) {
      const double wq = wr[q];
      const int64_t c = r * ew + cols[q];
      const float* x = experts + c;
      double dq = 0;
      if (gExperts != nullptr) {
        float* gx = gExperts + c;
        for (int64_t j = 0; j < h; j++) {
          const double gv = gr[j];
          dq += gv * static_cast<double>(x[j]);
          gx[j] = static_cast<float>(static_cast<double>(gx[j]) + wq * gv);
        }
      } else {
        for (int64_t j = 0; j < h; j++) dq += static_cast<double>(gr[j]) * static_cast<double>(x[j]);
      }
      d[q] = dq;
      s += wq * dq;
    }
    if (gLogits != nullptr) {
      float* gl = gLogits + r * lw + loff;
      for (int64_t q = 0; q < k; q++) gl[q] = static_cast<float>(static_cast<double>(gl[q]) + static_cast<double>(wr[q]) * (d[q] - s));
    }
  }
}

// The expert column offsets: an Int32Array of k entries, each with cols[e] + h ≤ ew.
bool GetCols(napi_env env, const char* fn, napi_value v, int64_t k, int64_t h, int64_t ew, int32_t** out) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_int32_array) {
    Throw(env, fn, 'T', "cols must be an Int32Array");
    return false;
  }
  if (static_cast<int64_t>(len) < k) {
    Throw(env, fn, 'R', "cols has " + std::to_string(len) + " elements, needs " + std::to_string(k));
    return false;
  }
  int32_t* c = static_cast<int32_t*>(ptr);
  for (int64_t q = 0; q < k; q++) {
    if (c[q] < 0 || c[q] + h > ew) {
      Throw(env, fn, 'R', "cols[" + std::to_string(q) + "] = " + std::to_string(c[q]) + " puts an expert outside the row of " + std::to_string(ew));
      return false;
    }
  }
  *out = c;
  return true;
}

napi_value GateMixForward(napi_env env, napi_callback_info info) {
  const char* fn = "gateMixForward";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t rows, lw, loff, k, ew, h;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "lw", &lw) || !GetSize(env, fn, a[3], "loff", &loff) ||
      !GetSize(env, fn, a[4], "k", &k) || !GetSize(env, fn, a[6], "ew", &ew) || !GetSize(env, fn, a[8], "h", &h))
    return nullptr;
  if (k < 1 || loff + k > lw) return Throw(env, fn, 'R', "needs k ≥ 1 and loff + k ≤ lw");
  if (rows * lw >= (int64_t{1} << 31) || rows * ew >= (int64_t{1} << 31)) return Throw(env, fn, 'R', "arrays must be below 2^31 elements");
  float *logits, *experts, *w, *out;
  int32_t* cols;
  if (!GetF32(env, fn, a[0], "logits", rows * lw, false, &logits) || !GetF32(env, fn, a[5], "experts", rows * ew, false, &experts) ||
      !GetCols(env, fn, a[7], k, h, ew, &cols) || !GetF32(env, fn, a[9], "w", rows * k, false, &w) ||
      !GetF32(env, fn, a[10], "out", rows * h, false, &out))
    return nullptr;
  std::vector<double> scratch(static_cast<size_t>(k + h));
  Forward(logits, rows, lw, loff, k, experts, ew, cols, h, w, out, scratch.data(), scratch.data() + k);
  return nullptr;
}

napi_value GateMixBackward(napi_env env, napi_callback_info info) {
  const char* fn = "gateMixBackward";
  napi_value a[12];
  if (!GetArgs(env, info, fn, 12, a)) return nullptr;
  int64_t rows, k, h, ew, lw, loff;
  if (!GetSize(env, fn, a[2], "rows", &rows) || !GetSize(env, fn, a[3], "k", &k) || !GetSize(env, fn, a[4], "h", &h) ||
      !GetSize(env, fn, a[6], "ew", &ew) || !GetSize(env, fn, a[9], "lw", &lw) || !GetSize(env, fn, a[10], "loff", &loff))
    return nullptr;
  if (k < 1 || loff + k > lw) return Throw(env, fn, 'R', "needs k ≥ 1 and loff + k ≤ lw");
  if (rows * lw >= (int64_t{1} << 31) || rows * ew >= (int64_t{1} << 31)) return Throw(env, fn, 'R', "arrays must be below 2^31 elements");
  float *g, *w, *experts, *gExperts, *gLogits;
  int32_t* cols;
  if (!GetF32(env, fn, a[0], "g", rows * h, false, &g) || !GetF32(env, fn, a[1], "w", rows * k, false, &w) ||
      !GetF32(env, fn, a[5], "experts", rows * ew, false, &experts) || !GetCols(env, fn, a[7], k, h, ew, &cols) ||
      !GetF32(env, fn, a[8], "gExperts", rows * ew, true, &gExperts) || !GetF32(env, fn, a[11], "gLogits", rows * lw, true, &gLogits))
    return nullptr;
  std::vector<double> d(static_cast<size_t>(k));
  Backward(g, w, rows, k, h, experts, ew, cols, gExperts, lw, loff, gLogits, d.data());
  return nullptr;
}

}  // namespace

void RegisterGateMixKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gateMixForward", GateMixForward);
  Export(env, exports, "gateMixBackward", GateMixBackward);
}
