// Convolutions as GEMMs over an implicit im2col matrix: the "patch" source below produces rows of
// the column matrix on the fly while the GEMM packs its panels, so the column matrix is never
// stored (except in the backward-input pass, which needs a col2im scatter of the GEMM result).
//
//  forward          y[n, g]  (Og × P)   = W[g] (Og × CK) · patches(x[n, g]) (CK × P)
//  backward input   cols     (CK × P)   = W[g]ᵀ · gy[n, g] (Og × P), then gx[n, g] = col2im(cols)
//  backward weight  gw[g]    (Og × CK)  = Σ_n gy[n, g] · patches(x[n, g])ᵀ  (one GEMM with K = N·P)
// where CK = C/groups · kh · kw and P = outH · outW. 1×1 stride-1 unpadded convolutions use the
// activations directly as the matrix, and depthwise convolutions (groups = C = O) use direct loops.
#include "conv.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "threadpool.h"

namespace nabla {

namespace {

bool is_pointwise(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0;
}

// The im2col matrix of group g for images [n0, n0 + count): row r = (c, ki, kj), column
// q = (image, oh, ow); value x[n][g*Cg + c][oh*sh - ph + ki*dh][ow*sw - pw + kj*dw] or 0 outside.
struct PatchSource final : MatSource {
  const float* x;  // image n0, channel g*Cg
  const ConvParams& p;
  int64_t img_stride, plane, P;
  PatchSource(const float* x_, const ConvParams& p_)
      : x(x_), p(p_), img_stride(p_.c * p_.h * p_.w), plane(p_.h * p_.w), P(p_.oh * p_.ow) {}

  void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const override {
    const int64_t kj = r % p.kw, ki = (r / p.kw) % p.kh, c = r / (p.kw * p.kh);
    // Valid ow range for this kj: 0 <= ow*sw - pw + kj*dw < W.
    const int64_t off_w = kj * p.dw - p.pw;
    const int64_t ow_lo = off_w >= 0 ? 0 : std::min(p.ow, ceil_div(-off_w, p.sw));
    const int64_t ow_hi = std::max(ow_lo, std::min(p.ow, off_w >= p.w ? 0 : ceil_div(p.w - off_w, p.sw)));
    int64_t img = q0 / P, rem = q0 % P;
    int64_t oh = rem / p.ow, ow = rem % p.ow;
    int64_t i = 0;
    while (i < len) {
      const int64_t run = std::min(len - i, p.ow - ow);  // columns left in this output row
      const int64_t ih = oh * p.sh - p.ph + ki * p.dh;
      float* d = dst + i * ds;
      if (ih < 0 || ih >= p.h) {
        for (int64_t t = 0; t < run; t++) d[t * ds] = 0.f;
      } else {
        const float* src = x + img * img_stride + c * plane + ih * p.w + off_w;  // + ow*sw
        const int64_t a = std::min(std::max(ow_lo, ow), ow + run), b = std::max(a, std::min(ow_hi, ow + run));
        int64_t t = 0;
        for (; t < a - ow; t++) d[t * ds] = 0.f;
        if (p.sw == 1) {
          const float* s = src + ow;
          if (ds == 1) {
            std::memcpy(d + t, s + t, static_cast<size_t>(b - a) * sizeof(float));
            t = b - ow;
          } else {
            for (; t < b - ow; t++) d[t * ds] = s[t];
          }
        } else {
          for (; t < b - ow; t++) d[t * ds] = src[(ow + t) * p.sw];
        }
        for (; t < run; t++) d[t * ds] = 0.f;
      }
      i += run;
      ow += run;
      if (ow == p.ow) {
        ow = 0;
        if (++oh == p.oh) {
          oh = 0;
          img++;
        }
      }
    }
  }
};

// gy of group g over images [n0, ...): row o, column q = (image, p): gy[n][g*Og + o][p].
struct GradOutSource final : MatSource {
  const float* gy;  // image n0, channel g*Og
  int64_t img_stride, P;
  GradOutSource(const float* gy_, int64_t img_stride_, int64_t P_) : gy(gy_), img_stride(img_stride_), P(P_) {}
  const float* span(int64_t r, int64_t q0, int64_t len) const override {
    const int64_t img = q0 / P, pos = q0 - img * P;
    return pos + len <= P ? gy + img * img_stride + r * P + pos : nullptr;
  }
  void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const override {
    int64_t img = q0 / P, pos = q0 % P, i = 0;
    while (i < len) {
      const int64_t run = std::min(len - i, P - pos);
      const float* s = gy + img * img_stride + r * P + pos;
      float* d = dst + i * ds;
      if (ds == 1) {
        std::memcpy(d, s, static_cast<size_t>(run) * sizeof(float));
      } else {
        for (int64_t t = 0; t < run; t++) d[t * ds] = s[t];
      }
      i += run;
      pos = 0;
      img++;
    }
  }
};

// Rows read at a per-row offset from a base, with columns q = (image, pos) running contiguously
// within each image: element (r, q) = base[image*img_stride + off[r] + pos]. With a zero-padded
// input and the output computed on the padded width, every im2col row of a stride-1 convolution
// is such a shifted contiguous range, so packing is a plain memcpy.
struct RunSource final : MatSource {
  const float* base;
  int64_t img_stride, P;
  const int64_t* off;
  RunSource(const float* b, int64_t is, int64_t p, const int64_t* o) : base(b), img_stride(is), P(p), off(o) {}
  const float* span(int64_t r, int64_t q0, int64_t len) const override {
    const int64_t img = q0 / P, pos = q0 - img * P;
    return pos + len <= P ? base + off[r] + img * img_stride + pos : nullptr;
  }
  void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const override {
    int64_t img = q0 / P, pos = q0 - img * P, i = 0;
    const float* rb = base + off[r];
    while (i < len) {
      const int64_t run = std::min(len - i, P - pos);
      const float* s = rb + img * img_stride + pos;
      float* d = dst + i * ds;
      if (ds == 1) {
        std::memcpy(d, s, static_cast<size_t>(run) * sizeof(float));
      } else {
        for (int64_t t = 0; t < run; t++) d[t * ds] = s[t];
      }
      i += run;
      pos = 0;
      img++;
    }
  }
};

// v[0, n) copied to dst and zero-filled to n_pad (an epilogue vector padded to whole register
// blocks); null stays null.
const float* padded_vector(const float* v, int64_t n, int64_t n_pad, float* dst) {
  if (v == nullptr) return nullptr;
  std::fill(std::copy(v, v + n, dst), dst + n_pad, 0.f);
  return dst;
}

// Geometry of the "padded grid" formulation of a stride-1 convolution: the input zero-padded to
// Hp × Wp, the output computed for outH × Wp positions (columns ow >= outW are discarded).
struct PaddedGrid {
  int64_t Hp, Wp, plane, Pq, slack;
  explicit PaddedGrid(const ConvParams& p)
      : Hp(p.h + 2 * p.ph), Wp(p.w + 2 * p.pw), plane(Hp * Wp), Pq(p.oh * Wp), slack((p.kw - 1) * p.dw + 16) {}
};

bool use_padded_grid(const ConvParams& p) {
  // Stride 1 only; the discarded columns cost (Wp - outW) / Wp extra work, so skip very narrow
  // outputs where that waste would dominate.
  return p.sh == 1 && p.sw == 1 && p.ow * 2 >= p.w + 2 * p.pw;
}

// Copies `channels` planes of x into a zero-padded layout (plane stride g.plane).
void pad_planes(const float* x, const ConvParams& p, const PaddedGrid& g, int64_t channels, float* xp) {
  for (int64_t c = 0; c < channels; c++) {
    float* dst = xp + c * g.plane;
    std::fill(dst, dst + p.ph * g.Wp, 0.f);
    for (int64_t i = 0; i < p.h; i++) {
      float* row = dst + (p.ph + i) * g.Wp;
      std::fill(row, row + p.pw, 0.f);
      std::memcpy(row + p.pw, x + (c * p.h + i) * p.w, static_cast<size_t>(p.w) * sizeof(float));
      std::fill(row + p.pw + p.w, row + g.Wp, 0.f);
    }
    std::fill(dst + (p.ph + p.h) * g.Wp, dst + g.plane, 0.f);
  }
}

// Offsets of the im2col rows r = (c, ki, kj) in the padded layout.
int64_t* row_offsets(const ConvParams& p, const PaddedGrid& g, int64_t cg) {
  const int64_t CK = cg * p.kh * p.kw;
  int64_t* off = reinterpret_cast<int64_t*>(scratch(kScratchIdx, static_cast<size_t>(2 * CK)));
  for (int64_t c = 0, r = 0; c < cg; c++)
    for (int64_t ki = 0; ki < p.kh; ki++)
      for (int64_t kj = 0; kj < p.kw; kj++, r++) off[r] = c * g.plane + ki * p.dh * g.Wp + kj * p.dw;
  return off;
}

// Scatter-adds a (CK × P) column matrix into the image gradient gx (channels of one group).
void col2im_add(const float* col, const ConvParams& p, int64_t cg, float* gx) {
  const int64_t P = p.oh * p.ow;
  for (int64_t c = 0; c < cg; c++) {
    float* plane = gx + c * p.h * p.w;
    for (int64_t ki = 0; ki < p.kh; ki++) {
      for (int64_t kj = 0; kj < p.kw; kj++) {
        const float* crow = col + ((c * p.kh + ki) * p.kw + kj) * P;
        const int64_t off_w = kj * p.dw - p.pw;
        const int64_t ow_lo = off_w >= 0 ? 0 : std::min(p.ow, ceil_div(-off_w, p.sw));
        const int64_t ow_hi = std::max(ow_lo, std::min(p.ow, off_w >= p.w ? 0 : ceil_div(p.w - off_w, p.sw)));
        for (int64_t oh = 0; oh < p.oh; oh++) {
          const int64_t ih = oh * p.sh - p.ph + ki * p.dh;
          if (ih < 0 || ih >= p.h) continue;
          float* dst = plane + ih * p.w + off_w;
          const float* src = crow + oh * p.ow;
          if (p.sw == 1) {
            for (int64_t ow = ow_lo; ow < ow_hi; ow++) dst[ow] += src[ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ow++) dst[ow * p.sw] += src[ow];
          }
        }
      }
    }
  }
}

// ---- depthwise (groups == C == O): direct loops, one (n, c) plane at a time -------------------

// For kernel column kj: the output columns [lo, hi) whose input column ow·sw + off_w lies inside
// a row (off_w = kj·dw − pw).
struct TapColumns {
  int64_t lo, hi, off_w;
};
inline TapColumns tap_columns(const ConvParams& p, int64_t kj) {
  const int64_t off_w = kj * p.dw - p.pw;
  const int64_t lo = off_w >= 0 ? 0 : std::min(p.ow, ceil_div(-off_w, p.sw));
  const int64_t hi = std::max(lo, std::min(p.ow, off_w >= p.w ? 0 : ceil_div(p.w - off_w, p.sw)));
  return {lo, hi, off_w};
}

// Calls f(oh, ow_lo, ow_hi, ih, off_w) for each output row and kernel tap (ki, kj) with valid ih.
template <typename F>
void for_each_tap_row(const ConvParams& p, int64_t ki, int64_t kj, F f) {
  const TapColumns t = tap_columns(p, kj);
  for (int64_t oh = 0; oh < p.oh; oh++) {
    const int64_t ih = oh * p.sh - p.ph + ki * p.dh;
    if (ih >= 0 && ih < p.h) f(oh, t.lo, t.hi, ih, t.off_w);
  }
}

// The epilogue loop with its options fixed, so that it vectorises: ACT 0 none, 1 ReLU, 2 ReLU6.
template <bool RES, int ACT>
inline __attribute__((always_inline)) void epilogue_loop(float* dst, const float* src, int64_t len, float a, float s,
                                                         const float* res) {
  for (int64_t i = 0; i < len; i++) {
    float v = src[i] * a + s;
    if (RES) v += res[i];
    if (ACT >= 1) v = v > 0.f || v != v ? v : 0.f;
    if (ACT == 2) v = v > 6.f ? 6.f : v;
    dst[i] = v;
  }
}

// dst[i] = act(src[i]·scale[o] + shift[o] + res[i]) along one run of channel o (dst may be src):
// the epilogue of the GEMM and depthwise paths, applied while the run is still in cache. Cloned
// for AVX-512 and AVX2 like depthwise_plane.
__attribute__((target_clones("avx512f", "avx2", "default"))) void epilogue_run(float* dst, const float* src,
                                                                               int64_t len, int64_t o,
                                                                               const ConvEpilogue& e,
                                                                               const float* res) {
  const float a = e.scale ? e.scale[o] : 1.f, s = e.shift ? e.shift[o] : 0.f;
  if (!e.scale && !e.shift && !res && !e.relu) {
    if (dst != src) std::memcpy(dst, src, static_cast<size_t>(len) * sizeof(float));
    return;
  }
  const int act = !e.relu ? 0 : e.relu6 ? 2 : 1;
  if (res) {
    if (act == 0) epilogue_loop<true, 0>(dst, src, len, a, s, res);
    if (act == 1) epilogue_loop<true, 1>(dst, src, len, a, s, res);
    if (act == 2) epilogue_loop<true, 2>(dst, src, len, a, s, res);
  } else {
    if (act == 0) epilogue_loop<false, 0>(dst, src, len, a, s, res);
    if (act == 1) epilogue_loop<false, 1>(dst, src, len, a, s, res);
    if (act == 2) epilogue_loop<false, 2>(dst, src, len, a, s, res);
  }
}

// One output plane of a depthwise convolution, row by row: each output row gathers its KH·KW
// taps while it is in L1 (a whole 112×112 plane is not), in (ki, kj) order per element. Cloned
// for AVX-512 and AVX2 (GCC picks one at load time), as conv.cpp is built for the baseline ISA.
__attribute__((target_clones("avx512f", "avx2", "default"))) void depthwise_plane(const float* xp, const float* wc,
                                                                                  const ConvParams& p, float* yp) {
  for (int64_t oh = 0; oh < p.oh; oh++) {
    float* yr = yp + oh * p.ow;
    for (int64_t ow = 0; ow < p.ow; ow++) yr[ow] = 0.f;
    for (int64_t ki = 0; ki < p.kh; ki++) {
      const int64_t ih = oh * p.sh - p.ph + ki * p.dh;
      if (ih < 0 || ih >= p.h) continue;
      for (int64_t kj = 0; kj < p.kw; kj++) {
        const float wv = wc[ki * p.kw + kj];
        const TapColumns t = tap_columns(p, kj);
        const float* xr = xp + ih * p.w + t.off_w;
        if (p.sw == 1) {
          for (int64_t ow = t.lo; ow < t.hi; ow++) yr[ow] += wv * xr[ow];
        } else {
          for (int64_t ow = t.lo; ow < t.hi; ow++) yr[ow] += wv * xr[ow * p.sw];
        }
      }
    }
  }
}

// The planes, and the epilogue on each while it is still in cache.
void depthwise_forward(const float* x, const float* w, const ConvParams& p, float* y, const ConvEpilogue* ep) {
  const int64_t planes = p.n * p.c, HW = p.h * p.w, P = p.oh * p.ow, KK = p.kh * p.kw;
  parallel_for(planes, threads_for(static_cast<double>(planes) * P * KK), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t c = pl % p.c;
      float* yp = y + pl * P;
      depthwise_plane(x + pl * HW, w + c * KK, p, yp);
      if (ep) epilogue_run(yp, yp, P, c, *ep, ep->residual ? ep->residual + pl * P : nullptr);
    }
  });
}

