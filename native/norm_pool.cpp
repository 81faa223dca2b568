// Training-mode BatchNorm → ReLU → 2×2 stride-2 max-pool as two kernels (see
// Kernels.batchNormReluPool). The ReLU output z is never stored: the forward writes only the
// pooled values and their argmax, and the backward rebuilds what it needs from them. The
// gradient reaching z is non-zero only at each window's argmax, where it is the pooled gradient
// if the pooled value is positive (the ReLU's gradient), so the batch-norm sums run over the
// pooled grid, gathering x at the argmax, and only the final gx pass touches every element.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "norm.h"
#include "threadpool.h"

namespace nabla {

void batch_norm_relu_pool(const float* x, int64_t n, int64_t c, int64_t h, int64_t w, const float* scale,
                          const float* shift, float* out, int32_t* idx) {
  const int64_t ph = h / 2, pw = w / 2, HW = h * w, P = ph * pw;
  parallel_for(n * c, threads_for(static_cast<double>(n) * c * HW, 65536), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const float a = scale[pl % c], s = shift[pl % c];
      const float* xp = x + pl * HW;
      float* op = out + pl * P;
      int32_t* ip = idx + pl * P;
      // z = relu(x·a + s) with NaN kept. Per window the taps in row-major order, the first
      // maximum wins, as in max_pool2d; written like its 2×2 fast path (no NaN) and redone
      // exactly below if the plane holds a NaN.
      auto z = [a, s](float v) {
        // relu with an integer mask: as a ternary GCC emits a branch, which mispredicts on half
        // the (random-signed) values and made this kernel 4× slower.
        const float t = v * a + s;
        uint32_t bits;
        std::memcpy(&bits, &t, sizeof bits);
        bits &= 0u - static_cast<uint32_t>((t > 0.f) | (t != t));
        float r;
        std::memcpy(&r, &bits, sizeof r);
        return r;
      };
      int nan = 0;
      for (int64_t i = 0; i < ph; i++) {
        const float* r0 = xp + 2 * i * w;
        const float* r1 = r0 + w;
        const int32_t base = static_cast<int32_t>(2 * i * w);
        for (int64_t j = 0; j < pw; j++) {
          const float va = z(r0[2 * j]), vb = z(r0[2 * j + 1]), vc = z(r1[2 * j]), vd = z(r1[2 * j + 1]);
          nan |= (va != va) | (vb != vb) | (vc != vc) | (vd != vd);
          float best = va;
          int32_t bi = base + static_cast<int32_t>(2 * j);
          if (vb > best) best = vb, bi = base + static_cast<int32_t>(2 * j + 1);
          if (vc > best) best = vc, bi = base + static_cast<int32_t>(w + 2 * j);
          if (vd > best) best = vd, bi = base + static_cast<int32_t>(w + 2 * j + 1);
          op[i * pw + j] = best;
          ip[i * pw + j] = bi;
        }
      }
      if (nan == 0) continue;
      for (int64_t i = 0; i < ph; i++) {
        for (int64_t j = 0; j < pw; j++) {
          const int64_t t0 = 2 * i * w + 2 * j;
          const int64_t taps[4] = {t0, t0 + 1, t0 + w, t0 + w + 1};
          float best = z(xp[t0]);
          int64_t bi = t0;
          for (int k = 1; k < 4 && best == best; k++) {
            const float v = z(xp[taps[k]]);
            if (v > best || v != v) best = v, bi = taps[k];
          }
          op[i * pw + j] = best;
          ip[i * pw + j] = static_cast<int32_t>(bi);
        }
      }
    }
  });
}

void batch_norm_relu_pool_backward(const float* x, const float* g, const float* pooled, const int32_t* idx, int64_t n,
                                   int64_t c, int64_t h, int64_t w, const float* mean, const float* invstd,
                                   const float* weight, float* gx, float* gw, float* gb) {
  const int64_t ph = h / 2, pw = w / 2, HW = h * w, P = ph * pw;
  const double m = static_cast<double>(n * HW);
  parallel_for(c, threads_for(static_cast<double>(n) * c * HW * 2), [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      const float mu = mean[ch];
      const double is = invstd[ch];
      // Σ g_z and Σ g_z·(x − mean) over the argmax positions only (everything else is 0), in
      // float blocks of one plane folded into double: a fixed order, whatever the threads.
      double sg = 0, sgd = 0;
      for (int64_t i = 0; i < n; i++) {
        const int64_t pl = i * c + ch;
        const float* gp = g + pl * P;
        const float* vp = pooled + pl * P;
        const int32_t* ip = idx + pl * P;
        const float* xp = x + pl * HW;
        float s1 = 0, s2 = 0;
        for (int64_t k = 0; k < P; k++) {
          const int32_t at = ip[k];
          if (!(vp[k] > 0.f) || at < 0 || at >= HW) continue;  // indices come from the forward
          s1 += gp[k];
          s2 += gp[k] * (xp[at] - mu);
        }
        sg += s1;
        sgd += s2;
      }
      const auto [k1, k2, k3] = bn_grad_finish(ch, sg, sgd, m, is, weight, gw, gb);
      if (!gx) continue;
      for (int64_t i = 0; i < n; i++) {
        const int64_t pl = i * c + ch;
        const float* xp = x + pl * HW;
        float* op = gx + pl * HW;
        // gx = k1·g_z + k2·(x − mean) + k3 everywhere (rows and columns past the last full
        // window included), then the argmax positions get their k1·g_z.
        for (int64_t j = 0; j < HW; j++) op[j] = k2 * (xp[j] - mu) + k3;
        const float* gp = g + pl * P;
        const float* vp = pooled + pl * P;
        const int32_t* ip = idx + pl * P;
        for (int64_t k = 0; k < P; k++) {
          const int32_t at = ip[k];
          if (!(vp[k] > 0.f) || at < 0 || at >= HW) continue;
          op[at] = k1 * gp[k] + k2 * (xp[at] - mu) + k3;
        }
      }
    }
  });
}

}  // namespace nabla
