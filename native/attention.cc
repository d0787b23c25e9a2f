// Multi-head self-attention over a few fields (AutoInt's interacting layer) as four fused
// kernels, twins of src/engine/kernels/attention.ts. Registered by Init in finerank.cc.
//
// Layout: q, k, v, out [B, F, H·d] row-major (the Linear projections' outputs, head h in
// columns h·d … h·d + d − 1: no head split/merge copies), attention p [B, H, F, F].
//
//   headScores(q, k, B, F, H, d, scale, p)
//       p[b,h,i,:] = float(softmax_j(scale · Σ_t q[b,i,h,t]·k[b,j,h,t]))
//   headScoresBackward(gp, p, q, k, B, F, H, d, scale, gq, gk)
//       ds_ij = p_ij·(gp_ij − Σ_j' p_ij'·gp_ij')·scale;  gq[i] += Σ_j ds_ij·k[j],  gk[j] += Σ_i ds_ij·q[i]
//   headWeightedSum(p, v, B, F, H, d, out)
//       out[b,i,h,:] = float(Σ_j p[b,h,i,j]·v[b,j,h,:])
//   headWeightedSumBackward(g, p, v, B, F, H, d, gp, gv)
//       gp[b,h,i,j] = float(Σ_t g[b,i,h,t]·v[b,j,h,t]) (written),  gv[j] += Σ_i p_ij·g[i] (accumulated)
//
// AFM's attention scores over pair products, without the [R, A] hidden layer in memory:
//   scoreMlp(v, W, b, h, R, D, A, s)
//       z_a = b_a + Σ_d v[r,d]·W[d,a] (d ascending), s[r] = float(Σ_a h_a·max(0, z_a))
//   scoreMlpBackward(gs, v, W, b, h, R, D, A, gv, gW, gb, gh)    (z recomputed; all accumulated)
//       gz_a = gs_r·h_a·[z_a > 0];  gv[r,d] += Σ_a gz_a·W[d,a];  gW[d,a] += Σ_r v[r,d]·gz_a;
//       gb_a += Σ_r gz_a;  gh_a += Σ_r gs_r·max(0, z_a)   (the Σ_r in double, one float store at the end)
// A sum over a runs as four interleaved partial sums (a ≡ 0, 1, 2, 3 mod 4, each ascending)
// combined as (p0 + p1) + (p2 + p3), which the twin does too.
//
// Every sum is a double accumulated in index order (t, j or i ascending) and each result is
// one float store (an accumulated gradient: float(old + sum)); the exp is ExpD (expd.h). The
// loops below vectorize across independent accumulators only, so the bits equal the
// TypeScript twins (test/engine/attention-kernels.test.ts).
#include "attention.h"

#include <cstdint>
#include <vector>

#include "expd.h"
#include "napi-args.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FR_ATT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FR_ATT_CLONES
#endif

namespace {

using namespace finerank_napi;
using finerank_expd::ExpD;

// kT[t·F + j] = double(m[b, j, h, t]): one head's [F, d] block transposed, so sums over t
// for every j run as one contiguous loop over j.
inline void HeadTransposed(const float* m, int64_t F, int64_t A, int64_t d, double* kT) {
  for (int64_t j = 0; j < F; j++)
    for (int64_t t = 0; t < d; t++) kT[t * F + j] = m[j * A + t];
}

FR_ATT_CLONES
void Scores(const float* q, const float* k, int64_t B, int64_t F, int64_t H, int64_t d, double scale, float* p) {
  const int64_t A = H * d;
  std::vector<double> kT(static_cast<size_t>(F * d)), s(static_cast<size_t>(F));
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < H; h++) {
      HeadTransposed(k + b * F * A + h * d, F, A, d, kT.data());
      for (int64_t i = 0; i < F; i++) {
        const float* qi = q + (b * F + i) * A + h * d;
        double* sp = s.data();
        for (int64_t j = 0; j < F; j++) sp[j] = 0.0;
        for (int64_t t = 0; t < d; t++) {
          const double qv = qi[t];
          const double* kt = kT.data() + t * F;
          for (int64_t j = 0; j < F; j++) sp[j] += qv * kt[j];
        }
        double m = sp[0] * scale;
        for (int64_t j = 0; j < F; j++) {
          sp[j] *= scale;
          if (sp[j] > m) m = sp[j];
        }
        double sum = 0.0;
        for (int64_t j = 0; j < F; j++) {
          sp[j] = ExpD(sp[j] - m);
          sum += sp[j];
        }
        float* pr = p + ((b * H + h) * F + i) * F;
        for (int64_t j = 0; j < F; j++) pr[j] = static_cast<float>(sp[j] / sum);
      }
    }
  }
}

