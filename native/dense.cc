// Dense kernels of the finerank addon: fused loops called from TypeScript, each with a
// TypeScript twin (src/engine/kernels/typescript.ts) used when the addon is absent.
// Registered by Init in finerank.cc.
//
// Exports (see the Kernels interface in src/engine/kernels/types.ts for the full contracts;
// every function writes only into typed arrays the caller allocated):
//   bnStats(x, rows, c, out64)
//       out64[j] = batch mean, out64[c + j] = biased batch variance of channel j of the
//       row-major [rows, c] x (float64 sums of x − x[0, j], the first row as a shift).
//   bnForward(x, rows, c, mean, scale, shift, relu, out)
//       out = (x − mean)·scale + shift per channel, then max(0, ·) as (y + |y|)/2 if relu.
//   bnGradSums(g, mask, x, mean, invStd, rows, c, out64)
//       out64[j] = Σ gv, out64[c + j] = invStd·Σ gv·(x − mean), gv = g·[mask bits > 0]
//       (mask: the relu result, or null for gv = g).
//   bnInputGrad(g, mask, x, mean, scale, k, b, gx, rows, c)
//       gx += gv·scale − k·(x − mean) − b per channel.
//   dropoutForward(x, n, seed, threshold, scale, out)
//       out[i] = x[i]·(keep(i)·scale), keep(i) = hash(seed, i) ≥ threshold.
//   dropoutBackward(g, n, seed, threshold, scale, gx)
//       gx[i] += g[i]·(keep(i)·scale), the same mask recomputed.
//   addColumnSums(g, rows, c, out)
//       out[j] += Σ_i g[i, j] (float64 sum, one rounding).
//
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

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_CLONES
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

// ---------------------------------------------------------------------------------------
// Kernels (pure loops; arguments already validated).

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
    if (v < 0 || v == 0) v = 0;  // Math.max(0, v): clamps negatives and −0, keeps NaN
    s1[j] = m;
    s2[j] = v;
  }
}

FR_CLONES
void BnForward(const float* __restrict x, int64_t rows, int64_t c, const float* __restrict mean,
               const float* __restrict scale, const float* __restrict shift, bool relu, float* __restrict out) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict xr = x + i * c;
    float* __restrict o = out + i * c;
    if (relu) {
      for (int64_t j = 0; j < c; j++) {
        const double y = (static_cast<double>(xr[j]) - static_cast<double>(mean[j])) * static_cast<double>(scale[j]) +
                         static_cast<double>(shift[j]);
        o[j] = static_cast<float>(0.5 * (y + std::fabs(y)));
      }
    } else {
      for (int64_t j = 0; j < c; j++) {
        o[j] = static_cast<float>((static_cast<double>(xr[j]) - static_cast<double>(mean[j])) *
                                      static_cast<double>(scale[j]) +
                                  static_cast<double>(shift[j]));
      }
    }
  }
}

// 1.0 where the float's bits are a positive int32 (a positive number or NaN), else 0.0 —
// TypeScript's ((−bits) >>> 31) on the result of a relu (which is +0 or positive).
inline double MaskOf(const float* m, int64_t i) {
  uint32_t bits;
  std::memcpy(&bits, m + i, sizeof bits);
  return static_cast<double>((0u - bits) >> 31);
}

FR_CLONES
void BnGradSums(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                const float* __restrict mean, const float* __restrict invStd, int64_t rows, int64_t c,
                double* __restrict out) {
  double* __restrict sg = out;
  double* __restrict sgx = out + c;
  for (int64_t j = 0; j < c; j++) {
    sg[j] = 0;
    sgx[j] = 0;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict gr = g + i * c;
    const float* __restrict xr = x + i * c;
    if (mask == nullptr) {
      for (int64_t j = 0; j < c; j++) {
        const double gv = gr[j];
        sg[j] += gv;
        sgx[j] += gv * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]));
      }
    } else {
      const float* __restrict mr = mask + i * c;
      for (int64_t j = 0; j < c; j++) {
        const double gv = static_cast<double>(gr[j]) * MaskOf(mr, j);
        sg[j] += gv;
        sgx[j] += gv * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]));
      }
    }
  }
  for (int64_t j = 0; j < c; j++) sgx[j] *= static_cast<double>(invStd[j]);
}

