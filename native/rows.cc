// Kernels of FGCNN's convolution over fields: the tanh activation and the im2col / col2im
// along the position axis. Twins of src/engine/kernels/rows.ts; registered by Init in finerank.cc.
//
//   tanhForward(x, n, out)                 out[i] = float(TanhD(x[i]))  (expd.h; out may be x)
//   tanhBackward(t, g, n, gx)              gx[i] = float(gx[i] + g[i]·(1 − t[i]²)) in double
//   maxPoolRowsBackward(g, arg, n, gx, nx) gx[arg[j]] += g[j], j ascending (arg from maxPoolRows)
//   unfoldRows(x, N, H, C, k, pad, out)    out[n, h, t·C + c] = x[n, h + t − pad, c] (0 outside [0, H)),
//                                          out [N, Ho, k·C], Ho = H + 2·pad − k + 1
//   foldRowsAdd(g, N, H, C, k, pad, gx)    gx[n, h + t − pad, c] += g[n, h, t·C + c] (h, then t·C + c ascending)
//   maxPoolRows(x, N, H, C, k, pad, Ho, out, arg)
//       window i = rows [i·k − pad, i·k − pad + k) ∩ [0, H): out[n, i, c] = its maximum,
//       arg[n, i, c] = the flat x index of the first maximum (rows ascending)
//
// Copies and single float additions in the twin's order, TanhD as the twin's tanhD: the bits
// equal TypeScript's (test/engine/row-kernels.test.ts).
#include "rows.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "napi-args.h"

// Lets GCC evaluate both sides of TanhD's selects (no value changes: only the assumption that
// floating-point exceptions do not trap), so that the tanh loop vectorizes (5× faster).
#pragma GCC optimize("no-trapping-math")
#include "expd.h"
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_ROWS_CLONES __attribute__((target_clones("avx2", "default")))
// tanh is float64 throughout: 8 lanes instead of 4 halve its time where AVX-512 exists.
#define FR_TANH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FR_ROWS_CLONES
#define FR_TANH_CLONES
#endif

