// How a recorded program (addon.cpp's Program: an inference plan's kernel calls) uses the
// threads: the pool's as kernels split work by default, only the calling thread, or the pool with
// batch-1 convolutions of 1–4 MFLOP split too (t_split_small_convs in conv.h).
//
// A batch-1 forward of a small network is a chain of kernels of a few to a few tens of
// microseconds. Split between two cores, each kernel's input is partly in the other core's cache,
// and each waits for the slower core; on a shared host the two cores' speeds also differ by tens
// of percent, and that changes by the minute. Whether two threads beat one therefore depends on
// the host at the time, not on the network alone. On resnet20 batch 1, `bench/native/ab.ts
// NABLA_PROGRAM_THREADS all 1 resnet20 12 latency` once gave one thread 1.5x the time of two, and
// for long stretches of the same day the two settings were within 5 % of each other, either way
// (BENCHMARKS.md, session 11). Splitting resnet20's stride-2 convolutions between the cores too
// gained 3–4 % at one time and lost 2–10 % at others. So the program measures: it runs blocks of
// each setting for a few dozen runs, keeps the fastest, and compares again later (sooner at
// first, then every few thousand runs). Kernels split work by shape, not by thread count, so the
// choice never changes a result.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace nabla {

// How a program's run uses the threads.
enum class ThreadSetting {
  kAll = 0,       // the pool, as kernels split work by default
  kOne = 1,       // the calling thread alone
  kAllSmall = 2,  // the pool, and batch-1 convolutions from ~2 MFLOP split too (t_split_small_convs)
};

class ProgramThreads {
 public:
  // The setting for the next run. NABLA_PROGRAM_THREADS=all, =1 or =small fixes it (for
  // comparisons; read per run).
  ThreadSetting next(int pool_size) {
    if (const char* v = std::getenv("NABLA_PROGRAM_THREADS")) {
      fixed_ = true;
      if (std::strcmp(v, "all") == 0) return current_ = ThreadSetting::kAll;
      if (std::strcmp(v, "1") == 0) return current_ = ThreadSetting::kOne;
      if (std::strcmp(v, "small") == 0) return current_ = ThreadSetting::kAllSmall;
    }
    fixed_ = false;
    if (pool_size <= 1) return current_ = ThreadSetting::kAll;
    if (trials_left_ == 0 && runs_until_trial_ <= 0) {
      trials_left_ = kSettings * kTrialsPerSetting;
      for (auto& t : times_) t.clear();
    }
    // Blocks of kBlock runs per setting, in turn (a single run after a change pays for the other
    // setting: a worker that went to sleep, data in the other core's cache).
    if (trials_left_ > 0) return current_ = static_cast<ThreadSetting>((trial_run() / kBlock) % kSettings);
    runs_until_trial_--;
    return current_ = chosen_;
  }

  // The time of the run just made with next()'s setting.
  void record(double ns) {
    if (fixed_ || trials_left_ == 0) return;
    if (current_ == ThreadSetting::kAll && ns > kLongRunNs) {
      // Enough work per run that threads pay for themselves (a large batch): stay on all of them.
      trials_left_ = 0, chosen_ = ThreadSetting::kAll, runs_until_trial_ = INT64_MAX;
      return;
    }
    // (The first run of each block is left out: it pays for the switch.)
    if (trial_run() % kBlock != 0) times_[static_cast<int>(current_)].push_back(ns);
    if (--trials_left_ == 0) {
      int best = 0;
      for (int s = 1; s < kSettings; s++)
        if (median(times_[s]) < median(times_[best])) best = s;
      chosen_ = static_cast<ThreadSetting>(best);
      // The first trials come sooner: a program's first runs share the cores with V8 compiling
      // and collecting the code around it, and a choice made then would hold for a long time.
      runs_until_trial_ = gap_;
      gap_ = std::min(4 * gap_, kRunsBetweenTrials);
    }
  }

 private:
  static constexpr int kSettings = 3;
  static constexpr int kTrialsPerSetting = 24;
  static constexpr int kBlock = 8;
  static constexpr int64_t kRunsBetweenTrials = 4096;
  static constexpr double kLongRunNs = 2e6;

  int trial_run() const { return kSettings * kTrialsPerSetting - trials_left_; }

  static double median(std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }

  ThreadSetting current_ = ThreadSetting::kAll, chosen_ = ThreadSetting::kAll;
  int trials_left_ = 0;
  bool fixed_ = false;
  int64_t runs_until_trial_ = 0;
  int64_t gap_ = 64;  // runs until the next trial after this one (×4 per trial, to kRunsBetweenTrials)
  std::vector<double> times_[kSettings];
};

}  // namespace nabla
