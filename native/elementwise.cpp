// Element-wise maps, reductions and softmax. Semantics follow the TypeScript reference (which
// computes in float64 and rounds): round is half-to-even, maximum/minimum propagate NaN, relu maps
// NaN to 0, and sums/products accumulate in double so long reductions agree closely.
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"
#include "threadpool.h"

namespace nabla {

namespace {

// Collapses the iteration space: drops size-1 dims and merges dims that are contiguous for every
// operand, so a dense op becomes 1-D and a bias broadcast becomes 2-D.
int collapse(int ndim, const int64_t* shape, View* views, int nviews, int64_t* out_shape) {
  int nd = 0;
  int64_t strides[4][kMaxDims];
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int v = 0; v < nviews; v++)
        if (strides[v][nd - 1] != views[v].strides[d] * shape[d]) mergeable = false;
      if (mergeable) {
        out_shape[nd - 1] *= shape[d];
        for (int v = 0; v < nviews; v++) strides[v][nd - 1] = views[v].strides[d];
        continue;
      }
    }
    out_shape[nd] = shape[d];
    for (int v = 0; v < nviews; v++) strides[v][nd] = views[v].strides[d];
    nd++;
  }
  if (nd == 0) {
    out_shape[0] = 1;
    for (int v = 0; v < nviews; v++) strides[v][0] = 0;
    nd = 1;
  }
  for (int v = 0; v < nviews; v++)
    for (int d = 0; d < nd; d++) views[v].strides[d] = strides[v][d];
  return nd;
}

// Iterates rows (all dims but the last) of the collapsed space in parallel; f(row_offsets[],
// out_offset, len) handles one innermost row.
template <int NV, typename F>
void for_rows(int nd, const int64_t* shape, const View* views, F f) {
  const int64_t len = shape[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= shape[d];
  const int threads = threads_for(static_cast<double>(rows) * len, 65536);
  parallel_for(rows, threads, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      int64_t offs[NV];
      for (int v = 0; v < NV; v++) offs[v] = views[v].off;
      int64_t rem = r;
      for (int d = nd - 2; d >= 0; d--) {
        const int64_t i = rem % shape[d];
        rem /= shape[d];
        for (int v = 0; v < NV; v++) offs[v] += i * views[v].strides[d];
      }
      f(offs, r * len, len);
    }
  });
}

// Long 1-D rows are split so both threads work even for a single dense row.
constexpr int64_t kChunk = 1 << 14;

inline float js_round(float v) { return std::nearbyint(v); }  // default rounding mode: half to even
inline float js_sign(float v) { return v > 0.f ? 1.f : v < 0.f ? -1.f : v == 0.f ? 0.f : v; }  // NaN stays
inline float js_max(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return a > b ? a : b;
}
inline float js_min(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return a < b ? a : b;
}

template <typename Fn>
void map_unary(const float* x, int64_t sx, float* y, int64_t n, Fn fn) {
  if (sx == 1) {
    for (int64_t i = 0; i < n; i++) y[i] = fn(x[i]);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = fn(x[i * sx]);
  }
}

void unary_row(int op, const float* x, int64_t sx, float* y, int64_t n) {
  switch (op) {
    case kNeg: return map_unary(x, sx, y, n, [](float v) { return -v; });
    case kExp: return map_unary(x, sx, y, n, [](float v) { return std::exp(v); });
    case kLog: return map_unary(x, sx, y, n, [](float v) { return std::log(v); });
    case kSqrt: return map_unary(x, sx, y, n, [](float v) { return std::sqrt(v); });
    case kSin: return map_unary(x, sx, y, n, [](float v) { return static_cast<float>(std::sin(static_cast<double>(v))); });
    case kCos: return map_unary(x, sx, y, n, [](float v) { return static_cast<float>(std::cos(static_cast<double>(v))); });
    case kTanh: return map_unary(x, sx, y, n, [](float v) { return std::tanh(v); });
    case kSigmoid: return map_unary(x, sx, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    case kRelu: return map_unary(x, sx, y, n, [](float v) { return v > 0.f ? v : 0.f; });
    case kAbs: return map_unary(x, sx, y, n, [](float v) { return std::fabs(v); });
    case kSign: return map_unary(x, sx, y, n, js_sign);
    case kFloor: return map_unary(x, sx, y, n, [](float v) { return std::floor(v); });
    case kCeil: return map_unary(x, sx, y, n, [](float v) { return std::ceil(v); });
    case kRound: return map_unary(x, sx, y, n, js_round);
    case kErf: return map_unary(x, sx, y, n, [](float v) { return std::erf(v); });
    case kCopy: return map_unary(x, sx, y, n, [](float v) { return v; });
    default: return;
  }
}

template <typename Fn>
void map_binary(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n, Fn fn) {
  // The common layouts get their own loops so the compiler can vectorise them.
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) y[i] = fn(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) y[i] = fn(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) y[i] = fn(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = fn(a[i * sa], b[i * sb]);
  }
}