void depthwise_backward_input(const float* gy, const float* w, const ConvParams& p, float* gx) {
  const int64_t planes = p.n * p.c, HW = p.h * p.w, P = p.oh * p.ow, KK = p.kh * p.kw;
  parallel_for(planes, threads_for(static_cast<double>(planes) * P * KK), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t c = pl % p.c;
      float* gxp = gx + pl * HW;
      const float* gyp = gy + pl * P;
      std::fill(gxp, gxp + HW, 0.f);
      for (int64_t ki = 0; ki < p.kh; ki++) {
        for (int64_t kj = 0; kj < p.kw; kj++) {
          const float wv = w[c * KK + ki * p.kw + kj];
          for_each_tap_row(p, ki, kj, [&](int64_t oh, int64_t lo, int64_t hi, int64_t ih, int64_t off_w) {
            const float* gr = gyp + oh * p.ow;
            float* xr = gxp + ih * p.w + off_w;
            if (p.sw == 1) {
              for (int64_t ow = lo; ow < hi; ow++) xr[ow] += wv * gr[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ow++) xr[ow * p.sw] += wv * gr[ow];
            }
          });
        }
      }
    }
  });
}

void depthwise_backward_weight(const float* x, const float* gy, const ConvParams& p, float* gw) {
  const int64_t HW = p.h * p.w, P = p.oh * p.ow, KK = p.kh * p.kw;
  // One channel per task: the sum over images and positions runs in a fixed order.
  parallel_for(p.c, threads_for(static_cast<double>(p.n) * p.c * P * KK), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      for (int64_t ki = 0; ki < p.kh; ki++) {
        for (int64_t kj = 0; kj < p.kw; kj++) {
          float acc = 0.f;
          for (int64_t n = 0; n < p.n; n++) {
            const float* xp = x + (n * p.c + c) * HW;
            const float* gyp = gy + (n * p.c + c) * P;
            for_each_tap_row(p, ki, kj, [&](int64_t oh, int64_t lo, int64_t hi, int64_t ih, int64_t off_w) {
              const float* gr = gyp + oh * p.ow;
              const float* xr = xp + ih * p.w + off_w;
              float s = 0.f;
              for (int64_t ow = lo; ow < hi; ow++) s += gr[ow] * xr[ow * p.sw];
              acc += s;
            });
          }
          gw[c * KK + ki * p.kw + kj] = acc;
        }
      }
    }
  });
}

bool is_depthwise(const ConvParams& p) { return p.groups == p.c && p.o == p.c && p.groups > 1; }

// y (M × N, row stride N) = w (M × K, row-major) · B with B row k = base + off[k] (N floats): the
// padded-grid convolution without packing B, whose rows are shifted runs of the padded input
// (packing them would copy K·N floats — 9× the input for 3×3 kernels — per image). AVX-512 only.
bool rows_gemm_available() {
  return kRowsKernel8x48 != nullptr && std::strcmp(gemm_kernel().isa, "avx512") == 0;
}

void rows_gemm(int64_t M, int64_t N, int64_t K, const float* w, const float* base, const int64_t* off, float* y,
               int threads) {
  constexpr int64_t MR = 8, NR = 48, KC = 144;
  const int64_t panels_m = ceil_div(M, MR);
  float* ap = scratch(kScratchPackA, static_cast<size_t>(panels_m * MR * K));
  for (int64_t pm = 0; pm < panels_m; pm++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t r = 0; r < MR; r++) {
        const int64_t row = pm * MR + r;
        ap[(pm * K + k) * MR + r] = row < M ? w[row * K + k] : 0.f;
      }
  const int64_t panels_n = ceil_div(N, NR);
  // Column panels split between threads; every output element is summed over k in one order.
  parallel_for(panels_n, std::min<int64_t>(threads, panels_n), [&](int64_t b, int64_t e) {
    for (int64_t pn = b; pn < e; pn++) {
      const int64_t j0 = pn * NR;
      const int n = static_cast<int>(std::min(NR, N - j0));
      // k blocks outside the row panels: a block of B rows (KC × 48 floats) stays in L1 while
      // every row panel uses it.
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        for (int64_t pm = 0; pm < panels_m; pm++) {
          const int m = static_cast<int>(std::min(MR, M - pm * MR));
          kRowsKernel8x48(kc, ap + (pm * K + k0) * MR, base, off + k0, j0, y + pm * MR * N + j0, N, m, n, k0 > 0);
        }
      }
    }
  });
}

}  // namespace