FR_ATT_CLONES
void ScoresBackward(const float* gp, const float* p, const float* q, const float* k, int64_t B, int64_t F, int64_t H, int64_t d, double scale, float* gq,
                    float* gk) {
  const int64_t A = H * d;
  std::vector<double> ds(static_cast<size_t>(F * F)), acc(static_cast<size_t>(d));
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < H; h++) {
      const int64_t base = (b * H + h) * F * F, off = b * F * A + h * d;
      for (int64_t i = 0; i < F; i++) {
        const float* pr = p + base + i * F;
        const float* gr = gp + base + i * F;
        double dot = 0.0;
        for (int64_t j = 0; j < F; j++) dot += static_cast<double>(pr[j]) * static_cast<double>(gr[j]);
        for (int64_t j = 0; j < F; j++) ds[i * F + j] = static_cast<double>(pr[j]) * (static_cast<double>(gr[j]) - dot) * scale;
      }
      double* a = acc.data();
      for (int64_t i = 0; i < F; i++) {  // gq[i] += Σ_j ds_ij·k[j]
        for (int64_t t = 0; t < d; t++) a[t] = 0.0;
        for (int64_t j = 0; j < F; j++) {
          const double w = ds[i * F + j];
          const float* kj = k + off + j * A;
          for (int64_t t = 0; t < d; t++) a[t] += w * static_cast<double>(kj[t]);
        }
        float* o = gq + off + i * A;
        for (int64_t t = 0; t < d; t++) o[t] = static_cast<float>(static_cast<double>(o[t]) + a[t]);
      }
      for (int64_t j = 0; j < F; j++) {  // gk[j] += Σ_i ds_ij·q[i]
        for (int64_t t = 0; t < d; t++) a[t] = 0.0;
        for (int64_t i = 0; i < F; i++) {
          const double w = ds[i * F + j];
          const float* qi = q + off + i * A;
          for (int64_t t = 0; t < d; t++) a[t] += w * static_cast<double>(qi[t]);
        }
        float* o = gk + off + j * A;
        for (int64_t t = 0; t < d; t++) o[t] = static_cast<float>(static_cast<double>(o[t]) + a[t]);
      }
    }
  }
}

FR_ATT_CLONES
void WeightedSum(const float* p, const float* v, int64_t B, int64_t F, int64_t H, int64_t d, float* out) {
  const int64_t A = H * d;
  std::vector<double> acc(static_cast<size_t>(d));
  double* a = acc.data();
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < H; h++) {
      const int64_t off = b * F * A + h * d;
      for (int64_t i = 0; i < F; i++) {
        const float* pr = p + ((b * H + h) * F + i) * F;
        for (int64_t t = 0; t < d; t++) a[t] = 0.0;
        for (int64_t j = 0; j < F; j++) {
          const double w = pr[j];
          const float* vj = v + off + j * A;
          for (int64_t t = 0; t < d; t++) a[t] += w * static_cast<double>(vj[t]);
        }
        float* o = out + off + i * A;
        for (int64_t t = 0; t < d; t++) o[t] = static_cast<float>(a[t]);
      }
    }
  }
}

