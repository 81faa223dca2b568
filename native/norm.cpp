#include "norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common.h"
#include "threadpool.h"
#include "vec8.h"

namespace nabla {

namespace {

// Σ (x − k) and Σ (x − k)² over one contiguous row, with 8 float partial sums per block of 512
// folded into double accumulators: float rounding stays within a short block and the long sums
// run in double. The order depends only on the row length: deterministic.
inline __attribute__((always_inline)) void shifted_sums(const float* x, int64_t len, float k, double& s1, double& s2) {
  constexpr int64_t kBlock = 512;
  for (int64_t b = 0; b < len; b += kBlock) {
    const int64_t e = std::min(len, b + kBlock);
    v8f a1 = {}, a2 = {};
    const v8f kv = v8f{} + k;
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      const v8f d = load8(x + i) - kv;
      a1 += d;
      a2 += d * d;
    }
    for (; i < e; i++) {
      const float d = x[i] - k;
      a1[0] += d;
      a2[0] += d * d;
    }
    s1 += lane_sum(a1);
    s2 += lane_sum(a2);
  }
}

// g, or g·[y > 0] when the gradient comes through a ReLU with output y: an integer mask, as a
// `y > 0 ? g : 0` select compiles to a branch here (random signs mispredict half the time).
struct PlainGrad {
  const float* g;
  float operator()(int64_t i) const { return g[i]; }
  v8f vec(int64_t i) const { return load8(g + i); }
  PlainGrad from(int64_t off) const { return {g + off}; }
};
struct ReluGrad {
  const float* g;
  const float* y;
  ReluGrad from(int64_t off) const { return {g + off, y + off}; }
  float operator()(int64_t i) const {
    uint32_t bits;
    int32_t yb;
    const float gv = g[i], yv = y[i];
    std::memcpy(&bits, &gv, sizeof bits);
    std::memcpy(&yb, &yv, sizeof yb);
    bits &= 0u - static_cast<uint32_t>(yb > 0);  // y > 0 from its bits, as vec() below
    float out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
  }
  v8f vec(int64_t i) const {
    // y > 0 from y's bits with integer arithmetic: all-ones exactly when the bits are a positive
    // int32 (NaN aside, which poisons the whole channel anyway). A vector float comparison here
    // is lowered to scalar compares on the baseline ISA, which made this path 2× slower.
    const v8i v = reinterpret_cast<v8i>(load8(y + i));
    const v8i keep = (reinterpret_cast<v8i>(v8u{} - reinterpret_cast<v8u>(v)) & ~v) >> 31;
    return reinterpret_cast<v8f>(reinterpret_cast<v8i>(load8(g + i)) & keep);
  }
};

// Σ g and Σ g·(x − m) over one contiguous row, blocked the same way.
template <typename G>
inline __attribute__((always_inline)) void grad_sums(G g, const float* x, int64_t len, float m, double& sg, double& sgd) {
  constexpr int64_t kBlock = 512;
  const v8f mv = v8f{} + m;
  for (int64_t b = 0; b < len; b += kBlock) {
    const int64_t e = std::min(len, b + kBlock);
    v8f a1 = {}, a2 = {};
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      const v8f gv = g.vec(i);
      a1 += gv;
      a2 += gv * (load8(x + i) - mv);
    }
    for (; i < e; i++) {
      const float gv = g(i);
      a1[0] += gv;
      a2[0] += gv * (x[i] - m);
    }
    sg += lane_sum(a1);
    sgd += lane_sum(a2);
  }
}