namespace {

// ---- direct convolution (conv_direct.h): output channels in the vector lanes -----------------

// NABLA_CONV_DIRECT=0 keeps every convolution on the GEMM path (for benchmarks).
bool direct_enabled() {
  static const bool off = [] {
    const char* v = std::getenv("NABLA_CONV_DIRECT");
    return v != nullptr && std::strcmp(v, "0") == 0;
  }();
  return !off && kDirectConvRowsAvx512 != nullptr && std::strcmp(gemm_kernel().isa, "avx512") == 0;
}

// Threads for a direct or GEMM-path convolution of `flops`. A single image is split between
// threads only when it is big: at batch 1, two threads were slower than one below ~8 MFLOP
// (resnet20's stem and stride-2 layers) and faster above ~20 MFLOP (wide-s2), in
// `bench/native/conv-layers.ts all 1` with NABLA_NUM_THREADS=1 and 2.
// With t_split_small_convs set, from ~2 MFLOP (a stride-2 layer of resnet20).
int conv_threads(const ConvParams& p, double flops) {
  return threads_for(flops, p.n > 1 ? 1 << 18 : t_split_small_convs ? 1 << 20 : 1 << 22);
}

// Picks the register tile that wastes the fewest lanes and pixels on this shape (ties: the larger
// tile, then the one with fewer loads per FMA). False if the direct kernels do not apply.
bool direct_plan(const ConvParams& p, DirectTile& tile) {
  if (!direct_enabled()) return false;
  if (p.groups != 1 || p.dh != 1 || p.dw != 1 || is_pointwise(p)) return false;
  if ((p.kw != 1 && p.kw != 3) || (p.sw != 1 && p.sw != 2) || p.oh <= 0 || p.ow <= 0 || p.o <= 0) return false;
  double best = 0;
  for (const DirectTile& t : kDirectTiles) {
    const int64_t ob = 16 * t.vecs;
    const double eff = static_cast<double>(p.ow) / static_cast<double>(round_up(p.ow, t.cols)) *
                       static_cast<double>(p.o) / static_cast<double>(round_up(p.o, ob));
    const bool better = eff > best + 1e-9 ||
                        (eff > best - 1e-9 && (t.cols * t.vecs > tile.cols * tile.vecs ||
                                               (t.cols * t.vecs == tile.cols * tile.vecs && t.cols + t.vecs < tile.cols + tile.vecs)));
    if (better) best = eff, tile = t;
  }
  return best >= 0.6;
}

void direct_forward(const float* x, const float* w, const ConvParams& p, const DirectTile& tile, float* y,
                    const ConvEpilogue& e) {
  const int64_t OB = 16 * tile.vecs, O_pad = round_up(p.o, OB), taps = p.c * p.kh * p.kw;
  const int64_t P = p.oh * p.ow, HW = p.h * p.w;
  // Weights packed per block of OB output channels: [block][tap][OB], zero lanes past O.
  float* wpk = scratch(kScratchDirect, static_cast<size_t>(O_pad * taps + 2 * O_pad + 2 * taps));
  // (A channel-last transpose per block: at batch 1 a scalar strided copy cost as much as the conv.)
  const int threads = conv_threads(p, 2.0 * p.n * p.o * P * taps);
  const int64_t blocks = O_pad / OB;
  // Fewer images than threads (batch 1) and several channel blocks: split the blocks (below).
  const bool split_blocks = p.n < threads && blocks >= 2;
  if (!split_blocks)
    for (int64_t ob = 0; ob < O_pad; ob += OB)
      kChannelsLastAvx512(w + ob * taps, std::min(OB, p.o - ob), taps, wpk + ob * taps, OB);
  const float* scale = padded_vector(e.scale, p.o, O_pad, wpk + O_pad * taps);
  const float* shift = padded_vector(e.shift, p.o, O_pad, wpk + O_pad * taps + O_pad);
  const PaddedGrid pg(p);
  int64_t* tap_off = reinterpret_cast<int64_t*>(wpk + O_pad * taps + 2 * O_pad);
  for (int64_t c = 0, k = 0; c < p.c; c++)
    for (int64_t ki = 0; ki < p.kh; ki++)
      for (int64_t kj = 0; kj < p.kw; kj++) tap_off[k++] = c * pg.plane + ki * pg.Wp + kj;
  const int64_t slack = 16 * p.sw + p.kw + 64;  // reads of a ragged last tile past the last row
  const int64_t xsize = p.c * pg.plane + slack;
  // With the pool, conv rows come in pairs (a trailing odd row is never needed).
  const int64_t PH = p.oh / 2, Pout = e.pool ? PH * (p.ow / 2) : P, rows = e.pool ? 2 * PH : p.oh;
  const int64_t yb_size = P * O_pad + (e.pool ? Pout * O_pad : 0);
  auto job_for = [&](int64_t n, float* xp, float* yb) {
    pad_planes(x + n * p.c * HW, p, pg, p.c, xp);
    return DirectConvJob{xp,   pg.plane, pg.Wp, wpk, tap_off, p.c,   p.kh,  p.kw,  p.sh, p.sw,
                         p.o,  O_pad,    p.oh,  p.ow, scale, shift, e.residual ? e.residual + n * p.o * P : nullptr,
                         e.relu, e.pool, yb,     y + n * p.o * Pout,    tile.cols, tile.vecs, e.relu6};
  };
  if (split_blocks) {
    // Each thread takes whole channel blocks, packs their weights itself and computes every row
    // of them, so it reads only its own weights. (Split by rows, every thread pulled all packed
    // weights from the core that packed them, and two threads were slower than one.) Each
    // output element is computed as on any other path, so the result does not change.
    float* xp = scratch(kScratchCol, static_cast<size_t>(xsize));
    std::fill(xp + p.c * pg.plane, xp + xsize, 0.f);
    for (int64_t n = 0; n < p.n; n++) {
      const DirectConvJob image = job_for(n, xp, nullptr);
      parallel_for(blocks, static_cast<int>(std::min<int64_t>(threads, blocks)), [&](int64_t b, int64_t end) {
        float* wblock = scratch(kScratchPackB, static_cast<size_t>(OB * taps));
        float* yb = scratch(kScratchOut, static_cast<size_t>(P * OB + (e.pool ? Pout * OB : 0)));
        for (int64_t blk = b; blk < end; blk++) {
          const int64_t ob = blk * OB;
          kChannelsLastAvx512(w + ob * taps, std::min(OB, p.o - ob), taps, wblock, OB);
          DirectConvJob j = image;
          j.wpk = wblock;
          j.O = std::min(OB, p.o - ob);
          j.O_pad = OB;
          j.scale = scale ? scale + ob : nullptr;
          j.shift = shift ? shift + ob : nullptr;
          j.residual = image.residual ? image.residual + ob * P : nullptr;
          j.yb = yb;
          j.y = image.y + ob * Pout;
          kDirectConvRowsAvx512(j, 0, rows);
        }
      });
    }
    return;
  }
  if (p.n >= threads) {
    // Whole images per thread.
    parallel_for_balanced(p.n, threads, [&](int64_t b, int64_t end) {
      float* xp = scratch(kScratchCol, static_cast<size_t>(xsize));
      float* yb = scratch(kScratchOut, static_cast<size_t>(yb_size));
      std::fill(xp + p.c * pg.plane, xp + xsize, 0.f);
      for (int64_t n = b; n < end; n++) kDirectConvRowsAvx512(job_for(n, xp, yb), 0, rows);
    });
    return;
  }
  // Fewer images than threads (batch 1): the output rows of each image are split instead.
  float* xp = scratch(kScratchCol, static_cast<size_t>(xsize));
  float* yb = scratch(kScratchOut, static_cast<size_t>(yb_size));
  std::fill(xp + p.c * pg.plane, xp + xsize, 0.f);
  const int64_t step = e.pool ? 2 : 1, units = rows / step;
  for (int64_t n = 0; n < p.n; n++) {
    const DirectConvJob job = job_for(n, xp, yb);
    parallel_for(units, static_cast<int>(std::min<int64_t>(threads, units)),
                 [&](int64_t b, int64_t end) { kDirectConvRowsAvx512(job, b * step, end * step); });
  }
}

// Output channels per weight-gradient tile (16·vecs), or 0 where the direct kernels do not apply.
int direct_grad_vecs(const ConvParams& p) {
  if (!direct_enabled() || p.groups != 1 || p.dh != 1 || p.dw != 1 || is_pointwise(p)) return 0;
  if ((p.sw != 1 && p.sw != 2) || !((p.kh == 3 && p.kw == 3) || (p.kh == 1 && p.kw == 1))) return 0;
  if (p.oh <= 0 || p.ow <= 0) return 0;
  const int vecs = p.o > 16 ? 2 : 1;
  return static_cast<double>(p.o) / static_cast<double>(round_up(p.o, 16 * vecs)) >= 0.6 ? vecs : 0;
}

// partial[0..size) += partial[ch·size ..] for ch = 1 .. chunks−1, in chunk order (deterministic).
void sum_chunks(float* partial, int64_t chunks, int64_t size) {
  for (int64_t ch = 1; ch < chunks; ch++) {
    const float* src = partial + ch * size;
    for (int64_t i = 0; i < size; i++) partial[i] += src[i];
  }
}

// gw[o][k] = src[k][o] (k < taps, o < O; src rows O_pad wide): a weight gradient computed with
// the output channels in the vector lanes, back to OIHW.
void oihw_from_tap_major(const float* src, int64_t taps, int64_t O, int64_t O_pad, float* gw) {
  for (int64_t o = 0; o < O; o++)
    for (int64_t k = 0; k < taps; k++) gw[o * taps + k] = src[k * O_pad + o];
}

void direct_backward_weight(const float* x, const float* gy, const ConvParams& p, int vecs, float* gw,
                            int64_t chunks, int threads) {
  const int64_t O_pad = round_up(p.o, 16 * vecs), taps = p.c * p.kh * p.kw, size = taps * O_pad;
  const int64_t P = p.oh * p.ow, HW = p.h * p.w;
  const PaddedGrid pg(p);
  const int64_t xsize = p.c * pg.plane + 16;
  float* partial = scratch(kScratchMisc, static_cast<size_t>(chunks * size));
  auto job_for = [&](int64_t n, float* xp, float* gyT, float* dst) {
    pad_planes(x + n * p.c * HW, p, pg, p.c, xp);
    kChannelsLastAvx512(gy + n * p.o * P, p.o, P, gyT, O_pad);
    return DirectGradJob{xp, pg.plane, pg.Wp, gyT, O_pad, p.kh, p.kw, p.sh, p.sw, p.oh, p.ow, dst, vecs};
  };
  if (chunks >= threads) {
    // Whole chunks of images per thread, each into its own partial sum.
    parallel_for(chunks, threads, [&](int64_t b, int64_t e) {
      float* xp = scratch(kScratchCol, static_cast<size_t>(xsize));
      float* gyT = scratch(kScratchOut, static_cast<size_t>(P * O_pad));
      for (int64_t ch = b; ch < e; ch++) {
        int64_t n0, n1;
        split_range(p.n, static_cast<int>(chunks), static_cast<int>(ch), n0, n1);
        float* dst = partial + ch * size;
        std::fill(dst, dst + size, 0.f);
        for (int64_t n = n0; n < n1; n++) kDirectGradAvx512(job_for(n, xp, gyT, dst), 0, p.c);
      }
    });
  } else {
    // Few images: each image's input channels are split between threads instead.
    float* xp = scratch(kScratchCol, static_cast<size_t>(xsize));
    float* gyT = scratch(kScratchOut, static_cast<size_t>(P * O_pad));
    for (int64_t ch = 0; ch < chunks; ch++) {
      int64_t n0, n1;
      split_range(p.n, static_cast<int>(chunks), static_cast<int>(ch), n0, n1);
      float* dst = partial + ch * size;
      std::fill(dst, dst + size, 0.f);
      for (int64_t n = n0; n < n1; n++) {
        const DirectGradJob job = job_for(n, xp, gyT, dst);
        parallel_for(p.c, static_cast<int>(std::min<int64_t>(threads, p.c)),
                     [&](int64_t b, int64_t e) { kDirectGradAvx512(job, b, e); });
      }
    }
  }
  // Partials summed in chunk order, then back from [tap][channel] to the OIHW layout.
  sum_chunks(partial, chunks, size);
  oihw_from_tap_major(partial, taps, p.o, O_pad, gw);
}

// ---- Winograd F(2×2, 3×3) (conv_winograd.h): 3×3 stride-1 convolutions --------------------

// NABLA_CONV_WINOGRAD=0 keeps these convolutions on the direct / GEMM paths (for benchmarks). Read
// at every call (a few nanoseconds), so a benchmark can switch it within one process.

bool winograd_enabled() {
  const char* v = std::getenv("NABLA_CONV_WINOGRAD");
  const bool off = v != nullptr && std::strcmp(v, "0") == 0;
  return !off && kWinogradAvx512 != nullptr && kDirectFinishAvx512 != nullptr &&
         std::strcmp(gemm_kernel().isa, "avx512") == 0;
}

struct WinogradPlan {
  int rows = 0, vecs = 0;  // the GEMM register block: tiles × 16·vecs output channels
};

// The GEMM block for this shape; rows 0 where Winograd does not apply. The choice depends on the
// layer's shape only, never on the thread count. Too few input channels make the 16 GEMMs too
// short to pay for the transforms (bench/native/conv-layers.ts, NABLA_CONV_WINOGRAD=0 for the
// other paths).
// The compiled GEMM block (tiles) for 16·vecs output channels that pads the layer's tiles least.
int winograd_rows(const ConvParams& p, int vecs) {
  const int64_t tiles = ceil_div(p.oh, 2) * ceil_div(p.ow, 2);
  int rows = 0;
  int64_t waste = 0;
  for (const int r : vecs == 1 ? kWinogradRows1 : kWinogradRows2) {
    const int64_t w = round_up(tiles, r) - tiles;
    if (rows == 0 || w < waste) rows = r, waste = w;
  }
  return rows;
}

WinogradPlan winograd_plan(const ConvParams& p) {
  WinogradPlan plan;
  if (!winograd_enabled()) return plan;
  if (p.groups != 1 || p.kh != 3 || p.kw != 3 || p.sh != 1 || p.sw != 1 || p.dh != 1 || p.dw != 1) return plan;
  if (p.oh < 2 || p.ow < 2 || p.c < 16 || p.o < 16) return plan;
  const int vecs = p.o <= 16 ? 1 : 2;
  if (static_cast<double>(p.o) / static_cast<double>(round_up(p.o, 16 * vecs)) < 0.75) return plan;
  plan.rows = winograd_rows(p, vecs);
  plan.vecs = vecs;
  return plan;
}

// Transformed weights of recent convolutions, per calling thread. Inference runs the same layers
// with the same weights call after call, and at batch 1 transforming them cost more than the
// convolution saved. An entry is reused only while the weights hold exactly the same bits
// (compared in full each call, several times cheaper than the transform); training changes them
// every step and so recomputes. At most kCacheBytes are kept, oldest entries evicted first.
struct CachedWeights {
  const float* key = nullptr;  // the weights' address (a hint; the contents decide)
  int64_t c = 0, o = 0, O_pad = 0;
  int64_t block = 0;           // 0: U is [16][C][O_pad]; else [O_pad / block][16][C][block]
  std::vector<float> w;        // the weights the transform was made from
  float* U = nullptr;          // 64-byte aligned
  size_t bytes = 0;
  uint64_t used = 0;
  ~CachedWeights() {
    std::free(U);
    g_scratch_bytes -= static_cast<int64_t>(bytes);
  }
};
constexpr size_t kCacheBytes = size_t(64) << 20;
thread_local std::vector<std::unique_ptr<CachedWeights>> t_weight_cache;
thread_local uint64_t t_weight_clock = 0;

// Whether a[0..n) and b[0..n) hold the same bits; split between threads when they are large
// (at batch 1 the check ran on the calling thread alone while the others waited).
bool same_bits(const float* a, const float* b, size_t n, int threads) {
  if (threads <= 1 || n < (size_t(1) << 14)) return std::memcmp(a, b, n * sizeof(float)) == 0;
  std::atomic<bool> same{true};
  parallel_for(static_cast<int64_t>(n), threads, [&](int64_t i0, int64_t i1) {
    if (std::memcmp(a + i0, b + i0, static_cast<size_t>(i1 - i0) * sizeof(float)) != 0) same = false;
  });
  return same;
}

// Whether cache entry e is for these weights, shape and layout.
bool same_layer(const CachedWeights& e, const float* w, const ConvParams& p, int64_t O_pad, int64_t block) {
  return e.key == w && e.c == p.c && e.o == p.o && e.O_pad == O_pad && e.block == block;
}

// A new cache entry for these weights (a copy of them, U not yet computed), after dropping the
// layer's old entry (its weights changed) and then the oldest ones past the budget; null when it
// does not fit.
CachedWeights* new_cache_entry(const float* w, const ConvParams& p, int64_t O_pad, int64_t block) {
  const size_t n = static_cast<size_t>(p.o * p.c * 9), u = static_cast<size_t>(16 * p.c * O_pad);
  const size_t bytes = (n + u) * sizeof(float);
  if (bytes > kCacheBytes) return nullptr;
  auto& cache = t_weight_cache;
  cache.erase(std::remove_if(cache.begin(), cache.end(),
                             [&](const auto& e) { return same_layer(*e, w, p, O_pad, block); }),
              cache.end());
  size_t total = bytes;
  for (auto& e : cache) total += e->bytes;
  while (total > kCacheBytes) {
    auto oldest = std::min_element(cache.begin(), cache.end(), [](auto& a, auto& b) { return a->used < b->used; });
    total -= (*oldest)->bytes;
    cache.erase(oldest);
  }
  auto e = std::make_unique<CachedWeights>();
  e->U = static_cast<float*>(std::aligned_alloc(64, u * sizeof(float)));
  if (e->U == nullptr) return nullptr;
  e->key = w, e->c = p.c, e->o = p.o, e->O_pad = O_pad, e->block = block, e->w.assign(w, w + n), e->bytes = bytes;
  e->used = ++t_weight_clock;
  g_scratch_bytes += static_cast<int64_t>(bytes);
  cache.push_back(std::move(e));
  return cache.back().get();
}

// U for these weights: from the cache, or transformed (and cached when it fits).
const float* winograd_weights(const float* w, const ConvParams& p, int64_t O_pad, int threads) {
  const WinogradKernels& K = *kWinogradAvx512;
  const size_t n = static_cast<size_t>(p.o * p.c * 9), u = static_cast<size_t>(16 * p.c * O_pad);
  for (auto& e : t_weight_cache) {
    if (same_layer(*e, w, p, O_pad, 0) && same_bits(e->w.data(), w, n, threads)) {
      e->used = ++t_weight_clock;
      return e->U;
    }
  }
  float* wT = scratch(kScratchWinoU, static_cast<size_t>(p.c * 9 * O_pad) + u);
  kChannelsLastAvx512(w, p.o, p.c * 9, wT, O_pad);
  CachedWeights* e = new_cache_entry(w, p, O_pad, 0);
  float* U = e ? e->U : wT + p.c * 9 * O_pad;
  parallel_for(p.c, threads, [&](int64_t c0, int64_t c1) { K.weights(wT, p.c, O_pad, U, c0, c1); });
  return U;
}

// The cache entry of these weights in the blocked layout (U per block of `block` output
// channels, [blocks][16][C][block]), made (with `fresh` set: nothing transformed yet) when there
// is none; null when it would not fit the cache. The weights are checked, and U transformed, block
// by block by the threads that use them (winograd_forward at batch 1).
CachedWeights* blocked_weights_entry(const float* w, const ConvParams& p, int64_t O_pad, int64_t block, bool& fresh) {
  fresh = false;
  for (auto& e : t_weight_cache) {
    if (same_layer(*e, w, p, O_pad, block)) {
      e->used = ++t_weight_clock;
      return e.get();
    }
  }
  CachedWeights* e = new_cache_entry(w, p, O_pad, block);
  fresh = e != nullptr;
  return e;
}

// NABLA_WINOGRAD_BLOCKS=0 keeps batch-1 Winograd on its tile split (for comparisons; read per call).
bool winograd_blocks_enabled() {
  const char* v = std::getenv("NABLA_WINOGRAD_BLOCKS");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

// What an image's steps share: its shape, tiles, padded sizes and output size (the chunk size,
// buffers, input pointer and epilogue are the caller's).
WinogradImage winograd_geometry(const ConvParams& p, int64_t O_pad) {
  WinogradImage im{};
  im.C = p.c, im.H = p.h, im.W = p.w, im.ph = p.ph, im.pw = p.pw;
  im.TH = ceil_div(p.oh, 2), im.TW = ceil_div(p.ow, 2), im.T = im.TH * im.TW;
  im.Cp = round_up(p.c, 16), im.Hp = 2 * im.TH + 2, im.Wp = 2 * im.TW + 2;
  im.out.O = p.o, im.out.O_pad = O_pad, im.out.OH = p.oh, im.out.OW = p.ow;
  return im;
}

// Tiles whose transformed input and output (16 positions each) fit in about 128 KB, so a chunk's
// data stays in L2 between its steps.
int64_t winograd_chunk(const ConvParams& p, int64_t O_pad) {
  const int64_t per_tile = 16 * (round_up(p.c, 16) + O_pad) * static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(1, (128 << 10) / per_tile);
}

// Where a batch-1 Winograd convolution takes its input and leaves its output. By default it pads
// x itself and writes y (NCHW). The two convolutions of a pair (winograd_pair_b1) instead hand the
// intermediate over in the second's padded channel-last layout: the first's output tiles are
// written straight into that buffer (xT_out, see hand_over), which the second reads as its padded
// input (xT_in), shared by the threads; the transpose back to NCHW and the pad, pure copies, are
// skipped. (A batch's pairs, winograd_pair_forward, hand over the same way on each core.)
struct ImageIo {
  const float* xT_in = nullptr;  // the image already padded, [Hp][Wp][Cp]; null: pad x
  float* xT_out = nullptr;       // the next convolution's padded input; null: finish into y
  int64_t Hp = 0, Wp = 0, Cp = 0, ph = 0, pw = 0;  // xT_out's rows, row length, channels, padding
  int64_t H = 0, W = 0;                            // the image inside xT_out's border
};

// Zeroes the border of a padded channel-last image [Hp][Wp][Cp] around its H × W interior at
// (ph, pw): in rows [r0, r1), channels [c0, c1). zero_border(io) is the whole of it.
void zero_border_part(const ImageIo& io, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t row = io.Wp * io.Cp;
  auto zero_pixels = [&](float* d, int64_t pixels) {
    for (int64_t q = 0; q < pixels; q++) std::fill(d + q * io.Cp + c0, d + q * io.Cp + c1, 0.f);
  };
  for (int64_t r = r0; r < r1; r++) {
    float* d = io.xT_out + r * row;
    if (r < io.ph || r >= io.ph + io.H) {
      zero_pixels(d, io.Wp);
    } else {
      zero_pixels(d, io.pw);
      zero_pixels(d + (io.pw + io.W) * io.Cp, io.Wp - io.pw - io.W);
    }
  }
}

void zero_border(const ImageIo& io) { zero_border_part(io, 0, io.Hp, 0, io.Cp); }

// Where the output tiles of channels [o0, …) go in io.xT_out: its interior, pixel after pixel.
void hand_over(DirectConvJob& j, const ImageIo& io, int64_t o0) {
  j.yb = io.xT_out + (io.ph * io.Wp + io.pw) * io.Cp + o0;
  j.yb_px = io.Cp;
  j.yb_row = io.Wp * io.Cp;
}

// Fewer images than threads (batch 1) with at least two blocks of output channels: each thread
// takes whole blocks, checks and transforms their weights itself (U for a block depends on that
// block's weights only) and runs every tile of the image for them, then their output planes. A
// thread so reads only its own blocks' weights, the same ones call after call, which stay in its
// core's cache; split by tiles, every thread read all of them. Each output element is computed
// as on the other paths (channels summed in order in the GEMMs), so results do not change.
// `scale` and `shift` are the epilogue padded to whole blocks. False (nothing done) with one block.
bool winograd_forward_blocks(const float* x, const float* w, const ConvParams& p, const WinogradPlan& plan, float* y,
                             const float* scale, const float* shift, const ConvEpilogue& e, int threads,
                             const ImageIo& io) {
  if (!winograd_blocks_enabled()) return false;
  // Blocks of 32 channels (vecs 2) when there are at least two, else of 16 (vecs 1).
  int vecs = plan.vecs;
  if (round_up(p.o, 16 * vecs) / (16 * vecs) < 2) vecs = 1;
  const int64_t OB = 16 * vecs, blocks = ceil_div(p.o, OB);
  if (blocks < 2) return false;
  const int rows = vecs == plan.vecs ? plan.rows : winograd_rows(p, vecs);
  const WinogradKernels& K = *kWinogradAvx512;
  const int64_t taps = p.c * 9, u_block = 16 * p.c * OB;
  bool fresh = false;
  CachedWeights* entry = blocked_weights_entry(w, p, blocks * OB, OB, fresh);
  // Without a cache entry (too large) every call transforms into the calling thread's scratch.
  float* U = entry ? entry->U : scratch(kScratchWinoU, static_cast<size_t>(blocks * u_block));
  WinogradImage geometry = winograd_geometry(p, OB);
  const int64_t T = geometry.T, HW = p.h * p.w, P = p.oh * p.ow;
  const int64_t Pout = e.pool ? (p.oh / 2) * (p.ow / 2) : P;
  const int64_t CH = std::min(round_up(winograd_chunk(p, OB), rows), round_up(T, rows));
  geometry.CH = CH, geometry.rows = rows, geometry.vecs = vecs;
  const size_t xt_size = static_cast<size_t>(geometry.Hp * geometry.Wp * geometry.Cp);
  const size_t yb_size = static_cast<size_t>((P + (e.pool ? Pout : 0)) * OB);
  for (int64_t n = 0; n < p.n; n++) {
    parallel_for(blocks, static_cast<int>(std::min<int64_t>(threads, blocks)), [&](int64_t b0, int64_t b1) {
      WinogradImage im = geometry;
      im.x = x + n * p.c * HW;
      im.xT = io.xT_in ? const_cast<float*>(io.xT_in) : scratch(kScratchCol, xt_size);
      im.V = scratch(kScratchWinoV, static_cast<size_t>(16 * CH * geometry.Cp));
      im.M = scratch(kScratchWinoM, static_cast<size_t>(16 * CH * OB));
      float* yb = scratch(kScratchOut, yb_size);
      float* wT = nullptr;
      if (!io.xT_in) K.pad(im, 0, im.Hp);
      for (int64_t b = b0; b < b1; b++) {
        const int64_t o0 = b * OB, ob = std::min(OB, p.o - o0);
        const float* wb = w + o0 * taps;
        float* Ub = U + b * u_block;
        float* saved = entry ? entry->w.data() + o0 * taps : nullptr;
        const size_t len = static_cast<size_t>(ob * taps);
        // (Checked with the first image; the weights cannot change within the call.)
        if (n == 0 && (!entry || fresh || std::memcmp(saved, wb, len * sizeof(float)) != 0)) {
          if (wT == nullptr) wT = scratch(kScratchPackB, static_cast<size_t>(taps * OB));
          kChannelsLastAvx512(wb, ob, taps, wT, OB);
          K.weights(wT, p.c, OB, Ub, 0, p.c);
          if (entry && !fresh) std::memcpy(saved, wb, len * sizeof(float));
        }
        im.U = Ub;
        DirectConvJob& j = im.out;
        j.O = ob, j.O_pad = OB;
        j.scale = scale ? scale + o0 : nullptr, j.shift = shift ? shift + o0 : nullptr;
        j.residual = e.residual ? e.residual + (n * p.o + o0) * P : nullptr;
        j.relu = e.relu, j.relu6 = e.relu6, j.pool = e.pool;
        j.yb = yb, j.y = y + (n * p.o + o0) * Pout;
        if (io.xT_out) {
          // The tiles write the next input directly; its border for these channels is zeroed
          // here too, by the core that writes and then reads them.
          hand_over(j, io, o0);
          zero_border_part(io, 0, io.Hp, o0, o0 + OB);
        }
        for (int64_t t = 0; t < T; t += CH) K.tiles(im, t, std::min(T, t + CH));
        if (!io.xT_out) kDirectFinishAvx512(j, 0, p.oh);
      }
    });
  }
  return true;
}

// `io` (batch 1 only: p.n below the thread count) is how a pair's convolutions hand over.
void winograd_forward(const float* x, const float* w, const ConvParams& p, const WinogradPlan& plan, float* y,
                      const ConvEpilogue& e, const ImageIo& io = {}) {
  const WinogradKernels& K = *kWinogradAvx512;
  const int64_t O_pad = round_up(p.o, 16 * plan.vecs);
  WinogradImage geometry = winograd_geometry(p, O_pad);
  const int64_t T = geometry.T, HW = p.h * p.w, P = p.oh * p.ow;
  const int64_t PH = p.oh / 2, Pout = e.pool ? PH * (p.ow / 2) : P;
  const double flops = 2.0 * p.n * p.o * P * p.c * 9;
  const int threads = threads_for(flops, 1 << 18);
  float* epi = scratch(kScratchWinoE, static_cast<size_t>(2 * O_pad));  // the padded epilogue
  const float* scale = padded_vector(e.scale, p.o, O_pad, epi);
  const float* shift = padded_vector(e.shift, p.o, O_pad, epi + O_pad);
  if (p.n < threads && winograd_forward_blocks(x, w, p, plan, y, scale, shift, e, threads, io)) return;
  const float* U = winograd_weights(w, p, O_pad, p.n >= threads ? 1 : threads);
  // Tiles per chunk, a multiple of the GEMM block.
  const int64_t CH = std::min(round_up(winograd_chunk(p, O_pad), plan.rows), round_up(T, plan.rows));
  geometry.CH = CH;
  const int64_t Cp = geometry.Cp;
  const size_t xt_size = static_cast<size_t>(geometry.Hp * geometry.Wp * Cp);
  const size_t yb_size = static_cast<size_t>(P * O_pad + (e.pool ? Pout * O_pad : 0));
  auto image = [&](int64_t n, float* xT, float* yb) {
    WinogradImage im = geometry;
    im.x = x + n * p.c * HW;
    im.U = U, im.xT = xT, im.rows = plan.rows, im.vecs = plan.vecs;
    DirectConvJob& j = im.out;
    j.scale = scale, j.shift = shift, j.residual = e.residual ? e.residual + n * p.o * P : nullptr;
    j.relu = e.relu, j.relu6 = e.relu6, j.pool = e.pool;
    j.yb = yb, j.y = y + n * p.o * Pout;
    return im;
  };
  // This thread's chunk buffers in im.
  auto with_chunk_buffers = [&](WinogradImage im) {
    im.V = scratch(kScratchWinoV, static_cast<size_t>(16 * CH * Cp));
    im.M = scratch(kScratchWinoM, static_cast<size_t>(16 * CH * O_pad));
    return im;
  };
  if (p.n >= threads) {
    // Whole images per thread: every step of an image on one core, its buffers in its caches.
    parallel_for_balanced(p.n, threads, [&](int64_t b, int64_t end) {
      float* xT = scratch(kScratchCol, xt_size);
      float* yb = scratch(kScratchOut, yb_size);
      for (int64_t n = b; n < end; n++) {
        const WinogradImage im = with_chunk_buffers(image(n, xT, yb));
        K.pad(im, 0, im.Hp);
        for (int64_t t = 0; t < T; t += CH) K.tiles(im, t, std::min(T, t + CH));
        kDirectFinishAvx512(im.out, 0, p.oh);
      }
    });
    return;
  }
  // Fewer images than threads (batch 1) and one block of output channels: the rows of tiles are
  // split between the threads, one dispatch per image. A thread pads the input rows its tiles
  // read (the two it shares with its neighbour too, into its own buffer), computes its tiles in
  // chunks and writes their output rows (every tile is computed as in a batch).
  for (int64_t n = 0; n < p.n; n++) {
    parallel_for(geometry.TH, threads, [&](int64_t tr0, int64_t tr1) {
      float* xT = io.xT_in ? const_cast<float*>(io.xT_in) : scratch(kScratchCol, xt_size);
      WinogradImage im = with_chunk_buffers(image(n, xT, io.xT_out ? nullptr : scratch(kScratchOut, yb_size)));
      if (io.xT_out) {
        // The tiles write the next input directly. Its border in the rows they write (with the
        // rows above the first and below the last) is zeroed here too, so the thread that reads
        // those rows next (the same one, the pool's shares being stable) finds them in its cache.
        hand_over(im.out, io, 0);
        zero_border_part(io, tr0 == 0 ? 0 : io.ph + 2 * tr0, tr1 == im.TH ? io.Hp : io.ph + 2 * tr1, 0, io.Cp);
      }
      if (!io.xT_in) K.pad(im, 2 * tr0, std::min(im.Hp, 2 * tr1 + 2));
      const int64_t t1 = tr1 * im.TW;
      for (int64_t t = tr0 * im.TW; t < t1; t += CH) K.tiles(im, t, std::min(t1, t + CH));
      if (!io.xT_out) kDirectFinishAvx512(im.out, 2 * tr0, std::min(p.oh, 2 * tr1));
    });
  }
}

// A pair at batch 1 (fewer images than threads): each convolution split between the threads as
// on its own (winograd_forward), with the intermediate handed over in the second's padded
// channel-last input (ImageIo) instead of through `mid`: per residual block, one transpose back to
// NCHW and one pad fewer, and the second convolution's threads no longer pad the whole image
// each. Same bits as two calls. False (nothing done) where a convolution would not take the
// batch-1 paths. NABLA_WINOGRAD_PAIR_B1=0 runs pairs as two calls here (for comparisons; read per
// call).
bool winograd_pair_b1(const float* x, const float* w1, const ConvParams& p1, const WinogradPlan& plan1,
                      const ConvEpilogue& e1, float* mid, const float* w2, const ConvParams& p2,
                      const WinogradPlan& plan2, const ConvEpilogue& e2, float* y) {
  if (const char* v = std::getenv("NABLA_WINOGRAD_PAIR_B1"); v != nullptr && std::strcmp(v, "0") == 0) return false;
  ConvParams one1 = p1, one2 = p2;
  one1.n = one2.n = 1;
  // Each image's convolutions must take the batch-1 paths, which are the ones that read `io`.
  if (threads_for(2.0 * p1.o * p1.oh * p1.ow * p1.c * 9, 1 << 18) < 2) return false;
  if (threads_for(2.0 * p2.o * p2.oh * p2.ow * p2.c * 9, 1 << 18) < 2) return false;
  // The first's tiles write all their lanes (its channels rounded up to its GEMM block) into the
  // second's input, which has its channels rounded up to 16: they must be the same.
  if (p1.o > 16 && p1.o % 32 != 0) return false;
  const WinogradImage g2 = winograd_geometry(p2, round_up(p2.o, 16 * plan2.vecs));
  float* xT2 = scratch(kScratchWinoX2, static_cast<size_t>(g2.Hp * g2.Wp * g2.Cp));
  // (The first convolution's threads write the interior, every image, and zero the border.)
  ImageIo handover;
  handover.Hp = g2.Hp, handover.Wp = g2.Wp, handover.Cp = g2.Cp, handover.ph = g2.ph, handover.pw = g2.pw;
  handover.H = p2.h, handover.W = p2.w;
  ImageIo out = handover, in = handover;
  out.xT_out = xT2;
  in.xT_in = xT2;
  const int64_t P2 = p2.oh * p2.ow;
  for (int64_t n = 0; n < p1.n; n++) {
    // (mid is not written; it stands in for the first's output and the second's input pointers.)
    winograd_forward(x + n * p1.c * p1.h * p1.w, w1, one1, plan1, mid, e1, out);
    ConvEpilogue second = e2;
    if (e2.residual) second.residual = e2.residual + n * p2.o * P2;
    winograd_forward(mid, w2, one2, plan2, y + n * p2.o * P2, second, in);
  }
  return true;
}

// Two Winograd convolutions in a row over a batch (a residual block: conv → BN → ReLU → conv → BN
// (+ residual) → ReLU), each image through both on one thread. The first's output tiles are
// written straight into the second's padded channel-last input, which is what its NCHW output
// would have been transposed and padded into: the intermediate never leaves the core's cache or
// changes layout, and each output holds the same bits as with two calls. False (nothing
// done) when the pair does not fit that: other paths, a pool, a residual on the first, or channel
// padding that differs between the first's output and the second's input. Fewer images than
// threads (batch 1) go to winograd_pair_b1.
bool winograd_pair_forward(const float* x, const float* w1, const ConvParams& p1, const ConvEpilogue& e1, float* mid,
                           const float* w2, const ConvParams& p2, const ConvEpilogue& e2, float* y) {
  // NABLA_WINOGRAD_PAIR=0 runs pairs as two calls (for comparisons; read per call).
  if (const char* v = std::getenv("NABLA_WINOGRAD_PAIR"); v != nullptr && std::strcmp(v, "0") == 0) return false;
  const WinogradPlan plan1 = winograd_plan(p1), plan2 = winograd_plan(p2);
  if (!plan1.rows || !plan2.rows || e1.pool || e2.pool || e1.residual) return false;
  if (p2.n != p1.n || p2.c != p1.o || p2.h != p1.oh || p2.w != p1.ow) return false;
  const int64_t O1 = round_up(p1.o, 16 * plan1.vecs), O2 = round_up(p2.o, 16 * plan2.vecs);
  if (O1 != round_up(p2.c, 16)) return false;
  const int threads = threads_for(2.0 * p1.n * p1.o * p1.oh * p1.ow * p1.c * 9, 1 << 18);
  if (p1.n < threads) return winograd_pair_b1(x, w1, p1, plan1, e1, mid, w2, p2, plan2, e2, y);
  // The epilogues padded to whole vectors: [scale1 | shift1 | scale2 | shift2].
  float* epi = scratch(kScratchWinoE, static_cast<size_t>(2 * (O1 + O2)));
  const float* scale1 = padded_vector(e1.scale, p1.o, O1, epi);
  const float* shift1 = padded_vector(e1.shift, p1.o, O1, epi + O1);
  const float* scale2 = padded_vector(e2.scale, p2.o, O2, epi + 2 * O1);
  const float* shift2 = padded_vector(e2.shift, p2.o, O2, epi + 2 * O1 + O2);
  const float* U1 = winograd_weights(w1, p1, O1, 1);
  const float* U2 = winograd_weights(w2, p2, O2, 1);
  WinogradImage g1 = winograd_geometry(p1, O1), g2 = winograd_geometry(p2, O2);
  g1.CH = std::min(round_up(winograd_chunk(p1, O1), plan1.rows), round_up(g1.T, plan1.rows));
  g2.CH = std::min(round_up(winograd_chunk(p2, O2), plan2.rows), round_up(g2.T, plan2.rows));
  g1.U = U1, g1.rows = plan1.rows, g1.vecs = plan1.vecs;
  g2.U = U2, g2.rows = plan2.rows, g2.vecs = plan2.vecs, g2.x = nullptr;
  DirectConvJob& j1 = g1.out;
  j1.scale = scale1, j1.shift = shift1, j1.residual = nullptr, j1.relu = e1.relu, j1.relu6 = e1.relu6;
  j1.pool = false, j1.y = nullptr;
  DirectConvJob& j2 = g2.out;
  j2.scale = scale2, j2.shift = shift2, j2.relu = e2.relu, j2.relu6 = e2.relu6, j2.pool = false;
  const int64_t HW1 = p1.h * p1.w, P2 = p2.oh * p2.ow, Cp2 = g2.Cp;
  const size_t xt1 = static_cast<size_t>(g1.Hp * g1.Wp * g1.Cp), xt2 = static_cast<size_t>(g2.Hp * g2.Wp * Cp2);
  const size_t v_size = static_cast<size_t>(16 * std::max(g1.CH * g1.Cp, g2.CH * Cp2));
  const size_t m_size = static_cast<size_t>(16 * std::max(g1.CH * O1, g2.CH * O2));
  const size_t yb_size = static_cast<size_t>(P2 * O2);  // the second's (the first's goes to im2.xT)
  parallel_for_balanced(p1.n, threads, [&](int64_t b, int64_t end) {
    WinogradImage im1 = g1, im2 = g2;
    im1.xT = scratch(kScratchCol, xt1);
    im2.xT = scratch(kScratchWinoX2, xt2);
    im1.V = im2.V = scratch(kScratchWinoV, v_size);
    im1.M = im2.M = scratch(kScratchWinoM, m_size);
    im2.out.yb = scratch(kScratchOut, yb_size);
    // The first's output tiles go straight into the second's padded input (its O1 lanes are the
    // second's Cp2 channels).
    ImageIo handover;
    handover.xT_out = im2.xT, handover.Hp = g2.Hp, handover.Wp = g2.Wp, handover.Cp = Cp2;
    handover.ph = g2.ph, handover.pw = g2.pw, handover.H = p2.h, handover.W = p2.w;
    zero_border(handover);
    hand_over(im1.out, handover, 0);
    for (int64_t n = b; n < end; n++) {
      im1.x = x + n * p1.c * HW1;
      kWinogradAvx512->pad(im1, 0, im1.Hp);
      for (int64_t t = 0; t < im1.T; t += im1.CH) kWinogradAvx512->tiles(im1, t, std::min(im1.T, t + im1.CH));
      im2.out.residual = e2.residual ? e2.residual + n * p2.o * P2 : nullptr;
      im2.out.y = y + n * p2.o * P2;
      for (int64_t t = 0; t < im2.T; t += im2.CH) kWinogradAvx512->tiles(im2, t, std::min(im2.T, t + im2.CH));
      kDirectFinishAvx512(im2.out, 0, p2.oh);
    }
  });
  return true;
}

// The weight gradient with the same tiles: per chunk of images (fixed by the shape, as on the
// other paths) a partial GW[ξ][c][o] summed over its images' tiles in order, the partials summed
// in chunk order, then gw = Gᵀ GW G back to OIHW. Deterministic for any thread count.
void winograd_backward_weight(const float* x, const float* gy, const ConvParams& p, const WinogradPlan& plan, float* gw,
                              int64_t chunks, int threads) {
  const WinogradKernels& K = *kWinogradAvx512;
  const int64_t O_pad = round_up(p.o, 16 * plan.vecs);
  WinogradImage geometry = winograd_geometry(p, O_pad);
  const int64_t T = geometry.T, Cp = geometry.Cp, CH = std::min(winograd_chunk(p, O_pad), T);
  geometry.CH = CH, geometry.vecs = plan.vecs;
  const int64_t HW = p.h * p.w, P = p.oh * p.ow, size = 16 * Cp * O_pad;
  float* partial = scratch(kScratchMisc, static_cast<size_t>(chunks * size));
  const size_t xt_size = static_cast<size_t>(geometry.Hp * geometry.Wp * Cp);
  parallel_for_balanced(chunks, static_cast<int>(std::min<int64_t>(threads, chunks)), [&](int64_t b, int64_t e) {
    WinogradImage im = geometry;
    im.xT = scratch(kScratchCol, xt_size);
    float* gyT = scratch(kScratchOut, static_cast<size_t>(P * O_pad));
    im.gyT = gyT;
    im.V = scratch(kScratchWinoV, static_cast<size_t>(16 * CH * Cp));
    im.M = scratch(kScratchWinoM, static_cast<size_t>(16 * CH * O_pad));
    for (int64_t ch = b; ch < e; ch++) {
      int64_t n0, n1;
      split_range(p.n, static_cast<int>(chunks), static_cast<int>(ch), n0, n1);
      float* GW = partial + ch * size;
      std::fill(GW, GW + size, 0.f);
      for (int64_t n = n0; n < n1; n++) {
        im.x = x + n * p.c * HW;
        K.pad(im, 0, im.Hp);
        kChannelsLastAvx512(gy + n * p.o * P, p.o, P, gyT, O_pad);
        for (int64_t t = 0; t < T; t += CH) K.grad_tiles(im, t, std::min(T, t + CH), GW);
      }
    }
  });
  sum_chunks(partial, chunks, size);
  float* gwT = scratch(kScratchWinoU, static_cast<size_t>(p.c * 9 * O_pad));
  parallel_for(p.c, threads, [&](int64_t c0, int64_t c1) { K.grad_weights(partial, Cp, O_pad, gwT, c0, c1); });
  oihw_from_tap_major(gwT, p.c * 9, p.o, O_pad, gw);
}

}  // namespace

// The convolution and a pool-free epilogue: the direct path when it applies, else the GEMM or
// depthwise paths with the epilogue applied to each image right after its GEMM.
static void forward_with_epilogue(const float* x, const float* w, const ConvParams& p, float* y,
                                  const ConvEpilogue& ep) {
  if (const WinogradPlan plan = winograd_plan(p); plan.rows) return winograd_forward(x, w, p, plan, y, ep);
  DirectTile tile{0, 0};
  if (direct_plan(p, tile)) return direct_forward(x, w, p, tile, y, ep);
  if (is_depthwise(p)) {
    return depthwise_forward(x, w, p, y, &ep);
  }
  const int64_t G = p.groups, Cg = p.c / G, Og = p.o / G, CK = Cg * p.kh * p.kw, P = p.oh * p.ow;
  const int64_t HW = p.h * p.w;
  const bool pointwise = is_pointwise(p);
  const int threads = conv_threads(p, 2.0 * p.n * p.o * P * CK);
  // Whole images per thread when there are enough of them; otherwise threads inside each GEMM.
  const int outer = p.n >= threads ? threads : 1;
  const int inner = p.n >= threads ? 1 : threads;
  if (!pointwise && use_padded_grid(p)) {
    const PaddedGrid pg(p);
    parallel_for_balanced(p.n, outer, [&](int64_t b, int64_t e) {
      const int64_t* off = row_offsets(p, pg, Cg);
      float* xp = scratch(kScratchCol, static_cast<size_t>(p.c * pg.plane + pg.slack));
      float* yq = scratch(kScratchOut, static_cast<size_t>(Og * pg.Pq));
      std::fill(xp + p.c * pg.plane, xp + p.c * pg.plane + pg.slack, 0.f);
      for (int64_t n = b; n < e; n++) {
        pad_planes(x + n * p.c * HW, p, pg, p.c, xp);
        for (int64_t g = 0; g < G; g++) {
          if (rows_gemm_available()) {
            rows_gemm(Og, pg.Pq, CK, w + g * Og * CK, xp + g * Cg * pg.plane, off, yq, inner);
          } else {
            StridedSource wa(w + g * Og * CK, CK, 1);
            RunSource xb(xp + g * Cg * pg.plane, 0, pg.Pq, off);
            gemm(Og, pg.Pq, CK, {&wa, false}, {&xb, false}, yq, pg.Pq, 1, false, inner);
          }
          const int64_t at = n * p.o * P + g * Og * P;
          for (int64_t o = 0; o < Og; o++) {
            for (int64_t oh = 0; oh < p.oh; oh++) {
              const int64_t row = at + (o * p.oh + oh) * p.ow;
              epilogue_run(y + row, yq + o * pg.Pq + oh * pg.Wp, p.ow, g * Og + o, ep,
                           ep.residual ? ep.residual + row : nullptr);
            }
          }
        }
      }
    });
    return;
  }
  auto image = [&](int64_t n) {
    for (int64_t g = 0; g < G; g++) {
      StridedSource wa(w + g * Og * CK, CK, 1);
      const float* xg = x + n * p.c * HW + g * Cg * HW;
      float* yg = y + n * p.o * P + g * Og * P;
      if (pointwise) {
        StridedSource xb(xg, HW, 1);
        gemm(Og, P, CK, {&wa, false}, {&xb, false}, yg, P, 1, false, inner);
      } else {
        PatchSource xb(xg, p);
        gemm(Og, P, CK, {&wa, false}, {&xb, false}, yg, P, 1, false, inner);
      }
      // Right after this image's GEMM, while its output is still in cache.
      const int64_t at = n * p.o * P + g * Og * P;
      for (int64_t o = 0; o < Og; o++)
        epilogue_run(yg + o * P, yg + o * P, P, g * Og + o, ep, ep.residual ? ep.residual + at + o * P : nullptr);
    }
  };
  parallel_for_balanced(p.n, outer, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; n++) image(n);
  });
}

