// Fused residual sum + layer normalization (+ ReLU) of the finerank addon: AutoInt's
// interacting-layer tail ReLU(LN(y + r)). Twins of src/engine/kernels/layer-norm.ts; registered by
// Init in finerank.cc. Per row i of C values (r may be null: s = y):
//
//   addLayerNorm(y, r, gamma, beta, rows, C, eps, relu, out, mean, invStd)
//     s_j = float(y_j + r_j); μ = (Σ_j s_j)/C; σ⁻¹ = 1/sqrt(Σ_j (s_j − μ)²/C + eps);
//     v_j = γ_j·(s_j − μ)·σ⁻¹ + β_j; out_j = float(relu && v_j < 0 ? 0 : v_j)   (γ, β null: 1, 0)
//   addLayerNormBackward(g, out, y, r, gamma, mean, invStd, rows, C, relu, gy, gr, ggamma, gbeta)
//     dy_j = relu && out_j ≤ 0 ? 0 : g_j; d_j = γ_j·dy_j; x̂_j = (s_j − μ)·σ⁻¹;
//     ds_j = σ⁻¹/C·(C·d_j − Σd − x̂_j·Σ d·x̂); gy_j += ds_j, gr_j += ds_j (each one float store);
//     ggamma_j += Σ_rows dy_j·x̂_j, gbeta_j += Σ_rows dy_j (double sums, rows ascending)
//
// Every sum a double accumulated in index order, every product in double, one float store per
// result: the bits equal TypeScript's (test/engine/layer-norm-kernels.test.ts).
#include "layer-norm.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "napi-args.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_LN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_LN_CLONES
#endif

namespace {

using namespace finerank_napi;

FR_LN_CLONES
void AddLayerNorm(const float* Y, const float* R, const float* gamma, const float* beta, int64_t rows, int64_t C, double eps, bool relu,
                  float* out, double* mean, double* invStd) {
  std::vector<float> s(static_cast<size_t>(C));
  for (int64_t i = 0; i < rows; i++) {
    const float* y = Y + i * C;
    if (R != nullptr) {
      const float* r = R + i * C;
      for (int64_t j = 0; j < C; j++) s[j] = y[j] + r[j];
    } else {
      for (int64_t j = 0; j < C; j++) s[j] = y[j];
    }
    double sum = 0;
    for (int64_t j = 0; j < C; j++) sum += s[j];
    const double mu = sum / static_cast<double>(C);
    double q = 0;
    for (int64_t j = 0; j < C; j++) {
      const double d = s[j] - mu;
      q += d * d;
    }
    const double inv = 1.0 / std::sqrt(q / static_cast<double>(C) + eps);
    mean[i] = mu;
    invStd[i] = inv;
    float* o = out + i * C;
    for (int64_t j = 0; j < C; j++) {
      double v = (s[j] - mu) * inv;
      if (gamma != nullptr) v = static_cast<double>(gamma[j]) * v;
      if (beta != nullptr) v = v + static_cast<double>(beta[j]);
      o[j] = static_cast<float>(relu && v < 0 ? 0.0 : v);
    }
  }
}

FR_LN_CLONES
void AddLayerNormBackward(const float* G, const float* out, const float* Y, const float* R, const float* gamma, const double* mean,
                          const double* invStd, int64_t rows, int64_t C, bool relu, float* GY, float* GR, float* ggamma, float* gbeta) {
  std::vector<double> dy(static_cast<size_t>(C)), xh(static_cast<size_t>(C)), sg(static_cast<size_t>(C), 0.0), sb(static_cast<size_t>(C), 0.0);
  const double n = static_cast<double>(C);
  for (int64_t i = 0; i < rows; i++) {
    const float *g = G + i * C, *o = out + i * C, *y = Y + i * C;
    const float* r = R != nullptr ? R + i * C : nullptr;
    const double mu = mean[i], inv = invStd[i];
    for (int64_t j = 0; j < C; j++) {
      const float s = r != nullptr ? y[j] + r[j] : y[j];
      xh[j] = (s - mu) * inv;
      dy[j] = relu && !(o[j] > 0) ? 0.0 : static_cast<double>(g[j]);
    }
    double sd = 0, sdx = 0;
    for (int64_t j = 0; j < C; j++) {
      const double d = gamma != nullptr ? static_cast<double>(gamma[j]) * dy[j] : dy[j];
      sd += d;
      sdx += d * xh[j];
    }
    for (int64_t j = 0; j < C; j++) {
      const double d = gamma != nullptr ? static_cast<double>(gamma[j]) * dy[j] : dy[j];
      const double ds = inv / n * (n * d - sd - xh[j] * sdx);
      if (GY != nullptr) GY[i * C + j] = static_cast<float>(static_cast<double>(GY[i * C + j]) + ds);
      if (GR != nullptr) GR[i * C + j] = static_cast<float>(static_cast<double>(GR[i * C + j]) + ds);
      sg[j] += dy[j] * xh[j];
      sb[j] += dy[j];
    }
  }
  for (int64_t j = 0; j < C; j++) {
    if (ggamma != nullptr) ggamma[j] = static_cast<float>(static_cast<double>(ggamma[j]) + sg[j]);
    if (gbeta != nullptr) gbeta[j] = static_cast<float>(static_cast<double>(gbeta[j]) + sb[j]);
  }
}

bool GetF64(napi_env env, const char* fn, napi_value v, const char* name, int64_t need, double** out) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_float64_array) {
    Throw(env, fn, 'T', std::string(name) + " must be a Float64Array");
    return false;
  }
  if (static_cast<int64_t>(len) < need) {
    Throw(env, fn, 'R', std::string(name) + " has " + std::to_string(len) + " elements, needs " + std::to_string(need));
    return false;
  }
  *out = static_cast<double*>(ptr);
  return true;
}

