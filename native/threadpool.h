// A fixed pool of worker threads shared by the whole process (every worker_thread that loads the
// addon uses the same pool). Work is handed out as `fn(tid)` for tid in [0, n): each thread first
// claims the tids of its own share of [0, n), then what is left of the others' (claim_tids), so a
// job of size 1 never touches another thread, a worker that wakes late leaves its share to the
// threads already running, and while all are on time each thread runs the same tids every job.
//
// Determinism: kernels decide what each tid computes from (tid, n) only, and every output element
// is produced by exactly one tid with a fixed operation order, so results never depend on timing
// or on which thread ran a tid. If the pool is already busy (another JS thread is inside a kernel,
// or a kernel calls back into the pool), the job runs all its tids inline on the caller, which
// gives the same results.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace nabla {

// A cap on the threads this (calling) thread's kernels use, 0 for none (set it for a scope with
// Scoped, common.h). Kernels split work by shape, not by thread count, so results do not change.
inline thread_local int t_thread_cap = 0;

class ThreadPool {
 public:
  static ThreadPool& instance();
  // Number of threads a job may use (workers + caller); NABLA_NUM_THREADS overrides the core count.
  // With t_thread_cap set on the calling thread, at most that.
  int size() const {
    const int s = size_.load(std::memory_order_relaxed);
    return t_thread_cap > 0 && t_thread_cap < s ? t_thread_cap : s;
  }
  void run(int n, const std::function<void(int)>& fn);
  // Stops the workers and starts n - 1 new ones (waits for a job in flight to finish first).
  // Kernels split work by shape, not by thread count, so results do not change.
  void resize(int n);

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  explicit ThreadPool(int size);
  ~ThreadPool();
  void start_workers();
  void stop_workers();
  void worker_loop(int tid, uint64_t seen);
  void claim_tids(int me);
  struct Impl;
  Impl* impl_;
  std::atomic<int> size_;
};

// Number of threads worth using for `work` units of roughly one flop/element each: small jobs stay on
// the calling thread (waking a worker costs a few microseconds).
int threads_for(double work, double min_work_per_thread = 32768.0);

// Splits [0, total) into `parts` contiguous ranges; returns range `i` in [begin, end).
inline void split_range(int64_t total, int parts, int i, int64_t& begin, int64_t& end) {
  int64_t base = total / parts, rem = total % parts;
  begin = i * base + (i < rem ? i : rem);
  end = begin + base + (i < rem ? 1 : 0);
}

// Runs fn(begin, end) over [0, total) split into at most `threads` contiguous chunks.
void parallel_for(int64_t total, int threads, const std::function<void(int64_t, int64_t)>& fn);

// One step of a spin-wait loop (the CPU's pause hint).
void cpu_relax();

// Like parallel_for, but [0, total) is cut into up to 4 pieces per thread, which the threads
// claim as they finish their last one: a core slowed by something else (another process, the
// other half of the machine's work) hands its remaining pieces to the others instead of making
// them wait. For loops over independent items big enough to pay a few extra claims (the images
// of a convolution, fixed chunks of a weight gradient).
void parallel_for_balanced(int64_t total, int threads, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace nabla
