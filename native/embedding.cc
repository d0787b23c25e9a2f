// Embedding kernels of the finerank addon: fused loops called from TypeScript, each with a
// TypeScript twin used when the addon is absent (src/embedding/kernels-ts.ts; the two give
// bit-identical results). Registered by Init in finerank.cc.
//
// Exports (see src/embedding/kernels.ts for the TypeScript view; every function takes typed
// arrays that TypeScript allocated and writes only into them):
//   embGatherFields(weights[], ids[], dim, out[, outStride]) -> -1 | f·B + i of the first bad id
//       (sample b's F rows at out[b·outStride …], outStride ≥ F·dim, default F·dim)
//       out[b, f, :] = weights[f] row ids[f][b] for a [B, F, dim] out.
//   embGatherRows(w, dim, ids, idsOffset, count, out, outOffset, outStride) -> -1 | bad index
//   embGatherPadded(w, dim, ids, lengths, maxLen, out) -> -1 | bad index
//       out[b, j, :] = w row ids[b·maxLen + j] for j < lengths[b]; other rows untouched.
//   embPool(w, dim, ids, lengths, maxLen, mode, out, arg) -> -1 | bad index
//       mode 0 sum, 1 mean, 2 max (arg[b, d] = arg-max position; out, arg zeroed by caller).
//   embAccumulate(keys, slots, entryIds, entryHash, entryValues, state, rows, pad, dim,
//                 ids, idsOffset, start, count, grad, gradOffset, gradStride, scale,
//                 lengths, maxLen, rowMode) -> position reached
//       Merges gradient rows into a row-sparse accumulator (open-addressing hash id -> entry,
//       entries in first-arrival order); state = [entry count, stop reason]. Stops early
//       (reason 1) when the entry arrays are full or the hash is over half full, so that
//       TypeScript grows them and calls again from the returned position; reason 2: the id
//       at the returned position is out of range; reason 3: the hash refers to an entry that
//       does not exist (corrupted arrays). Layout: AccumulatorArrays in src/embedding/kernels.ts.
//   embAdviseHugePages(array) -> bool
//       madvise(MADV_HUGEPAGE) over the 2 MiB-aligned interior of the typed array's memory
//       (Linux; elsewhere, or for arrays under 2 MiB, false and nothing done). A hint only:
//       values are untouched; pages faulted in afterwards may be transparent huge pages.
//   embSgd, embAdagrad, embLazyAdam, embFtrl, embTableAdam: row-wise optimizer updates of
//       the rows in a sparse gradient (ids unique), formulas in src/embedding/sparse-optim.ts.
//
// Exactness: the TypeScript twins compute in float64 and round to float32 on every store;
// these kernels do the same operations in the same order in double, so results agree bit
// for bit. That needs no fused multiply-add contraction: GCC with -std=c++17 (binding.gyp)
// does not contract; for clang the pragma below turns it off.
//
// Random rows of large tables are memory-latency bound; the row loops prefetch the rows
// kPrefetch positions ahead so that many cache misses are in flight at once.

#include "embedding.h"
#include "napi-args.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

// The prefetch helpers must be inlined: GCC treats a helper whose only effect is
// __builtin_prefetch as a const function and deletes calls to it that it did not inline
// (observed with GCC 12: the optimizer loops lost every prefetch).
#if defined(__GNUC__) || defined(__clang__)
#define FR_PREFETCH_R(p) __builtin_prefetch((p), 0, 3)
#define FR_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define FR_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define FR_PREFETCH_R(p) ((void)(p))
#define FR_PREFETCH_W(p) ((void)(p))
#define FR_ALWAYS_INLINE inline
#endif

namespace {

constexpr int64_t kPrefetch = 12;  // rows ahead
constexpr int64_t kChunk = 64;     // positions per resolve-then-add chunk of embAccumulate
constexpr int32_t kEmpty = -1;     // empty hash slot
using namespace finerank_napi;

// ---------------------------------------------------------------------------------------
// Argument handling (plain Node-API calls: these functions run tens of times per step).


bool GetTyped(napi_env env, const char* fn, napi_value v, const std::string& name, napi_typedarray_type want,
              const char* typeName, void** data, int64_t* length) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  *data = nullptr;
  *length = 0;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != want) {
    Throw(env, fn, 'T', name + " must be a " + typeName);
    return false;
  }
  *data = ptr;
  *length = static_cast<int64_t>(len);
  return true;
}

bool GetF32(napi_env env, const char* fn, napi_value v, const std::string& name, float** data, int64_t* length) {
  void* p = nullptr;
  *data = nullptr;
  if (!GetTyped(env, fn, v, name, napi_float32_array, "Float32Array", &p, length)) return false;
  *data = static_cast<float*>(p);
  return true;
}

bool GetI32(napi_env env, const char* fn, napi_value v, const std::string& name, int32_t** data, int64_t* length) {
  void* p = nullptr;
  *data = nullptr;
  if (!GetTyped(env, fn, v, name, napi_int32_array, "Int32Array", &p, length)) return false;
  *data = static_cast<int32_t*>(p);
  return true;
}

// An Int32Array or null (data = nullptr).
bool GetOptI32(napi_env env, const char* fn, napi_value v, const std::string& name, int32_t** data, int64_t* length) {
  if (IsNullish(env, v)) {
    *data = nullptr;
    *length = 0;
    return true;
  }
  return GetI32(env, fn, v, name + " (or null)", data, length);
}

