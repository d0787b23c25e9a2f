// finerank_native: the native kernel backend of finerank's engine.
//
// Exports (see src/engine/kernels/native.ts for the TypeScript view):
//   sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb,
//         beta, c, cOffset, ldc)
//       Row-major C = alpha·op(A)·op(B) + beta·C over Float32Arrays, by
//       cblas_sgemm(CblasRowMajor, ...). op(A) is m×k, op(B) is k×n, C is m×n.
//   setThreads(n)   openblas_set_num_threads(n), n a positive integer
//   getThreads()    openblas_get_num_threads()
//   blasConfig()    openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
//   blasCoreName()  openblas_get_corename(), the kernel set OpenBLAS runs, e.g. "SkylakeX"
//   + the dense kernels of dense.cc, the embedding kernels of embedding.cc and the
//   gradient-boosting kernels of gbdt.cc, the fused GRU step kernels of gru.cc and the Dice kernels of dice.cc.
//
// Loading the addon also tunes glibc's malloc for large arrays (TuneMalloc below).
//
// sgemm is called many times per training step, so its argument handling uses the
// plain Node-API C calls with a fixed stack array (node-addon-api's CallbackInfo
// heap-allocates for more than 6 arguments) and validates with a few integer
// comparisons: types, non-negative integer sizes, leading dimensions, and that every
// offset + extent lies inside its array. C may not overlap A or B. Errors are thrown
// as JS errors (TypeError / RangeError) that name the offending argument.

#include <napi.h>

#include <cblas.h>

#include "dense.h"
#include "embedding.h"
#include "gbdt.h"
#include "gru.h"
#include "dice.h"
#include "attention.h"
#include "rows.h"
#include "pairs.h"
#include "layer-norm.h"
#include "gate-mix.h"
#include "cin.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

constexpr size_t kSgemmArgs = 16;

// Throws a JS error of the given kind ("TypeError", "RangeError" or plain "Error")
// with "sgemm: " prefixed, and returns nullptr for the caller to return.
napi_value Throw(napi_env env, const char* kind, const std::string& message) {
  const std::string text = "sgemm: " + message;
  if (kind[0] == 'T') {
    napi_throw_type_error(env, nullptr, text.c_str());
  } else if (kind[0] == 'R') {
    napi_throw_range_error(env, nullptr, text.c_str());
  } else {
    napi_throw_error(env, nullptr, text.c_str());
  }
  return nullptr;
}

// Reads a boolean argument; false on wrong type (after throwing).
bool GetBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    Throw(env, "T", std::string(name) + " must be a boolean");
    return false;
  }
  return true;
}

// Reads a non-negative integer (as a JS number) no larger than 2^31-1.
bool GetIndex(napi_env env, napi_value v, const char* name, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, "T", std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= 0.0 && d <= 2147483647.0) || d != std::floor(d)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    Throw(env, "R", std::string(name) + " must be an integer in [0, 2^31), got " + buf);
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// Reads a finite-or-not float scalar (alpha, beta).
bool GetScalar(napi_env env, napi_value v, const char* name, float* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, "T", std::string(name) + " must be a number");
    return false;
  }
  *out = static_cast<float>(d);
  return true;
}

// Reads a Float32Array: its element pointer (byteOffset applied) and length.
// napi_get_typedarray_info fails with napi_invalid_arg on anything but a typed array.
bool GetFloat32(napi_env env, napi_value v, const char* name, float** data, int64_t* length) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array) {
    Throw(env, "T", std::string(name) + " must be a Float32Array");
    return false;
  }
  *data = static_cast<float*>(ptr);
  *length = static_cast<int64_t>(len);
  return true;
}

// Checks a stored rows×cols matrix with row stride ld at offset inside an array of
// `length` elements; ld must be ≥ max(1, cols) as BLAS requires.
bool CheckMatrix(napi_env env, const char* name, const char* ldName, const char* offName,
                 int64_t rows, int64_t cols, int64_t ld, int64_t offset, int64_t length) {
  const int64_t minLd = cols > 1 ? cols : 1;
  if (ld < minLd) {
    Throw(env, "R", std::string(ldName) + " must be >= " + std::to_string(minLd) + " (the stored " + name +
                        " has " + std::to_string(cols) + " columns), got " + std::to_string(ld));
    return false;
  }
  const int64_t extent = (rows == 0 || cols == 0) ? 0 : (rows - 1) * ld + cols;
  if (offset + extent > length) {
    Throw(env, "R", std::string(offName) + " + extent out of bounds: " + name + " is stored as " +
                        std::to_string(rows) + "x" + std::to_string(cols) + " with stride " + std::to_string(ld) +
                        " from offset " + std::to_string(offset) + ", needing " + std::to_string(offset + extent) +
                        " elements, but " + name + ".length is " + std::to_string(length));
    return false;
  }
  return true;
}

bool Overlaps(const float* p, int64_t pn, const float* q, int64_t qn) {
  return pn > 0 && qn > 0 && p < q + qn && q < p + pn;
}

napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = kSgemmArgs;
  napi_value argv[kSgemmArgs];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc != kSgemmArgs) {
    return Throw(env, "T", "expected 16 arguments (transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, "
                           "beta, c, cOffset, ldc), got " + std::to_string(argc));
  }
  bool transA, transB;
  int64_t m, n, k, aOff, lda, bOff, ldb, cOff, ldc, aLen, bLen, cLen;
  float alpha, beta;
  float *a, *b, *c;
  if (!GetBool(env, argv[0], "transA", &transA) || !GetBool(env, argv[1], "transB", &transB) ||
      !GetIndex(env, argv[2], "m", &m) || !GetIndex(env, argv[3], "n", &n) || !GetIndex(env, argv[4], "k", &k) ||
      !GetScalar(env, argv[5], "alpha", &alpha) || !GetFloat32(env, argv[6], "a", &a, &aLen) ||
      !GetIndex(env, argv[7], "aOffset", &aOff) || !GetIndex(env, argv[8], "lda", &lda) ||
      !GetFloat32(env, argv[9], "b", &b, &bLen) || !GetIndex(env, argv[10], "bOffset", &bOff) ||
      !GetIndex(env, argv[11], "ldb", &ldb) || !GetScalar(env, argv[12], "beta", &beta) ||
      !GetFloat32(env, argv[13], "c", &c, &cLen) || !GetIndex(env, argv[14], "cOffset", &cOff) ||
      !GetIndex(env, argv[15], "ldc", &ldc)) {
    return nullptr;
  }
  // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed).
  const int64_t aRows = transA ? k : m, aCols = transA ? m : k;
  const int64_t bRows = transB ? n : k, bCols = transB ? k : n;
  if (!CheckMatrix(env, "a", "lda", "aOffset", aRows, aCols, lda, aOff, aLen) ||
      !CheckMatrix(env, "b", "ldb", "bOffset", bRows, bCols, ldb, bOff, bLen) ||
      !CheckMatrix(env, "c", "ldc", "cOffset", m, n, ldc, cOff, cLen)) {
    return nullptr;
  }
  const int64_t aExt = (aRows == 0 || aCols == 0) ? 0 : (aRows - 1) * lda + aCols;
  const int64_t bExt = (bRows == 0 || bCols == 0) ? 0 : (bRows - 1) * ldb + bCols;
  const int64_t cExt = (m == 0 || n == 0) ? 0 : (m - 1) * ldc + n;
  if (Overlaps(c + cOff, cExt, a + aOff, aExt)) return Throw(env, "E", "c overlaps a in memory (output must not alias an input)");
  if (Overlaps(c + cOff, cExt, b + bOff, bExt)) return Throw(env, "E", "c overlaps b in memory (output must not alias an input)");
  if (m == 0 || n == 0) return nullptr;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha,
              a + aOff, static_cast<blasint>(lda), b + bOff, static_cast<blasint>(ldb), beta,
              c + cOff, static_cast<blasint>(ldc));
  return nullptr;
}

void SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreads: expected one number (the BLAS thread count)").ThrowAsJavaScriptException();
    return;
  }
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1.0 && d <= 4096.0) || d != std::floor(d)) {
    Napi::RangeError::New(env, "setThreads: thread count must be an integer in [1, 4096], got " +
                                   info[0].ToString().Utf8Value())
        .ThrowAsJavaScriptException();
    return;
  }
  openblas_set_num_threads(static_cast<int>(d));
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

Napi::Value BlasConfig(const Napi::CallbackInfo& info) {
  const char* config = openblas_get_config();
  return Napi::String::New(info.Env(), config != nullptr ? config : "OpenBLAS (unknown configuration)");
}

Napi::Value BlasCoreName(const Napi::CallbackInfo& info) {
  const char* name = openblas_get_corename();
  return Napi::String::New(info.Env(), name != nullptr ? name : "unknown");
}

// Keeps large freed blocks in glibc's heap instead of returning them to the kernel.
// Training allocates and frees tens of multi-megabyte Float32Arrays per step; by default
// glibc serves each from a fresh mmap (or trims the heap after a free), so every one is
// page-faulted in again on first touch — about 20 ms per 6.5 MB array on a VM, more than
// the arithmetic. With mmap reserved for blocks over 32 MiB and the heap trimmed only
// above 1 GiB of free top, freed blocks are reused already mapped (measured: minor page
// faults of a BARS DeepFM run 339k → 110k). Process-wide, set once when the addon loads;
// FINERANK_MALLOC_TUNING=0 leaves glibc's defaults.
void TuneMalloc() {
#if defined(__GLIBC__)
  const char* flag = std::getenv("FINERANK_MALLOC_TUNING");
  if (flag != nullptr && flag[0] == '0' && flag[1] == '\0') return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneMalloc();
  napi_value sgemm;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, Sgemm, nullptr, &sgemm), exports);
  exports.Set("sgemm", Napi::Value(env, sgemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("blasConfig", Napi::Function::New(env, BlasConfig, "blasConfig"));
  exports.Set("blasCoreName", Napi::Function::New(env, BlasCoreName, "blasCoreName"));
  RegisterDenseKernels(env, exports);
  RegisterEmbeddingKernels(env, exports);
  RegisterGbdtKernels(env, exports);
  RegisterGruKernels(env, exports);
  RegisterDiceKernels(env, exports);
  RegisterAttentionKernels(env, exports);
  RegisterRowKernels(env, exports);
  RegisterPairKernels(env, exports);
  RegisterLayerNormKernels(env, exports);
  RegisterGateMixKernels(env, exports);
  RegisterCinKernels(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(finerank_native, Init)
