// Fused GRU step kernels (DIEN's interest extractor and AUGRU / AGRU evolution), twins of
// src/blocks/sequence/gru-kernels-ts.ts. Registered by Init in finerank.cc.
//
//   gruStepForward(B, H, mode, gx, gh, bhh, hPrev, att, valid, hOut, gates)
//       For each row b of the [B, H] batch, with gx = x·W_ih + b_ih and gh = h′·W_hh (no bias),
//       both [B, 3H] laid out [u | r | n], and mode 0 = GRU, 1 = AUGRU, 2 = AGRU:
//         u = σ(gx_u + (gh_u + b_u)),  r = σ(gx_r + (gh_r + b_r)),
//         c = gh_n + b_n,  n = tanh(gx_n + r·c),
//         w = u (GRU) | a·u (AUGRU) | a (AGRU), a = att[b],
//         hOut = (1 − w)·h′ + w·n;
//       gates [B, 4H] keeps [u | r | n | c] (each rounded to float) for the backward step; the
//       output uses those rounded values. Rows with valid[b] = 0 copy h′ and zero their gates.
//   gruStepBackward(B, H, mode, dh, gates, hPrev, att, valid, dgx, dgh, dhPrev, da)
//       The step's gradients from dh = ∂L/∂h: dn = dh·w, dw = dh·(n − h′), dhPrev = dh·(1 − w),
//       du = dw (GRU) | dw·a (AUGRU) | 0 (AGRU), da[b] += Σ_j dw·u (AUGRU) | Σ_j dw (AGRU),
//       dpn = dn·(1 − n²), dpr = dpn·c·r·(1 − r), dpu = du·u·(1 − u);
//       dgx [u|r|n] += (dpu, dpr, dpn); dgh [u|r|n] = (dpu, dpr, dpn·r) (overwritten: the
//       gradient of h′·W_hh + b_hh, whose matmul the caller does); dhPrev = the direct path.
//       Invalid rows: dhPrev = dh, dgh = 0, dgx and da untouched.
//
// Exactness: both sides compute in double with the same operations in the same order and
// round to float on every store; σ and tanh are built from one exp (ExpD below: Cody–Waite
// reduction and a degree-12 Taylor polynomial, scaled by an exact power of two) instead of the
// C library's, so native and TypeScript results are bit-identical (test/blocks/gru-kernels).
// binding.gyp passes -ffp-contract=off (no fused multiply-add); -O3 vectorizes the loops.
#include "gru.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "expd.h"
#include "napi-args.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_GRU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_GRU_CLONES
#endif

namespace {

using namespace finerank_napi;
using finerank_expd::SigmoidD;
using finerank_expd::TanhD;

FR_GRU_CLONES
void Forward(int64_t B, int64_t H, int mode, const float* gx, const float* gh, const float* bhh, const float* hPrev, const float* att,
             const uint8_t* valid, float* hOut, float* gates) {
  for (int64_t b = 0; b < B; b++) {
    const float* x = gx + b * 3 * H;
    const float* g = gh + b * 3 * H;
    const float* p = hPrev + b * H;
    float* o = hOut + b * H;
    float* s = gates + b * 4 * H;
    if (valid != nullptr && valid[b] == 0) {
      for (int64_t j = 0; j < H; j++) o[j] = p[j];
      for (int64_t j = 0; j < 4 * H; j++) s[j] = 0.0f;
      continue;
    }
    const double a = att == nullptr ? 1.0 : static_cast<double>(att[b]);
    for (int64_t j = 0; j < H; j++) {
      const float u = static_cast<float>(SigmoidD(static_cast<double>(x[j]) + (static_cast<double>(g[j]) + static_cast<double>(bhh[j]))));
      const float r = static_cast<float>(
          SigmoidD(static_cast<double>(x[H + j]) + (static_cast<double>(g[H + j]) + static_cast<double>(bhh[H + j]))));
      const float c = static_cast<float>(static_cast<double>(g[2 * H + j]) + static_cast<double>(bhh[2 * H + j]));
      const float n = static_cast<float>(TanhD(static_cast<double>(x[2 * H + j]) + static_cast<double>(r) * static_cast<double>(c)));
      const double w = mode == 0 ? static_cast<double>(u) : (mode == 1 ? a * static_cast<double>(u) : a);
      o[j] = static_cast<float>((1.0 - w) * static_cast<double>(p[j]) + w * static_cast<double>(n));
      s[j] = u;
      s[H + j] = r;
      s[2 * H + j] = n;
      s[3 * H + j] = c;
    }
  }
}

FR_GRU_CLONES
void Backward(int64_t B, int64_t H, int mode, const float* dh, const float* gates, const float* hPrev, const float* att, const uint8_t* valid,
              float* dgx, float* dgh, float* dhPrev, float* da) {
  for (int64_t b = 0; b < B; b++) {
    const float* gj = dh + b * H;
    const float* s = gates + b * 4 * H;
    const float* p = hPrev + b * H;
    float* dp = dhPrev + b * H;
    float* dgr = dgh + b * 3 * H;
    if (valid != nullptr && valid[b] == 0) {
      for (int64_t j = 0; j < H; j++) dp[j] = gj[j];
      for (int64_t j = 0; j < 3 * H; j++) dgr[j] = 0.0f;
      continue;
    }
    float* dxr = dgx == nullptr ? nullptr : dgx + b * 3 * H;
    const double a = att == nullptr ? 1.0 : static_cast<double>(att[b]);
    double daSum = 0.0;
    for (int64_t j = 0; j < H; j++) {
      const double g = gj[j], u = s[j], r = s[H + j], n = s[2 * H + j], c = s[3 * H + j], hp = p[j];
      const double w = mode == 0 ? u : (mode == 1 ? a * u : a);
      const double dn = g * w;
      const double dw = g * (n - hp);
      const double du = mode == 0 ? dw : (mode == 1 ? dw * a : 0.0);
      daSum += mode == 1 ? dw * u : dw;
      const double dpn = dn * (1.0 - n * n);
      const double dpr = dpn * c * r * (1.0 - r);
      const double dpu = du * u * (1.0 - u);
      dp[j] = static_cast<float>(g * (1.0 - w));
      dgr[j] = static_cast<float>(dpu);
      dgr[H + j] = static_cast<float>(dpr);
      dgr[2 * H + j] = static_cast<float>(dpn * r);
      if (dxr != nullptr) {
        dxr[j] = static_cast<float>(static_cast<double>(dxr[j]) + dpu);
        dxr[H + j] = static_cast<float>(static_cast<double>(dxr[H + j]) + dpr);
        dxr[2 * H + j] = static_cast<float>(static_cast<double>(dxr[2 * H + j]) + dpn);
      }
    }
    if (da != nullptr && mode != 0) da[b] = static_cast<float>(static_cast<double>(da[b]) + daSum);
  }
}

bool GetValid(napi_env env, const char* fn, napi_value v, int64_t need, uint8_t** out) {
  if (IsNullish(env, v)) {
    *out = nullptr;
    return true;
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    Throw(env, fn, 'T', "valid must be a Uint8Array or null");
    return false;
  }
  if (static_cast<int64_t>(len) < need) {
    Throw(env, fn, 'R', "valid has " + std::to_string(len) + " elements, needs " + std::to_string(need));
    return false;
  }
  *out = static_cast<uint8_t*>(ptr);
  return true;
}

bool GetSize(napi_env env, const char* fn, napi_value v, const char* name, int64_t hi, int64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= 0 && d <= static_cast<double>(hi)) || d != std::floor(d)) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [0, " + std::to_string(hi) + "], got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// Shared argument reading: B, H, mode, then the mode's attention requirement.
bool GetShape(napi_env env, const char* fn, napi_value* a, int64_t* B, int64_t* H, int64_t* mode) {
  if (!GetSize(env, fn, a[0], "B", (int64_t{1} << 31) - 1, B)) return false;
  if (!GetSize(env, fn, a[1], "H", (int64_t{1} << 24), H)) return false;
  if (!GetSize(env, fn, a[2], "mode", 2, mode)) return false;
  if (*B * 4 * *H >= (int64_t{1} << 31)) {
    Throw(env, fn, 'R', "B·4H must be below 2^31");
    return false;
  }
  return true;
}

