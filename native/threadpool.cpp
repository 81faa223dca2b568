#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NABLA_PAUSE() _mm_pause()
#else
#define NABLA_PAUSE() std::this_thread::yield()
#endif

namespace nabla {

std::atomic<int64_t> g_scratch_bytes{0};

namespace {

struct ScratchBuffers {
  float* ptr[kScratchSlots] = {};
  size_t cap[kScratchSlots] = {};
  ~ScratchBuffers() {
    for (int i = 0; i < kScratchSlots; i++) {
      if (ptr[i]) {
        std::free(ptr[i]);
        g_scratch_bytes -= static_cast<int64_t>(cap[i] * sizeof(float));
      }
    }
  }
};

thread_local ScratchBuffers t_scratch;

// Set while a thread executes pool work, so nested jobs run inline instead of deadlocking.
thread_local bool t_in_pool = false;

}  // namespace

float* scratch(ScratchSlot slot, size_t n) {
  ScratchBuffers& s = t_scratch;
  if (n <= s.cap[slot]) return s.ptr[slot];
  // Grow geometrically (×1.5) so a sequence of slowly growing shapes does not reallocate each time.
  size_t cap = std::max(n, s.cap[slot] + s.cap[slot] / 2);
  cap = (cap + 15) & ~size_t(15);
  float* p = static_cast<float*>(std::aligned_alloc(64, cap * sizeof(float)));
  if (!p) throw std::bad_alloc();
  if (s.ptr[slot]) std::free(s.ptr[slot]);
  g_scratch_bytes += static_cast<int64_t>((cap - s.cap[slot]) * sizeof(float));
  s.ptr[slot] = p;
  s.cap[slot] = cap;
  return p;
}

struct ThreadPool::Impl {
  std::mutex busy;  // held by the thread that owns the pool for the duration of a job
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::thread> threads;
  const std::function<void(int)>* job = nullptr;
  int job_n = 0;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<int> sleepers{0};
  bool stop = false;
};

static int configured_threads() {
  if (const char* env = std::getenv("NABLA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(std::min(hc, 256u));
}

ThreadPool& ThreadPool::instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static ThreadPool* pool = new ThreadPool(configured_threads());
  return *pool;
}

ThreadPool::ThreadPool(int size) : impl_(new Impl), size_(size) { start_workers(); }

ThreadPool::~ThreadPool() {
  stop_workers();
  delete impl_;
}

void ThreadPool::start_workers() {
  // Each worker starts from the current generation, so it waits for the next job.
  const uint64_t gen = impl_->generation.load();
  for (int t = 1; t < size_; t++) impl_->threads.emplace_back([this, t, gen] { worker_loop(t, gen); });
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lk(impl_->m);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  for (auto& th : impl_->threads) th.join();
  impl_->threads.clear();
  impl_->stop = false;
}

void ThreadPool::resize(int n) {
  n = std::max(1, std::min(n, 256));
  std::lock_guard<std::mutex> owner(impl_->busy);  // no job is in flight while we hold it
  if (n == size_) return;
  stop_workers();
  size_ = n;
  start_workers();
}

void ThreadPool::worker_loop(int tid, uint64_t seen) {
  t_in_pool = true;
  for (;;) {
    // Spin briefly first: kernels are often issued back to back and a futex wake-up costs more
    // than a short spin. Then sleep so an idle process does not burn a core.
    uint64_t gen = impl_->generation.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < 4000; spin++) {
      NABLA_PAUSE();
      gen = impl_->generation.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lk(impl_->m);
      impl_->sleepers++;
      impl_->cv.wait(lk, [&] { return impl_->stop || impl_->generation.load() != seen; });
      impl_->sleepers--;
      if (impl_->stop) return;
      gen = impl_->generation.load();
    }
    seen = gen;
    // Every worker acknowledges every job (even when tid >= n), so the caller knows nobody still
    // reads job/job_n when it returns and the next job overwrites them.
    if (tid < impl_->job_n) (*impl_->job)(tid);
    impl_->pending.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(int n, const std::function<void(int)>& fn) {
  n = std::max(1, n);
  if (n == 1) {
    fn(0);
    return;
  }
  std::unique_lock<std::mutex> owner(impl_->busy, std::try_to_lock);
  const int workers = size_ - 1;  // stable while `busy` is held (resize takes it)
  if (t_in_pool || !owner.owns_lock() || workers == 0) {
    for (int t = 0; t < n; t++) fn(t);
    return;
  }
  // More tids than threads (only if the pool shrank since the caller sized the job): the pool
  // runs the first ones and the caller the rest afterwards; each tid's work is independent.
  const int m = std::min(n, workers + 1);
  impl_->job = &fn;
  impl_->job_n = m;
  impl_->pending.store(workers, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(impl_->m);
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  }
  if (impl_->sleepers.load() > 0) impl_->cv.notify_all();
  t_in_pool = true;
  fn(0);
  t_in_pool = false;
  // Spin for the stragglers, yielding after a while: on an oversubscribed machine a descheduled
  // worker would otherwise make this thread burn its whole time slice.
  for (int spins = 0; impl_->pending.load(std::memory_order_acquire) != 0; spins++) {
    if (spins < 2000) {
      NABLA_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
  for (int t = m; t < n; t++) fn(t);
}

int threads_for(double work, double min_work_per_thread) {
  int n = ThreadPool::instance().size();
  int by_work = static_cast<int>(work / min_work_per_thread);
  return std::max(1, std::min(n, by_work));
}

void parallel_for(int64_t total, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  int parts = static_cast<int>(std::min<int64_t>(threads, total));
  if (parts <= 1) {
    fn(0, total);
    return;
  }
  ThreadPool::instance().run(parts, [&](int t) {
    int64_t b, e;
    split_range(total, parts, t, b, e);
    if (b < e) fn(b, e);
  });
}

}  // namespace nabla
