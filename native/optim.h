// Optimizer update kernels (see src/backend/ref/optim.ts for the rule and its rounding).
#pragma once
#include <cstdint>

namespace nabla {

struct SgdHyper {
  double lr, momentum, dampening, weight_decay;  // as given (rounded to float inside, like the reference)
  bool nesterov, maximize, first;
};

// One torch.optim.SGD step in place on n float32 elements; buf may be null (no momentum).
void sgd_step(float* x, const float* g, float* buf, int64_t n, const SgdHyper& h);

}  // namespace nabla