void conv2d_forward(const float* x, const float* w, const ConvParams& p, float* y, const float* bias) {
  ConvEpilogue e;
  e.shift = bias;
  forward_with_epilogue(x, w, p, y, e);
}

// y = the 2×2 stride-2 max-pool (floor mode; NaN wins) of `planes` conv planes of oh × ow, in
// the reference's order: max(max(top pair), max(bottom pair)). Cloned like epilogue_run.
__attribute__((target_clones("avx512f", "avx2", "default"))) static void max_pool_planes(const float* conv,
                                                                                          int64_t planes, int64_t oh,
                                                                                          int64_t ow, float* y) {
  const int64_t PH = oh / 2, PW = ow / 2;
  for (int64_t pl = 0; pl < planes; pl++) {
    for (int64_t ph = 0; ph < PH; ph++) {
      const float* r0 = conv + (pl * oh + 2 * ph) * ow;
      const float* r1 = r0 + ow;
      float* d = y + (pl * PH + ph) * PW;
      // max_nan(u, v) = u > v || isnan(u) ? u : v, written as a max and a select so that it
      // compiles without branches (random data mispredicts them half the time).
      auto max_nan = [](float u, float v) {
        const float m = u > v ? u : v;
        return u != u ? u : m;
      };
      for (int64_t pw = 0; pw < PW; pw++) {
        const float top = max_nan(r0[2 * pw], r0[2 * pw + 1]);
        const float bottom = max_nan(r1[2 * pw], r1[2 * pw + 1]);
        d[pw] = max_nan(top, bottom);
      }
    }
  }
}