template <typename Fn>
void cmp_binary(const float* a, int64_t sa, const float* b, int64_t sb, uint8_t* y, int64_t n, Fn fn) {
  for (int64_t i = 0; i < n; i++) y[i] = fn(a[i * sa], b[i * sb]) ? 1 : 0;
}

void binary_row(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* y, uint8_t* yb,
                int64_t n) {
  switch (op) {
    case kAdd: return map_binary(a, sa, b, sb, y, n, [](float u, float v) { return u + v; });
    case kSub: return map_binary(a, sa, b, sb, y, n, [](float u, float v) { return u - v; });
    case kMul: return map_binary(a, sa, b, sb, y, n, [](float u, float v) { return u * v; });
    case kDiv: return map_binary(a, sa, b, sb, y, n, [](float u, float v) { return u / v; });
    case kPow:
      return map_binary(a, sa, b, sb, y, n, [](float u, float v) {
        return static_cast<float>(std::pow(static_cast<double>(u), static_cast<double>(v)));
      });
    case kMaximum: return map_binary(a, sa, b, sb, y, n, js_max);
    case kMinimum: return map_binary(a, sa, b, sb, y, n, js_min);
    case kEq: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u == v; });
    case kNe: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u != v; });
    case kLt: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u < v; });
    case kLe: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u <= v; });
    case kGt: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u > v; });
    case kGe: return cmp_binary(a, sa, b, sb, yb, n, [](float u, float v) { return u >= v; });
    default: return;
  }
}

}  // namespace

void unary(int op, const View& x, int ndim, const int64_t* shape, float* out) {
  View v[1] = {x};
  int64_t cs[kMaxDims];
  const int nd = collapse(ndim, shape, v, 1, cs);
  if (nd == 1 && v[0].strides[0] == 1) {
    // Dense: chunk the flat range.
    const int64_t n = cs[0];
    const float* xp = v[0].data + v[0].off;
    parallel_for(ceil_div(n, kChunk), threads_for(static_cast<double>(n), 65536), [&](int64_t b, int64_t e) {
      const int64_t lo = b * kChunk, hi = std::min(n, e * kChunk);
      unary_row(op, xp + lo, 1, out + lo, hi - lo);
    });
    return;
  }
  for_rows<1>(nd, cs, v, [&](const int64_t* offs, int64_t o, int64_t len) {
    unary_row(op, v[0].data + offs[0], v[0].strides[nd - 1], out + o, len);
  });
}

void binary(int op, const View& a, const View& b, int ndim, const int64_t* shape, float* out_f32,
            uint8_t* out_u8) {
  View v[2] = {a, b};
  int64_t cs[kMaxDims];
  const int nd = collapse(ndim, shape, v, 2, cs);
  if (nd == 1) {
    const int64_t n = cs[0], sa = v[0].strides[0], sb = v[1].strides[0];
    const float* ap = v[0].data + v[0].off;
    const float* bp = v[1].data + v[1].off;
    parallel_for(ceil_div(n, kChunk), threads_for(static_cast<double>(n), 65536), [&](int64_t bb, int64_t e) {
      const int64_t lo = bb * kChunk, hi = std::min(n, e * kChunk);
      binary_row(op, ap + lo * sa, sa, bp + lo * sb, sb, out_f32 ? out_f32 + lo : nullptr,
                 out_u8 ? out_u8 + lo : nullptr, hi - lo);
    });
    return;
  }
  for_rows<2>(nd, cs, v, [&](const int64_t* offs, int64_t o, int64_t len) {
    binary_row(op, v[0].data + offs[0], v[0].strides[nd - 1], v[1].data + offs[1], v[1].strides[nd - 1],
               out_f32 ? out_f32 + o : nullptr, out_u8 ? out_u8 + o : nullptr, len);
  });
}