bool GetNum(napi_env env, const char* fn, napi_value v, const char* name, double* out) {
  *out = 0;
  if (napi_get_value_double(env, v, out) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  return true;
}

// An integer number in [lo, hi].
bool GetInt(napi_env env, const char* fn, napi_value v, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  double d = 0;
  *out = 0;
  if (!GetNum(env, fn, v, name, &d)) return false;
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                            "], got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

constexpr int64_t kMaxIndex = 2147483647;  // int32 ids and element counts below 2^53 are checked

napi_value Int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_double(env, static_cast<double>(v), &r);
  return r;
}

bool CheckRows(napi_env env, const char* fn, const std::string& name, int64_t len, int64_t dim, int64_t* rows) {
  *rows = 0;
  if (len % dim != 0) {
    Throw(env, fn, 'R', name + ".length " + std::to_string(len) + " is not a multiple of dim " + std::to_string(dim));
    return false;
  }
  *rows = len / dim;
  return true;
}

bool CheckExtent(napi_env env, const char* fn, const char* name, int64_t need, int64_t len) {
  if (need > len) {
    Throw(env, fn, 'R', std::string(name) + " needs " + std::to_string(need) + " elements, has " + std::to_string(len));
    return false;
  }
  return true;
}

FR_ALWAYS_INLINE void PrefetchRowR(const float* p, int64_t dim) {
  for (int64_t k = 0; k < dim; k += 16) FR_PREFETCH_R(p + k);
  FR_PREFETCH_R(p + dim - 1);
}

FR_ALWAYS_INLINE void PrefetchRowW(float* p, int64_t dim) {
  for (int64_t k = 0; k < dim; k += 16) FR_PREFETCH_W(p + k);
  FR_PREFETCH_W(p + dim - 1);
}

// Copies one row; D > 0 is a compile-time dim (the copy becomes a few vector moves).
template <int D>
inline void CopyRow(float* dst, const float* src, int64_t dim) {
  if (D > 0) {
    for (int d = 0; d < D; d++) dst[d] = src[d];
  } else {
    std::memcpy(dst, src, static_cast<size_t>(dim) * sizeof(float));
  }
}

// ---------------------------------------------------------------------------------------
// Gathers.

// Whether id is a row of a table of `rows` rows (a negative id, as uint32, is beyond any).
FR_ALWAYS_INLINE bool InTable(int32_t id, int64_t rows) { return static_cast<uint32_t>(id) < static_cast<uint64_t>(rows); }

// Prefetches row `id` of w (a row some iterations ahead) when the id is in the table; a bad
// one is left for the copy to report.
FR_ALWAYS_INLINE void PrefetchId(const float* w, int64_t rows, int32_t id, int64_t dim) {
  if (InTable(id, rows)) PrefetchRowR(w + static_cast<int64_t>(id) * dim, dim);
}

// Copies row `id` of w to dst, or returns false (nothing written) when the id is outside the
// table: the one bad-id check of the gathers.
template <int D>
FR_ALWAYS_INLINE bool CopyIdRow(float* dst, const float* w, int64_t rows, int32_t id, int64_t dim) {
  if (!InTable(id, rows)) return false;
  CopyRow<D>(dst, w + static_cast<int64_t>(id) * dim, dim);
  return true;
}

// The first i < count whose id is outside the table, or -1.
int64_t FirstBadId(const int32_t* ids, int64_t count, int64_t rows) {
  for (int64_t i = 0; i < count; i++)
    if (!InTable(ids[i], rows)) return i;
  return -1;
}

// out[outOffset + i·outStride …] = w row ids[i], i < count. Returns -1, or the first i
// whose id is outside [0, rows).
template <int D>
int64_t GatherT(const float* w, int64_t rows, int64_t dim, const int32_t* ids, int64_t count, float* out,
                int64_t outStride) {
  const int64_t dd = D > 0 ? D : dim;
  for (int64_t i = 0; i < count; i++) {
    if (i + kPrefetch < count) PrefetchId(w, rows, ids[i + kPrefetch], dd);
    if (!CopyIdRow<D>(out + i * outStride, w, rows, ids[i], dd)) return i;
  }
  return -1;
}

int64_t Gather(const float* w, int64_t rows, int64_t dim, const int32_t* ids, int64_t count, float* out,
               int64_t outStride) {
  switch (dim) {
    case 1: return GatherT<1>(w, rows, dim, ids, count, out, outStride);
    case 4: return GatherT<4>(w, rows, dim, ids, count, out, outStride);
    case 8: return GatherT<8>(w, rows, dim, ids, count, out, outStride);
    case 16: return GatherT<16>(w, rows, dim, ids, count, out, outStride);
    case 32: return GatherT<32>(w, rows, dim, ids, count, out, outStride);
    case 64: return GatherT<64>(w, rows, dim, ids, count, out, outStride);
    default: return GatherT<0>(w, rows, dim, ids, count, out, outStride);
  }
}

// out[b, f, :] = ws[f] row idp[f][b] for a [B, F, dim] out, sample by sample: each output row
// of F·dim values is written once, front to back (the field-by-field order wrote every output
// cache line F times, F·dim floats apart), and the rows of all fields kPrefetchSamples samples
// ahead are prefetched. Returns false at the first id outside its table (out partly written).
constexpr int64_t kPrefetchSamples = 4;

template <int D>
bool GatherFieldsRowsT(const float* const* ws, const int64_t* rows, const int32_t* const* idp, uint32_t F, int64_t B,
                       int64_t dim, float* out, int64_t outStride) {
  const int64_t dd = D > 0 ? D : dim;
  for (int64_t b = 0; b < B; b++) {
    if (b + kPrefetchSamples < B) {
      for (uint32_t f = 0; f < F; f++) PrefetchId(ws[f], rows[f], idp[f][b + kPrefetchSamples], dd);
    }
    float* o = out + b * outStride;
    for (uint32_t f = 0; f < F; f++) {
      if (!CopyIdRow<D>(o + f * dd, ws[f], rows[f], idp[f][b], dd)) return false;
    }
  }
  return true;
}

bool GatherFieldsRows(const float* const* ws, const int64_t* rows, const int32_t* const* idp, uint32_t F, int64_t B,
                      int64_t dim, float* out, int64_t outStride) {
  switch (dim) {
    case 1: return GatherFieldsRowsT<1>(ws, rows, idp, F, B, dim, out, outStride);
    case 4: return GatherFieldsRowsT<4>(ws, rows, idp, F, B, dim, out, outStride);
    case 8: return GatherFieldsRowsT<8>(ws, rows, idp, F, B, dim, out, outStride);
    case 16: return GatherFieldsRowsT<16>(ws, rows, idp, F, B, dim, out, outStride);
    case 32: return GatherFieldsRowsT<32>(ws, rows, idp, F, B, dim, out, outStride);
    case 64: return GatherFieldsRowsT<64>(ws, rows, idp, F, B, dim, out, outStride);
    default: return GatherFieldsRowsT<0>(ws, rows, idp, F, B, dim, out, outStride);
  }
}

napi_value GatherFields(napi_env env, napi_callback_info info) {
  const char* fn = "embGatherFields";
  napi_value argv[5];
  size_t argc;
  if (!GetArgsBetween(env, info, fn, 4, 5, argv, &argc)) return nullptr;
  bool isArr = false;
  if (napi_is_array(env, argv[0], &isArr) != napi_ok || !isArr) return Throw(env, fn, 'T', "weights must be an array of Float32Array");
  if (napi_is_array(env, argv[1], &isArr) != napi_ok || !isArr) return Throw(env, fn, 'T', "ids must be an array of Int32Array");
  uint32_t F = 0, Fi = 0;
  napi_get_array_length(env, argv[0], &F);
  napi_get_array_length(env, argv[1], &Fi);
  if (F != Fi) return Throw(env, fn, 'R', std::to_string(F) + " weight arrays but " + std::to_string(Fi) + " id arrays");
  int64_t dim;
  if (!GetInt(env, fn, argv[2], "dim", 1, kMaxIndex, &dim)) return nullptr;
  float* out = nullptr;
  int64_t outLen = 0;
  if (!GetF32(env, fn, argv[3], "out", &out, &outLen)) return nullptr;
  std::vector<const float*> ws(F);
  std::vector<int64_t> rows(F);
  std::vector<const int32_t*> idp(F);
  int64_t B = 0;
  for (uint32_t f = 0; f < F; f++) {
    napi_value wv, iv;
    if (napi_get_element(env, argv[0], f, &wv) != napi_ok || napi_get_element(env, argv[1], f, &iv) != napi_ok) return nullptr;
    float* w = nullptr;
    int32_t* ids = nullptr;
    int64_t wl = 0, il = 0;
    const std::string k = "[" + std::to_string(f) + "]";
    if (!GetF32(env, fn, wv, "weights" + k, &w, &wl) || !GetI32(env, fn, iv, "ids" + k, &ids, &il)) return nullptr;
    if (!CheckRows(env, fn, "weights" + k, wl, dim, &rows[f])) return nullptr;
    if (f == 0) B = il;
    else if (il != B) return Throw(env, fn, 'R', "ids" + k + " has " + std::to_string(il) + " ids, ids[0] has " + std::to_string(B));
    ws[f] = w;
    idp[f] = ids;
  }
  // Sample b's row starts at b·outStride (default F·dim; larger: the fields fill the first
  // F·dim values of each row of a wider array, e.g. an MLP's input rows).
  const int64_t row = static_cast<int64_t>(F) * dim;
  int64_t outStride = row;
  if (argc == 5 && !GetInt(env, fn, argv[4], "outStride", row, kMaxIndex, &outStride)) return nullptr;
  if (!CheckExtent(env, fn, "out", B == 0 ? 0 : (B - 1) * outStride + row, outLen)) return nullptr;
  if (GatherFieldsRows(ws.data(), rows.data(), idp.data(), F, B, dim, out, outStride)) return Int(env, -1);
  // A bad id: report the first one in field-major order (f·B + i), as the TypeScript twin does.
  for (uint32_t f = 0; f < F; f++) {
    const int64_t i = FirstBadId(idp[f], B, rows[f]);
    if (i >= 0) return Int(env, static_cast<int64_t>(f) * B + i);
  }
  return Int(env, -1);
}

napi_value GatherRows(napi_env env, napi_callback_info info) {
  const char* fn = "embGatherRows";
  napi_value argv[8];
  if (!GetArgs(env, info, fn, 8, argv)) return nullptr;
  float *w = nullptr, *out = nullptr;
  int32_t* ids = nullptr;
  int64_t wl = 0, dim = 0, il = 0, idsOffset = 0, count = 0, ol = 0, outOffset = 0, outStride = 0, rows = 0;
  if (!GetF32(env, fn, argv[0], "w", &w, &wl) || !GetInt(env, fn, argv[1], "dim", 1, kMaxIndex, &dim) ||
      !GetI32(env, fn, argv[2], "ids", &ids, &il) || !GetInt(env, fn, argv[3], "idsOffset", 0, kMaxIndex, &idsOffset) ||
      !GetInt(env, fn, argv[4], "count", 0, kMaxIndex, &count) || !GetF32(env, fn, argv[5], "out", &out, &ol) ||
      !GetInt(env, fn, argv[6], "outOffset", 0, INT64_C(1) << 52, &outOffset) ||
      !GetInt(env, fn, argv[7], "outStride", 0, kMaxIndex, &outStride) || !CheckRows(env, fn, "w", wl, dim, &rows) ||
      !CheckExtent(env, fn, "ids (idsOffset + count)", idsOffset + count, il)) {
    return nullptr;
  }
  if (count == 0) return Int(env, -1);
  if (!CheckExtent(env, fn, "out", outOffset + (count - 1) * outStride + dim, ol)) return nullptr;
  const int64_t bad = Gather(w, rows, dim, ids + idsOffset, count, out + outOffset, outStride);
  return Int(env, bad < 0 ? -1 : idsOffset + bad);
}

// Validates the padded [B, maxLen] ids and lengths (0 ≤ lengths[b] ≤ maxLen).
bool CheckPadded(napi_env env, const char* fn, int64_t idsLen, const int32_t* lengths, int64_t B, int64_t L) {
  if (idsLen != B * L) {
    Throw(env, fn, 'R', "ids has " + std::to_string(idsLen) + " values, expected lengths.length × maxLen = " + std::to_string(B * L));
    return false;
  }
  for (int64_t b = 0; b < B; b++) {
    if (lengths[b] < 0 || lengths[b] > L) {
      Throw(env, fn, 'R', "lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) + " is outside [0, maxLen]");
      return false;
    }
  }
  return true;
}

napi_value GatherPadded(napi_env env, napi_callback_info info) {
  const char* fn = "embGatherPadded";
  napi_value argv[6];
  if (!GetArgs(env, info, fn, 6, argv)) return nullptr;
  float *w = nullptr, *out = nullptr;
  int32_t *ids = nullptr, *lengths = nullptr;
  int64_t wl = 0, dim = 0, il = 0, B = 0, L = 0, ol = 0, rows = 0;
  if (!GetF32(env, fn, argv[0], "w", &w, &wl) || !GetInt(env, fn, argv[1], "dim", 1, kMaxIndex, &dim) ||
      !GetI32(env, fn, argv[2], "ids", &ids, &il) || !GetI32(env, fn, argv[3], "lengths", &lengths, &B) ||
      !GetInt(env, fn, argv[4], "maxLen", 0, kMaxIndex, &L) || !GetF32(env, fn, argv[5], "out", &out, &ol) ||
      !CheckRows(env, fn, "w", wl, dim, &rows) || !CheckPadded(env, fn, il, lengths, B, L) ||
      !CheckExtent(env, fn, "out", B * L * dim, ol)) {
    return nullptr;
  }
  // Valid positions form segments [b·L, b·L + len); prefetching runs per segment.
  for (int64_t b = 0; b < B; b++) {
    const int64_t bad = Gather(w, rows, dim, ids + b * L, lengths[b], out + b * L * dim, dim);
    if (bad >= 0) return Int(env, b * L + bad);
  }
  return Int(env, -1);
}

napi_value Pool(napi_env env, napi_callback_info info) {
  const char* fn = "embPool";
  napi_value argv[8];
  if (!GetArgs(env, info, fn, 8, argv)) return nullptr;
  float *w = nullptr, *out = nullptr;
  int32_t *ids = nullptr, *lengths = nullptr, *arg = nullptr;
  int64_t wl = 0, dim = 0, il = 0, B = 0, L = 0, mode = 0, ol = 0, al = 0, rows = 0;
  if (!GetF32(env, fn, argv[0], "w", &w, &wl) || !GetInt(env, fn, argv[1], "dim", 1, kMaxIndex, &dim) ||
      !GetI32(env, fn, argv[2], "ids", &ids, &il) || !GetI32(env, fn, argv[3], "lengths", &lengths, &B) ||
      !GetInt(env, fn, argv[4], "maxLen", 0, kMaxIndex, &L) || !GetInt(env, fn, argv[5], "mode", 0, 2, &mode) ||
      !GetF32(env, fn, argv[6], "out", &out, &ol) || !GetOptI32(env, fn, argv[7], "arg", &arg, &al) ||
      !CheckRows(env, fn, "w", wl, dim, &rows) || !CheckPadded(env, fn, il, lengths, B, L) ||
      !CheckExtent(env, fn, "out", B * dim, ol)) {
    return nullptr;
  }
  if (mode == 2 && (arg == nullptr || al < B * dim)) return Throw(env, fn, 'R', "max pooling needs arg, an Int32Array of B·dim values");
  // Ids are checked row by row before use, as the TypeScript twin does.
  for (int64_t b = 0; b < B; b++) {
    const int64_t len = lengths[b];
    if (len == 0) continue;
    const int32_t* row = ids + b * L;
    const int64_t bad = FirstBadId(row, len, rows);
    if (bad >= 0) return Int(env, b * L + bad);
    // Prefetch the first rows of the next sequence while this one is summed.
    if (b + 1 < B) {
      const int64_t nlen = lengths[b + 1] < kPrefetch ? lengths[b + 1] : kPrefetch;
      for (int64_t j = 0; j < nlen; j++) PrefetchId(w, rows, ids[(b + 1) * L + j], dim);
    }
    float* o = out + b * dim;
    for (int64_t j = 0; j < len; j++) {
      if (j + kPrefetch < len) PrefetchRowR(w + static_cast<int64_t>(row[j + kPrefetch]) * dim, dim);
      const float* src = w + static_cast<int64_t>(row[j]) * dim;
      if (mode != 2 || j == 0) {
        for (int64_t d = 0; d < dim; d++) o[d] += src[d];
      } else {
        int32_t* a = arg + b * dim;
        for (int64_t d = 0; d < dim; d++) {
          const float v = src[d];
          if (v > o[d]) {
            o[d] = v;
            a[d] = static_cast<int32_t>(j);
          }
        }
      }
    }
    if (mode == 1) {
      const double inv = 1.0 / static_cast<double>(len);
      for (int64_t d = 0; d < dim; d++) o[d] = static_cast<float>(static_cast<double>(o[d]) * inv);
    }
  }
  return Int(env, -1);
}

// ---------------------------------------------------------------------------------------
// Row-sparse gradient accumulation.

struct Accumulator {
  int32_t* keys;
  int32_t* slots;
  int32_t* entryIds;
  int32_t* entryHash;
  float* values;
  int64_t cap;       // entries capacity
  int64_t hashSize;  // power of two
  int shift;
  uint32_t mask;
  int64_t count;
  int64_t rows;
  int32_t pad;  // -1: none
  int64_t dim;
};

// Merges n rows: ids[p] with gradient row grad + p·gradStride scaled by `scale`. Returns the
// number of positions done and sets *reason (0 all done, 1 grow needed, 2 bad id at the
// returned position, 3 corrupted hash). Per chunk: resolve ids to entries (hash probes; new ids get a zeroed
// entry), then add the rows.
template <int D>
int64_t AccumulateSegmentT(Accumulator& a, const int32_t* ids, int64_t n, const float* grad, int64_t gradStride,
                           double scale, int* reason) {
  int32_t ent[kChunk];
  const int64_t dim = D > 0 ? D : a.dim;
  const uint64_t rows = static_cast<uint64_t>(a.rows);
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t m = n - c < kChunk ? n - c : kChunk;
    int64_t r = 0;
    int stop = 0;
    for (; r < m; r++) {
      if (c + r + 8 < n) FR_PREFETCH_R(a.keys + ((static_cast<uint32_t>(ids[c + r + 8]) * 0x9e3779b1u) >> a.shift));
      const int32_t id = ids[c + r];
      if (static_cast<uint32_t>(id) >= rows) {
        stop = 2;
        break;
      }
      if (id == a.pad) {
        ent[r] = -1;
        continue;
      }
      uint32_t h = (static_cast<uint32_t>(id) * 0x9e3779b1u) >> a.shift;
      int32_t k = a.keys[h];
      while (k != id && k != kEmpty) {
        h = (h + 1) & a.mask;
        k = a.keys[h];
      }
      if (k == id) {
        const int32_t e = a.slots[h];
        if (static_cast<uint32_t>(e) >= static_cast<uint64_t>(a.count)) {
          stop = 3;
          break;
        }
        ent[r] = e;
        continue;
      }
      if (a.count == a.cap) {
        stop = 1;
        break;
      }
      const int32_t e = static_cast<int32_t>(a.count);
      a.keys[h] = id;
      a.slots[h] = e;
      a.entryIds[e] = id;
      a.entryHash[e] = static_cast<int32_t>(h);
      std::memset(a.values + e * dim, 0, static_cast<size_t>(dim) * sizeof(float));
      ent[r] = e;
      a.count += 1;
      if (a.count * 2 > a.hashSize) {
        r++;
        stop = 1;
        break;
      }
    }
    const float* src = grad + c * gradStride;
    if (scale == 1.0) {
      for (int64_t j = 0; j < r; j++, src += gradStride) {
        if (j + 8 < r) FR_PREFETCH_R(src + 8 * gradStride);
        if (ent[j] < 0) continue;
        float* dst = a.values + static_cast<int64_t>(ent[j]) * dim;
        int64_t d = 0;
#if defined(__SSE2__)
        for (; d + 4 <= dim; d += 4) _mm_storeu_ps(dst + d, _mm_add_ps(_mm_loadu_ps(dst + d), _mm_loadu_ps(src + d)));
#endif
        for (; d < dim; d++) dst[d] += src[d];
      }
    } else {
      for (int64_t j = 0; j < r; j++, src += gradStride) {
        if (ent[j] < 0) continue;
        float* dst = a.values + static_cast<int64_t>(ent[j]) * dim;
        for (int64_t d = 0; d < dim; d++) {
          dst[d] = static_cast<float>(static_cast<double>(dst[d]) + scale * static_cast<double>(src[d]));
        }
      }
    }
    if (stop != 0) {
      *reason = stop;
      return c + r;
    }
  }
  *reason = 0;
  return n;
}

int64_t AccumulateSegment(Accumulator& a, const int32_t* ids, int64_t n, const float* grad, int64_t gradStride,
                          double scale, int* reason) {
  switch (a.dim) {
    case 1: return AccumulateSegmentT<1>(a, ids, n, grad, gradStride, scale, reason);
    case 4: return AccumulateSegmentT<4>(a, ids, n, grad, gradStride, scale, reason);
    case 8: return AccumulateSegmentT<8>(a, ids, n, grad, gradStride, scale, reason);
    case 16: return AccumulateSegmentT<16>(a, ids, n, grad, gradStride, scale, reason);
    case 32: return AccumulateSegmentT<32>(a, ids, n, grad, gradStride, scale, reason);
    default: return AccumulateSegmentT<0>(a, ids, n, grad, gradStride, scale, reason);
  }
}

napi_value Accumulate(napi_env env, napi_callback_info info) {
  const char* fn = "embAccumulate";
  napi_value argv[20];
  if (!GetArgs(env, info, fn, 20, argv)) return nullptr;
  Accumulator a{};
  int32_t *state = nullptr, *ids = nullptr, *lengths = nullptr;
  float* grad = nullptr;
  int64_t keysLen, slotsLen, eiLen, ehLen, evLen, stateLen, pad, idsLen, idsOffset, start, count, gradLen, gradOffset,
      gradStride, lengthsLen, L, rowMode;
  double scale;
  if (!GetI32(env, fn, argv[0], "keys", &a.keys, &keysLen) || !GetI32(env, fn, argv[1], "slots", &a.slots, &slotsLen) ||
      !GetI32(env, fn, argv[2], "entryIds", &a.entryIds, &eiLen) ||
      !GetI32(env, fn, argv[3], "entryHash", &a.entryHash, &ehLen) ||
      !GetF32(env, fn, argv[4], "entryValues", &a.values, &evLen) || !GetI32(env, fn, argv[5], "state", &state, &stateLen) ||
      !GetInt(env, fn, argv[6], "rows", 1, kMaxIndex, &a.rows) || !GetInt(env, fn, argv[7], "pad", -1, kMaxIndex, &pad) ||
      !GetInt(env, fn, argv[8], "dim", 1, kMaxIndex, &a.dim) || !GetI32(env, fn, argv[9], "ids", &ids, &idsLen) ||
      !GetInt(env, fn, argv[10], "idsOffset", 0, kMaxIndex, &idsOffset) ||
      !GetInt(env, fn, argv[11], "start", 0, kMaxIndex, &start) || !GetInt(env, fn, argv[12], "count", 0, kMaxIndex, &count) ||
      !GetF32(env, fn, argv[13], "grad", &grad, &gradLen) ||
      !GetInt(env, fn, argv[14], "gradOffset", 0, INT64_C(1) << 52, &gradOffset) ||
      !GetInt(env, fn, argv[15], "gradStride", 0, kMaxIndex, &gradStride) || !GetNum(env, fn, argv[16], "scale", &scale) ||
      !GetOptI32(env, fn, argv[17], "lengths", &lengths, &lengthsLen) ||
      !GetInt(env, fn, argv[18], "maxLen", 0, kMaxIndex, &L) || !GetInt(env, fn, argv[19], "rowMode", 0, 2, &rowMode)) {
    return nullptr;
  }
  // The accumulator's layout (AccumulatorArrays in src/embedding/kernels.ts).
  if (keysLen != slotsLen || keysLen < 2 || keysLen > (INT64_C(1) << 30) || (keysLen & (keysLen - 1)) != 0) {
    return Throw(env, fn, 'R', "keys and slots must have the same power-of-two length in [2, 2^30]");
  }
  if (eiLen != ehLen || evLen < eiLen * a.dim) return Throw(env, fn, 'R', "entryIds, entryHash and entryValues capacities disagree");
  if (stateLen < 2 || state[0] < 0 || state[0] > eiLen) return Throw(env, fn, 'R', "state must be [count, reason] with 0 <= count <= capacity");
  if (pad >= a.rows) return Throw(env, fn, 'R', "pad must be -1 or a row index");
  a.pad = static_cast<int32_t>(pad);
  a.cap = eiLen;
  a.hashSize = keysLen;
  int bits = 0;
  while ((INT64_C(1) << bits) < keysLen) bits++;
  a.shift = 32 - bits;
  a.mask = static_cast<uint32_t>(keysLen - 1);
  a.count = state[0];
  if (!CheckExtent(env, fn, "ids (idsOffset + count)", idsOffset + count, idsLen)) return nullptr;
  if (start > count) return Throw(env, fn, 'R', "start must be <= count");
  const int32_t* idp = ids + idsOffset;
  int64_t p = start;
  int reason = 0;
  if (lengths == nullptr) {
    if (count > 0 && !CheckExtent(env, fn, "grad", gradOffset + (count - 1) * gradStride + a.dim, gradLen)) return nullptr;
    p += AccumulateSegment(a, idp + p, count - p, grad + gradOffset + p * gradStride, gradStride, scale, &reason);
  } else {
    // Padded [B, L] layout: position p = b·L + j is valid when j < lengths[b]. rowMode 0:
    // gradient row p; 1 (sum pooling): row b, every position; 2 (mean): row b scaled by 1/len.
    const int64_t B = lengthsLen;
    if (count != B * L) return Throw(env, fn, 'R', "count must equal lengths.length × maxLen");
    for (int64_t b = 0; b < B; b++) {
      if (lengths[b] < 0 || lengths[b] > L) return Throw(env, fn, 'R', "lengths[" + std::to_string(b) + "] is outside [0, maxLen]");
    }
    const int64_t lastRow = rowMode == 0 ? count - 1 : B - 1;
    if (count > 0 && !CheckExtent(env, fn, "grad", gradOffset + lastRow * gradStride + a.dim, gradLen)) return nullptr;
    while (p < count) {
      const int64_t b = p / L, j = p % L, len = lengths[b];
      if (j >= len) {
        p = (b + 1) * L;
        continue;
      }
      const float* g = rowMode == 0 ? grad + gradOffset + p * gradStride : grad + gradOffset + b * gradStride;
      const int64_t stride = rowMode == 0 ? gradStride : 0;
      const double s = rowMode == 2 ? 1.0 / static_cast<double>(len) : scale;
      const int64_t done = AccumulateSegment(a, idp + p, len - j, g, stride, s, &reason);
      if (reason != 0) {
        p += done;
        break;
      }
      p = (b + 1) * L;
    }
    if (reason == 0) p = count;
  }
  state[0] = static_cast<int32_t>(a.count);
  state[1] = reason;
  return Int(env, p);
}

// ---------------------------------------------------------------------------------------
// Row-wise optimizers. Arguments: ids (unique rows), values [n, dim] (their summed
// gradients), w (the table, [rows, dim]), the per-row state arrays of w's shape, dim, then
// the scalars — the order of EmbeddingKernels in src/embedding/kernels.ts.

struct RowArgs {
  int32_t* ids;
  int64_t n;
  float* values;
  float* w;
  int64_t dim;
  int64_t rows;
};

// Reads ids, values, w (argv[0..2]), the state arrays argv[3 .. 3 + nState), each of w's
// length, and dim (argv[dimIndex]); checks every id is a row of w.
bool GetRowArgs(napi_env env, const char* fn, napi_value* argv, const char* const* stateNames, int nState, float** states,
                int dimIndex, RowArgs* r) {
  int64_t vl = 0, wl = 0;
  if (!GetI32(env, fn, argv[0], "ids", &r->ids, &r->n) || !GetF32(env, fn, argv[1], "values", &r->values, &vl) ||
      !GetF32(env, fn, argv[2], "w", &r->w, &wl) || !GetInt(env, fn, argv[dimIndex], "dim", 1, kMaxIndex, &r->dim) ||
      !CheckRows(env, fn, "w", wl, r->dim, &r->rows) || !CheckExtent(env, fn, "values", r->n * r->dim, vl)) {
    return false;
  }
  for (int s = 0; s < nState; s++) {
    int64_t sl = 0;
    if (!GetF32(env, fn, argv[3 + s], stateNames[s], &states[s], &sl)) return false;
    if (sl != wl) {
      Throw(env, fn, 'R', std::string(stateNames[s]) + " must have w's length " + std::to_string(wl) + ", got " + std::to_string(sl));
      return false;
    }
  }
  for (int64_t i = 0; i < r->n; i++) {
    if (static_cast<uint32_t>(r->ids[i]) >= static_cast<uint64_t>(r->rows)) {
      Throw(env, fn, 'R', "ids[" + std::to_string(i) + "] = " + std::to_string(r->ids[i]) + " is not a row of w (" +
                              std::to_string(r->rows) + " rows)");
      return false;
    }
  }
  return true;
}

// Calls body(o, i) for each row i (o = ids[i]·dim), prefetching the rows of `arrays`
// kPrefetch rows ahead.
template <int NA, typename Body>
FR_ALWAYS_INLINE void ForRows(const RowArgs& r, float* const (&arrays)[NA], int64_t dim, Body body) {
  for (int64_t i = 0; i < r.n; i++) {
    if (i + kPrefetch < r.n) {
      const int64_t po = static_cast<int64_t>(r.ids[i + kPrefetch]) * dim;
      for (int k = 0; k < NA; k++) PrefetchRowW(arrays[k] + po, dim);
    }
    body(static_cast<int64_t>(r.ids[i]) * dim, i);
  }
}

// Element loops of the optimizers: coordinates in pairs of doubles with SSE2 (x86-64),
// then a scalar tail. Packed and scalar IEEE operations round identically, so the pair path
// gives the same bits as the scalar one (and as the TypeScript twin).
#if defined(__SSE2__)
FR_ALWAYS_INLINE __m128d Load2(const float* p) {
  return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
FR_ALWAYS_INLINE void Store2(float* p, __m128d x) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(_mm_cvtpd_ps(x)));
}
#endif

