// The hot loops of src/gbdt (histogram building and row partitioning) as native kernels,
// twins of src/gbdt/kernels-ts.ts: the same float64 sums of float32 gradients in the same
// order, so results are bit-identical. Registered by Init in finerank.cc.
//
//   gbdtHistogram(hist, binned, F, rows, start, end, g, h, features)
//       hist: Float64Array (zeroed here), binned: Uint16Array | Uint32Array [rows × F] of
//       global slots, rows: Int32Array, g/h: Float32Array, features: Int32Array or null.
//       For k in [start, end): r = rows[k]; for each feature j: s = binned[r·F + j];
//       hist[2s] += g[r], hist[2s+1] += h[r].
//   gbdtPartition(rows, start, end, binned, F, feature, offset, missingBin, bin, defaultLeft, tmp)
//       Stable partition of rows[start, end): local bin b = binned[r·F + feature] − offset goes
//       left when b == missingBin ? defaultLeft : b ≤ bin. Returns the first right position.
// Every index is checked (rows, slots, features); a violation throws a RangeError.
#include "gbdt.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "napi-args.h"

namespace {

using namespace finerank_napi;

constexpr int64_t kPrefetch = 16;  // rows ahead

bool GetArray(napi_env env, const char* fn, napi_value v, const char* name, napi_typedarray_type want, const char* typeName,
              void** data, int64_t* length) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != want) {
    Throw(env, fn, 'T', std::string(name) + " must be a " + typeName);
    return false;
  }
  *data = ptr;
  *length = static_cast<int64_t>(len);
  return true;
}

// A Uint16Array or Uint32Array of slots: *wide tells which.
bool GetBinned(napi_env env, const char* fn, napi_value v, void** data, int64_t* length, bool* wide) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok ||
      (type != napi_uint16_array && type != napi_uint32_array)) {
    Throw(env, fn, 'T', "binned must be a Uint16Array or Uint32Array");
    return false;
  }
  *data = ptr;
  *length = static_cast<int64_t>(len);
  *wide = type == napi_uint32_array;
  return true;
}