void conv2d_forward_fused(const float* x, const float* w, const ConvParams& p, float* y, const ConvEpilogue& e) {
  DirectTile tile{0, 0};
  if (!e.pool || winograd_plan(p).rows || direct_plan(p, tile)) return forward_with_epilogue(x, w, p, y, e);
  // A pool off the direct path (no AVX-512, groups, ...): each image's convolution with its
  // epilogue goes to a scratch buffer that stays in cache, then is pooled into y. Images are
  // split between threads; the convolution of one image is the same computation as in a batch.
  const int64_t P = p.oh * p.ow, out_plane = (p.oh / 2) * (p.ow / 2);
  const int threads = threads_for(2.0 * p.n * p.o * P * (p.c / p.groups) * p.kh * p.kw, 1 << 18);
  if (p.n >= threads) {
    ConvParams one = p;
    one.n = 1;
    parallel_for_balanced(p.n, threads, [&](int64_t b, int64_t end) {
      float* conv = scratch(kScratchPool, static_cast<size_t>(p.o * P));
      for (int64_t n = b; n < end; n++) {
        forward_with_epilogue(x + n * p.c * p.h * p.w, w, one, conv, e);
        max_pool_planes(conv, p.o, p.oh, p.ow, y + n * p.o * out_plane);
      }
    });
    return;
  }
  float* conv = scratch(kScratchPool, static_cast<size_t>(p.n * p.o * P));
  forward_with_epilogue(x, w, p, conv, e);
  max_pool_planes(conv, p.n * p.o, p.oh, p.ow, y);
}