namespace {

using namespace finerank_napi;
using finerank_expd::TanhD;

FR_TANH_CLONES
void Tanh(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(TanhD(x[i]));
}

FR_TANH_CLONES
void TanhBackward(const float* t, const float* g, int64_t n, float* gx) {
  for (int64_t i = 0; i < n; i++) {
    const double ti = t[i];
    gx[i] = static_cast<float>(static_cast<double>(gx[i]) + static_cast<double>(g[i]) * (1.0 - ti * ti));
  }
}

void ScatterAdd(const float* g, const int32_t* arg, int64_t n, float* gx) {
  for (int64_t j = 0; j < n; j++) gx[arg[j]] += g[j];
}

// First and one-past-last kernel offsets t of output row h that fall inside [0, H).
inline void Window(int64_t h, int64_t H, int64_t k, int64_t pad, int64_t* t0, int64_t* t1) {
  *t0 = pad - h > 0 ? pad - h : 0;
  *t1 = H + pad - h < k ? H + pad - h : k;
  if (*t1 < *t0) *t1 = *t0;
}

void Unfold(const float* x, int64_t N, int64_t H, int64_t C, int64_t k, int64_t pad, float* out) {
  const int64_t Ho = H + 2 * pad - k + 1, W = k * C;
  for (int64_t n = 0; n < N; n++) {
    for (int64_t h = 0; h < Ho; h++) {
      float* o = out + (n * Ho + h) * W;
      int64_t t0, t1;
      Window(h, H, k, pad, &t0, &t1);
      if (t0 > 0) std::memset(o, 0, sizeof(float) * static_cast<size_t>(t0 * C));
      if (t1 > t0) std::memcpy(o + t0 * C, x + (n * H + h + t0 - pad) * C, sizeof(float) * static_cast<size_t>((t1 - t0) * C));
      if (t1 < k) std::memset(o + t1 * C, 0, sizeof(float) * static_cast<size_t>((k - t1) * C));
    }
  }
}

FR_ROWS_CLONES
void FoldAdd(const float* g, int64_t N, int64_t H, int64_t C, int64_t k, int64_t pad, float* gx) {
  const int64_t Ho = H + 2 * pad - k + 1, W = k * C;
  for (int64_t n = 0; n < N; n++) {
    for (int64_t h = 0; h < Ho; h++) {
      const float* src = g + (n * Ho + h) * W;
      int64_t t0, t1;
      Window(h, H, k, pad, &t0, &t1);
      float* dst = gx + (n * H + h + t0 - pad) * C;
      const float* s = src + t0 * C;
      const int64_t len = (t1 - t0) * C;
      for (int64_t j = 0; j < len; j++) dst[j] += s[j];
    }
  }
}

void MaxPool(const float* x, int64_t N, int64_t H, int64_t C, int64_t k, int64_t pad, int64_t Ho, float* out, int32_t* arg) {
  for (int64_t n = 0; n < N; n++) {
    for (int64_t i = 0; i < Ho; i++) {
      const int64_t r0 = i * k - pad > 0 ? i * k - pad : 0, r1 = i * k - pad + k < H ? i * k - pad + k : H;
      float* o = out + (n * Ho + i) * C;
      int32_t* a = arg + (n * Ho + i) * C;
      const float* first = x + (n * H + r0) * C;
      for (int64_t c = 0; c < C; c++) {
        o[c] = first[c];
        a[c] = static_cast<int32_t>((n * H + r0) * C + c);
      }
      for (int64_t r = r0 + 1; r < r1; r++) {
        const float* row = x + (n * H + r) * C;
        for (int64_t c = 0; c < C; c++) {
          if (row[c] > o[c]) {
            o[c] = row[c];
            a[c] = static_cast<int32_t>((n * H + r) * C + c);
          }
        }
      }
    }
  }
}

napi_value TanhForward(napi_env env, napi_callback_info info) {
  const char* fn = "tanhForward";
  napi_value a[3];
  if (!GetArgs(env, info, fn, 3, a)) return nullptr;
  int64_t n;
  float *x, *out;
  if (!GetSize(env, fn, a[1], "n", &n) || !GetF32(env, fn, a[0], "x", n, false, &x) || !GetF32(env, fn, a[2], "out", n, false, &out)) return nullptr;
  Tanh(x, n, out);
  return nullptr;
}

napi_value TanhBackwardNapi(napi_env env, napi_callback_info info) {
  const char* fn = "tanhBackward";
  napi_value a[4];
  if (!GetArgs(env, info, fn, 4, a)) return nullptr;
  int64_t n;
  float *t, *g, *gx;
  if (!GetSize(env, fn, a[2], "n", &n) || !GetF32(env, fn, a[0], "t", n, false, &t) || !GetF32(env, fn, a[1], "g", n, false, &g) ||
      !GetF32(env, fn, a[3], "gx", n, false, &gx))
    return nullptr;
  TanhBackward(t, g, n, gx);
  return nullptr;
}

napi_value MaxPoolRowsBackward(napi_env env, napi_callback_info info) {
  const char* fn = "maxPoolRowsBackward";
  napi_value a[5];
  if (!GetArgs(env, info, fn, 5, a)) return nullptr;
  int64_t n, nx;
  float *g, *gx;
  if (!GetSize(env, fn, a[2], "n", &n) || !GetSize(env, fn, a[4], "nx", &nx) || !GetF32(env, fn, a[0], "g", n, false, &g) ||
      !GetF32(env, fn, a[3], "gx", nx, false, &gx))
    return nullptr;
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, a[1], &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_int32_array)
    return Throw(env, fn, 'T', "arg must be an Int32Array");
  if (static_cast<int64_t>(len) < n) return Throw(env, fn, 'R', "arg has " + std::to_string(len) + " elements, needs " + std::to_string(n));
  const int32_t* arg = static_cast<const int32_t*>(ptr);
  for (int64_t j = 0; j < n; j++)
    if (arg[j] < 0 || arg[j] >= nx) return Throw(env, fn, 'R', "arg[" + std::to_string(j) + "] = " + std::to_string(arg[j]) + " is outside [0, " + std::to_string(nx) + ")");
  ScatterAdd(g, arg, n, gx);
  return nullptr;
}