FR_ATT_CLONES
void WeightedSumBackward(const float* g, const float* p, const float* v, int64_t B, int64_t F, int64_t H, int64_t d, float* gp, float* gv) {
  const int64_t A = H * d;
  std::vector<double> vT(static_cast<size_t>(F * d)), s(static_cast<size_t>(F)), acc(static_cast<size_t>(d));
  double* a = acc.data();
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < H; h++) {
      const int64_t base = (b * H + h) * F * F, off = b * F * A + h * d;
      HeadTransposed(v + off, F, A, d, vT.data());
      for (int64_t i = 0; i < F; i++) {  // gp[i, j] = Σ_t g[i,t]·v[j,t]
        const float* gi = g + off + i * A;
        double* sp = s.data();
        for (int64_t j = 0; j < F; j++) sp[j] = 0.0;
        for (int64_t t = 0; t < d; t++) {
          const double gt = gi[t];
          const double* vt = vT.data() + t * F;
          for (int64_t j = 0; j < F; j++) sp[j] += gt * vt[j];
        }
        float* o = gp + base + i * F;
        for (int64_t j = 0; j < F; j++) o[j] = static_cast<float>(sp[j]);
      }
      for (int64_t j = 0; j < F; j++) {  // gv[j] += Σ_i p_ij·g[i]
        for (int64_t t = 0; t < d; t++) a[t] = 0.0;
        for (int64_t i = 0; i < F; i++) {
          const double w = p[base + i * F + j];
          const float* gi = g + off + i * A;
          for (int64_t t = 0; t < d; t++) a[t] += w * static_cast<double>(gi[t]);
        }
        float* o = gv + off + j * A;
        for (int64_t t = 0; t < d; t++) o[t] = static_cast<float>(static_cast<double>(o[t]) + a[t]);
      }
    }
  }
}

// Σ_a x[a]·y[a] as four interleaved partial sums, (p0 + p1) + (p2 + p3).
inline double Dot4(const double* x, const double* y, int64_t n) {
  double p[4] = {0.0, 0.0, 0.0, 0.0};
  int64_t a = 0;
  for (; a + 4 <= n; a += 4)
    for (int l = 0; l < 4; l++) p[l] += x[a + l] * y[a + l];
  for (int l = 0; a < n; a++, l++) p[l] += x[a] * y[a];
  return (p[0] + p[1]) + (p[2] + p[3]);
}

// z[a] = b_a + Σ_d v_d·W[d,a] over one row (W, b as doubles).
inline void Hidden(const float* v, const double* W, const double* b, int64_t D, int64_t A, double* z) {
  for (int64_t a = 0; a < A; a++) z[a] = b[a];
  for (int64_t d = 0; d < D; d++) {
    const double vd = v[d];
    const double* w = W + d * A;
    for (int64_t a = 0; a < A; a++) z[a] += vd * w[a];
  }
}

FR_ATT_CLONES
void ScoreMlp(const float* v, const float* Wf, const float* bf, const float* hf, int64_t R, int64_t D, int64_t A, float* s) {
  std::vector<double> W(Wf, Wf + D * A), b(static_cast<size_t>(A), 0.0), h(hf, hf + A), z(static_cast<size_t>(A));
  if (bf != nullptr) b.assign(bf, bf + A);
  for (int64_t r = 0; r < R; r++) {
    Hidden(v + r * D, W.data(), b.data(), D, A, z.data());
    for (int64_t a = 0; a < A; a++) z[a] = z[a] > 0.0 ? z[a] : 0.0;
    s[r] = static_cast<float>(Dot4(h.data(), z.data(), A));
  }
}

FR_ATT_CLONES
void ScoreMlpBackward(const float* gs, const float* v, const float* Wf, const float* bf, const float* hf, int64_t R, int64_t D, int64_t A, float* gv,
                      float* gW, float* gb, float* gh) {
  std::vector<double> W(Wf, Wf + D * A), b(static_cast<size_t>(A), 0.0), h(hf, hf + A), z(static_cast<size_t>(A)), gz(static_cast<size_t>(A));
  if (bf != nullptr) b.assign(bf, bf + A);
  std::vector<double> aW(static_cast<size_t>(D * A), 0.0), ab(static_cast<size_t>(A), 0.0), ah(static_cast<size_t>(A), 0.0);
  for (int64_t r = 0; r < R; r++) {
    const float* vr = v + r * D;
    Hidden(vr, W.data(), b.data(), D, A, z.data());
    const double g = gs[r];
    for (int64_t a = 0; a < A; a++) {
      const bool on = z[a] > 0.0;
      ah[a] += g * (on ? z[a] : 0.0);
      gz[a] = on ? g * h[a] : 0.0;
      ab[a] += gz[a];
    }
    for (int64_t d = 0; d < D; d++) {
      const double vd = vr[d];
      double* w = aW.data() + d * A;
      for (int64_t a = 0; a < A; a++) w[a] += vd * gz[a];
      gv[r * D + d] = static_cast<float>(static_cast<double>(gv[r * D + d]) + Dot4(gz.data(), W.data() + d * A, A));
    }
  }
  for (int64_t i = 0; i < D * A; i++) gW[i] = static_cast<float>(static_cast<double>(gW[i]) + aW[i]);
  if (gb != nullptr)
    for (int64_t a = 0; a < A; a++) gb[a] = static_cast<float>(static_cast<double>(gb[a]) + ab[a]);
  for (int64_t a = 0; a < A; a++) gh[a] = static_cast<float>(static_cast<double>(gh[a]) + ah[a]);
}

