// The hot loops of src/gbdt (binning, histogram building, row partitioning, logloss gradients,
// the margin update) as native kernels, twins of src/gbdt/kernels-ts.ts: the same float64 sums
// of float32 gradients in the same order, so results are bit-identical. Registered by Init in
// finerank.cc. Bin matrices are Uint8Array (local bins: slot = offsets[f] + entry), Uint16Array
// or Uint32Array (global slots). Threads come from one persistent pool (WorkerPool).
//
//   gbdtHistogram(hist, binned, offsets, F, rows, start, end, g, h, features, threads)
//       hist: Float64Array (zeroed here), offsets: Int32Array or null, rows: Int32Array, g/h:
//       Float32Array, features: Int32Array or null. For k in [start, end): r = rows[k]; for each
//       feature j: s = binned[r·F + j] (+ offsets[j]); hist[2s] += g[r], hist[2s+1] += h[r].
//       Over kHistogramBlockRows rows: fixed row blocks into partial histograms (blocks on the
//       threads), added in block order; else row order (features split between the threads).
//       Every slot is summed in one fixed order: the result does not depend on the thread count.
//   gbdtPartition(rows, start, end, binned, F, feature, offset, missingBin, bin, defaultLeft, tmp, threads)
//       Stable partition of rows[start, end): local bin b = binned[r·F + feature] − offset goes
//       left when b == missingBin ? defaultLeft : b ≤ bin. Returns the first right position.
//       Row blocks on `threads` threads from kMinParallelRows rows (the same order).
//   gbdtBin(columns, uppers, offsets, columnMajor, rowMajor, threads)
//       Bins every value (the first bound ≥ the value, NaN → bins + 1) into both layouts, row
//       blocks on `threads` threads; integer tables and guide tables speed up the search.
//   gbdtSortFloats(values)
//       Ascending in-place radix sort of NaN-free float32 values.
//   gbdtLogisticGradients(margin, y, weight, g, h, threads)
//       p = 1/(1 + e^(−margin)) with DeterministicExp (twin: src/gbdt/exp.ts), g = w(p − y),
//       h = w·max(p(1 − p), 1e−16), row blocks on `threads` threads.
//   gbdtAddLeafValues(margin, rows, leafStart, leafEnd, values, threads)
//       margin[rows[k]] += values[i] for k in [leafStart[i], leafEnd[i]) (distinct rows).
//   gbdtHistograms(hists, binned, offsets, F, rows, starts, ends, g, h, features, threads)
//       gbdtHistogram of every node i (rows[starts[i], ends[i]) into hists[i]) in two pool jobs:
//       small nodes and the row blocks of large ones are units the threads take in turn (the
//       same sums as one call per node, for any thread count).
//   gbdtPartitions(rows, starts, ends, columns, n, features, offsets, missingBins, bins, defaultLeft, tmp, mids, threads)
//       gbdtPartition of every node i (disjoint ranges) on column features[i] of the
//       column-major matrix `columns` ([F × n]) in one pool job, node i's first right position
//       into mids[i]; one node per unit (one node alone: its row blocks on the threads).
//   gbdtPoolStats(out)
//       out[0…3) = the worker pool's jobs so far, seconds the calling thread waited for the
//       workers after its own task, seconds the workers spent in tasks (phase accounting).
// Every index is checked (rows, slots, features); a violation throws a RangeError.
#include "gbdt.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
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

