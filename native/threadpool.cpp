#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
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

// Jobs of at most this many tids are claimed owner first (ThreadPool::claim_tids).
constexpr int kOwnedTids = 256;

struct ThreadPool::Impl {
  std::mutex busy;  // held by the thread that owns the pool for the duration of a job
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::thread> threads;
  const std::function<void(int)>* job = nullptr;
  int job_n = 0;
  std::atomic<uint64_t> generation{0};  // bumped for every job; workers wait for it to change
  std::atomic<uint64_t> open{0};        // generation of the job whose tids may be claimed, or 0
  std::atomic<int> next{0};             // the next unclaimed tid of the open job
  std::atomic<bool> claimed[kOwnedTids];  // per tid of an owned job (job_n <= kOwnedTids): taken yet?
  bool owned = false;                     // whether the open job is claimed through `claimed`
  std::atomic<int> active{0};           // workers between their check of `open` and their exit
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
    // Join the job only while it is open: a worker that wakes late (say from the futex sleep
    // above) finds every tid taken, or the job closed, and never delays the caller.
    impl_->active.fetch_add(1, std::memory_order_seq_cst);
    if (impl_->open.load(std::memory_order_seq_cst) == gen) claim_tids(tid);
    impl_->active.fetch_sub(1, std::memory_order_release);
  }
}

// Runs the open job's tids until none is left. Any thread may run any tid: what a tid computes
// depends on (tid, n) only, so results do not depend on which thread took it.
void ThreadPool::claim_tids(int me) {
  Impl& im = *impl_;
  const int n = im.job_n;
  if (!im.owned) {
    for (int t; (t = im.next.fetch_add(1, std::memory_order_relaxed)) < n;) (*im.job)(t);
    return;
  }
  // Owner first: thread `me` of the pool's `size` threads runs the tids of its own share of
  // [0, n) (split_range) front to back, then takes what is left of the others' shares from their
  // back ends. While every thread is on time each runs exactly its own share, the same tids call
  // after call, so a kernel split by rows finds the rows it reads in its own core's cache, where
  // the previous kernel's same share left them (moving a cache line between these cores costs
  // about a quarter of a microsecond). A late thread's share is still taken by the others.
  auto take = [&](int t) {
    if (!im.claimed[t].load(std::memory_order_relaxed) && !im.claimed[t].exchange(true, std::memory_order_acq_rel))
      (*im.job)(t);
  };
  const int parts = size_.load(std::memory_order_relaxed);
  int64_t b, e;
  split_range(n, parts, me % parts, b, e);
  for (int64_t t = b; t < e; t++) take(static_cast<int>(t));
  for (int k = 1; k < parts; k++) {
    split_range(n, parts, (me + k) % parts, b, e);
    for (int64_t t = e - 1; t >= b; t--) take(static_cast<int>(t));
  }
}

// NABLA_OWNED=0 claims every tid first come, first served (for comparisons; read once).
static bool owner_first_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("NABLA_OWNED");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return on;
}

void ThreadPool::run(int n, const std::function<void(int)>& fn) {
  n = std::max(1, n);
  if (n == 1) {
    fn(0);
    return;
  }
  std::unique_lock<std::mutex> owner(impl_->busy, std::try_to_lock);
  if (t_in_pool || !owner.owns_lock() || size() == 1) {
    for (int t = 0; t < n; t++) fn(t);
    return;
  }
  impl_->job = &fn;
  impl_->job_n = n;
  impl_->next.store(0, std::memory_order_relaxed);
  impl_->owned = n <= kOwnedTids && owner_first_enabled();
  if (impl_->owned)
    for (int t = 0; t < n; t++) impl_->claimed[t].store(false, std::memory_order_relaxed);
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(impl_->m);
    gen = impl_->generation.load(std::memory_order_relaxed) + 1;
    impl_->open.store(gen, std::memory_order_seq_cst);
    impl_->generation.store(gen, std::memory_order_release);
  }
  if (impl_->sleepers.load() > 0) impl_->cv.notify_all();
  t_in_pool = true;
  claim_tids(0);
  t_in_pool = false;
  // Every tid is claimed. Close the job, then wait for the workers inside it: after the close a
  // worker that arrives sees it closed (seq_cst on both sides), so none reads `job` afterwards.
  impl_->open.store(0, std::memory_order_seq_cst);
  // Spin for the stragglers, yielding after a while: on an oversubscribed machine a descheduled
  // worker would otherwise make this thread burn its whole time slice.
  for (int spins = 0; impl_->active.load(std::memory_order_seq_cst) != 0; spins++) {
    if (spins < 2000) {
      NABLA_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
}

void cpu_relax() { NABLA_PAUSE(); }

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

void parallel_for_balanced(int64_t total, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  // Pieces per thread: 4 unless NABLA_PARTS says otherwise (1 = parallel_for, for comparisons;
  // read at every call so a benchmark can switch it in one process).
  int per = 4;
  if (const char* v = std::getenv("NABLA_PARTS")) per = std::max(1, std::atoi(v));
  parallel_for(total, threads <= 1 ? 1 : threads * per, fn);
}

}  // namespace nabla
