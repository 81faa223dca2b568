// Fused kernels of the training step: batch-norm statistics, the per-channel affine map that
// applies a batch norm (optionally followed by ReLU), batch norm's gradient, ReLU's gradient and
// max pooling's gradient. All arrays are contiguous; [n, c, inner] is the NC(HW) layout.
#pragma once
#include <cstdint>

#include "pool.h"

namespace nabla {

// mean[ch], var[ch]: mean and biased variance over the n·inner elements of channel ch.
void batch_norm_stats(const float* x, int64_t n, int64_t c, int64_t inner, float* mean, float* var);

// y = x·scale[ch] + shift[ch], then max(y, 0) when relu.
// y = x·scale[ch] + shift[ch] (+ residual, when not null) then ReLU when relu (NaN kept).
void channel_affine(const float* x, int64_t n, int64_t c, int64_t inner, const float* scale, const float* shift,
                    bool relu, float* y, const float* residual = nullptr);

// Training-mode batch-norm gradient (see Kernels.batchNormBackward); weight, gx, gw, gb may be null,
// and relu_out (g masked by relu_out > 0 first) too.
void batch_norm_backward(const float* x, const float* g, int64_t n, int64_t c, int64_t inner, const float* mean,
                         const float* invstd, const float* weight, float* gx, float* gw, float* gb,
                         const float* relu_out = nullptr);

// out[i] = y[i] > 0 ? g[i] : 0.
void relu_backward(const float* g, const float* y, int64_t len, float* out);

// out (zeroed by the caller) += g scattered to the recorded in-plane indices (-1: skipped).
void max_pool2d_backward(const float* g, const int32_t* idx, const PoolParams& p, float* out);

// Training BatchNorm → ReLU → 2×2 stride-2 max-pool (floor mode) over [n, c, h, w]: out and idx
// are [n, c, h/2, w/2] (idx: in-plane argmax). See Kernels.batchNormReluPool.
void batch_norm_relu_pool(const float* x, int64_t n, int64_t c, int64_t h, int64_t w, const float* scale,
                          const float* shift, float* out, int32_t* idx);
// Its gradient from the pooled gradient g; weight, gx, gw, gb may be null.
void batch_norm_relu_pool_backward(const float* x, const float* g, const float* pooled, const int32_t* idx, int64_t n,
                                   int64_t c, int64_t h, int64_t w, const float* mean, const float* invstd,
                                   const float* weight, float* gx, float* gw, float* gb);

// Given Σ g and Σ g·(x − mean) of channel ch over m elements: writes gBias = Σ g and
// gWeight = Σ g·x̂ (when asked for), and returns k1, k2, k3 with gx = k1·g + k2·(x − mean) + k3.
struct BnGradCoeffs {
  float k1, k2, k3;
};
inline BnGradCoeffs bn_grad_finish(int64_t ch, double sg, double sgd, double m, double invstd, const float* weight,
                                   float* gw, float* gb) {
  if (gb) gb[ch] = static_cast<float>(sg);
  if (gw) gw[ch] = static_cast<float>(sgd * invstd);
  const double w = weight ? weight[ch] : 1.0, is = invstd;
  return {static_cast<float>(w * is), static_cast<float>(-w * is * is * is * sgd / m), static_cast<float>(-w * is * sg / m)};
}

}  // namespace nabla
