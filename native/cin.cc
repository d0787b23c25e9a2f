// Kernels of xDeepFM's Compressed Interaction Network (src/blocks/interactions/cin.ts).
// Twins of src/engine/kernels/cin.ts; registered by Init in finerank.cc.
//
// x0 is the field embeddings [B, F, D]; xk the layer's input maps, either field-major
// [B, H, D] (layer 0: xk = x0) or dim-major [B, D, H] (a Linear's output); xk(b, j, d) names
// its element either way.
//
//   cinOuter(x0, xk, dimMajor, B, F, H, D, z)
//       z[b·D + d, i·H + j] = x0[b,i,d]·xk(b,j,d)                 (z [B·D, F·H], written)
//   cinOuterBackward(x0, xk, dimMajor, B, F, H, D, gz, gx0, gxk)
//       per sample b, first gx0[b,i,d] = float(gx0[b,i,d] + Σ_j gz[b·D+d, i·H+j]·xk(b,j,d)),
//       then gxk(b,j,d) = float(gxk(b,j,d) + Σ_i gz[b·D+d, i·H+j]·x0[b,i,d])
//   cinDots(x0, xk, dimMajor, B, F, H, D, out)
//       out[b, i·H + j] = float(Σ_d x0[b,i,d]·xk(b,j,d))           (out [B, F·H], written)
//   cinDotsBackward(x0, xk, dimMajor, B, F, H, D, g, gx0, gxk)
//       per sample b, first gx0[b,i,d] = float(gx0[b,i,d] + Σ_j g[b, i·H+j]·xk(b,j,d)),
//       then gxk(b,j,d) = float(gxk(b,j,d) + Σ_i g[b, i·H+j]·x0[b,i,d])
//
// Every sum is a double over its index ascending, rounded to float once, so the bits equal
// the TypeScript twin's (test/engine/cin-kernels.test.ts). gx0 / gxk may be null (not
// computed) and may be the same array (x0 = xk: layer 0), which is why each sample's gx0
// updates all precede its gxk updates. Per sample the operands are copied into small
// transposed scratch arrays so that the innermost loops run over contiguous memory and
// vectorize without reordering any sum (the one exception: the j-sum of cinOuterBackward's
// gx0, a scalar chain).
#include "cin.h"

#include <cstdint>
#include <vector>

#include "napi-args.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_CIN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_CIN_CLONES
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FR_ALWAYS_INLINE_CIN __attribute__((always_inline)) inline
#else
#define FR_ALWAYS_INLINE_CIN inline
#endif

