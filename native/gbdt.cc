// The hot loops of src/gbdt (binning, histogram building, row partitioning) as native kernels,
// twins of src/gbdt/kernels-ts.ts: the same float64 sums of float32 gradients in the same
// order, so results are bit-identical. Registered by Init in finerank.cc. Bin matrices are
// Uint8Array (local bins: slot = offsets[f] + entry), Uint16Array or Uint32Array (global slots).
//
//   gbdtHistogram(hist, binned, offsets, F, rows, start, end, g, h, features, threads)
//       hist: Float64Array (zeroed here), offsets: Int32Array or null, rows: Int32Array, g/h:
//       Float32Array, features: Int32Array or null. For k in [start, end): r = rows[k]; for each
//       feature j: s = binned[r·F + j] (+ offsets[j]); hist[2s] += g[r], hist[2s+1] += h[r].
//       `threads` threads each own a contiguous block of features (every slot is summed by one
//       thread in row order: the result does not depend on the thread count).
//   gbdtPartition(rows, start, end, binned, F, feature, offset, missingBin, bin, defaultLeft, tmp)
//       Stable partition of rows[start, end): local bin b = binned[r·F + feature] − offset goes
//       left when b == missingBin ? defaultLeft : b ≤ bin. Returns the first right position.
//   gbdtBin(columns, uppers, offsets, columnMajor, rowMajor, threads)
//       Bins every value (binary search in the feature's upper bounds, NaN → bins + 1) into
//       both layouts, row blocks on `threads` threads.
//   gbdtSortFloats(values)
//       Ascending in-place radix sort of NaN-free float32 values.
// Every index is checked (rows, slots, features); a violation throws a RangeError.
#include "gbdt.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// A Uint8Array, Uint16Array or Uint32Array of bins: *bytes is its element size (1, 2 or 4).
bool GetBinned(napi_env env, const char* fn, napi_value v, void** data, int64_t* length, int* bytes) {
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint16_array && type != napi_uint32_array)) {
    Throw(env, fn, 'T', "binned must be a Uint8Array, Uint16Array or Uint32Array");
    return false;
  }
  *data = ptr;
  *length = static_cast<int64_t>(len);
  *bytes = type == napi_uint8_array ? 1 : type == napi_uint16_array ? 2 : 4;
  return true;
}