bool GetRowsC(napi_env env, const char* fn, napi_value a, napi_value b, int64_t* rows, int64_t* C) {
  if (!GetSize(env, fn, a, "rows", rows) || !GetSize(env, fn, b, "C", C)) return false;
  if (static_cast<double>(*rows) * static_cast<double>(*C) >= 2147483648.0) {
    Throw(env, fn, 'R', "rows·C must be below 2^31");
    return false;
  }
  return true;
}

napi_value AddLayerNormNapi(napi_env env, napi_callback_info info) {
  const char* fn = "addLayerNorm";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t rows, C;
  if (!GetRowsC(env, fn, a[4], a[5], &rows, &C)) return nullptr;
  double eps;
  bool relu;
  if (napi_get_value_double(env, a[6], &eps) != napi_ok) return Throw(env, fn, 'T', "eps must be a number");
  if (napi_get_value_bool(env, a[7], &relu) != napi_ok) return Throw(env, fn, 'T', "relu must be a boolean");
  float *y, *r, *gamma, *beta, *out;
  double *mean, *inv;
  if (!GetF32(env, fn, a[0], "y", rows * C, false, &y) || !GetF32(env, fn, a[1], "r", rows * C, true, &r) ||
      !GetF32(env, fn, a[2], "gamma", C, true, &gamma) || !GetF32(env, fn, a[3], "beta", C, true, &beta) ||
      !GetF32(env, fn, a[8], "out", rows * C, false, &out) || !GetF64(env, fn, a[9], "mean", rows, &mean) ||
      !GetF64(env, fn, a[10], "invStd", rows, &inv))
    return nullptr;
  AddLayerNorm(y, r, gamma, beta, rows, C, eps, relu, out, mean, inv);
  return nullptr;
}

napi_value AddLayerNormBackwardNapi(napi_env env, napi_callback_info info) {
  const char* fn = "addLayerNormBackward";
  napi_value a[14];
  if (!GetArgs(env, info, fn, 14, a)) return nullptr;
  int64_t rows, C;
  if (!GetRowsC(env, fn, a[7], a[8], &rows, &C)) return nullptr;
  bool relu;
  if (napi_get_value_bool(env, a[9], &relu) != napi_ok) return Throw(env, fn, 'T', "relu must be a boolean");
  float *g, *out, *y, *r, *gamma, *gy, *gr, *ggamma, *gbeta;
  double *mean, *inv;
  if (!GetF32(env, fn, a[0], "g", rows * C, false, &g) || !GetF32(env, fn, a[1], "out", rows * C, false, &out) ||
      !GetF32(env, fn, a[2], "y", rows * C, false, &y) || !GetF32(env, fn, a[3], "r", rows * C, true, &r) ||
      !GetF32(env, fn, a[4], "gamma", C, true, &gamma) || !GetF64(env, fn, a[5], "mean", rows, &mean) ||
      !GetF64(env, fn, a[6], "invStd", rows, &inv) || !GetF32(env, fn, a[10], "gy", rows * C, true, &gy) ||
      !GetF32(env, fn, a[11], "gr", rows * C, true, &gr) || !GetF32(env, fn, a[12], "ggamma", C, true, &ggamma) ||
      !GetF32(env, fn, a[13], "gbeta", C, true, &gbeta))
    return nullptr;
  AddLayerNormBackward(g, out, y, r, gamma, mean, inv, rows, C, relu, gy, gr, ggamma, gbeta);
  return nullptr;
}

}  // namespace

void RegisterLayerNormKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "addLayerNorm", AddLayerNormNapi);
  Export(env, exports, "addLayerNormBackward", AddLayerNormBackwardNapi);
}