// N, H, C, k, pad from a[0 … 4]: k ≥ 1, Ho ≥ 1, N·H·C and N·Ho·k·C below 2^31.
bool GetRowShape(napi_env env, const char* fn, napi_value* a, int64_t* s) {
  const char* names[5] = {"N", "H", "C", "k", "pad"};
  for (int i = 0; i < 5; i++)
    if (!GetSize(env, fn, a[i], names[i], s + i)) return false;
  const int64_t Ho = s[1] + 2 * s[4] - s[3] + 1;
  if (s[3] < 1 || Ho < 1) {
    Throw(env, fn, 'R', "needs k ≥ 1 and H + 2·pad − k + 1 ≥ 1");
    return false;
  }
  if (static_cast<double>(s[0]) * s[1] * s[2] >= 2147483648.0 || static_cast<double>(s[0]) * Ho * s[3] * s[2] >= 2147483648.0) {
    Throw(env, fn, 'R', "N·H·C and N·Ho·k·C must be below 2^31");
    return false;
  }
  return true;
}

napi_value UnfoldRows(napi_env env, napi_callback_info info) {
  const char* fn = "unfoldRows";
  napi_value a[7];
  if (!GetArgs(env, info, fn, 7, a)) return nullptr;
  int64_t s[5];
  if (!GetRowShape(env, fn, a + 1, s)) return nullptr;
  const int64_t Ho = s[1] + 2 * s[4] - s[3] + 1;
  float *x, *out;
  if (!GetF32(env, fn, a[0], "x", s[0] * s[1] * s[2], false, &x) || !GetF32(env, fn, a[6], "out", s[0] * Ho * s[3] * s[2], false, &out)) return nullptr;
  Unfold(x, s[0], s[1], s[2], s[3], s[4], out);
  return nullptr;
}

napi_value FoldRowsAdd(napi_env env, napi_callback_info info) {
  const char* fn = "foldRowsAdd";
  napi_value a[7];
  if (!GetArgs(env, info, fn, 7, a)) return nullptr;
  int64_t s[5];
  if (!GetRowShape(env, fn, a + 1, s)) return nullptr;
  const int64_t Ho = s[1] + 2 * s[4] - s[3] + 1;
  float *g, *gx;
  if (!GetF32(env, fn, a[0], "g", s[0] * Ho * s[3] * s[2], false, &g) || !GetF32(env, fn, a[6], "gx", s[0] * s[1] * s[2], false, &gx)) return nullptr;
  FoldAdd(g, s[0], s[1], s[2], s[3], s[4], gx);
  return nullptr;
}

napi_value MaxPoolRows(napi_env env, napi_callback_info info) {
  const char* fn = "maxPoolRows";
  napi_value a[9];
  if (!GetArgs(env, info, fn, 9, a)) return nullptr;
  int64_t s[5], Ho;
  const char* names[5] = {"N", "H", "C", "k", "pad"};
  for (int i = 0; i < 5; i++)
    if (!GetSize(env, fn, a[1 + i], names[i], s + i)) return nullptr;
  if (!GetSize(env, fn, a[6], "Ho", &Ho)) return nullptr;
  const int64_t N = s[0], H = s[1], C = s[2], k = s[3], pad = s[4];
  if (k < 1 || pad >= k || Ho < 1 || (Ho - 1) * k - pad >= H)
    return Throw(env, fn, 'R', "every pooling window must hold at least one row");
  if (static_cast<double>(N) * H * C >= 2147483648.0) return Throw(env, fn, 'R', "N·H·C must be below 2^31");
  float *x, *out;
  if (!GetF32(env, fn, a[0], "x", N * H * C, false, &x) || !GetF32(env, fn, a[7], "out", N * Ho * C, false, &out)) return nullptr;
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, a[8], &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_int32_array)
    return Throw(env, fn, 'T', "arg must be an Int32Array");
  if (static_cast<int64_t>(len) < N * Ho * C) return Throw(env, fn, 'R', "arg has " + std::to_string(len) + " elements, needs " + std::to_string(N * Ho * C));
  MaxPool(x, N, H, C, k, pad, Ho, out, static_cast<int32_t*>(ptr));
  return nullptr;
}

}  // namespace

void RegisterRowKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "tanhForward", TanhForward);
  Export(env, exports, "unfoldRows", UnfoldRows);
  Export(env, exports, "foldRowsAdd", FoldRowsAdd);
  Export(env, exports, "maxPoolRows", MaxPoolRows);
  Export(env, exports, "tanhBackward", TanhBackwardNapi);
  Export(env, exports, "maxPoolRowsBackward", MaxPoolRowsBackward);
}
