#include "optim.h"

#include <algorithm>

#include "threadpool.h"

namespace nabla {

// The reference rounds every PyTorch op to float32 once and computes `a + k·d` in double: a
// product of two floats is exact in a double, so evaluating the same expressions in double and
// storing to float gives bit-identical results (also when the compiler fuses them into an FMA).
void sgd_step(float* x, const float* g, float* buf, int64_t n, const SgdHyper& h) {
  const double wd = static_cast<float>(h.weight_decay);
  const double mom = static_cast<float>(h.momentum);
  const double keep = static_cast<float>(1.0 - h.dampening);
  const double neg_lr = static_cast<float>(-h.lr);
  const double sign = h.maximize ? -1.0 : 1.0;
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, threads_for(static_cast<double>(n) * 4, 65536), [&](int64_t b, int64_t e) {
    const int64_t lo = b * kChunk, hi = std::min(n, e * kChunk);
    for (int64_t i = lo; i < hi; i++) {
      double d = sign * g[i];
      if (wd != 0) d = static_cast<float>(d + wd * x[i]);
      if (buf != nullptr) {
        const double bv = h.first ? d : static_cast<float>(static_cast<double>(static_cast<float>(buf[i] * mom)) + keep * d);
        buf[i] = static_cast<float>(bv);
        d = h.nesterov ? static_cast<double>(static_cast<float>(d + mom * bv)) : bv;
      }
      x[i] = static_cast<float>(x[i] + neg_lr * d);
    }
  });
}

}  // namespace nabla