template <int D>
void SgdT(const RowArgs& r, double lr) {
  const int64_t dim = D > 0 ? D : r.dim;
  float* const arrays[1] = {r.w};
  float* w = r.w;
  ForRows<1>(r, arrays, dim, [&](int64_t o, int64_t i) {
    const float* g = r.values + i * dim;
    int64_t d = 0;
#if defined(__SSE2__)
    const __m128d LR = _mm_set1_pd(lr);
    for (; d + 2 <= dim; d += 2) Store2(w + o + d, _mm_sub_pd(Load2(w + o + d), _mm_mul_pd(LR, Load2(g + d))));
#endif
    for (; d < dim; d++) w[o + d] = static_cast<float>(static_cast<double>(w[o + d]) - lr * static_cast<double>(g[d]));
  });
}

template <int D>
void AdagradT(const RowArgs& r, float* s, double clr, double eps) {
  const int64_t dim = D > 0 ? D : r.dim;
  float* const arrays[2] = {r.w, s};
  float* w = r.w;
  ForRows<2>(r, arrays, dim, [&](int64_t o, int64_t i) {
    const float* gv = r.values + i * dim;
    int64_t d = 0;
#if defined(__SSE2__)
    const __m128d CLR = _mm_set1_pd(clr), EPS = _mm_set1_pd(eps);
    for (; d + 2 <= dim; d += 2) {
      const __m128d g = Load2(gv + d);
      Store2(s + o + d, _mm_add_pd(Load2(s + o + d), _mm_mul_pd(g, g)));
      const __m128d acc = Load2(s + o + d);  // the float32-rounded sum, as the scalar path
      Store2(w + o + d, _mm_sub_pd(Load2(w + o + d), _mm_div_pd(_mm_mul_pd(CLR, g), _mm_add_pd(_mm_sqrt_pd(acc), EPS))));
    }
#endif
    for (; d < dim; d++) {
      const double g = gv[d];
      const float acc = static_cast<float>(static_cast<double>(s[o + d]) + g * g);
      s[o + d] = acc;
      w[o + d] = static_cast<float>(static_cast<double>(w[o + d]) - clr * g / (std::sqrt(static_cast<double>(acc)) + eps));
    }
  });
}