bool GetInt(napi_env env, const char* fn, napi_value v, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

template <typename Slot>
bool Histogram(double* hist, int64_t histLen, const Slot* binned, int64_t F, int64_t nRows, const int32_t* rows, int64_t start,
               int64_t end, const float* g, const float* h, const int32_t* features, int64_t nf) {
  const uint64_t slots = static_cast<uint64_t>(histLen / 2);
  std::memset(hist, 0, sizeof(double) * static_cast<size_t>(histLen));
  for (int64_t k = start; k < end; k++) {
    const int32_t r = rows[k];
    if (r < 0 || r >= nRows) return false;
#if defined(__GNUC__)
    // Rows of a deep node are scattered: fetch the slots and gradients of a row kPrefetch ahead.
    if (k + kPrefetch < end) {
      const int64_t ahead = rows[k + kPrefetch];
      if (ahead >= 0 && ahead < nRows) {
        __builtin_prefetch(binned + ahead * F);
        __builtin_prefetch(g + ahead);
        __builtin_prefetch(h + ahead);
      }
    }
#endif
    const double gi = g[r], hi = h[r];
    const Slot* row = binned + static_cast<int64_t>(r) * F;
    if (features == nullptr) {
      for (int64_t j = 0; j < F; j++) {
        const uint64_t s = row[j];
        if (s >= slots) return false;
        hist[2 * s] += gi;
        hist[2 * s + 1] += hi;
      }
    } else {
      for (int64_t j = 0; j < nf; j++) {
        const uint64_t s = row[features[j]];
        if (s >= slots) return false;
        hist[2 * s] += gi;
        hist[2 * s + 1] += hi;
      }
    }
  }
  return true;
}

napi_value GbdtHistogram(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtHistogram";
  napi_value a[9];
  if (!GetArgs(env, info, fn, 9, a)) return nullptr;
  void *histP, *binnedP, *rowsP, *gP, *hP, *featP = nullptr;
  int64_t histLen, binnedLen, rowsLen, gLen, hLen, nf = 0, F, start, end;
  bool wide;
  if (!GetArray(env, fn, a[0], "hist", napi_float64_array, "Float64Array", &histP, &histLen)) return nullptr;
  if (!GetBinned(env, fn, a[1], &binnedP, &binnedLen, &wide)) return nullptr;
  if (!GetInt(env, fn, a[2], "F", 1, 1 << 24, &F)) return nullptr;
  if (!GetArray(env, fn, a[3], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetInt(env, fn, a[4], "start", 0, rowsLen, &start)) return nullptr;
  if (!GetInt(env, fn, a[5], "end", start, rowsLen, &end)) return nullptr;
  if (!GetArray(env, fn, a[6], "g", napi_float32_array, "Float32Array", &gP, &gLen)) return nullptr;
  if (!GetArray(env, fn, a[7], "h", napi_float32_array, "Float32Array", &hP, &hLen)) return nullptr;
  if (!IsNullish(env, a[8]) && !GetArray(env, fn, a[8], "features", napi_int32_array, "Int32Array (or null)", &featP, &nf)) return nullptr;
  if (binnedLen % F != 0) return Throw(env, fn, 'R', "binned length is not a multiple of F");
  const int64_t nRows = binnedLen / F;
  if (gLen < nRows || hLen < nRows) return Throw(env, fn, 'R', "g and h need one value per binned row");
  const int32_t* features = static_cast<const int32_t*>(featP);
  for (int64_t j = 0; j < nf; j++) if (features[j] < 0 || features[j] >= F) return Throw(env, fn, 'R', "features holds a feature outside [0, F)");
  const bool ok = wide ? Histogram(static_cast<double*>(histP), histLen, static_cast<const uint32_t*>(binnedP), F, nRows, static_cast<const int32_t*>(rowsP), start, end,
                                   static_cast<const float*>(gP), static_cast<const float*>(hP), features, nf)
                       : Histogram(static_cast<double*>(histP), histLen, static_cast<const uint16_t*>(binnedP), F, nRows, static_cast<const int32_t*>(rowsP), start, end,
                                   static_cast<const float*>(gP), static_cast<const float*>(hP), features, nf);
  if (!ok) return Throw(env, fn, 'R', "a row index or slot is out of range");
  return nullptr;
}

template <typename Slot>
int64_t Partition(int32_t* rows, int64_t start, int64_t end, const Slot* binned, int64_t F, int64_t nRows, int64_t feature, int64_t offset,
                  int64_t missing, int64_t bin, bool defLeft, int32_t* tmp) {
  int64_t nl = start, nr = 0;
  for (int64_t k = start; k < end; k++) {
    const int32_t r = rows[k];
    if (r < 0 || r >= nRows) return -1;
    const int64_t b = static_cast<int64_t>(binned[static_cast<int64_t>(r) * F + feature]) - offset;
    if (b == missing ? defLeft : b <= bin) rows[nl++] = r;
    else tmp[nr++] = r;
  }
  std::memcpy(rows + nl, tmp, sizeof(int32_t) * static_cast<size_t>(nr));
  return nl;
}

napi_value GbdtPartition(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtPartition";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  void *rowsP, *binnedP, *tmpP;
  int64_t rowsLen, binnedLen, tmpLen, start, end, F, feature, offset, missing, bin;
  bool wide, defLeft;
  if (!GetArray(env, fn, a[0], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetInt(env, fn, a[1], "start", 0, rowsLen, &start)) return nullptr;
  if (!GetInt(env, fn, a[2], "end", start, rowsLen, &end)) return nullptr;
  if (!GetBinned(env, fn, a[3], &binnedP, &binnedLen, &wide)) return nullptr;
  if (!GetInt(env, fn, a[4], "F", 1, 1 << 24, &F)) return nullptr;
  if (!GetInt(env, fn, a[5], "feature", 0, F - 1, &feature)) return nullptr;
  if (!GetInt(env, fn, a[6], "offset", 0, INT32_MAX, &offset)) return nullptr;
  if (!GetInt(env, fn, a[7], "missingBin", 0, INT32_MAX, &missing)) return nullptr;
  if (!GetInt(env, fn, a[8], "bin", -1, INT32_MAX, &bin)) return nullptr;
  if (napi_get_value_bool(env, a[9], &defLeft) != napi_ok) return Throw(env, fn, 'T', "defaultLeft must be a boolean");
  if (!GetArray(env, fn, a[10], "tmp", napi_int32_array, "Int32Array", &tmpP, &tmpLen)) return nullptr;
  if (binnedLen % F != 0) return Throw(env, fn, 'R', "binned length is not a multiple of F");
  if (tmpLen < end - start) return Throw(env, fn, 'R', "tmp is shorter than the rows to partition");
  const int64_t nRows = binnedLen / F;
  int32_t* rows = static_cast<int32_t*>(rowsP);
  int32_t* tmp = static_cast<int32_t*>(tmpP);
  const int64_t nl = wide ? Partition(rows, start, end, static_cast<const uint32_t*>(binnedP), F, nRows, feature, offset, missing, bin, defLeft, tmp)
                          : Partition(rows, start, end, static_cast<const uint16_t*>(binnedP), F, nRows, feature, offset, missing, bin, defLeft, tmp);
  if (nl < 0) return Throw(env, fn, 'R', "a row index is out of range");
  napi_value out;
  napi_create_int64(env, nl, &out);
  return out;
}

void Export(napi_env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f) != napi_ok) return;
  exports.Set(name, Napi::Value(env, f));
}

}  // namespace

void RegisterGbdtKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gbdtHistogram", GbdtHistogram);
  Export(env, exports, "gbdtPartition", GbdtPartition);
}