// B, F, H, d from a[i0 … i0 + 3], checked so that B·F·H·d and B·H·F·F stay below 2^31.
bool GetShape(napi_env env, const char* fn, napi_value* a, int64_t* B, int64_t* F, int64_t* H, int64_t* d) {
  if (!GetSize(env, fn, a[0], "B", B) || !GetSize(env, fn, a[1], "F", F) || !GetSize(env, fn, a[2], "H", H) || !GetSize(env, fn, a[3], "d", d)) return false;
  const double big = 2147483648.0;
  if (static_cast<double>(*B) * *F * *H * *d >= big || static_cast<double>(*B) * *H * *F * *F >= big) {
    Throw(env, fn, 'R', "B·F·H·d and B·H·F·F must be below 2^31");
    return false;
  }
  return true;
}

bool GetScale(napi_env env, const char* fn, napi_value v, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    Throw(env, fn, 'T', "scale must be a number");
    return false;
  }
  return true;
}

napi_value HeadScores(napi_env env, napi_callback_info info) {
  const char* fn = "headScores";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t B, F, H, d;
  double scale;
  if (!GetShape(env, fn, a + 2, &B, &F, &H, &d) || !GetScale(env, fn, a[6], &scale)) return nullptr;
  const int64_t n = B * F * H * d, np = B * H * F * F;
  float *q, *k, *p;
  if (!GetF32(env, fn, a[0], "q", n, false, &q) || !GetF32(env, fn, a[1], "k", n, false, &k) || !GetF32(env, fn, a[7], "p", np, false, &p)) return nullptr;
  Scores(q, k, B, F, H, d, scale, p);
  return nullptr;
}

napi_value HeadScoresBackward(napi_env env, napi_callback_info info) {
  const char* fn = "headScoresBackward";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  int64_t B, F, H, d;
  double scale;
  if (!GetShape(env, fn, a + 4, &B, &F, &H, &d) || !GetScale(env, fn, a[8], &scale)) return nullptr;
  const int64_t n = B * F * H * d, np = B * H * F * F;
  float *gp, *p, *q, *k, *gq, *gk;
  if (!GetF32(env, fn, a[0], "gp", np, false, &gp) || !GetF32(env, fn, a[1], "p", np, false, &p) || !GetF32(env, fn, a[2], "q", n, false, &q) ||
      !GetF32(env, fn, a[3], "k", n, false, &k) || !GetF32(env, fn, a[9], "gq", n, false, &gq) || !GetF32(env, fn, a[10], "gk", n, false, &gk))
    return nullptr;
  ScoresBackward(gp, p, q, k, B, F, H, d, scale, gq, gk);
  return nullptr;
}

napi_value HeadWeightedSum(napi_env env, napi_callback_info info) {
  const char* fn = "headWeightedSum";
  napi_value a[7];
  if (!GetArgs(env, info, fn, 7, a)) return nullptr;
  int64_t B, F, H, d;
  if (!GetShape(env, fn, a + 2, &B, &F, &H, &d)) return nullptr;
  const int64_t n = B * F * H * d, np = B * H * F * F;
  float *p, *v, *out;
  if (!GetF32(env, fn, a[0], "p", np, false, &p) || !GetF32(env, fn, a[1], "v", n, false, &v) || !GetF32(env, fn, a[6], "out", n, false, &out)) return nullptr;
  WeightedSum(p, v, B, F, H, d, out);
  return nullptr;
}