// One Adam coordinate pair / coordinate: g given; writes m, v, w. `a` scales m, `e` is
// added to √v (LazyAdam: a = stepSize, e = eps; TableAdam: its a and e).
#if defined(__SSE2__)
FR_ALWAYS_INLINE void AdamPair(__m128d g, float* m, float* v, float* w, __m128d wi, __m128d B1, __m128d C1, __m128d B2,
                               __m128d C2, __m128d A, __m128d E) {
  const __m128d mi = _mm_add_pd(_mm_mul_pd(B1, Load2(m)), _mm_mul_pd(C1, g));
  const __m128d vi = _mm_add_pd(_mm_mul_pd(B2, Load2(v)), _mm_mul_pd(_mm_mul_pd(C2, g), g));
  Store2(m, mi);
  Store2(v, vi);
  Store2(w, _mm_sub_pd(wi, _mm_div_pd(_mm_mul_pd(A, mi), _mm_add_pd(_mm_sqrt_pd(vi), E))));
}
#endif

FR_ALWAYS_INLINE void AdamOne(double g, float* m, float* v, float* w, double wi, double b1, double c1, double b2, double c2,
                              double a, double e) {
  const double mi = b1 * static_cast<double>(*m) + c1 * g;
  const double vi = b2 * static_cast<double>(*v) + c2 * g * g;
  *m = static_cast<float>(mi);
  *v = static_cast<float>(vi);
  *w = static_cast<float>(wi - a * mi / (std::sqrt(vi) + e));
}

