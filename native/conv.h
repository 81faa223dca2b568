// 2-D convolution (NCHW activations, OIHW weights, no bias) forward and both backward passes.
#pragma once

#include <cstdint>

namespace nabla {

struct ConvParams {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
};

// bias (may be null): added per output channel.
void conv2d_forward(const float* x, const float* w, const ConvParams& p, float* y, const float* bias = nullptr);
void conv2d_backward_input(const float* gy, const float* w, const ConvParams& p, float* gx);
void conv2d_backward_weight(const float* x, const float* gy, const ConvParams& p, float* gw);

}  // namespace nabla