FR_CLONES
void BnInputGrad(const float* __restrict g, const float* __restrict mask, const float* __restrict x,
                 const float* __restrict mean, const float* __restrict scale, const float* __restrict k,
                 const float* __restrict b, float* __restrict gx, int64_t rows, int64_t c) {
  for (int64_t i = 0; i < rows; i++) {
    const float* __restrict gr = g + i * c;
    const float* __restrict xr = x + i * c;
    float* __restrict o = gx + i * c;
    if (mask == nullptr) {
      for (int64_t j = 0; j < c; j++) {
        const double gv = gr[j];
        o[j] = static_cast<float>(static_cast<double>(o[j]) +
                                  ((gv * static_cast<double>(scale[j]) -
                                    static_cast<double>(k[j]) * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]))) -
                                   static_cast<double>(b[j])));
      }
    } else {
      const float* __restrict mr = mask + i * c;
      for (int64_t j = 0; j < c; j++) {
        const double gv = static_cast<double>(gr[j]) * MaskOf(mr, j);
        o[j] = static_cast<float>(static_cast<double>(o[j]) +
                                  ((gv * static_cast<double>(scale[j]) -
                                    static_cast<double>(k[j]) * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]))) -
                                   static_cast<double>(b[j])));
      }
    }
  }
}

FR_CLONES
void DropoutForward(const float* __restrict x, int64_t n, uint32_t seed, uint64_t threshold, float scale,
                    float* __restrict out) {
  const uint32_t k2 = Mix(seed ^ 0x9e3779b9U);
  // threshold 2^32 keeps nothing: compare against 0 (always true) with a zero factor.
  const bool none = threshold > 0xffffffffULL;
  const uint32_t t = none ? 0U : static_cast<uint32_t>(threshold);
  const double s = none ? 0.0 : static_cast<double>(scale);
  for (int64_t i = 0; i < n; i++) {
    const uint32_t h = Mix(Mix(static_cast<uint32_t>(i) ^ seed) + k2);
    const double f = h >= t ? s : 0.0;
    out[i] = static_cast<float>(static_cast<double>(x[i]) * f);
  }
}

FR_CLONES
void DropoutBackward(const float* __restrict g, int64_t n, uint32_t seed, uint64_t threshold, float scale,
                     float* __restrict gx) {
  const uint32_t k2 = Mix(seed ^ 0x9e3779b9U);
  // threshold 2^32 keeps nothing: compare against 0 (always true) with a zero factor.
  const bool none = threshold > 0xffffffffULL;
  const uint32_t t = none ? 0U : static_cast<uint32_t>(threshold);
  const double s = none ? 0.0 : static_cast<double>(scale);
  for (int64_t i = 0; i < n; i++) {
    const uint32_t h = Mix(Mix(static_cast<uint32_t>(i) ^ seed) + k2);
    const double f = h >= t ? s : 0.0;
    gx[i] = static_cast<float>(static_cast<double>(gx[i]) + static_cast<double>(g[i]) * f);
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

}  // namespace finerank_dense

namespace {

using namespace finerank_dense;

constexpr size_t kMaxArgs = 12;

// ---------------------------------------------------------------------------------------
// Argument handling: plain Node-API calls (these functions run tens of times per step);
// every error is a JS exception whose message starts with the kernel's name.

napi_value Throw(napi_env env, const char* fn, char kind, const std::string& message) {
  const std::string text = std::string(fn) + ": " + message;
  if (kind == 'T') napi_throw_type_error(env, nullptr, text.c_str());
  else if (kind == 'R') napi_throw_range_error(env, nullptr, text.c_str());
  else napi_throw_error(env, nullptr, text.c_str());
  return nullptr;
}

bool GetArgs(napi_env env, napi_callback_info info, const char* fn, size_t expected, napi_value* argv) {
  size_t argc = kMaxArgs;
  napi_value all[kMaxArgs];
  if (napi_get_cb_info(env, info, &argc, all, nullptr, nullptr) != napi_ok) return false;
  if (argc != expected) {
    Throw(env, fn, 'T', "expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc));
    return false;
  }
  for (size_t i = 0; i < expected; i++) argv[i] = all[i];
  return true;
}

bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

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

// A non-negative integer below 2^31 (sizes), as the sgemm binding requires.
bool GetSize(napi_env env, const char* fn, napi_value v, const char* name, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= 0.0 && d <= 2147483647.0) || d != std::floor(d)) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [0, 2^31), got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// An integer in [lo, hi] (seeds, thresholds).
bool GetInteger(napi_env env, const char* fn, napi_value v, const char* name, double lo, double hi, double* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= lo && d <= hi) || d != std::floor(d)) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "], got " + std::to_string(d));
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