template <int D>
void LazyAdamT(const RowArgs& r, float* m, float* v, double b1, double b2, double eps, double stepSize) {
  const int64_t dim = D > 0 ? D : r.dim;
  const double c1 = 1 - b1, c2 = 1 - b2;
  float* const arrays[3] = {r.w, m, v};
  float* w = r.w;
  ForRows<3>(r, arrays, dim, [&](int64_t o, int64_t i) {
    const float* gv = r.values + i * dim;
    int64_t d = 0;
#if defined(__SSE2__)
    const __m128d B1 = _mm_set1_pd(b1), C1 = _mm_set1_pd(c1), B2 = _mm_set1_pd(b2), C2 = _mm_set1_pd(c2);
    const __m128d A = _mm_set1_pd(stepSize), E = _mm_set1_pd(eps);
    for (; d + 2 <= dim; d += 2) AdamPair(Load2(gv + d), m + o + d, v + o + d, w + o + d, Load2(w + o + d), B1, C1, B2, C2, A, E);
#endif
    for (; d < dim; d++) AdamOne(gv[d], m + o + d, v + o + d, w + o + d, w[o + d], b1, c1, b2, c2, stepSize, eps);
  });
}

// Math.sign of JavaScript: ±1, or x itself for ±0 and NaN.
inline double JsSign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); }