// A persistent pool of worker threads, started on first use and kept (sleeping on a condition
// variable) for the life of the process: a tree calls the kernels thousands of times, and
// starting threads per call cost more than the work of small nodes. Run(threads, fn) calls
// fn(t) for t in [0, threads), t = 0 on the calling thread, and returns when all are done.
// A second caller while a job runs (another JS thread) runs its tasks in sequence itself:
// every kernel's result is independent of how its tasks are scheduled.
class WorkerPool {
 public:
  void Run(int64_t threads, const std::function<void(int64_t)>& fn) {
    std::unique_lock<std::mutex> busy(run_, std::try_to_lock);
    if (threads <= 1 || !busy.owns_lock()) {
      for (int64_t t = 0; t < threads; t++) fn(t);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      while (static_cast<int64_t>(started_) < threads - 1) {
        const int64_t index = static_cast<int64_t>(started_) + 1;
        std::thread([this, index] { Work(index); }).detach();
        started_++;
      }
      job_ = &fn;
      jobThreads_ = threads;
      pending_ = threads - 1;
      generation_++;
    }
    jobs_.fetch_add(1, std::memory_order_relaxed);
    wake_.notify_all();
    fn(0);
    const int64_t ownDone = NowNs();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [this] { return pending_ == 0; });
    job_ = nullptr;
    mainWaitNs_.fetch_add(NowNs() - ownDone, std::memory_order_relaxed);
  }

  // Counters since the process started: pool jobs (round trips), nanoseconds the calling thread
  // waited for the workers after its own task, nanoseconds the workers spent in tasks.
  void Stats(double* out) const {
    out[0] = static_cast<double>(jobs_.load(std::memory_order_relaxed));
    out[1] = static_cast<double>(mainWaitNs_.load(std::memory_order_relaxed)) * 1e-9;
    out[2] = static_cast<double>(workerBusyNs_.load(std::memory_order_relaxed)) * 1e-9;
  }

 private:
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  void Work(int64_t index) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lk(m_);
      seen = generation_ - (index < jobThreads_ && pending_ > 0 ? 1 : 0);
    }
    for (;;) {
      const std::function<void(int64_t)>* job;
      {
        std::unique_lock<std::mutex> lk(m_);
        wake_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= jobThreads_) continue;
        job = job_;
      }
      const int64_t t0 = NowNs();
      (*job)(index);
      workerBusyNs_.fetch_add(NowNs() - t0, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lk(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex run_, m_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t jobThreads_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  size_t started_ = 0;
  std::atomic<int64_t> jobs_{0}, mainWaitNs_{0}, workerBusyNs_{0};
};

// Never destroyed: its detached workers sleep until the process exits.
WorkerPool& Pool() {
  static WorkerPool* pool = new WorkerPool();
  return *pool;
}

// Runs fn(t) for t in [0, threads) on the pool (the calling thread runs t = 0).
template <typename Fn>
void ParallelFor(int64_t threads, Fn fn) {
  if (threads <= 1) {
    fn(0);
    return;
  }
  const std::function<void(int64_t)> f = fn;
  Pool().Run(threads, f);
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
// With `offsets`, an entry is a local bin and its slot is offsets[feature] + entry. Checked =
// false (the caller proved every slot < `slots`) drops the per-entry slot check.
template <bool Checked, typename Slot>
bool HistogramFeatures(double* hist, uint64_t slots, const Slot* binned, const int32_t* offsets, int64_t F, int64_t nRows,
                       const int32_t* rows, int64_t start, int64_t end, const float* g, const float* h, const int32_t* features,
                       int64_t j0, int64_t j1) {
  const int64_t first = features == nullptr ? j0 : features[j0];
  const int64_t last = features == nullptr ? j1 - 1 : features[j1 - 1];
  for (int64_t k = start; k < end; k++) {
    const int32_t r = rows[k];
    if (r < 0 || r >= nRows) return false;
#if defined(__GNUC__)
    // Rows of a deep node are scattered: fetch the slots (both ends: a row may span two cache
    // lines) and gradients of a row kPrefetch ahead.
    if (k + kPrefetch < end) {
      const int64_t ahead = rows[k + kPrefetch];
      if (ahead >= 0 && ahead < nRows) {
        __builtin_prefetch(binned + ahead * F + first);
        __builtin_prefetch(binned + ahead * F + last);
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
        if (Checked && s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    } else if (features == nullptr && !Checked) {
      // The common case (8-bit local bins, all features): four features per step.
      int64_t j = j0;
      for (; j + 4 <= j1; j += 4) {
        const uint64_t s0 = static_cast<uint64_t>(offsets[j]) + row[j];
        const uint64_t s1 = static_cast<uint64_t>(offsets[j + 1]) + row[j + 1];
        const uint64_t s2 = static_cast<uint64_t>(offsets[j + 2]) + row[j + 2];
        const uint64_t s3 = static_cast<uint64_t>(offsets[j + 3]) + row[j + 3];
        AddPair(hist, s0, gi, hi);
        AddPair(hist, s1, gi, hi);
        AddPair(hist, s2, gi, hi);
        AddPair(hist, s3, gi, hi);
      }
      for (; j < j1; j++) AddPair(hist, static_cast<uint64_t>(offsets[j]) + row[j], gi, hi);
    } else if (features == nullptr) {
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t s = static_cast<uint64_t>(offsets[j]) + row[j];
        if (Checked && s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    } else {
      for (int64_t j = j0; j < j1; j++) {
        const int32_t f = features[j];
        const uint64_t s = (offsets == nullptr ? 0 : static_cast<uint64_t>(offsets[f])) + row[f];
        if (Checked && s >= slots) return false;
        AddPair(hist, s, gi, hi);
      }
    }
  }
  return true;
}

// Rows per block of a histogram (kernels-ts.ts has the same constant): a node of more rows is
// summed block by block into partial histograms, which are then added in block order. The
// blocks do not depend on the thread count, so neither does any sum.
constexpr int64_t kHistogramBlockRows = 1 << 14;

// The histogram of rows[start, end). One block (a node of at most kHistogramBlockRows rows):
// straight into hist, on `threads` threads each owning a contiguous block of features. Several
// blocks: block b into its own zeroed partial histogram (blocks spread over the threads, so
// the row gathers — the cost of a deep node's scattered rows — are split between them, not
// repeated), then hist[s] = ((0 + part_0[s]) + part_1[s]) + … in block order, slot ranges on
// the threads. Either way every slot is summed in one fixed order, the same for any thread
// count. 8-bit local bins whose every possible slot (largest offset + 255) lies inside hist run
// without the per-entry slot check (the booster pads its histograms for this).
template <typename Slot>
bool Histogram(double* hist, int64_t histLen, const Slot* binned, const int32_t* offsets, int64_t F, int64_t nRows, const int32_t* rows,
               int64_t start, int64_t end, const float* g, const float* h, const int32_t* features, int64_t nf, int64_t threads) {
  const uint64_t slots = static_cast<uint64_t>(histLen / 2);
  std::memset(hist, 0, sizeof(double) * static_cast<size_t>(histLen));
  const int64_t cols = features == nullptr ? F : nf;
  if (cols == 0 || end <= start) return true;
  bool checked = true;
  if (sizeof(Slot) == 1 && offsets != nullptr) {
    int64_t most = 0;
    for (int64_t j = 0; j < F; j++) most = std::max<int64_t>(most, offsets[j]);
    checked = static_cast<uint64_t>(most) + 255 >= slots;
  }
  auto accumulate = [&](double* into, int64_t k0, int64_t k1, int64_t j0, int64_t j1) {
    return checked ? HistogramFeatures<true>(into, slots, binned, offsets, F, nRows, rows, k0, k1, g, h, features, j0, j1)
                   : HistogramFeatures<false>(into, slots, binned, offsets, F, nRows, rows, k0, k1, g, h, features, j0, j1);
  };
  std::atomic<bool> ok{true};
  const int64_t blocks = (end - start + kHistogramBlockRows - 1) / kHistogramBlockRows;
  if (blocks <= 1) {
    if ((end - start) * cols < kMinParallelWork) threads = 1;
    threads = std::max<int64_t>(1, std::min(threads, cols));
    ParallelFor(threads, [&](int64_t t) {
      if (!accumulate(hist, start, end, cols * t / threads, cols * (t + 1) / threads)) ok = false;
    });
    return ok;
  }
  thread_local std::vector<double> partials;
  const size_t need = static_cast<size_t>(blocks) * static_cast<size_t>(histLen);
  if (partials.size() < need) partials.resize(need);
  double* parts = partials.data();
  const int64_t T = std::max<int64_t>(1, std::min(threads, blocks));
  ParallelFor(T, [&](int64_t t) {
    for (int64_t b = t; b < blocks; b += T) {
      double* p = parts + b * histLen;
      std::memset(p, 0, sizeof(double) * static_cast<size_t>(histLen));
      const int64_t k0 = start + b * kHistogramBlockRows, k1 = std::min(end, k0 + kHistogramBlockRows);
      if (!accumulate(p, k0, k1, 0, cols)) ok = false;
    }
  });
  if (!ok) return false;
  const int64_t R = std::max<int64_t>(1, std::min<int64_t>(threads, histLen / 4096 + 1));
  ParallelFor(R, [&](int64_t t) {
    const int64_t s0 = histLen * t / R, s1 = histLen * (t + 1) / R;
    for (int64_t b = 0; b < blocks; b++) {
      const double* p = parts + b * histLen;
      for (int64_t s = s0; s < s1; s++) hist[s] += p[s];
    }
  });
  return true;
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

// Runs fn(u) for every u in [0, units) on up to `threads` threads, each taking the next unit
// from a shared counter (units of uneven size balance themselves; which thread runs a unit
// changes nothing in its result).
template <typename Fn>
void ForEachUnit(int64_t units, int64_t threads, Fn fn) {
  std::atomic<int64_t> next{0};
  const int64_t T = std::max<int64_t>(1, std::min(threads, units));
  ParallelFor(T, [&](int64_t) {
    for (int64_t u = next.fetch_add(1); u < units; u = next.fetch_add(1)) fn(u);
  });
}

// The histograms of several nodes (one depth level) in two pool jobs, each node summed exactly
// as Histogram sums it alone: a node of at most kHistogramBlockRows rows is one unit (its whole
// histogram accumulated in row order by one thread), a larger node one unit per row block
// (into its own partial histogram). The units, largest first, go to the threads from a shared
// counter; then the partials of each multi-block node are added in block order (slot ranges of
// the nodes on the threads). So every sum is the one Histogram and the TypeScript twin compute,
// for any thread count, while small nodes no longer need feature-parallel passes in which every
// thread walks every row.
template <typename Slot>
bool HistogramBatch(double* const* hists, int64_t histLen, const Slot* binned, const int32_t* offsets, int64_t F, int64_t nRows,
                    const int32_t* rows, const int32_t* starts, const int32_t* ends, int64_t nodes, const float* g, const float* h,
                    const int32_t* features, int64_t nf, int64_t threads) {
  const uint64_t slots = static_cast<uint64_t>(histLen / 2);
  const int64_t cols = features == nullptr ? F : nf;
  bool checked = true;
  if (sizeof(Slot) == 1 && offsets != nullptr) {
    int64_t most = 0;
    for (int64_t j = 0; j < F; j++) most = std::max<int64_t>(most, offsets[j]);
    checked = static_cast<uint64_t>(most) + 255 >= slots;
  }
  struct Unit {
    int64_t node, k0, k1;
    double* into;
  };
  std::vector<Unit> units;
  std::vector<int64_t> partBase(static_cast<size_t>(nodes), -1), blocksOf(static_cast<size_t>(nodes), 0);
  int64_t partCount = 0;
  for (int64_t i = 0; i < nodes; i++) {
    const int64_t len = ends[i] - starts[i];
    const int64_t blocks = (len + kHistogramBlockRows - 1) / kHistogramBlockRows;
    if (blocks > 1) {
      partBase[i] = partCount;
      blocksOf[i] = blocks;
      partCount += blocks;
    }
  }
  thread_local std::vector<double> partials;
  const size_t need = static_cast<size_t>(partCount) * static_cast<size_t>(histLen);
  if (partials.size() < need) partials.resize(need);
  // The calling thread's buffer (a worker naming `partials` would get its own, empty one).
  double* const parts = partials.data();
  for (int64_t i = 0; i < nodes; i++) {
    if (blocksOf[i] == 0) {
      units.push_back({i, starts[i], ends[i], hists[i]});
      continue;
    }
    for (int64_t b = 0; b < blocksOf[i]; b++) {
      const int64_t k0 = starts[i] + b * kHistogramBlockRows;
      units.push_back({i, k0, std::min<int64_t>(ends[i], k0 + kHistogramBlockRows), parts + (partBase[i] + b) * histLen});
    }
  }
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) { return a.k1 - a.k0 > b.k1 - b.k0; });
  std::atomic<bool> ok{true};
  ForEachUnit(static_cast<int64_t>(units.size()), threads, [&](int64_t u) {
    const Unit& w = units[u];
    std::memset(w.into, 0, sizeof(double) * static_cast<size_t>(histLen));
    if (cols == 0 || w.k1 <= w.k0) return;
    const bool good = checked ? HistogramFeatures<true>(w.into, slots, binned, offsets, F, nRows, rows, w.k0, w.k1, g, h, features, 0, cols)
                              : HistogramFeatures<false>(w.into, slots, binned, offsets, F, nRows, rows, w.k0, w.k1, g, h, features, 0, cols);
    if (!good) ok = false;
  });
  if (!ok) return false;
  // Reduction: slot ranges of 4096 doubles of every multi-block node.
  constexpr int64_t kRange = 4096;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t i = 0; i < nodes; i++)
    if (blocksOf[i] > 0)
      for (int64_t s0 = 0; s0 < histLen; s0 += kRange) ranges.push_back({i, s0});
  ForEachUnit(static_cast<int64_t>(ranges.size()), threads, [&](int64_t u) {
    const int64_t i = ranges[u].first, s0 = ranges[u].second, s1 = std::min(histLen, s0 + kRange);
    double* hist = hists[i];
    std::memset(hist + s0, 0, sizeof(double) * static_cast<size_t>(s1 - s0));
    for (int64_t b = 0; b < blocksOf[i]; b++) {
      const double* p = parts + (partBase[i] + b) * histLen;
      for (int64_t s = s0; s < s1; s++) hist[s] += p[s];
    }
  });
  return true;
}

napi_value GbdtHistograms(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtHistograms";
  napi_value a[11];
  if (!GetArgs(env, info, fn, 11, a)) return nullptr;
  bool isArr = false;
  napi_is_array(env, a[0], &isArr);
  if (!isArr) return Throw(env, fn, 'T', "hists must be an array of Float64Array");
  uint32_t nodes = 0;
  napi_get_array_length(env, a[0], &nodes);
  void *binnedP, *offP = nullptr, *rowsP, *sP, *eP, *gP, *hP, *featP = nullptr;
  int64_t binnedLen, offLen = 0, rowsLen, sLen, eLen, gLen, hLen, nf = 0, F, threads;
  int bytes;
  if (!GetBinned(env, fn, a[1], &binnedP, &binnedLen, &bytes)) return nullptr;
  if (!IsNullish(env, a[2]) && !GetArray(env, fn, a[2], "offsets", napi_int32_array, "Int32Array (or null)", &offP, &offLen)) return nullptr;
  if (!GetInt(env, fn, a[3], "F", 1, 1 << 24, &F)) return nullptr;
  if (!GetArray(env, fn, a[4], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetArray(env, fn, a[5], "starts", napi_int32_array, "Int32Array", &sP, &sLen)) return nullptr;
  if (!GetArray(env, fn, a[6], "ends", napi_int32_array, "Int32Array", &eP, &eLen)) return nullptr;
  if (!GetArray(env, fn, a[7], "g", napi_float32_array, "Float32Array", &gP, &gLen)) return nullptr;
  if (!GetArray(env, fn, a[8], "h", napi_float32_array, "Float32Array", &hP, &hLen)) return nullptr;
  if (!IsNullish(env, a[9]) && !GetArray(env, fn, a[9], "features", napi_int32_array, "Int32Array (or null)", &featP, &nf)) return nullptr;
  if (!GetInt(env, fn, a[10], "threads", 1, 1024, &threads)) return nullptr;
  if (sLen != nodes || eLen != nodes) return Throw(env, fn, 'R', "starts and ends need one entry per histogram");
  if (binnedLen % F != 0) return Throw(env, fn, 'R', "binned length is not a multiple of F");
  if (offP != nullptr && offLen != F) return Throw(env, fn, 'R', "offsets needs one entry per feature");
  const int32_t* offsets = static_cast<const int32_t*>(offP);
  for (int64_t j = 0; j < offLen; j++) if (offsets[j] < 0) return Throw(env, fn, 'R', "offsets holds a negative slot");
  const int64_t nRows = binnedLen / F;
  if (gLen < nRows || hLen < nRows) return Throw(env, fn, 'R', "g and h need one value per binned row");
  const int32_t* features = static_cast<const int32_t*>(featP);
  for (int64_t j = 0; j < nf; j++) if (features[j] < 0 || features[j] >= F) return Throw(env, fn, 'R', "features holds a feature outside [0, F)");
  const int32_t* starts = static_cast<const int32_t*>(sP);
  const int32_t* ends = static_cast<const int32_t*>(eP);
  std::vector<double*> hists(nodes);
  int64_t histLen = -1;
  for (uint32_t i = 0; i < nodes; i++) {
    if (starts[i] < 0 || starts[i] > ends[i] || ends[i] > rowsLen)
      return Throw(env, fn, 'R', "node " + std::to_string(i) + "'s row range is outside rows");
    napi_value v;
    napi_get_element(env, a[0], i, &v);
    void* p;
    int64_t len;
    if (!GetArray(env, fn, v, "hists[i]", napi_float64_array, "Float64Array", &p, &len)) return nullptr;
    if (histLen >= 0 && len != histLen) return Throw(env, fn, 'R', "every histogram needs the same length");
    histLen = len;
    hists[i] = static_cast<double*>(p);
  }
  if (nodes == 0) return nullptr;
  const bool ok = WithSlotType(bytes, binnedP, [&](auto* binned) {
    return HistogramBatch(hists.data(), histLen, binned, offsets, F, nRows, static_cast<const int32_t*>(rowsP), starts, ends, nodes,
                          static_cast<const float*>(gP), static_cast<const float*>(hP), features, nf, threads);
  });
  if (!ok) return Throw(env, fn, 'R', "a row index or slot is out of range");
  return nullptr;
}

// Stable partition of rows[start, end) with every row written to both rows[nl] and tmp[nr] and
// the counters advanced by the comparison: no branch on the (unpredictable) direction. Not
// inlined: inside the N-API entry point the counters were kept in memory (a store-to-load
// chain per row).
template <typename Slot>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
int64_t PartitionBlock(int32_t* rows, int64_t start, int64_t end, const Slot* binned, int64_t F, int64_t nRows, int64_t feature, int64_t offset,
                       int64_t missing, int64_t bin, bool defLeft, int32_t* lefts, int32_t* rights, int64_t* nRight) {
  int64_t nl = 0, nr = 0;
  for (int64_t k = start; k < end; k++) {
    const int32_t r = rows[k];
    if (r < 0 || r >= nRows) return -1;
#if defined(__GNUC__)
    if (k + kPrefetch < end) {
      const int64_t ahead = rows[k + kPrefetch];
      if (ahead >= 0 && ahead < nRows) __builtin_prefetch(binned + ahead * F + feature);
    }
#endif
    const int64_t b = static_cast<int64_t>(binned[static_cast<int64_t>(r) * F + feature]) - offset;
    const bool left = b == missing ? defLeft : b <= bin;
    lefts[nl] = r;
    rights[nr] = r;
    nl += left;
    nr += !left;
  }
  *nRight = nr;
  return nl;
}

// Below this many rows a partition runs on one thread.
constexpr int64_t kMinParallelRows = 1 << 15;

// The stable partition on `threads` threads: each partitions a contiguous block of the rows
// as one thread would (its lefts compacted in place at the block's front, its rights into
// tmp at the block's offset), then the blocks' lefts are moved down to their final places in
// block order (each block's lefts only move towards `start`, so in order every move reads
// rows no earlier move overwrote; one memmove per block) and the rights copied from tmp (the
// blocks in parallel: tmp is not rows). The result is the single-thread one for any thread
// count, without scratch allocation.
template <typename Slot>
int64_t Partition(int32_t* rows, int64_t start, int64_t end, const Slot* binned, int64_t F, int64_t nRows, int64_t feature, int64_t offset,
                  int64_t missing, int64_t bin, bool defLeft, int32_t* tmp, int64_t threads) {
  const int64_t len = end - start;
  if (len < kMinParallelRows) threads = 1;
  if (threads <= 1) {
    int64_t nr = 0;
    const int64_t nl = PartitionBlock(rows, start, end, binned, F, nRows, feature, offset, missing, bin, defLeft, rows + start, tmp, &nr);
    if (nl < 0) return -1;
    std::memcpy(rows + start + nl, tmp, sizeof(int32_t) * static_cast<size_t>(nr));
    return start + nl;
  }
  std::vector<int64_t> nls(threads), nrs(threads);
  std::atomic<bool> ok{true};
  ParallelFor(threads, [&](int64_t t) {
    const int64_t b0 = start + len * t / threads, b1 = start + len * (t + 1) / threads;
    int64_t nr = 0;
    const int64_t nl = PartitionBlock(rows, b0, b1, binned, F, nRows, feature, offset, missing, bin, defLeft, rows + b0, tmp + (b0 - start), &nr);
    if (nl < 0) ok = false;
    nls[t] = nl;
    nrs[t] = nr;
  });
  if (!ok) return -1;
  int64_t l = start;
  for (int64_t t = 0; t < threads; t++) {
    const int64_t b0 = start + len * t / threads;
    if (l != b0) std::memmove(rows + l, rows + b0, sizeof(int32_t) * static_cast<size_t>(nls[t]));
    l += nls[t];
  }
  const int64_t totalLeft = l - start;
  ParallelFor(threads, [&](int64_t t) {
    int64_t r = start + totalLeft;
    for (int64_t u = 0; u < t; u++) r += nrs[u];
    const int64_t b0 = start + len * t / threads;
    std::memcpy(rows + r, tmp + (b0 - start), sizeof(int32_t) * static_cast<size_t>(nrs[t]));
  });
  return start + totalLeft;
}

napi_value GbdtPartition(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtPartition";
  napi_value a[12];
  if (!GetArgs(env, info, fn, 12, a)) return nullptr;
  void *rowsP, *binnedP, *tmpP;
  int64_t rowsLen, binnedLen, tmpLen, start, end, F, feature, offset, missing, bin, threads;
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
  if (!GetInt(env, fn, a[11], "threads", 1, 1024, &threads)) return nullptr;
  if (binnedLen % F != 0) return Throw(env, fn, 'R', "binned length is not a multiple of F");
  if (tmpLen < end - start) return Throw(env, fn, 'R', "tmp is shorter than the rows to partition");
  const int64_t nRows = binnedLen / F;
  int32_t* rows = static_cast<int32_t*>(rowsP);
  int32_t* tmp = static_cast<int32_t*>(tmpP);
  const int64_t nl = WithSlotType(bytes, binnedP, [&](auto* binned) {
    return Partition(rows, start, end, binned, F, nRows, feature, offset, missing, bin, defLeft, tmp, threads);
  });
  if (nl < 0) return Throw(env, fn, 'R', "a row index is out of range");
  napi_value out;
  napi_create_int64(env, nl, &out);
  return out;
}

// Stable partitions of several nodes (one depth level) in one pool job: node i's rows
// [starts[i], ends[i]) split on column features[i] of the column-major [F × n] matrix
// `columns` with (offsets[i], missing[i], bins[i], defaultLeft[i])
// as Partition does it; mids[i] receives its first right position. One node alone uses
// Partition's row blocks on the threads; several are units (largest first) taken by the
// threads from a shared counter, each partitioned in one pass by one thread with
// tmp[starts[i] …) as its scratch. The result is the single-thread one either way.
template <typename Slot>
bool PartitionBatch(int32_t* rows, const int32_t* starts, const int32_t* ends, int64_t nodes, const Slot* columns, int64_t n, const int32_t* feats,
                    const int32_t* offs, const int32_t* miss, const int32_t* bins, const uint8_t* defLeft, int32_t* tmp, int32_t* mids, int64_t threads) {
  auto one = [&](int64_t i, int32_t* scratch, int64_t T) {
    const Slot* column = columns + static_cast<int64_t>(feats[i]) * n;
    const int64_t m = Partition(rows, starts[i], ends[i], column, 1, n, 0, offs[i], miss[i], bins[i], defLeft[i] != 0, scratch, T);
    mids[i] = static_cast<int32_t>(m);
    return m >= 0;
  };
  if (nodes == 1) return one(0, tmp, threads);
  std::vector<int64_t> order(static_cast<size_t>(nodes));
  for (int64_t i = 0; i < nodes; i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ends[a] - starts[a] > ends[b] - starts[b]; });
  std::atomic<bool> ok{true};
  ForEachUnit(nodes, threads, [&](int64_t u) {
    const int64_t i = order[u];
    if (!one(i, tmp + starts[i], 1)) ok = false;
  });
  return ok;
}

napi_value GbdtPartitions(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtPartitions";
  napi_value a[13];
  if (!GetArgs(env, info, fn, 13, a)) return nullptr;
  void *rowsP, *sP, *eP, *binnedP, *fP, *oP, *mP, *bP, *dP, *tmpP, *midP;
  int64_t rowsLen, sLen, eLen, binnedLen, fLen, oLen, mLen, bLen, dLen, tmpLen, midLen, n, threads;
  int bytes;
  if (!GetArray(env, fn, a[0], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetArray(env, fn, a[1], "starts", napi_int32_array, "Int32Array", &sP, &sLen)) return nullptr;
  if (!GetArray(env, fn, a[2], "ends", napi_int32_array, "Int32Array", &eP, &eLen)) return nullptr;
  if (!GetBinned(env, fn, a[3], &binnedP, &binnedLen, &bytes)) return nullptr;
  if (!GetInt(env, fn, a[4], "n", 1, INT32_MAX, &n)) return nullptr;
  if (!GetArray(env, fn, a[5], "features", napi_int32_array, "Int32Array", &fP, &fLen)) return nullptr;
  if (!GetArray(env, fn, a[6], "offsets", napi_int32_array, "Int32Array", &oP, &oLen)) return nullptr;
  if (!GetArray(env, fn, a[7], "missingBins", napi_int32_array, "Int32Array", &mP, &mLen)) return nullptr;
  if (!GetArray(env, fn, a[8], "bins", napi_int32_array, "Int32Array", &bP, &bLen)) return nullptr;
  if (!GetArray(env, fn, a[9], "defaultLeft", napi_uint8_array, "Uint8Array", &dP, &dLen)) return nullptr;
  if (!GetArray(env, fn, a[10], "tmp", napi_int32_array, "Int32Array", &tmpP, &tmpLen)) return nullptr;
  if (!GetArray(env, fn, a[11], "mids", napi_int32_array, "Int32Array", &midP, &midLen)) return nullptr;
  if (!GetInt(env, fn, a[12], "threads", 1, 1024, &threads)) return nullptr;
  const int64_t nodes = sLen;
  if (eLen != nodes || fLen != nodes || oLen != nodes || mLen != nodes || bLen != nodes || dLen != nodes || midLen != nodes)
    return Throw(env, fn, 'R', "starts, ends, features, offsets, missingBins, bins, defaultLeft and mids need one entry per node");
  if (binnedLen % n != 0) return Throw(env, fn, 'R', "columns length is not a multiple of n");
  const int64_t F = binnedLen / n;
  if (tmpLen < rowsLen) return Throw(env, fn, 'R', "tmp is shorter than rows");
  const int32_t* starts = static_cast<const int32_t*>(sP);
  const int32_t* ends = static_cast<const int32_t*>(eP);
  const int32_t* feats = static_cast<const int32_t*>(fP);
  const int32_t* offs = static_cast<const int32_t*>(oP);
  const int32_t* miss = static_cast<const int32_t*>(mP);
  const int32_t* bins = static_cast<const int32_t*>(bP);
  // Ranges inside rows and pairwise disjoint (each node's scratch is its own slice of tmp).
  std::vector<std::pair<int32_t, int32_t>> spans;
  for (int64_t i = 0; i < nodes; i++) {
    if (starts[i] < 0 || starts[i] > ends[i] || ends[i] > rowsLen) return Throw(env, fn, 'R', "node " + std::to_string(i) + "'s row range is outside rows");
    if (feats[i] < 0 || feats[i] >= F) return Throw(env, fn, 'R', "node " + std::to_string(i) + "'s feature is outside [0, F)");
    if (offs[i] < 0 || miss[i] < 0 || bins[i] < -1) return Throw(env, fn, 'R', "node " + std::to_string(i) + " has a negative offset, missing bin or bin below -1");
    spans.push_back({starts[i], ends[i]});
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); i++)
    if (spans[i].first < spans[i - 1].second) return Throw(env, fn, 'R', "node row ranges overlap");
  const bool ok = WithSlotType(bytes, binnedP, [&](auto* binned) {
    return PartitionBatch(static_cast<int32_t*>(rowsP), starts, ends, nodes, binned, n, feats, offs, miss, bins,
                          static_cast<const uint8_t*>(dP), static_cast<int32_t*>(tmpP), static_cast<int32_t*>(midP), threads);
  });
  if (!ok) return Throw(env, fn, 'R', "a row index is out of range");
  return nullptr;
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

// A guide table for the bin search of one feature: the span [up[0], up[nb−1]] cut into K
// equal buckets, start[j] the bin of bucket j−1's lower edge (one bucket early, so that a
// bucket index rounded one too high still starts at or below the value's bin). A value's bin
// is reached from its bucket's start by a fixed number of branch-free steps b += (v > up[b])
// (the most bounds any three neighbouring buckets hold), then checked: up[b−1] < v ≤ up[b]
// must hold, else (never expected) the binary search answers. Exact either way. Features whose
// bounds crowd into few buckets (more than kMaxGuideSteps steps) keep the binary search.
// Features whose bounds lie in [0, 65536) (encoded category ids, counts) also get a table of
// the bin of every integer 0…⌊up[nb−1]⌋: an integer value is looked up directly.
constexpr int64_t kGuideBuckets = 2048;
constexpr int64_t kMaxGuideSteps = 12;
constexpr double kMaxIntTable = 65536;

struct BinColumn {
  const void* data;
  bool isInt;
  const float* up;
  int64_t nb;
  int64_t offset;
  int64_t steps = -1;  // −1: binary search
  double lo = 0, scale = 0;
  std::vector<int32_t> start;
  std::vector<double> bound;  // up as doubles, then +∞
  double intLimit = 0;         // integers in [0, intLimit) use intBin
  std::vector<uint16_t> intBin;

  void BuildGuide() {
    if (nb < 8) return;
    if (nb < 0xffff && up[0] >= 0 && static_cast<double>(up[nb - 1]) < kMaxIntTable - 1) {
      const int64_t L = static_cast<int64_t>(std::floor(static_cast<double>(up[nb - 1]))) + 1;
      intBin.resize(static_cast<size_t>(L));
      for (int64_t i = 0; i < L; i++) intBin[i] = static_cast<uint16_t>(BinOf(static_cast<double>(i), up, nb));
      intLimit = static_cast<double>(L);
    }
    const double l = up[0], h = up[nb - 1];
    if (!(h > l) || !std::isfinite(h - l)) return;
    lo = l;
    scale = static_cast<double>(kGuideBuckets) / (h - l);
    std::vector<int32_t> edge(kGuideBuckets + 1);
    for (int64_t j = 0; j <= kGuideBuckets; j++) edge[j] = static_cast<int32_t>(BinOf(lo + static_cast<double>(j) / scale, up, nb));
    start.resize(kGuideBuckets);
    int64_t most = 0;
    for (int64_t j = 0; j < kGuideBuckets; j++) {
      start[j] = edge[std::max<int64_t>(j - 1, 0)];
      most = std::max<int64_t>(most, edge[std::min<int64_t>(j + 2, kGuideBuckets)] - start[j]);
    }
    if (most > kMaxGuideSteps) return;
    steps = most + 1;
    bound.resize(nb + 1);
    for (int64_t b = 0; b < nb; b++) bound[b] = up[b];
    bound[nb] = HUGE_VAL;
  }

  template <typename Value>
  int64_t Bin(Value v) const {
    if (static_cast<double>(v) >= 0 && static_cast<double>(v) < intLimit) {
      const int64_t i = static_cast<int64_t>(v);
      if (static_cast<double>(i) == static_cast<double>(v)) return intBin[i];
    }
    if (steps < 0) return BinOf(v, up, nb);
    if (v != v) return nb + 1;
    const double x = static_cast<double>(v);
    if (x <= bound[0]) return 0;
    if (x > bound[nb - 1]) return nb;
    int64_t j = static_cast<int64_t>((x - lo) * scale);
    j = j < 0 ? 0 : j >= kGuideBuckets ? kGuideBuckets - 1 : j;
    int64_t b = start[j];
    const double* bd = bound.data();
    for (int64_t i = 0; i < steps; i++) b += x > bd[b] ? 1 : 0;
    if ((b > 0 && x <= bd[b - 1]) || x > bd[b]) return BinOf(v, up, nb);
    return b;
  }
};

// Slots of rows [r0, r1) of every feature into both layouts.
template <typename Slot>
void BinRows(const std::vector<BinColumn>& cols, int64_t n, Slot* colMajor, Slot* rowMajor, int64_t r0, int64_t r1) {
  const int64_t F = static_cast<int64_t>(cols.size());
  for (int64_t f = 0; f < F; f++) {
    const BinColumn& c = cols[f];
    Slot* out = colMajor + f * n;
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = c.isInt ? c.Bin(static_cast<const int32_t*>(c.data)[r]) : c.Bin(static_cast<const float*>(c.data)[r]);
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
    cols[f].BuildGuide();
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


// e^x for the logistic gradients, the twin of src/gbdt/exp.ts (the same IEEE operations in the
// same order, so both round identically; the addon is built with -ffp-contract=off): x is
// clamped to [−700, 700]; k = ⌊x·64/ln 2 + ½⌋, r = x − k·(ln 2/64) (in two parts, Cody–Waite),
// e^x = 2^(k >> 6) · 2^((k & 63)/64) · (1 + r + r²/2 + r³/6 + r⁴/24 + r⁵/120), |r| ≤ ln 2/128
// (truncation below 4·10⁻¹⁷ relative).
constexpr double kExpTable[64] = {
    1.0, 1.0108892860517005, 1.0218971486541166, 1.0330248790212284,
    1.0442737824274138, 1.0556451783605572, 1.0671404006768237, 1.0787607977571199,
    1.0905077326652577, 1.102382583307841, 1.1143867425958924, 1.1265216186082418,
    1.1387886347566916, 1.1511892299529827, 1.1637248587775775, 1.1763969916502812,
    1.189207115002721, 1.202156731452703, 1.215247359980469, 1.22848053610687,
    1.241857812073484, 1.255380757024691, 1.2690509571917332, 1.2828700160787783,
    1.2968395546510096, 1.3109612115247644, 1.3252366431597413, 1.339667524053303,
    1.3542555469368927, 1.3690024229745905, 1.383909881963832, 1.3989796725383112,
    1.4142135623730951, 1.42961333839197, 1.4451808069770467, 1.460917794180647,
    1.4768261459394993, 1.4929077282912648, 1.5091644275934228, 1.5255981507445384,
    1.5422108254079407, 1.559004400237837, 1.5759808451078865, 1.593142151342267,
    1.6104903319492543, 1.6280274218573478, 1.645755478153965, 1.6636765803267364,
    1.681792830507429, 1.7001063537185235, 1.718619298122478, 1.7373338352737062,
    1.7562521603732995, 1.7753764925265212, 1.7947090750031072, 1.8142521755003989,
    1.8340080864093424, 1.8539791250833855, 1.8741676341103, 1.8945759815869656,
    1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951,
};
constexpr double kInvLn2x64 = 92.33248261689366;
constexpr double kLn2d64Hi = 0.010830424695086549;  // 32 significant bits: k·hi is exact
constexpr double kLn2d64Lo = 1.162596423439437e-12;

struct Pow2Table {
  double v[2048];
  Pow2Table() {
    for (int i = 0; i < 2048; i++) v[i] = std::ldexp(1.0, i - 1024);
  }
};
const Pow2Table kPow2;

inline double DeterministicExp(double x) {
  if (x != x) return x;
  x = x < -700.0 ? -700.0 : x > 700.0 ? 700.0 : x;
  const double kd = std::floor(x * kInvLn2x64 + 0.5);
  const int32_t k = static_cast<int32_t>(kd);
  const double r = (x - kd * kLn2d64Hi) - kd * kLn2d64Lo;
  const double p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
  return kPow2.v[(k >> 6) + 1024] * kExpTable[k & 63] * p;
}

constexpr double kMinHess = 1e-16;

// Rows per task of the row-parallel loops (gradients, leaf values).
constexpr int64_t kRowBlock = 1 << 14;

napi_value GbdtLogisticGradients(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtLogisticGradients";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  void *mP, *yP, *wP = nullptr, *gP, *hP;
  int64_t mLen, yLen, wLen = 0, gLen, hLen, threads;
  if (!GetArray(env, fn, a[0], "margin", napi_float64_array, "Float64Array", &mP, &mLen)) return nullptr;
  if (!GetArray(env, fn, a[1], "y", napi_float32_array, "Float32Array", &yP, &yLen)) return nullptr;
  if (!IsNullish(env, a[2]) && !GetArray(env, fn, a[2], "weight", napi_float64_array, "Float64Array (or null)", &wP, &wLen)) return nullptr;
  if (!GetArray(env, fn, a[3], "g", napi_float32_array, "Float32Array", &gP, &gLen)) return nullptr;
  if (!GetArray(env, fn, a[4], "h", napi_float32_array, "Float32Array", &hP, &hLen)) return nullptr;
  if (!GetInt(env, fn, a[5], "threads", 1, 1024, &threads)) return nullptr;
  if (yLen != mLen || gLen != mLen || hLen != mLen || (wP != nullptr && wLen != mLen))
    return Throw(env, fn, 'R', "margin, y, g, h (and weight) need the same length");
  const double* m = static_cast<const double*>(mP);
  const float* y = static_cast<const float*>(yP);
  const double* w = static_cast<const double*>(wP);
  float* g = static_cast<float*>(gP);
  float* h = static_cast<float*>(hP);
  const int64_t blocks = (mLen + kRowBlock - 1) / kRowBlock;
  threads = std::max<int64_t>(1, std::min(threads, blocks));
  ParallelFor(threads, [&](int64_t t) {
    const int64_t i0 = std::min(mLen, blocks * t / threads * kRowBlock), i1 = std::min(mLen, blocks * (t + 1) / threads * kRowBlock);
    for (int64_t i = i0; i < i1; i++) {
      const double p = 1.0 / (1.0 + DeterministicExp(-m[i]));
      const double hess = std::max(p * (1.0 - p), kMinHess);
      if (w == nullptr) {
        g[i] = static_cast<float>(p - static_cast<double>(y[i]));
        h[i] = static_cast<float>(hess);
      } else {
        g[i] = static_cast<float>(w[i] * (p - static_cast<double>(y[i])));
        h[i] = static_cast<float>(w[i] * hess);
      }
    }
  });
  return nullptr;
}

napi_value GbdtAddLeafValues(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtAddLeafValues";
  napi_value a[6];
  if (!GetArgs(env, info, fn, 6, a)) return nullptr;
  void *mP, *rowsP, *sP, *eP, *vP;
  int64_t mLen, rowsLen, sLen, eLen, vLen, threads;
  if (!GetArray(env, fn, a[0], "margin", napi_float64_array, "Float64Array", &mP, &mLen)) return nullptr;
  if (!GetArray(env, fn, a[1], "rows", napi_int32_array, "Int32Array", &rowsP, &rowsLen)) return nullptr;
  if (!GetArray(env, fn, a[2], "leafStart", napi_int32_array, "Int32Array", &sP, &sLen)) return nullptr;
  if (!GetArray(env, fn, a[3], "leafEnd", napi_int32_array, "Int32Array", &eP, &eLen)) return nullptr;
  if (!GetArray(env, fn, a[4], "values", napi_float64_array, "Float64Array", &vP, &vLen)) return nullptr;
  if (!GetInt(env, fn, a[5], "threads", 1, 1024, &threads)) return nullptr;
  if (sLen != vLen || eLen != vLen) return Throw(env, fn, 'R', "leafStart, leafEnd and values need one entry per leaf");
  const int32_t* rows = static_cast<const int32_t*>(rowsP);
  const int32_t* ls = static_cast<const int32_t*>(sP);
  const int32_t* le = static_cast<const int32_t*>(eP);
  for (int64_t i = 0; i < vLen; i++)
    if (ls[i] < 0 || ls[i] > le[i] || le[i] > rowsLen) return Throw(env, fn, 'R', "leaf " + std::to_string(i) + "'s row range is outside rows");
  for (int64_t k = 0; k < rowsLen; k++)
    if (rows[k] < 0 || rows[k] >= mLen) return Throw(env, fn, 'R', "rows[" + std::to_string(k) + "] is outside margin");
  double* margin = static_cast<double*>(mP);
  const double* values = static_cast<const double*>(vP);
  // Leaves in contiguous blocks, one per thread (a row is in one leaf: no two threads touch it).
  threads = std::max<int64_t>(1, std::min(threads, std::max<int64_t>(vLen, 1)));
  if (rowsLen < kMinParallelRows) threads = 1;
  ParallelFor(threads, [&](int64_t t) {
    for (int64_t i = vLen * t / threads; i < vLen * (t + 1) / threads; i++) {
      const double v = values[i];
      for (int64_t k = ls[i]; k < le[i]; k++) margin[rows[k]] += v;
    }
  });
  return nullptr;
}

napi_value GbdtPoolStats(napi_env env, napi_callback_info info) {
  const char* fn = "gbdtPoolStats";
  napi_value a[1];
  if (!GetArgs(env, info, fn, 1, a)) return nullptr;
  void* p;
  int64_t n;
  if (!GetArray(env, fn, a[0], "out", napi_float64_array, "Float64Array", &p, &n)) return nullptr;
  if (n < 3) return Throw(env, fn, 'R', "out needs 3 entries");
  Pool().Stats(static_cast<double*>(p));
  return nullptr;
}

}  // namespace

void RegisterGbdtKernels(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gbdtHistogram", GbdtHistogram);
  Export(env, exports, "gbdtPartition", GbdtPartition);
  Export(env, exports, "gbdtBin", GbdtBin);
  Export(env, exports, "gbdtSortFloats", GbdtSortFloats);
  Export(env, exports, "gbdtLogisticGradients", GbdtLogisticGradients);
  Export(env, exports, "gbdtAddLeafValues", GbdtAddLeafValues);
  Export(env, exports, "gbdtPoolStats", GbdtPoolStats);
  Export(env, exports, "gbdtHistograms", GbdtHistograms);
  Export(env, exports, "gbdtPartitions", GbdtPartitions);
}
