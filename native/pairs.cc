// Field-pair kernels of the finerank addon: IPNN's inner products (FGCNN, PNN) and the pair
// Hadamard products of FiBiNET's bilinear interaction. Twins of src/engine/kernels/pairs.ts;
// registered by Init in finerank.cc.
//
//   innerProducts(x, B, F, D, out)            out[b, p] = float(Σ_d x[b,i,d]·x[b,j,d]) for the pairs
//                                             p = (i, j), i < j, in row-major order; the sum a double,
//                                             d ascending
//   innerProductsBackward(x, g, B, F, D, gx)  gx[b,f,d] = float(gx[b,f,d] + Σ_{m≠f} G[f,m]·x[b,m,d])
//                                             with G[f,m] = g[b, pair(min(f,m), max(f,m))], the sum
//                                             a double, m ascending
//   hadamardPairs(a, FA, li, c, FC, ri, B, P, D, out)
//                                             out[b,p,d] = float(a[b,li[p],d]·c[b,ri[p],d])
//   hadamardPairsBackward(a, FA, li, c, FC, ri, B, P, D, g, ga, gc)
//                                             ga[b,li[p],d] += g[b,p,d]·c[b,ri[p],d] and
//                                             gc[b,ri[p],d] += g[b,p,d]·a[b,li[p],d], p ascending,
//                                             each update one double sum rounded to float (ga / gc
//                                             may be null)
//
// Double products of floats are exact, so only the order of the double sums matters: it is
// the twin's, and the bits equal TypeScript's (test/engine/pair-kernels.test.ts). The
// loops run over j (forward) and d (backward) innermost so that they vectorize without
// reordering any sum.
#include "pairs.h"

#include <cstdint>
#include <string>
#include <vector>

#include "napi-args.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_PAIRS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_PAIRS_CLONES
#endif

namespace {

using namespace finerank_napi;

FR_PAIRS_CLONES
void InnerProducts(const float* X, int64_t B, int64_t F, int64_t D, float* out) {
  const int64_t P = F * (F - 1) / 2;
  std::vector<double> xt(static_cast<size_t>(F * D)), acc(static_cast<size_t>(F));
  for (int64_t b = 0; b < B; b++) {
    const float* x = X + b * F * D;
    for (int64_t f = 0; f < F; f++)
      for (int64_t d = 0; d < D; d++) xt[d * F + f] = x[f * D + d];
    float* o = out + b * P;
    for (int64_t i = 0; i + 1 < F; i++) {
      const int64_t n = F - 1 - i;
      double* a = acc.data();
      for (int64_t j = 0; j < n; j++) a[j] = 0.0;
      for (int64_t d = 0; d < D; d++) {
        const double xi = xt[d * F + i];
        const double* row = xt.data() + d * F + i + 1;
        for (int64_t j = 0; j < n; j++) a[j] += xi * row[j];
      }
      for (int64_t j = 0; j < n; j++) o[j] = static_cast<float>(a[j]);
      o += n;
    }
  }
}

FR_PAIRS_CLONES
void InnerProductsBackward(const float* X, const float* G, int64_t B, int64_t F, int64_t D, float* GX) {
  const int64_t P = F * (F - 1) / 2;
  std::vector<double> gm(static_cast<size_t>(F * F)), acc(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; b++) {
    const float* x = X + b * F * D;
    const float* g = G + b * P;
    int64_t p = 0;
    for (int64_t i = 0; i < F; i++) {
      gm[i * F + i] = 0.0;
      for (int64_t j = i + 1; j < F; j++, p++) gm[i * F + j] = gm[j * F + i] = g[p];
    }
    float* gx = GX + b * F * D;
    for (int64_t f = 0; f < F; f++) {
      double* a = acc.data();
      for (int64_t d = 0; d < D; d++) a[d] = 0.0;
      for (int64_t m = 0; m < F; m++) {
        if (m == f) continue;
        const double w = gm[f * F + m];
        const float* xm = x + m * D;
        for (int64_t d = 0; d < D; d++) a[d] += w * static_cast<double>(xm[d]);
      }
      float* row = gx + f * D;
      for (int64_t d = 0; d < D; d++) row[d] = static_cast<float>(static_cast<double>(row[d]) + a[d]);
    }
  }
}

FR_PAIRS_CLONES
void HadamardPairs(const float* A, int64_t FA, const int32_t* li, const float* C, int64_t FC, const int32_t* ri, int64_t B, int64_t P,
                   int64_t D, float* out) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      const float* a = A + (b * FA + li[p]) * D;
      const float* c = C + (b * FC + ri[p]) * D;
      float* o = out + (b * P + p) * D;
      for (int64_t d = 0; d < D; d++) o[d] = a[d] * c[d];
    }
}