template <int D>
void FtrlT(const RowArgs& r, float* z, float* n, double alpha, double beta, double l1, double l2) {
  const int64_t dim = D > 0 ? D : r.dim;
  float* const arrays[3] = {r.w, z, n};
  float* w = r.w;
  ForRows<3>(r, arrays, dim, [&](int64_t o, int64_t i) {
    const float* gv = r.values + i * dim;
    for (int64_t d = 0; d < dim; d++) {
      const double g = gv[d];
      const double n0 = n[o + d];
      const float n1 = static_cast<float>(n0 + g * g);
      const double sigma = (std::sqrt(static_cast<double>(n1)) - std::sqrt(n0)) / alpha;
      const float zi = static_cast<float>(static_cast<double>(z[o + d]) + g - sigma * static_cast<double>(w[o + d]));
      z[o + d] = zi;
      n[o + d] = n1;
      const double zd = zi;
      const double az = std::fabs(zd);
      w[o + d] = az <= l1 ? 0.0f
                          : static_cast<float>(-(zd - JsSign(zd) * l1) / ((beta + std::sqrt(static_cast<double>(n1))) / alpha + l2));
    }
  });
}

#define FR_DISPATCH_DIM(dim, CALL) \
  switch (dim) {                   \
    case 1: CALL(1); break;        \
    case 4: CALL(4); break;        \
    case 8: CALL(8); break;        \
    case 16: CALL(16); break;      \
    case 32: CALL(32); break;      \
    default: CALL(0); break;       \
  }