// bnForward(x, rows, c, mean, scale, shift, relu, out)
napi_value JsBnForward(napi_env env, napi_callback_info info) {
  const char* fn = "bnForward";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t rows, c;
  float *x, *mean, *scale, *shift, *out;
  bool relu;
  if (!GetSize(env, fn, a[1], "rows", &rows) || !GetSize(env, fn, a[2], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "scale", c, &scale) || !GetF32(env, fn, a[5], "shift", c, &shift) ||
      !GetBool(env, fn, a[6], "relu", &relu) || !GetF32(env, fn, a[7], "out", n, &out)) {
    return nullptr;
  }
  BnForward(x, rows, c, mean, scale, shift, relu, out);
  return nullptr;
}

// bnGradSums(g, mask, x, mean, invStd, rows, c, out64)
napi_value JsBnGradSums(napi_env env, napi_callback_info info) {
  const char* fn = "bnGradSums";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t rows, c;
  float *g, *mask, *x, *mean, *invStd;
  double* out;
  if (!GetSize(env, fn, a[5], "rows", &rows) || !GetSize(env, fn, a[6], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetOptF32(env, fn, a[1], "mask", n, &mask) ||
      !GetF32(env, fn, a[2], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "invStd", c, &invStd) || !GetF64(env, fn, a[7], "out", 2 * c, &out)) {
    return nullptr;
  }
  BnGradSums(g, mask, x, mean, invStd, rows, c, out);
  return nullptr;
}

// bnInputGrad(g, mask, x, mean, scale, k, b, gx, rows, c)
napi_value JsBnInputGrad(napi_env env, napi_callback_info info) {
  const char* fn = "bnInputGrad";
  napi_value a[10];
  if (!GetArgs(env, info, fn, 10, a)) return nullptr;
  int64_t rows, c;
  float *g, *mask, *x, *mean, *scale, *k, *b, *gx;
  if (!GetSize(env, fn, a[8], "rows", &rows) || !GetSize(env, fn, a[9], "c", &c)) return nullptr;
  const int64_t n = Count(rows, c);
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetOptF32(env, fn, a[1], "mask", n, &mask) ||
      !GetF32(env, fn, a[2], "x", n, &x) || !GetF32(env, fn, a[3], "mean", c, &mean) ||
      !GetF32(env, fn, a[4], "scale", c, &scale) || !GetF32(env, fn, a[5], "k", c, &k) ||
      !GetF32(env, fn, a[6], "b", c, &b) || !GetF32(env, fn, a[7], "gx", n, &gx)) {
    return nullptr;
  }
  if (gx == g || gx == x || (mask != nullptr && gx == mask)) return Throw(env, fn, 'E', "gx must not alias an input");
  BnInputGrad(g, mask, x, mean, scale, k, b, gx, rows, c);
  return nullptr;
}

// Reads the (n, seed, threshold, scale) arguments shared by the dropout kernels.
bool GetDropoutArgs(napi_env env, const char* fn, napi_value* a, int64_t* n, uint32_t* seed, uint64_t* threshold,
                    float* scale) {
  double s, t, f;
  if (!GetSize(env, fn, a[0], "n", n) || !GetInteger(env, fn, a[1], "seed", 0, 4294967295.0, &s) ||
      !GetInteger(env, fn, a[2], "threshold", 0, 4294967296.0, &t) || !GetNumber(env, fn, a[3], "scale", &f)) {
    return false;
  }
  *seed = static_cast<uint32_t>(s);
  *threshold = static_cast<uint64_t>(t);
  *scale = static_cast<float>(f);
  return true;
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
  if (!GetDropoutArgs(env, fn, a + 1, &n, &seed, &threshold, &scale)) return nullptr;
  if (!GetF32(env, fn, a[0], "x", n, &x) || !GetF32(env, fn, a[5], "out", n, &out)) return nullptr;
  DropoutForward(x, n, seed, threshold, scale, out);
  return nullptr;
}

// dropoutBackward(g, n, seed, threshold, scale, gx)
napi_value JsDropoutBackward(napi_env env, napi_callback_info info) {
  const char* fn = "dropoutBackward";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  int64_t n;
  uint32_t seed;
  uint64_t threshold;
  float scale;
  float *g, *gx;
  if (!GetDropoutArgs(env, fn, a + 1, &n, &seed, &threshold, &scale)) return nullptr;
  if (!GetF32(env, fn, a[0], "g", n, &g) || !GetF32(env, fn, a[5], "gx", n, &gx)) return nullptr;
  DropoutBackward(g, n, seed, threshold, scale, gx);
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

void Export(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f) == napi_ok) {
    napi_set_named_property(env, exports, name, f);
  }
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
}
