#pragma once
#include <cstdint>

namespace nabla {

struct PoolParams {
  int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

// Max pooling with the flat in-plane index (h*W + w) of each maximum; first maximum wins ties,
// padding never wins. A window that only covers padding yields -Infinity and index -1.
void max_pool2d(const float* x, const PoolParams& p, float* y, int32_t* idx);

}  // namespace nabla