napi_value Sgd(napi_env env, napi_callback_info info) {
  const char* fn = "embSgd";
  napi_value argv[5];
  if (!GetArgs(env, info, fn, 5, argv)) return nullptr;
  RowArgs r{};
  double lr;
  if (!GetRowArgs(env, fn, argv, nullptr, 0, nullptr, 3, &r) || !GetNum(env, fn, argv[4], "lr", &lr)) return nullptr;
#define FR_CALL(D) SgdT<D>(r, lr)
  FR_DISPATCH_DIM(r.dim, FR_CALL)
#undef FR_CALL
  return nullptr;
}

napi_value Adagrad(napi_env env, napi_callback_info info) {
  const char* fn = "embAdagrad";
  napi_value argv[7];
  if (!GetArgs(env, info, fn, 7, argv)) return nullptr;
  RowArgs r{};
  const char* const names[1] = {"sum"};
  float* st[1];
  double clr, eps;
  if (!GetRowArgs(env, fn, argv, names, 1, st, 4, &r) || !GetNum(env, fn, argv[5], "clr", &clr) ||
      !GetNum(env, fn, argv[6], "eps", &eps)) {
    return nullptr;
  }
#define FR_CALL(D) AdagradT<D>(r, st[0], clr, eps)
  FR_DISPATCH_DIM(r.dim, FR_CALL)
#undef FR_CALL
  return nullptr;
}

napi_value LazyAdam(napi_env env, napi_callback_info info) {
  const char* fn = "embLazyAdam";
  napi_value argv[10];
  if (!GetArgs(env, info, fn, 10, argv)) return nullptr;
  RowArgs r{};
  const char* const names[2] = {"m", "v"};
  float* st[2];
  double b1, b2, eps, stepSize;
  if (!GetRowArgs(env, fn, argv, names, 2, st, 5, &r) || !GetNum(env, fn, argv[6], "beta1", &b1) ||
      !GetNum(env, fn, argv[7], "beta2", &b2) || !GetNum(env, fn, argv[8], "eps", &eps) ||
      !GetNum(env, fn, argv[9], "stepSize", &stepSize)) {
    return nullptr;
  }
#define FR_CALL(D) LazyAdamT<D>(r, st[0], st[1], b1, b2, eps, stepSize)
  FR_DISPATCH_DIM(r.dim, FR_CALL)
#undef FR_CALL
  return nullptr;
}

