// How many threads a recorded program (addon.cpp's Program: an inference plan's kernel calls)
// runs on: all of the pool's, or only the calling thread.
//
// A batch-1 forward of a small network is a chain of kernels of a few to a few tens of
// microseconds. Split between two cores, each kernel's input is partly in the other core's cache,
// and each waits for the slower core; on a shared host the two cores' speeds also differ by tens
// of percent, and that changes by the minute. Whether two threads beat one therefore depends on
// the host at the time, not on the network alone. On resnet20 batch 1, `bench/native/ab.ts
// NABLA_PROGRAM_THREADS all 1 resnet20 12 latency` once gave one thread 1.5x the time of two, and
// for long stretches of the same day the two settings were within 5 % of each other, either way
// (BENCHMARKS.md, session 11). So the program measures: it runs blocks of each setting for a few
// dozen runs, keeps the faster, and compares again later (sooner at first, then every few
// thousand runs). Kernels split work by shape, not by thread count, so the choice never changes
// a result.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace nabla {

class ProgramThreads {
 public:
  // The thread cap for the next run (ThreadCap): 0 for all threads, 1 for the calling thread.
  // NABLA_PROGRAM_THREADS=all or =1 fixes it (for comparisons; read per run).
  int next_cap(int pool_size) {
    if (const char* v = std::getenv("NABLA_PROGRAM_THREADS")) {
      if (std::strcmp(v, "all") == 0) return cap_ = 0, fixed_ = true, 0;
      if (std::strcmp(v, "1") == 0) return cap_ = 1, fixed_ = true, 1;
    }
    fixed_ = false;
    if (pool_size <= 1) return cap_ = 0;
    if (trials_left_ == 0 && runs_until_trial_ <= 0) {
      trials_left_ = 2 * kTrialsPerSide;
      for (auto& t : times_) t.clear();
    }
    // Blocks of kBlock runs per setting, all threads first (a single run after a change pays for
    // the other setting: a worker that went to sleep, data in the other core's cache).
    if (trials_left_ > 0) return cap_ = ((2 * kTrialsPerSide - trials_left_) / kBlock) % 2;
    runs_until_trial_--;
    return cap_ = chosen_;
  }

  // The time of the run just made with next_cap's cap.
  void record(double ns) {
    if (fixed_ || trials_left_ == 0) return;
    if (cap_ == 0 && ns > kLongRunNs) {
      // Enough work per run that threads pay for themselves (a large batch): stay on all of them.
      trials_left_ = 0, chosen_ = 0, runs_until_trial_ = INT64_MAX;
      return;
    }
    // (The first run of each block is left out: it pays for the switch.)
    if ((2 * kTrialsPerSide - trials_left_) % kBlock != 0) times_[cap_].push_back(ns);
    if (--trials_left_ == 0) {
      chosen_ = median(times_[1]) < median(times_[0]) ? 1 : 0;
      // The first trials come sooner: a program's first runs share the cores with V8 compiling
      // and collecting the code around it, and a choice made then would hold for a long time.
      runs_until_trial_ = gap_;
      gap_ = std::min(4 * gap_, kRunsBetweenTrials);
    }
  }

 private:
  static constexpr int kTrialsPerSide = 32;
  static constexpr int kBlock = 8;
  static constexpr int64_t kRunsBetweenTrials = 4096;
  static constexpr double kLongRunNs = 2e6;

  static double median(std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }

  int cap_ = 0, chosen_ = 0, trials_left_ = 0;
  bool fixed_ = false;
  int64_t runs_until_trial_ = 0;
  int64_t gap_ = 64;  // runs until the next trial after this one (×4 per trial, to kRunsBetweenTrials)
  std::vector<double> times_[2];
};

}  // namespace nabla