namespace {

// Reduces n elements at stride s. Sum and product accumulate in double (8 independent partial
// accumulators in a fixed pattern, then combined in a fixed order: deterministic).
float reduce_line(int op, const float* x, int64_t n, int64_t s) {
  switch (op) {
    case kSum: {
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t i = 0;
      if (s == 1) {
        for (; i + 8 <= n; i += 8)
          for (int j = 0; j < 8; j++) acc[j] += x[i + j];
      }
      for (; i < n; i++) acc[0] += x[i * s];
      return static_cast<float>(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
    case kProd: {
      double acc = 1.0;
      for (int64_t i = 0; i < n; i++) acc *= x[i * s];
      return static_cast<float>(acc);
    }
    case kMax: {
      if (n == 0) return std::numeric_limits<float>::quiet_NaN();
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < n; i++) m = js_max(m, x[i * s]);
      return m;
    }
    case kMin: {
      if (n == 0) return std::numeric_limits<float>::quiet_NaN();
      float m = std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < n; i++) m = js_min(m, x[i * s]);
      return m;
    }
    default: return 0.f;
  }
}

}  // namespace

void reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, float* out) {
  const double work = static_cast<double>(outer) * size * inner;
  const int threads = threads_for(work, 65536);
  if (inner == 1) {
    parallel_for(outer, threads, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; o++) out[o] = reduce_line(op, x + o * size, size, 1);
    });
    return;
  }
  // Reduce over the middle axis with the inner axis contiguous: walk s in order for a block of
  // inner positions at a time (vectorisable, and the per-element order is always s = 0, 1, ...).
  constexpr int64_t kBlock = 256;
  const int64_t blocks = ceil_div(inner, kBlock);
  parallel_for(outer * blocks, threads, [&](int64_t b, int64_t e) {
    double acc[kBlock];
    float accf[kBlock];
    for (int64_t t = b; t < e; t++) {
      const int64_t o = t / blocks, j0 = (t % blocks) * kBlock, nj = std::min(kBlock, inner - j0);
      const float* xo = x + o * size * inner + j0;
      float* y = out + o * inner + j0;
      if (op == kSum || op == kProd) {
        const double init = op == kSum ? 0.0 : 1.0;
        for (int64_t j = 0; j < nj; j++) acc[j] = init;
        for (int64_t s = 0; s < size; s++) {
          const float* row = xo + s * inner;
          if (op == kSum) {
            for (int64_t j = 0; j < nj; j++) acc[j] += row[j];
          } else {
            for (int64_t j = 0; j < nj; j++) acc[j] *= row[j];
          }
        }
        for (int64_t j = 0; j < nj; j++) y[j] = static_cast<float>(acc[j]);
      } else {
        const float init = size == 0                 ? std::numeric_limits<float>::quiet_NaN()
                           : op == kMax ? -std::numeric_limits<float>::infinity()
                                        : std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < nj; j++) accf[j] = init;
        for (int64_t s = 0; s < size; s++) {
          const float* row = xo + s * inner;
          if (op == kMax) {
            for (int64_t j = 0; j < nj; j++) accf[j] = js_max(accf[j], row[j]);
          } else {
            for (int64_t j = 0; j < nj; j++) accf[j] = js_min(accf[j], row[j]);
          }
        }
        for (int64_t j = 0; j < nj; j++) y[j] = accf[j];
      }
    }
  });
}

void softmax(bool log, const float* x, int64_t outer, int64_t size, int64_t inner, float* out) {
  const int threads = threads_for(static_cast<double>(outer) * size * inner * 8, 65536);
  parallel_for(outer * inner, threads, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      const int64_t o = t / inner, j = t % inner;
      const float* xr = x + o * size * inner + j;
      float* yr = out + o * size * inner + j;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t s = 0; s < size; s++) m = js_max(m, xr[s * inner]);
      if (m == -std::numeric_limits<float>::infinity()) m = 0.f;  // all -inf: like the reference
      double sum = 0.0;
      if (log) {
        for (int64_t s = 0; s < size; s++) sum += std::exp(static_cast<double>(xr[s * inner] - m));
        const float lse = static_cast<float>(std::log(sum));
        for (int64_t s = 0; s < size; s++) yr[s * inner] = xr[s * inner] - m - lse;
      } else {
        for (int64_t s = 0; s < size; s++) {
          const float ev = std::exp(xr[s * inner] - m);
          yr[s * inner] = ev;
          sum += ev;
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t s = 0; s < size; s++) yr[s * inner] *= inv;
      }
    }
  });
}

}  // namespace nabla