namespace {

using namespace finerank_napi;

// xk of sample b as dim-major [D, H] (T = float or double).
template <typename T>
void DimMajor(const float* xk, bool dimMajor, int64_t b, int64_t H, int64_t D, T* out) {
  const float* x = xk + b * H * D;
  if (dimMajor)
    for (int64_t n = 0; n < H * D; n++) out[n] = x[n];
  else
    for (int64_t j = 0; j < H; j++)
      for (int64_t d = 0; d < D; d++) out[d * H + j] = x[j * D + d];
}

// xk of sample b as field-major [H, D] doubles.
void FieldMajor(const float* xk, bool dimMajor, int64_t b, int64_t H, int64_t D, double* out) {
  const float* x = xk + b * H * D;
  if (dimMajor)
    for (int64_t d = 0; d < D; d++)
      for (int64_t j = 0; j < H; j++) out[j * D + d] = x[d * H + j];
  else
    for (int64_t n = 0; n < H * D; n++) out[n] = x[n];
}

// Adds acc (field-major [H, D]) to gxk of sample b in its layout, one float rounding each.
void AddFieldMajor(const double* acc, bool dimMajor, int64_t b, int64_t H, int64_t D, float* gxk) {
  float* g = gxk + b * H * D;
  if (dimMajor)
    for (int64_t j = 0; j < H; j++)
      for (int64_t d = 0; d < D; d++) g[d * H + j] = static_cast<float>(static_cast<double>(g[d * H + j]) + acc[j * D + d]);
  else
    for (int64_t n = 0; n < H * D; n++) g[n] = static_cast<float>(static_cast<double>(g[n]) + acc[n]);
}

FR_CIN_CLONES
void CinOuter(const float* X0, const float* XK, bool dimMajor, int64_t B, int64_t F, int64_t H, int64_t D, float* Z) {
  std::vector<float> x0t(static_cast<size_t>(D * F)), xkt(static_cast<size_t>(D * H));
  for (int64_t b = 0; b < B; b++) {
    const float* x0 = X0 + b * F * D;
    for (int64_t i = 0; i < F; i++)
      for (int64_t d = 0; d < D; d++) x0t[d * F + i] = x0[i * D + d];
    DimMajor(XK, dimMajor, b, H, D, xkt.data());
    for (int64_t d = 0; d < D; d++) {
      const float* k = xkt.data() + d * H;
      float* z = Z + (b * D + d) * F * H;
      for (int64_t i = 0; i < F; i++) {
        const float a = x0t[d * F + i];
        float* zi = z + i * H;
        for (int64_t j = 0; j < H; j++) zi[j] = a * k[j];
      }
    }
  }
}

FR_CIN_CLONES
void CinOuterBackward(const float* X0, const float* XK, bool dimMajor, int64_t B, int64_t F, int64_t H, int64_t D, const float* GZ, float* GX0,
                      float* GXK) {
  std::vector<double> xkt(static_cast<size_t>(D * H)), acc(static_cast<size_t>(H * D)), accj(static_cast<size_t>(H));
  for (int64_t b = 0; b < B; b++) {
    const float* x0 = X0 + b * F * D;
    DimMajor(XK, dimMajor, b, H, D, xkt.data());
    if (GX0 != nullptr) {
      float* gx0 = GX0 + b * F * D;
      for (int64_t i = 0; i < F; i++)
        for (int64_t d = 0; d < D; d++) {
          const float* g = GZ + (b * D + d) * F * H + i * H;
          const double* k = xkt.data() + d * H;
          double s = 0.0;
          for (int64_t j = 0; j < H; j++) s += static_cast<double>(g[j]) * k[j];
          gx0[i * D + d] = static_cast<float>(static_cast<double>(gx0[i * D + d]) + s);
        }
    }
    if (GXK != nullptr) {
      for (int64_t d = 0; d < D; d++) {
        const float* gz = GZ + (b * D + d) * F * H;
        double* a = accj.data();
        for (int64_t j = 0; j < H; j++) a[j] = 0.0;
        for (int64_t i = 0; i < F; i++) {
          const double w = x0[i * D + d];
          const float* g = gz + i * H;
          for (int64_t j = 0; j < H; j++) a[j] += static_cast<double>(g[j]) * w;
        }
        for (int64_t j = 0; j < H; j++) acc[j * D + d] = a[j];
      }
      AddFieldMajor(acc.data(), dimMajor, b, H, D, GXK);
    }
  }
}

FR_CIN_CLONES
void CinDots(const float* X0, const float* XK, bool dimMajor, int64_t B, int64_t F, int64_t H, int64_t D, float* OUT) {
  std::vector<double> xkt(static_cast<size_t>(D * H)), acc(static_cast<size_t>(H));
  for (int64_t b = 0; b < B; b++) {
    const float* x0 = X0 + b * F * D;
    DimMajor(XK, dimMajor, b, H, D, xkt.data());
    float* o = OUT + b * F * H;
    for (int64_t i = 0; i < F; i++) {
      double* a = acc.data();
      for (int64_t j = 0; j < H; j++) a[j] = 0.0;
      for (int64_t d = 0; d < D; d++) {
        const double x = x0[i * D + d];
        const double* k = xkt.data() + d * H;
        for (int64_t j = 0; j < H; j++) a[j] += x * k[j];
      }
      for (int64_t j = 0; j < H; j++) o[i * H + j] = static_cast<float>(a[j]);
    }
  }
}

// out[r·D + d] = Σ_s w[r·rStride + s·sStride]·src[s·D + d] for r < R, d < D: double sums over
// s ascending (the innermost loop runs over d, contiguous). Both halves of cinDotsBackward
// are this loop with the roles of fields and maps swapped: gx0 (r = field i, s = map j, src
// xk field-major) and gxk (r = map j, s = field i, src x0).
FR_ALWAYS_INLINE_CIN void WeightedRowSums(const float* w, int64_t rStride, int64_t sStride, int64_t R, int64_t S, const double* src,
                                          int64_t D, double* out) {
  for (int64_t r = 0; r < R; r++) {
    double* a = out + r * D;
    for (int64_t d = 0; d < D; d++) a[d] = 0.0;
    for (int64_t q = 0; q < S; q++) {
      const double v = w[r * rStride + q * sStride];
      const double* x = src + q * D;
      for (int64_t d = 0; d < D; d++) a[d] += v * x[d];
    }
  }
}

FR_CIN_CLONES
void CinDotsBackward(const float* X0, const float* XK, bool dimMajor, int64_t B, int64_t F, int64_t H, int64_t D, const float* G, float* GX0,
                     float* GXK) {
  std::vector<double> xkf(static_cast<size_t>(H * D)), x0d(static_cast<size_t>(F * D)), acc(static_cast<size_t>((F > H ? F : H) * D));
  for (int64_t b = 0; b < B; b++) {
    const float* x0 = X0 + b * F * D;
    const float* g = G + b * F * H;
    if (GX0 != nullptr) {
      // gx0[b,i,d] += Σ_j g[b, i·H+j]·xk(b,j,d): rows i, weights along j (stride 1).
      FieldMajor(XK, dimMajor, b, H, D, xkf.data());
      WeightedRowSums(g, H, 1, F, H, xkf.data(), D, acc.data());
      AddFieldMajor(acc.data(), false, b, F, D, GX0);
    }
    if (GXK != nullptr) {
      // gxk(b,j,d) += Σ_i g[b, i·H+j]·x0[b,i,d]: rows j, weights along i (stride H).
      for (int64_t n = 0; n < F * D; n++) x0d[n] = x0[n];
      WeightedRowSums(g, 1, H, H, F, x0d.data(), D, acc.data());
      AddFieldMajor(acc.data(), dimMajor, b, H, D, GXK);
    }
  }
}

// Shared arguments x0, xk, dimMajor, B, F, H, D (a[0 … 6]), sizes below 2^31.
struct CinArgs {
  float *x0, *xk;
  bool dimMajor;
  int64_t B, F, H, D;
};

bool GetCinArgs(napi_env env, const char* fn, napi_value* a, CinArgs* c) {
  if (!GetSize(env, fn, a[3], "B", &c->B) || !GetSize(env, fn, a[4], "F", &c->F) || !GetSize(env, fn, a[5], "H", &c->H) ||
      !GetSize(env, fn, a[6], "D", &c->D))
    return false;
  if (static_cast<double>(c->B) * c->D * c->F * (c->H > 1 ? c->H : 1) >= 2147483648.0) {
    Throw(env, fn, 'R', "B·D·F·H must be below 2^31");
    return false;
  }
  if (napi_get_value_bool(env, a[2], &c->dimMajor) != napi_ok) {
    Throw(env, fn, 'T', "dimMajor must be a boolean");
    return false;
  }
  return GetF32(env, fn, a[0], "x0", c->B * c->F * c->D, false, &c->x0) && GetF32(env, fn, a[1], "xk", c->B * c->H * c->D, false, &c->xk);
}

// The forward kernels' arguments: the shared ones and the result a[7] (`outName`, the outer
// product's B·D·F·H values or the dots' B·F·H); then `kernel` runs.
using CinForwardKernel = void (*)(const float*, const float*, bool, int64_t, int64_t, int64_t, int64_t, float*);

napi_value CinForwardNapi(napi_env env, napi_callback_info info, const char* fn, const char* outName, bool outer, CinForwardKernel kernel) {
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  CinArgs c;
  float* out;
  if (!GetCinArgs(env, fn, a, &c) || !GetF32(env, fn, a[7], outName, outer ? c.B * c.D * c.F * c.H : c.B * c.F * c.H, false, &out)) return nullptr;
  kernel(c.x0, c.xk, c.dimMajor, c.B, c.F, c.H, c.D, out);
  return nullptr;
}

napi_value CinOuterNapi(napi_env env, napi_callback_info info) { return CinForwardNapi(env, info, "cinOuter", "z", true, CinOuter); }

// The backward kernels' arguments: the shared ones, the incoming gradient a[7] (`gName`: the
// outer product's B·D·F·H values or the dots' B·F·H) and the optional gx0 a[8] / gxk a[9]; then `kernel` runs.
using CinBackwardKernel = void (*)(const float*, const float*, bool, int64_t, int64_t, int64_t, int64_t, const float*, float*, float*);

napi_value CinBackwardNapi(napi_env env, napi_callback_info info, const char* fn, const char* gName, bool outerGrad, CinBackwardKernel kernel) {
  napi_value a[10];
  if (!GetArgs(env, info, fn, 10, a)) return nullptr;
  CinArgs c;
  float *g, *gx0, *gxk;
  if (!GetCinArgs(env, fn, a, &c) || !GetF32(env, fn, a[7], gName, outerGrad ? c.B * c.D * c.F * c.H : c.B * c.F * c.H, false, &g) ||
      !GetF32(env, fn, a[8], "gx0", c.B * c.F * c.D, true, &gx0) || !GetF32(env, fn, a[9], "gxk", c.B * c.H * c.D, true, &gxk))
    return nullptr;
  kernel(c.x0, c.xk, c.dimMajor, c.B, c.F, c.H, c.D, g, gx0, gxk);
  return nullptr;
}

napi_value CinOuterBackwardNapi(napi_env env, napi_callback_info info) {
  return CinBackwardNapi(env, info, "cinOuterBackward", "gz", true, CinOuterBackward);
}

napi_value CinDotsNapi(napi_env env, napi_callback_info info) { return CinForwardNapi(env, info, "cinDots", "out", false, CinDots); }

napi_value CinDotsBackwardNapi(napi_env env, napi_callback_info info) {
  return CinBackwardNapi(env, info, "cinDotsBackward", "g", false, CinDotsBackward);
}

}  // namespace

void RegisterCinKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "cinOuter", CinOuterNapi);
  Export(env, exports, "cinOuterBackward", CinOuterBackwardNapi);
  Export(env, exports, "cinDots", CinDotsNapi);
  Export(env, exports, "cinDotsBackward", CinDotsBackwardNapi);
}