// Calls fn(static_cast<const T*>(p)) with T the element type of a `bytes`-wide bin array.
template <typename Fn>
auto WithSlotType(int bytes, void* p, Fn fn) {
  if (bytes == 1) return fn(static_cast<uint8_t*>(p));
  if (bytes == 2) return fn(static_cast<uint16_t*>(p));
  return fn(static_cast<uint32_t*>(p));
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

// Runs fn(t) for t in [0, threads) on `threads` threads (the calling thread runs t = 0).
template <typename Fn>
void ParallelFor(int64_t threads, Fn fn) {
  if (threads <= 1) {
    fn(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  for (int64_t t = 1; t < threads; t++) pool.emplace_back(fn, t);
  fn(0);
  for (auto& th : pool) th.join();
}

// Below this many slot updates (rows × features) a histogram is built on one thread: starting
// threads would cost more than they save.
constexpr int64_t kMinParallelWork = 1 << 16;

// Adds (gi, hi) to the pair at hist[2s] (one SSE2 add of both doubles: the same IEEE additions
// as two scalar ones).
inline void AddPair(double* hist, uint64_t s, double gi, double hi) {
#if defined(__SSE2__)
  double* p = hist + 2 * s;
  _mm_storeu_pd(p, _mm_add_pd(_mm_loadu_pd(p), _mm_set_pd(hi, gi)));
#else
  hist[2 * s] += gi;
  hist[2 * s + 1] += hi;
#endif
}

// Accumulates rows[start, end) into hist for the feature positions [j0, j1) of `features`
// (or of 0…F−1 when features is null). Returns false on a bad row or slot.
// With `offsets`, an entry is a local bin and its slot is offsets[feature] + entry.
template <typename Slot>
bool HistogramFeatures(double* hist, uint64_t slots, const Slot* binned, const int32_t* offsets, int64_t F, int64_t nRows,
                       const int32_t* rows, int64_t start, int64_t end, const float* g, const float* h, const int32_t* features,
                       int64_t j0, int64_t j1) {
  for (int64_t k = start; k < end; k++) {
    const int32_t r = rows[k];
    if (r < 0 || r >= nRows) return false;
#if defined(__GNUC__)
    // Rows of a deep node are scattered: fetch the slots and gradients of a row kPrefetch ahead.
    if (k + kPrefetch < end) {
      const int64_t ahead = rows[k + kPrefetch];
      if (ahead >= 0 && ahead < nRows) {
        __builtin_prefetch(binned + ahead * F + (features == nullptr ? j0 : features[j0]));
        __builtin_prefetch(g + ahead);
        __builtin_prefetch(h + ahead);
      }
    }
#endif
    const double gi = g[r], hi = h[r];
    const Slot* row = binned + static_cast<int64_t>(r) * F;
    if (features == nullptr && offsets == nullptr) {
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t s = row[j];
        if (s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    } else if (features == nullptr) {
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t s = static_cast<uint64_t>(offsets[j]) + row[j];
        if (s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    } else {
      for (int64_t j = j0; j < j1; j++) {
        const int32_t f = features[j];
        const uint64_t s = (offsets == nullptr ? 0 : static_cast<uint64_t>(offsets[f])) + row[f];
        if (s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    }
  }
  return true;
}

// The histogram on `threads` threads, each owning a contiguous block of features: every slot is
// summed by one thread in row order, so the result is the same for any thread count.
template <typename Slot>
bool Histogram(double* hist, int64_t histLen, const Slot* binned, const int32_t* offsets, int64_t F, int64_t nRows, const int32_t* rows,
               int64_t start, int64_t end, const float* g, const float* h, const int32_t* features, int64_t nf, int64_t threads) {
  const uint64_t slots = static_cast<uint64_t>(histLen / 2);
  std::memset(hist, 0, sizeof(double) * static_cast<size_t>(histLen));
  const int64_t cols = features == nullptr ? F : nf;
  if ((end - start) * cols < kMinParallelWork) threads = 1;
  threads = std::max<int64_t>(1, std::min(threads, cols));
  std::atomic<bool> ok{true};
  ParallelFor(threads, [&](int64_t t) {
    const int64_t j0 = cols * t / threads, j1 = cols * (t + 1) / threads;
    if (!HistogramFeatures(hist, slots, binned, offsets, F, nRows, rows, start, end, g, h, features, j0, j1)) ok = false;
  });
  return ok;
}

napi_value GbdtHistogram(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtHistogram";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  void *histP, *binnedP, *offP = nullptr, *rowsP, *gP, *hP, *featP = nullptr;
  int64_t histLen, binnedLen, offLen = 0, rowsLen, gLen, hLen, nf = 0, F, start, end, threads;
  int bytes;
  if (!GetArray(env, fn, a[0], "hist", napi_float64_array, "Float64Array", &histP, &histLen)) return nullptr;
  if (!GetBinned(env, fn, a[1], &binnedP, &binnedLen, &bytes)) return nullptr;
  if (!IsNullish(env, a[2]) && !GetArray(env, fn, a[2], "offsets", napi_int32_array, "Int32Array (or null)", &offP, &offLen)) return nullptr;
  if (!GetInt(env, fn, a[3], "F", 1, 1 << 24, &F)) return nullptr;
  if (!GetArray(env, fn, a[4], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetInt(env, fn, a[5], "start", 0, rowsLen, &start)) return nullptr;
  if (!GetInt(env, fn, a[6], "end", start, rowsLen, &end)) return nullptr;
  if (!GetArray(env, fn, a[7], "g", napi_float32_array, "Float32Array", &gP, &gLen)) return nullptr;
  if (!GetArray(env, fn, a[8], "h", napi_float32_array, "Float32Array", &hP, &hLen)) return nullptr;
  if (!IsNullish(env, a[9]) && !GetArray(env, fn, a[9], "features", napi_int32_array, "Int32Array (or null)", &featP, &nf)) return nullptr;
  if (!GetInt(env, fn, a[10], "threads", 1, 1024, &threads)) return nullptr;
  if (binnedLen % F != 0) return Throw(env, fn, 'R', "binned length is not a multiple of F");
  if (offP != nullptr && offLen != F) return Throw(env, fn, 'R', "offsets needs one entry per feature");
  const int32_t* offsets = static_cast<const int32_t*>(offP);
  for (int64_t j = 0; j < offLen; j++) if (offsets[j] < 0) return Throw(env, fn, 'R', "offsets holds a negative slot");
  const int64_t nRows = binnedLen / F;
  if (gLen < nRows || hLen < nRows) return Throw(env, fn, 'R', "g and h need one value per binned row");
  const int32_t* features = static_cast<const int32_t*>(featP);
  for (int64_t j = 0; j < nf; j++) if (features[j] < 0 || features[j] >= F) return Throw(env, fn, 'R', "features holds a feature outside [0, F)");
  const bool ok = WithSlotType(bytes, binnedP, [&](auto* binned) {
    return Histogram(static_cast<double*>(histP), histLen, binned, offsets, F, nRows, static_cast<const int32_t*>(rowsP), start, end,
                     static_cast<const float*>(gP), static_cast<const float*>(hP), features, nf, threads);
  });
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
  int bytes;
  bool defLeft;
  if (!GetArray(env, fn, a[0], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetInt(env, fn, a[1], "start", 0, rowsLen, &start)) return nullptr;
  if (!GetInt(env, fn, a[2], "end", start, rowsLen, &end)) return nullptr;
  if (!GetBinned(env, fn, a[3], &binnedP, &binnedLen, &bytes)) return nullptr;
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
  const int64_t nl = WithSlotType(bytes, binnedP, [&](auto* binned) {
    return Partition(rows, start, end, binned, F, nRows, feature, offset, missing, bin, defLeft, tmp);
  });
  if (nl < 0) return Throw(env, fn, 'R', "a row index is out of range");
  napi_value out;
  napi_create_int64(env, nl, &out);
  return out;
}

// Local bin of v: the first b with v ≤ up[b] (nb when above every bound), nb + 1 for NaN.
// Branch-free binary search (the comparison feeds a conditional move, not a jump).
template <typename Value>
inline int64_t BinOf(Value v, const float* up, int64_t nb) {
  if (v != v) return nb + 1;
  if (nb == 0) return 0;
  const double x = static_cast<double>(v);
  const float* base = up;
  int64_t n = nb;
  while (n > 1) {
    const int64_t half = n >> 1;
    base = static_cast<double>(base[half - 1]) < x ? base + half : base;
    n -= half;
  }
  return (base - up) + (static_cast<double>(*base) < x ? 1 : 0);
}

struct BinColumn {
  const void* data;
  bool isInt;
  const float* up;
  int64_t nb;
  int64_t offset;
};

// Slots of rows [r0, r1) of every feature into both layouts.
template <typename Slot>
void BinRows(const std::vector<BinColumn>& cols, int64_t n, Slot* colMajor, Slot* rowMajor, int64_t r0, int64_t r1) {
  const int64_t F = static_cast<int64_t>(cols.size());
  for (int64_t f = 0; f < F; f++) {
    const BinColumn& c = cols[f];
    Slot* out = colMajor + f * n;
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = c.isInt ? BinOf(static_cast<const int32_t*>(c.data)[r], c.up, c.nb) : BinOf(static_cast<const float*>(c.data)[r], c.up, c.nb);
      const Slot s = static_cast<Slot>(c.offset + b);
      out[r] = s;
      rowMajor[r * F + f] = s;
    }
  }
}

napi_value GbdtBin(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtBin";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  bool isArr = false, isArr2 = false;
  napi_is_array(env, a[0], &isArr);
  napi_is_array(env, a[1], &isArr2);
  if (!isArr || !isArr2) return Throw(env, fn, 'T', "columns and uppers must be arrays");
  uint32_t F = 0, F2 = 0;
  napi_get_array_length(env, a[0], &F);
  napi_get_array_length(env, a[1], &F2);
  if (F == 0 || F != F2) return Throw(env, fn, 'R', "columns and uppers need one entry per feature (at least one)");
  void *offP, *colP, *rowP;
  int64_t offLen, colLen, rowLen, threads;
  int colBytes, rowBytes;
  if (!GetArray(env, fn, a[2], "offsets", napi_int32_array, "Int32Array", &offP, &offLen)) return nullptr;
  if (!GetBinned(env, fn, a[3], &colP, &colLen, &colBytes)) return nullptr;
  if (!GetBinned(env, fn, a[4], &rowP, &rowLen, &rowBytes)) return nullptr;
  if (!GetInt(env, fn, a[5], "threads", 1, 1024, &threads)) return nullptr;
  if (offLen != F) return Throw(env, fn, 'R', "offsets needs one entry per feature");
  if (colBytes != rowBytes || colLen != rowLen || colLen % F != 0) return Throw(env, fn, 'R', "the two slot matrices must have the same type and F × rows entries");
  const int64_t n = colLen / F;
  // 8-bit matrices hold local bins, wider ones global slots (offset + bin).
  const bool local = colBytes == 1;
  const int64_t maxSlot = colBytes == 1 ? 0xff : colBytes == 2 ? INT64_C(0xffff) : INT64_C(0xffffffff);
  std::vector<BinColumn> cols(F);
  for (uint32_t f = 0; f < F; f++) {
    napi_value c, u;
    napi_get_element(env, a[0], f, &c);
    napi_get_element(env, a[1], f, &u);
    napi_typedarray_type type;
    size_t len = 0;
    void* ptr = nullptr;
    if (napi_get_typedarray_info(env, c, &type, &len, &ptr, nullptr, nullptr) != napi_ok || (type != napi_float32_array && type != napi_int32_array))
      return Throw(env, fn, 'T', "column " + std::to_string(f) + " must be a Float32Array or Int32Array");
    if (static_cast<int64_t>(len) != n) return Throw(env, fn, 'R', "column " + std::to_string(f) + " has " + std::to_string(len) + " values, expected " + std::to_string(n));
    void* upP;
    int64_t upLen;
    if (!GetArray(env, fn, u, "uppers[f]", napi_float32_array, "Float32Array", &upP, &upLen)) return nullptr;
    const int64_t off = static_cast<const int32_t*>(offP)[f];
    if (off < 0 || (local ? 0 : off) + upLen + 1 > maxSlot) return Throw(env, fn, 'R', "feature " + std::to_string(f) + "'s slots do not fit the slot matrix type");
    cols[f] = BinColumn{ptr, type == napi_int32_array, static_cast<const float*>(upP), upLen, local ? 0 : off};
  }
  constexpr int64_t kBlock = 2048;  // rows per task: a block of the row-major matrix stays in cache
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  threads = std::max<int64_t>(1, std::min(threads, blocks));
  ParallelFor(threads, [&](int64_t t) {
    for (int64_t b = blocks * t / threads; b < blocks * (t + 1) / threads; b++) {
      const int64_t r0 = b * kBlock, r1 = std::min(n, r0 + kBlock);
      WithSlotType(colBytes, colP, [&](auto* col) { BinRows(cols, n, col, static_cast<decltype(col)>(rowP), r0, r1); });
    }
  });
  return nullptr;
}

// Sorts float32 values ascending in place (no NaN): LSD radix sort, three passes of 11 bits over
// the bit patterns mapped to unsigned order (negative: all bits flipped; else the sign bit set).
napi_value GbdtSortFloats(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtSortFloats";
  napi_value a[1];
  if (!GetArgs(env, info, fn, 1, a)) return nullptr;
  void* p;
  int64_t n;
  if (!GetArray(env, fn, a[0], "values", napi_float32_array, "Float32Array", &p, &n)) return nullptr;
  float* v = static_cast<float*>(p);
  std::vector<uint32_t> keys(static_cast<size_t>(n)), tmp(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) {
    if (v[i] != v[i]) return Throw(env, fn, 'R', "values holds NaN at " + std::to_string(i));
    uint32_t b;
    std::memcpy(&b, v + i, 4);
    keys[i] = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  uint32_t* src = keys.data();
  uint32_t* dst = tmp.data();
  for (int shift = 0; shift < 32; shift += 11) {
    int64_t count[2048] = {0};
    for (int64_t i = 0; i < n; i++) count[(src[i] >> shift) & 2047]++;
    int64_t sum = 0;
    for (int d = 0; d < 2048; d++) {
      const int64_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (int64_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 2047]++] = src[i];
    std::swap(src, dst);
  }
  for (int64_t i = 0; i < n; i++) {
    const uint32_t k = src[i];
    const uint32_t b = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    std::memcpy(v + i, &b, 4);
  }
  return nullptr;
}

}  // namespace

void RegisterGbdtKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gbdtHistogram", GbdtHistogram);
  Export(env, exports, "gbdtPartition", GbdtPartition);
  Export(env, exports, "gbdtBin", GbdtBin);
  Export(env, exports, "gbdtSortFloats", GbdtSortFloats);
}