FR_PAIRS_CLONES
void HadamardPairsBackward(const float* A, int64_t FA, const int32_t* li, const float* C, int64_t FC, const int32_t* ri, int64_t B,
                           int64_t P, int64_t D, const float* G, float* GA, float* GC) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      const int64_t oa = (b * FA + li[p]) * D, oc = (b * FC + ri[p]) * D;
      const float* g = G + (b * P + p) * D;
      if (GA != nullptr)
        for (int64_t d = 0; d < D; d++)
          GA[oa + d] = static_cast<float>(static_cast<double>(GA[oa + d]) + static_cast<double>(g[d]) * static_cast<double>(C[oc + d]));
      if (GC != nullptr)
        for (int64_t d = 0; d < D; d++)
          GC[oc + d] = static_cast<float>(static_cast<double>(GC[oc + d]) + static_cast<double>(g[d]) * static_cast<double>(A[oa + d]));
    }
}

// B, F, D from a[0 … 2] with B·F·D and B·F² below 2^31.
bool GetBFD(napi_env env, const char* fn, napi_value* a, int64_t* s) {
  const char* names[3] = {"B", "F", "D"};
  for (int i = 0; i < 3; i++)
    if (!GetSize(env, fn, a[i], names[i], s + i)) return false;
  if (static_cast<double>(s[0]) * s[1] * (s[1] > s[2] ? s[1] : s[2]) >= 2147483648.0) {
    Throw(env, fn, 'R', "B·F·D and B·F² must be below 2^31");
    return false;
  }
  return true;
}

napi_value InnerProductsForward(napi_env env, napi_callback_info info) {
  const char* fn = "innerProducts";
  napi_value a[5];
  if (!GetArgs(env, info, fn, 5, a)) return nullptr;
  int64_t s[3];
  if (!GetBFD(env, fn, a + 1, s)) return nullptr;
  float *x, *out;
  if (!GetF32(env, fn, a[0], "x", s[0] * s[1] * s[2], false, &x) || !GetF32(env, fn, a[4], "out", s[0] * (s[1] * (s[1] - 1) / 2), false, &out))
    return nullptr;
  InnerProducts(x, s[0], s[1], s[2], out);
  return nullptr;
}

napi_value InnerProductsBackwardNapi(napi_env env, napi_callback_info info) {
  const char* fn = "innerProductsBackward";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  int64_t s[3];
  if (!GetBFD(env, fn, a + 2, s)) return nullptr;
  float *x, *g, *gx;
  if (!GetF32(env, fn, a[0], "x", s[0] * s[1] * s[2], false, &x) || !GetF32(env, fn, a[1], "g", s[0] * (s[1] * (s[1] - 1) / 2), false, &g) ||
      !GetF32(env, fn, a[5], "gx", s[0] * s[1] * s[2], false, &gx))
    return nullptr;
  InnerProductsBackward(x, g, s[0], s[1], s[2], gx);
  return nullptr;
}