void conv2d_pair_forward(const float* x, const float* w1, const ConvParams& p1, const ConvEpilogue& e1, float* mid,
                         const float* w2, const ConvParams& p2, const ConvEpilogue& e2, float* y) {
  if (winograd_pair_forward(x, w1, p1, e1, mid, w2, p2, e2, y)) return;
  conv2d_forward_fused(x, w1, p1, mid, e1);
  conv2d_forward_fused(mid, w2, p2, y, e2);
}

void conv2d_backward_input(const float* gy, const float* w, const ConvParams& p, float* gx) {
  if (is_depthwise(p)) return depthwise_backward_input(gy, w, p, gx);
  if (p.sh == 1 && p.sw == 1 && p.groups == 1 && !is_pointwise(p) && (p.kh - 1) * p.dh >= p.ph &&
      (p.kw - 1) * p.dw >= p.pw) {
    // Stride 1: the input gradient is itself a stride-1 convolution, of gy padded by
    // (k−1)·d − pad with the weights flipped in space and with O and C swapped:
    //   gx[c, i, j] = Σ_o Σ_a,b gy[o, i + ph − a·dh, j + pw − b·dw] · w[o, c, a, b].
    // That runs on the forward path (padded grid, no col2im scatter of a 9× larger column matrix).
    const int64_t KK = p.kh * p.kw;
    float* wt = scratch(kScratchMisc, static_cast<size_t>(p.o * p.c * KK));
    for (int64_t o = 0; o < p.o; o++)
      for (int64_t c = 0; c < p.c; c++)
        for (int64_t t = 0; t < KK; t++) wt[(c * p.o + o) * KK + (KK - 1 - t)] = w[(o * p.c + c) * KK + t];
    const ConvParams q{p.n, p.o, p.oh, p.ow, p.c, p.kh, p.kw, 1, 1, (p.kh - 1) * p.dh - p.ph, (p.kw - 1) * p.dw - p.pw,
                       p.dh, p.dw, 1, p.h, p.w};
    return conv2d_forward(gy, wt, q, gx);
  }
  const int64_t G = p.groups, Cg = p.c / G, Og = p.o / G, CK = Cg * p.kh * p.kw, P = p.oh * p.ow;
  const int64_t HW = p.h * p.w;
  const bool pointwise = is_pointwise(p);
  const double flops = 2.0 * p.n * p.o * P * CK;
  const int threads = threads_for(flops, 1 << 18);
  const int outer = p.n >= threads ? threads : 1;
  const int inner = p.n >= threads ? 1 : threads;
  parallel_for_balanced(p.n, outer, [&](int64_t b, int64_t e) {
    float* col = pointwise ? nullptr : scratch(kScratchCol, static_cast<size_t>(CK * P));
    for (int64_t n = b; n < e; n++) {
      float* gxn = gx + n * p.c * HW;
      if (!pointwise) std::fill(gxn, gxn + p.c * HW, 0.f);
      for (int64_t g = 0; g < G; g++) {
        StridedSource wt(w + g * Og * CK, CK, 1);  // rows o of W[g]; used transposed (CK × Og)
        StridedSource gyb(gy + n * p.o * P + g * Og * P, P, 1);
        if (pointwise) {
          gemm(CK, P, Og, {&wt, true}, {&gyb, false}, gxn + g * Cg * HW, P, 1, false, inner);
        } else {
          gemm(CK, P, Og, {&wt, true}, {&gyb, false}, col, P, 1, false, inner);
          col2im_add(col, p, Cg, gxn + g * Cg * HW);
        }
      }
    }
  });
}

