#include "pool.h"

#include <cmath>
#include <limits>

#include "threadpool.h"

namespace nabla {

namespace {

// All windows inside the input (no padding, no ceil-mode overhang): no bounds tests, and the
// running max is a select rather than a branch (comparisons of data mispredict half the time).
// Returns false if the plane holds a NaN, whose tie rules the exact path below handles.
bool max_pool_plane_interior(const float* xp, const PoolParams& p, float* yp, int32_t* ip) {
  int nan = 0;
  for (int64_t oh = 0; oh < p.oh; oh++) {
    float* best = yp + oh * p.ow;
    int32_t* bi = ip + oh * p.ow;
    // Tap by tap over the whole output row: independent iterations over ow (vectorisable), and
    // per window the taps are still visited in row-major order, so the first maximum wins.
    for (int64_t ki = 0; ki < p.kh; ki++) {
      for (int64_t kj = 0; kj < p.kw; kj++) {
        const int64_t start = (oh * p.sh + ki * p.dh) * p.w + kj * p.dw;
        const float* row = xp + start;
        if (ki == 0 && kj == 0) {
          for (int64_t ow = 0; ow < p.ow; ow++) {
            const float v = row[ow * p.sw];
            best[ow] = v;
            bi[ow] = static_cast<int32_t>(start + ow * p.sw);
            nan |= v != v;
          }
          continue;
        }
        for (int64_t ow = 0; ow < p.ow; ow++) {
          const float v = row[ow * p.sw];
          const float b = best[ow];
          // Integer masks: GCC turns `take ? a : b` back into a branch, which mispredicts.
          const int32_t take = -static_cast<int32_t>(v > b);
          bi[ow] ^= (bi[ow] ^ static_cast<int32_t>(start + ow * p.sw)) & take;
          best[ow] = v > b ? v : b;
          nan |= v != v;
        }
      }
    }
  }
  return nan == 0;
}

// The common 2×2 window with stride 2 (no padding or dilation; oh·2 ≤ h, ow·2 ≤ w): per output
// the four taps a b / c d, visited in that (row-major) order so the first maximum wins, as in
// the general path. Returns false if the plane holds a NaN (the exact path handles it).
bool max_pool_plane_2x2(const float* xp, const PoolParams& p, float* yp, int32_t* ip) {
  int nan = 0;
  for (int64_t oh = 0; oh < p.oh; oh++) {
    const float* r0 = xp + 2 * oh * p.w;
    const float* r1 = r0 + p.w;
    float* y = yp + oh * p.ow;
    int32_t* yi = ip + oh * p.ow;
    const int32_t base = static_cast<int32_t>(2 * oh * p.w);
    for (int64_t ow = 0; ow < p.ow; ow++) {
      const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
      nan |= (a != a) | (b != b) | (c != c) | (d != d);
      float best = a;
      int32_t bi = base + static_cast<int32_t>(2 * ow);
      if (b > best) best = b, bi = base + static_cast<int32_t>(2 * ow + 1);
      if (c > best) best = c, bi = base + static_cast<int32_t>(p.w + 2 * ow);
      if (d > best) best = d, bi = base + static_cast<int32_t>(p.w + 2 * ow + 1);
      y[ow] = best;
      yi[ow] = bi;
    }
  }
  return nan == 0;
}

}  // namespace

void max_pool2d(const float* x, const PoolParams& p, float* y, int32_t* idx) {
  const int64_t planes = p.n * p.c, HW = p.h * p.w, P = p.oh * p.ow;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool interior = p.ph == 0 && p.pw == 0 && p.oh > 0 && p.ow > 0 &&
                        (p.oh - 1) * p.sh + (p.kh - 1) * p.dh < p.h && (p.ow - 1) * p.sw + (p.kw - 1) * p.dw < p.w;
  const bool pool2x2 = interior && p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.dh == 1 && p.dw == 1;
  parallel_for(planes, threads_for(static_cast<double>(planes) * P * p.kh * p.kw), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const float* xp = x + pl * HW;
      float* yp = y + pl * P;
      int32_t* ip = idx + pl * P;
      if (pool2x2 && max_pool_plane_2x2(xp, p, yp, ip)) continue;
      if (interior && max_pool_plane_interior(xp, p, yp, ip)) continue;
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