napi_value GruStepForward(napi_env env, napi_callback_info info) {
  const char* fn = "gruStepForward";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t B, H, mode;
  if (!GetShape(env, fn, a, &B, &H, &mode)) return nullptr;
  float *gx, *gh, *bhh, *hPrev, *att, *hOut, *gates;
  uint8_t* valid;
  if (!GetF32(env, fn, a[3], "gx", B * 3 * H, false, &gx) || !GetF32(env, fn, a[4], "gh", B * 3 * H, false, &gh) ||
      !GetF32(env, fn, a[5], "bhh", 3 * H, false, &bhh) || !GetF32(env, fn, a[6], "hPrev", B * H, false, &hPrev) ||
      !GetF32(env, fn, a[7], "att", B, true, &att) || !GetValid(env, fn, a[8], B, &valid) || !GetF32(env, fn, a[9], "hOut", B * H, false, &hOut) ||
      !GetF32(env, fn, a[10], "gates", B * 4 * H, false, &gates))
    return nullptr;
  if (mode != 0 && att == nullptr) return Throw(env, fn, 'T', "modes 1 (AUGRU) and 2 (AGRU) need att");
  Forward(B, H, static_cast<int>(mode), gx, gh, bhh, hPrev, att, valid, hOut, gates);
  return nullptr;
}

napi_value GruStepBackward(napi_env env, napi_callback_info info) {
  const char* fn = "gruStepBackward";
  napi_value a[12];
  if (!GetArgs(env, info, fn, 12, a)) return nullptr;
  int64_t B, H, mode;
  if (!GetShape(env, fn, a, &B, &H, &mode)) return nullptr;
  float *dh, *gates, *hPrev, *att, *dgx, *dgh, *dhPrev, *da;
  uint8_t* valid;
  if (!GetF32(env, fn, a[3], "dh", B * H, false, &dh) || !GetF32(env, fn, a[4], "gates", B * 4 * H, false, &gates) ||
      !GetF32(env, fn, a[5], "hPrev", B * H, false, &hPrev) || !GetF32(env, fn, a[6], "att", B, true, &att) || !GetValid(env, fn, a[7], B, &valid) ||
      !GetF32(env, fn, a[8], "dgx", B * 3 * H, true, &dgx) || !GetF32(env, fn, a[9], "dgh", B * 3 * H, false, &dgh) ||
      !GetF32(env, fn, a[10], "dhPrev", B * H, false, &dhPrev) || !GetF32(env, fn, a[11], "da", B, true, &da))
    return nullptr;
  if (mode != 0 && att == nullptr) return Throw(env, fn, 'T', "modes 1 (AUGRU) and 2 (AGRU) need att");
  Backward(B, H, static_cast<int>(mode), dh, gates, hPrev, att, valid, dgx, dgh, dhPrev, da);
  return nullptr;
}

}  // namespace

void RegisterGruKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gruStepForward", GruStepForward);
  Export(env, exports, "gruStepBackward", GruStepBackward);
}