void conv2d_backward_weight(const float* x, const float* gy, const ConvParams& p, float* gw) {
  if (is_depthwise(p)) return depthwise_backward_weight(x, gy, p, gw);
  const int64_t G = p.groups, Cg = p.c / G, Og = p.o / G, CK = Cg * p.kh * p.kw, P = p.oh * p.ow;
  const int64_t HW = p.h * p.w;
  const bool pointwise = is_pointwise(p);
  // The shared dimension is N·P (large) while gw is small, so the images are split into a fixed
  // number of chunks (from the shape only, never from the thread count), each chunk's partial gw
  // is one GEMM, and the partials are summed in chunk order: deterministic for any thread count.
  const double flops = 2.0 * p.n * p.o * P * CK;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>({p.n, 8, static_cast<int64_t>(flops / (1 << 20))}));
  const int threads = threads_for(flops, 1 << 18);
  if (const WinogradPlan plan = winograd_plan(p); plan.rows)
    return winograd_backward_weight(x, gy, p, plan, gw, chunks, threads);
  if (const int vecs = direct_grad_vecs(p)) return direct_backward_weight(x, gy, p, vecs, gw, chunks, threads);
  const int64_t gw_size = p.o * CK;
  float* partial = chunks > 1 ? scratch(kScratchMisc, static_cast<size_t>(chunks * gw_size)) : gw;
  const int outer = static_cast<int>(std::min<int64_t>(threads, chunks));
  const int inner = std::max(1, threads / outer);
  const bool grid = !pointwise && use_padded_grid(p);
  parallel_for_balanced(chunks, outer, [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      int64_t n0, n1;
      split_range(p.n, static_cast<int>(chunks), static_cast<int>(ch), n0, n1);
      float* dst = partial + (chunks > 1 ? ch * gw_size : 0);
      if (grid) {
        // x zero-padded and gy spread over the padded width (zeros in the discarded columns, so
        // they add nothing), then one GEMM per group with K = images × outH × Wp.
        const PaddedGrid pg(p);
        const int64_t cnt = n1 - n0, ximg = p.c * pg.plane + pg.slack;
        const int64_t* off = row_offsets(p, pg, Cg);
        float* xp = scratch(kScratchCol, static_cast<size_t>(cnt * ximg));
        float* gq = scratch(kScratchOut, static_cast<size_t>(cnt * p.o * pg.Pq));
        for (int64_t i = 0; i < cnt; i++) {
          pad_planes(x + (n0 + i) * p.c * HW, p, pg, p.c, xp + i * ximg);
          std::fill(xp + i * ximg + p.c * pg.plane, xp + (i + 1) * ximg, 0.f);
          const float* src = gy + (n0 + i) * p.o * P;
          float* dq = gq + i * p.o * pg.Pq;
          for (int64_t o = 0; o < p.o; o++) {
            for (int64_t oh = 0; oh < p.oh; oh++) {
              float* d = dq + o * pg.Pq + oh * pg.Wp;
              std::memcpy(d, src + (o * p.oh + oh) * p.ow, static_cast<size_t>(p.ow) * sizeof(float));
              std::fill(d + p.ow, d + pg.Wp, 0.f);
            }
          }
        }
        for (int64_t g = 0; g < G; g++) {
          GradOutSource gya(gq + g * Og * pg.Pq, p.o * pg.Pq, pg.Pq);
          RunSource xb(xp + g * Cg * pg.plane, ximg, pg.Pq, off);
          gemm(Og, CK, cnt * pg.Pq, {&gya, false}, {&xb, true}, dst + g * Og * CK, CK, 1, false, inner);
        }
        continue;
      }
      for (int64_t g = 0; g < G; g++) {
        GradOutSource gya(gy + n0 * p.o * P + g * Og * P, p.o * P, P);
        float* gwg = dst + g * Og * CK;
        if (pointwise) {
          // patches = x itself: rows c, columns (image, pixel), i.e. the same layout as gy.
          GradOutSource xb(x + n0 * p.c * HW + g * Cg * HW, p.c * HW, HW);
          gemm(Og, CK, (n1 - n0) * P, {&gya, false}, {&xb, true}, gwg, CK, 1, false, inner);
        } else {
          PatchSource xb(x + n0 * p.c * HW + g * Cg * HW, p);
          gemm(Og, CK, (n1 - n0) * P, {&gya, false}, {&xb, true}, gwg, CK, 1, false, inner);
        }
      }
    }
  });
  if (chunks > 1) {
    parallel_for(gw_size, threads_for(static_cast<double>(gw_size) * chunks), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) {
        float s = partial[i];
        for (int64_t ch = 1; ch < chunks; ch++) s += partial[ch * gw_size + i];
        gw[i] = s;
      }
    });
  }
}

}  // namespace nabla