napi_value Ftrl(napi_env env, napi_callback_info info) {
  const char* fn = "embFtrl";
  napi_value argv[10];
  if (!GetArgs(env, info, fn, 10, argv)) return nullptr;
  RowArgs r{};
  const char* const names[2] = {"z", "n"};
  float* st[2];
  double alpha, beta, l1, l2;
  if (!GetRowArgs(env, fn, argv, names, 2, st, 5, &r) || !GetNum(env, fn, argv[6], "alpha", &alpha) ||
      !GetNum(env, fn, argv[7], "beta", &beta) || !GetNum(env, fn, argv[8], "l1", &l1) || !GetNum(env, fn, argv[9], "l2", &l2)) {
    return nullptr;
  }
#define FR_CALL(D) FtrlT<D>(r, st[0], st[1], alpha, beta, l1, l2)
  FR_DISPATCH_DIM(r.dim, FR_CALL)
#undef FR_CALL
  return nullptr;
}

// Dense Adam over every row but `pad`: g = sparse row gradient (0 off the sparse rows) +
// decay·w; rows off the sparse gradient with all-zero moments are skipped when decay = 0.
// pos (Int32Array of rows values, all −1 on entry and on return) maps row -> gradient row.
napi_value TableAdam(napi_env env, napi_callback_info info) {
  const char* fn = "embTableAdam";
  napi_value argv[13];
  if (!GetArgs(env, info, fn, 13, argv)) return nullptr;
  RowArgs r{};
  const char* const names[2] = {"m", "v"};
  float* st[2];
  int32_t* pos;
  int64_t posLen, pad;
  double b1, b2, a, e, decay;
  if (!GetRowArgs(env, fn, argv, names, 2, st, 6, &r) || !GetI32(env, fn, argv[5], "pos", &pos, &posLen) ||
      !GetInt(env, fn, argv[7], "pad", -1, kMaxIndex, &pad) || !GetNum(env, fn, argv[8], "beta1", &b1) ||
      !GetNum(env, fn, argv[9], "beta2", &b2) || !GetNum(env, fn, argv[10], "a", &a) || !GetNum(env, fn, argv[11], "e", &e) ||
      !GetNum(env, fn, argv[12], "decay", &decay)) {
    return nullptr;
  }
  if (posLen != r.rows) return Throw(env, fn, 'R', "pos must have one value per row of w");
  float *w = r.w, *m = st[0], *v = st[1];
  const int64_t dim = r.dim, rows = r.rows;
  const double c1 = 1 - b1, c2 = 1 - b2;
#if defined(__SSE2__)
  const __m128d B1 = _mm_set1_pd(b1), C1 = _mm_set1_pd(c1), B2 = _mm_set1_pd(b2), C2 = _mm_set1_pd(c2);
  const __m128d A = _mm_set1_pd(a), E = _mm_set1_pd(e), DECAY = _mm_set1_pd(decay);
#endif
  for (int64_t i = 0; i < r.n; i++) pos[r.ids[i]] = static_cast<int32_t>(i);
  for (int64_t row = 0; row < rows; row++) {
    if (row == pad) continue;
    const int64_t o = row * dim;
    const int32_t p = pos[row];
    if (p >= 0) {
      const float* gv = r.values + static_cast<int64_t>(p) * dim;
      int64_t d = 0;
#if defined(__SSE2__)
      for (; d + 2 <= dim; d += 2) {
        const __m128d wi = Load2(w + o + d);
        const __m128d g = _mm_add_pd(Load2(gv + d), _mm_mul_pd(DECAY, wi));
        AdamPair(g, m + o + d, v + o + d, w + o + d, wi, B1, C1, B2, C2, A, E);
      }
#endif
      for (; d < dim; d++) {
        const double wi = w[o + d];
        AdamOne(static_cast<double>(gv[d]) + decay * wi, m + o + d, v + o + d, w + o + d, wi, b1, c1, b2, c2, a, e);
      }
      continue;
    }
    if (decay == 0) {
      bool zero = true;
      for (int64_t d = 0; d < dim; d++) {
        if (m[o + d] != 0 || v[o + d] != 0) {
          zero = false;
          break;
        }
      }
      if (zero) continue;
    }
    int64_t d = 0;
#if defined(__SSE2__)
    for (; d + 2 <= dim; d += 2) {
      const __m128d wi = Load2(w + o + d);
      AdamPair(_mm_mul_pd(DECAY, wi), m + o + d, v + o + d, w + o + d, wi, B1, C1, B2, C2, A, E);
    }
#endif
    for (; d < dim; d++) {
      const double wi = w[o + d];
      AdamOne(decay * wi, m + o + d, v + o + d, w + o + d, wi, b1, c1, b2, c2, a, e);
    }
  }
  for (int64_t i = 0; i < r.n; i++) pos[r.ids[i]] = -1;
  return nullptr;
}

// embAdviseHugePages(array) -> bool (see the file comment).
napi_value AdviseHugePages(napi_env env, napi_callback_info info) {
  const char* fn = "embAdviseHugePages";
  size_t argc = 1;
  napi_value a[1];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < 1) {
    Throw(env, fn, 'T', "expects 1 argument (a typed array)");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  napi_value buffer;
  size_t byteOffset = 0;
  if (napi_get_typedarray_info(env, a[0], &type, &len, &ptr, &buffer, &byteOffset) != napi_ok) {
    Throw(env, fn, 'T', "array must be a typed array");
    return nullptr;
  }
  bool ok = false;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(ptr);
  const uintptr_t start = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (begin + len * elem) & ~(kHuge - 1);
  if (ptr != nullptr && end > start) ok = madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE) == 0;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

}  // namespace

void RegisterEmbeddingKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "embGatherFields", GatherFields);
  Export(env, exports, "embGatherRows", GatherRows);
  Export(env, exports, "embGatherPadded", GatherPadded);
  Export(env, exports, "embPool", Pool);
  Export(env, exports, "embAccumulate", Accumulate);
  Export(env, exports, "embSgd", Sgd);
  Export(env, exports, "embAdagrad", Adagrad);
  Export(env, exports, "embLazyAdam", LazyAdam);
  Export(env, exports, "embFtrl", Ftrl);
  Export(env, exports, "embTableAdam", TableAdam);
  Export(env, exports, "embAdviseHugePages", AdviseHugePages);
}
