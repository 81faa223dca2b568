// 2-D convolution (NCHW activations, OIHW weights, no bias) forward and both backward passes.
#pragma once

#include <cstdint>

namespace nabla {

struct ConvParams {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
};

// bias (may be null): added per output channel.
void conv2d_forward(const float* x, const float* w, const ConvParams& p, float* y, const float* bias = nullptr);

// What an inference graph applies right after a convolution, fused into it:
//   y = pool?( relu?( conv(x)·scale[o] + shift[o] + residual ) )   (relu or relu6)
// (scale and shift: a folded eval-mode batch norm, or shift alone: the bias). Null parts are skipped.
struct ConvEpilogue {
  const float* scale = nullptr;
  const float* shift = nullptr;
  const float* residual = nullptr;  // same shape as the convolution's output
  bool relu = false;
  // With relu: then min(·, 6), i.e. ReLU6 (MobileNet's activation); NaN stays NaN.
  bool relu6 = false;
  // Then a 2×2 stride-2 max-pool (floor mode, NaN propagates): y is [N, O, oh/2, ow/2]. Not
  // together with a residual.
  bool pool = false;
};
void conv2d_forward_fused(const float* x, const float* w, const ConvParams& p, float* y, const ConvEpilogue& e);
// Two fused convolutions in a row, y = conv2(conv1(x) with e1) with e2 (a residual block's body):
// the same result as two conv2d_forward_fused calls through `mid`, which holds conv1's output
// afterwards or is left untouched (when the pair runs in one pass, the intermediate never leaves
// the cache).
void conv2d_pair_forward(const float* x, const float* w1, const ConvParams& p1, const ConvEpilogue& e1, float* mid,
                         const float* w2, const ConvParams& p2, const ConvEpilogue& e2, float* y);
void conv2d_backward_input(const float* gy, const float* w, const ConvParams& p, float* gx);
void conv2d_backward_weight(const float* x, const float* gy, const ConvParams& p, float* gw);

// Set on the calling thread (for a scope: Scoped, common.h), a single image's convolutions of 1 to
// 4 MFLOP are split between threads too (by default those stay on one thread, batch 1 only).
// Whether that pays depends on how fast the host moves data between cores
// (native/program_threads.h).
inline thread_local bool t_split_small_convs = false;

}  // namespace nabla