napi_value HeadWeightedSumBackward(napi_env env, napi_callback_info info) {
  const char* fn = "headWeightedSumBackward";
  napi_value a[9];
  if (!GetArgs(env, info, fn, 9, a)) return nullptr;
  int64_t B, F, H, d;
  if (!GetShape(env, fn, a + 3, &B, &F, &H, &d)) return nullptr;
  const int64_t n = B * F * H * d, np = B * H * F * F;
  float *g, *p, *v, *gp, *gv;
  if (!GetF32(env, fn, a[0], "g", n, false, &g) || !GetF32(env, fn, a[1], "p", np, false, &p) || !GetF32(env, fn, a[2], "v", n, false, &v) ||
      !GetF32(env, fn, a[7], "gp", np, false, &gp) || !GetF32(env, fn, a[8], "gv", n, false, &gv))
    return nullptr;
  WeightedSumBackward(g, p, v, B, F, H, d, gp, gv);
  return nullptr;
}

// R, D, A of the score MLP, checked so that R·D and D·A stay below 2^31.
bool GetMlpShape(napi_env env, const char* fn, napi_value* a, int64_t* R, int64_t* D, int64_t* A) {
  if (!GetSize(env, fn, a[0], "R", R) || !GetSize(env, fn, a[1], "D", D) || !GetSize(env, fn, a[2], "A", A)) return false;
  if (static_cast<double>(*R) * *D >= 2147483648.0 || static_cast<double>(*D) * *A >= 2147483648.0) {
    Throw(env, fn, 'R', "R·D and D·A must be below 2^31");
    return false;
  }
  return true;
}

napi_value ScoreMlpFn(napi_env env, napi_callback_info info) {
  const char* fn = "scoreMlp";
  napi_value a[8];
  if (!GetArgs(env, info, fn, 8, a)) return nullptr;
  int64_t R, D, A;
  if (!GetMlpShape(env, fn, a + 4, &R, &D, &A)) return nullptr;
  float *v, *W, *b, *h, *s;
  if (!GetF32(env, fn, a[0], "v", R * D, false, &v) || !GetF32(env, fn, a[1], "W", D * A, false, &W) || !GetF32(env, fn, a[2], "b", A, true, &b) ||
      !GetF32(env, fn, a[3], "h", A, false, &h) || !GetF32(env, fn, a[7], "s", R, false, &s))
    return nullptr;
  ScoreMlp(v, W, b, h, R, D, A, s);
  return nullptr;
}

napi_value ScoreMlpBackwardFn(napi_env env, napi_callback_info info) {
  const char* fn = "scoreMlpBackward";
  napi_value a[12];
  if (!GetArgs(env, info, fn, 12, a)) return nullptr;
  int64_t R, D, A;
  if (!GetMlpShape(env, fn, a + 5, &R, &D, &A)) return nullptr;
  float *gs, *v, *W, *b, *h, *gv, *gW, *gb, *gh;
  if (!GetF32(env, fn, a[0], "gs", R, false, &gs) || !GetF32(env, fn, a[1], "v", R * D, false, &v) || !GetF32(env, fn, a[2], "W", D * A, false, &W) ||
      !GetF32(env, fn, a[3], "b", A, true, &b) || !GetF32(env, fn, a[4], "h", A, false, &h) || !GetF32(env, fn, a[8], "gv", R * D, false, &gv) ||
      !GetF32(env, fn, a[9], "gW", D * A, false, &gW) || !GetF32(env, fn, a[10], "gb", A, true, &gb) || !GetF32(env, fn, a[11], "gh", A, false, &gh))
    return nullptr;
  ScoreMlpBackward(gs, v, W, b, h, R, D, A, gv, gW, gb, gh);
  return nullptr;
}

}  // namespace

void RegisterAttentionKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "headScores", HeadScores);
  Export(env, exports, "headScoresBackward", HeadScoresBackward);
  Export(env, exports, "headWeightedSum", HeadWeightedSum);
  Export(env, exports, "headWeightedSumBackward", HeadWeightedSumBackward);
  Export(env, exports, "scoreMlp", ScoreMlpFn);
  Export(env, exports, "scoreMlpBackward", ScoreMlpBackwardFn);
}