// One channel of the backward: the two sums, the weight and bias gradients, then gx.
template <typename G>
inline __attribute__((always_inline)) void bn_backward_channel(const float* x, G grad, int64_t n, int64_t c,
                                                               int64_t inner, int64_t ch, const float* mean,
                                                               const float* invstd, const float* weight, float* gx,
                                                               float* gw, float* gb) {
  const double m = static_cast<double>(n * inner);
  const float mu = mean[ch];
  const double is = invstd[ch];
  double sg = 0, sgd = 0;
  for (int64_t i = 0; i < n; i++) {
    const int64_t off = (i * c + ch) * inner;
    grad_sums(grad.from(off), x + off, inner, mu, sg, sgd);
  }
  const auto [k1, k2, k3] = bn_grad_finish(ch, sg, sgd, m, is, weight, gw, gb);
  if (!gx) return;
  for (int64_t i = 0; i < n; i++) {
    const int64_t off = (i * c + ch) * inner;
    const G gp = grad.from(off);
    const float* xp = x + off;
    float* op = gx + off;
    const v8f k1v = v8f{} + k1, k2v = v8f{} + k2, k3v = v8f{} + k3, muv = v8f{} + mu;
    int64_t j = 0;
    for (; j + 8 <= inner; j += 8) {
      const v8f r = k1v * gp.vec(j) + k2v * (load8(xp + j) - muv) + k3v;
      std::memcpy(op + j, &r, sizeof r);
    }
    for (; j < inner; j++) op[j] = k1 * gp(j) + k2 * (xp[j] - mu) + k3;
  }
}

// The channel loop for each gradient kind, cloned for AVX-512 and AVX2 (this file is built for the
// baseline ISA, where each 8-float vector operation is two SSE instructions).
#define NABLA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
NABLA_CLONES void bn_backward_channels(const float* x, PlainGrad grad, int64_t n, int64_t c, int64_t inner,
                                       int64_t ch0, int64_t ch1, const float* mean, const float* invstd,
                                       const float* weight, float* gx, float* gw, float* gb) {
  for (int64_t ch = ch0; ch < ch1; ch++)
    bn_backward_channel(x, grad, n, c, inner, ch, mean, invstd, weight, gx, gw, gb);
}
NABLA_CLONES void bn_backward_channels(const float* x, ReluGrad grad, int64_t n, int64_t c, int64_t inner,
                                       int64_t ch0, int64_t ch1, const float* mean, const float* invstd,
                                       const float* weight, float* gx, float* gw, float* gb) {
  for (int64_t ch = ch0; ch < ch1; ch++)
    bn_backward_channel(x, grad, n, c, inner, ch, mean, invstd, weight, gx, gw, gb);
}
#undef NABLA_CLONES

template <typename G>
void batch_norm_backward_impl(const float* x, G grad, int64_t n, int64_t c, int64_t inner, const float* mean,
                              const float* invstd, const float* weight, float* gx, float* gw, float* gb) {
  parallel_for(c, threads_for(static_cast<double>(n) * c * inner * 2), [&](int64_t b, int64_t e) {
    bn_backward_channels(x, grad, n, c, inner, b, e, mean, invstd, weight, gx, gw, gb);
  });
}

}  // namespace

namespace {

// Mean and biased variance of channels [ch0, ch1), cloned like bn_backward_channels.
__attribute__((target_clones("avx512f", "avx2", "default"))) void stats_channels(const float* x, int64_t n, int64_t c,
                                                                                 int64_t inner, int64_t ch0,
                                                                                 int64_t ch1, float* mean,
                                                                                 float* var) {
  const int64_t m = n * inner;
  for (int64_t ch = ch0; ch < ch1; ch++) {
    const float k = m > 0 ? x[ch * inner] : 0.f;
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) shifted_sums(x + (i * c + ch) * inner, inner, k, s1, s2);
    const double mu = m > 0 ? s1 / static_cast<double>(m) : 0.0;
    mean[ch] = static_cast<float>(k + mu);
    var[ch] = static_cast<float>(m > 0 ? std::max(s2 / static_cast<double>(m) - mu * mu, 0.0) : 0.0);
  }
}

}  // namespace

void batch_norm_stats(const float* x, int64_t n, int64_t c, int64_t inner, float* mean, float* var) {
  // One channel per task: each channel's sums run over images then positions in a fixed order.
  parallel_for(c, threads_for(static_cast<double>(n) * c * inner), [&](int64_t b, int64_t e) {
    stats_channels(x, n, c, inner, b, e, mean, var);
  });
}