// An Int32Array of at least P indices, each in [0, bound).
bool GetIndices(napi_env env, const char* fn, napi_value v, const char* name, int64_t P, int64_t bound, int32_t** out) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_int32_array) {
    Throw(env, fn, 'T', std::string(name) + " must be an Int32Array");
    return false;
  }
  if (static_cast<int64_t>(len) < P) {
    Throw(env, fn, 'R', std::string(name) + " has " + std::to_string(len) + " elements, needs " + std::to_string(P));
    return false;
  }
  int32_t* idx = static_cast<int32_t*>(ptr);
  for (int64_t p = 0; p < P; p++)
    if (idx[p] < 0 || idx[p] >= bound) {
      Throw(env, fn, 'R', std::string(name) + "[" + std::to_string(p) + "] = " + std::to_string(idx[p]) + " is outside [0, " + std::to_string(bound) + ")");
      return false;
    }
  *out = idx;
  return true;
}

// Shared argument reading of hadamardPairs(+Backward): a, FA, li, c, FC, ri, B, P, D.
struct HadamardArgs {
  float *a, *c;
  int32_t *li, *ri;
  int64_t FA, FC, B, P, D;
};

bool GetHadamardArgs(napi_env env, const char* fn, napi_value* v, HadamardArgs* h) {
  if (!GetSize(env, fn, v[1], "FA", &h->FA) || !GetSize(env, fn, v[4], "FC", &h->FC) || !GetSize(env, fn, v[6], "B", &h->B) ||
      !GetSize(env, fn, v[7], "P", &h->P) || !GetSize(env, fn, v[8], "D", &h->D))
    return false;
  const double most = static_cast<double>(h->B) * h->D * (h->P > h->FA ? (h->P > h->FC ? h->P : h->FC) : (h->FA > h->FC ? h->FA : h->FC));
  if (most >= 2147483648.0) {
    Throw(env, fn, 'R', "B·max(P, FA, FC)·D must be below 2^31");
    return false;
  }
  return GetF32(env, fn, v[0], "a", h->B * h->FA * h->D, false, &h->a) && GetIndices(env, fn, v[2], "li", h->P, h->FA, &h->li) &&
         GetF32(env, fn, v[3], "c", h->B * h->FC * h->D, false, &h->c) && GetIndices(env, fn, v[5], "ri", h->P, h->FC, &h->ri);
}

napi_value HadamardPairsForward(napi_env env, napi_callback_info info) {
  const char* fn = "hadamardPairs";
  napi_value v[10];
  if (!GetArgs(env, info, fn, 10, v)) return nullptr;
  HadamardArgs h;
  float* out;
  if (!GetHadamardArgs(env, fn, v, &h) || !GetF32(env, fn, v[9], "out", h.B * h.P * h.D, false, &out)) return nullptr;
  HadamardPairs(h.a, h.FA, h.li, h.c, h.FC, h.ri, h.B, h.P, h.D, out);
  return nullptr;
}

napi_value HadamardPairsBackwardNapi(napi_env env, napi_callback_info info) {
  const char* fn = "hadamardPairsBackward";
  napi_value v[12];
  if (!GetArgs(env, info, fn, 12, v)) return nullptr;
  HadamardArgs h;
  float *g, *ga, *gc;
  if (!GetHadamardArgs(env, fn, v, &h) || !GetF32(env, fn, v[9], "g", h.B * h.P * h.D, false, &g) ||
      !GetF32(env, fn, v[10], "ga", h.B * h.FA * h.D, true, &ga) || !GetF32(env, fn, v[11], "gc", h.B * h.FC * h.D, true, &gc))
    return nullptr;
  HadamardPairsBackward(h.a, h.FA, h.li, h.c, h.FC, h.ri, h.B, h.P, h.D, g, ga, gc);
  return nullptr;
}

}  // namespace

void RegisterPairKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "innerProducts", InnerProductsForward);
  Export(env, exports, "innerProductsBackward", InnerProductsBackwardNapi);
  Export(env, exports, "hadamardPairs", HadamardPairsForward);
  Export(env, exports, "hadamardPairsBackward", HadamardPairsBackwardNapi);
}
