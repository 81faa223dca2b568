#include "pool.h"

#include <cmath>
#include <limits>

#include "threadpool.h"

namespace nabla {

void max_pool2d(const float* x, const PoolParams& p, float* y, int32_t* idx) {
  const int64_t planes = p.n * p.c, HW = p.h * p.w, P = p.oh * p.ow;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  parallel_for(planes, threads_for(static_cast<double>(planes) * P * p.kh * p.kw), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const float* xp = x + pl * HW;
      float* yp = y + pl * P;
      int32_t* ip = idx + pl * P;
      for (int64_t oh = 0; oh < p.oh; oh++) {
        for (int64_t ow = 0; ow < p.ow; ow++) {
          float best = neg_inf;
          int64_t bi = -1;
          for (int64_t ki = 0; ki < p.kh; ki++) {
            const int64_t ih = oh * p.sh - p.ph + ki * p.dh;
            if (ih < 0 || ih >= p.h) continue;
            for (int64_t kj = 0; kj < p.kw; kj++) {
              const int64_t iw = ow * p.sw - p.pw + kj * p.dw;
              if (iw < 0 || iw >= p.w) continue;
              const float v = xp[ih * p.w + iw];
              // NaN propagates (as in PyTorch and the reference): a NaN ends the scan of its row.
              if (v > best || bi < 0 || std::isnan(v)) {
                best = v;
                bi = ih * p.w + iw;
                if (std::isnan(v)) break;
              }
            }
          }
          yp[oh * p.ow + ow] = best;
          ip[oh * p.ow + ow] = static_cast<int32_t>(bi);
        }
      }
    }
  });
}

}  // namespace nabla