void channel_affine(const float* x, int64_t n, int64_t c, int64_t inner, const float* scale, const float* shift,
                    bool relu, float* y, const float* residual) {
  const int64_t planes = n * c;
  if (inner == 1) {
    // One value per channel (a linear layer's bias): runs of channels, vectorisable, and no
    // division per element. The same arithmetic as below.
    parallel_for(planes, threads_for(static_cast<double>(planes)), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e;) {
        const int64_t ch0 = pl % c, len = std::min(c - ch0, e - pl);
        const float* xp = x + pl;
        float* yp = y + pl;
        const float* rp = residual ? residual + pl : nullptr;
        for (int64_t j = 0; j < len; j++) {
          float v = xp[j] * scale[ch0 + j] + shift[ch0 + j];
          if (rp) v = v + rp[j];
          yp[j] = !relu || v > 0.f || std::isnan(v) ? v : 0.f;
        }
        pl += len;
      }
    });
    return;
  }
  parallel_for(planes, threads_for(static_cast<double>(planes) * inner), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t ch = pl % c;
      const float a = scale[ch], s = shift[ch];
      const float* xp = x + pl * inner;
      float* yp = y + pl * inner;
      if (residual != nullptr) {
        // A residual block's tail: bn2(x) + shortcut, then its ReLU, in one pass.
        const float* rp = residual + pl * inner;
        for (int64_t j = 0; j < inner; j++) {
          const float v = (xp[j] * a + s) + rp[j];
          yp[j] = !relu || v > 0.f || std::isnan(v) ? v : 0.f;
        }
      } else if (relu) {
        for (int64_t j = 0; j < inner; j++) {
          const float v = xp[j] * a + s;
          yp[j] = v > 0.f || std::isnan(v) ? v : 0.f;
        }
      } else {
        for (int64_t j = 0; j < inner; j++) yp[j] = xp[j] * a + s;
      }
    }
  });
}

void batch_norm_backward(const float* x, const float* g, int64_t n, int64_t c, int64_t inner, const float* mean,
                         const float* invstd, const float* weight, float* gx, float* gw, float* gb,
                         const float* relu_out) {
  if (relu_out != nullptr)
    return batch_norm_backward_impl(x, ReluGrad{g, relu_out}, n, c, inner, mean, invstd, weight, gx, gw, gb);
  batch_norm_backward_impl(x, PlainGrad{g}, n, c, inner, mean, invstd, weight, gx, gw, gb);
}

void relu_backward(const float* g, const float* y, int64_t len, float* out) {
  constexpr int64_t kChunk = 1 << 14;
  parallel_for(ceil_div(len, kChunk), threads_for(static_cast<double>(len), 65536), [&](int64_t b, int64_t e) {
    const int64_t lo = b * kChunk, hi = std::min(len, e * kChunk);
    // Both loads unconditional, so the compiler emits a select instead of a branch (the sign of y
    // is random: a branch would mispredict half the time).
    for (int64_t i = lo; i < hi; i++) {
      const float gv = g[i], yv = y[i];
      out[i] = yv > 0.f ? gv : 0.f;
    }
  });
}

void max_pool2d_backward(const float* g, const int32_t* idx, const PoolParams& p, float* out) {
  const int64_t planes = p.n * p.c, HW = p.h * p.w, P = p.oh * p.ow;
  // One plane per task (windows of different planes never share an input element).
  parallel_for(planes, threads_for(static_cast<double>(planes) * P * 4), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const float* gp = g + pl * P;
      const int32_t* ip = idx + pl * P;
      float* op = out + pl * HW;
      for (int64_t k = 0; k < P; k++) {
        const int32_t i = ip[k];
        if (i >= 0 && i < HW) op[i] += gp[k];
      }
    }
  });
}

}  // namespace nabla
