// AVX-512 kernels of the direct convolution (see conv_direct.h). Like gemm_avx512.cpp this file
// is compiled for AVX-512 via the pragma below and must not include the C++ standard library.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#include <immintrin.h>

#include "avx512_epilogue.h"
#include "avx512_transpose.h"
#include "conv_direct.h"

// GCC 12 warns inside its own intrinsics headers (the "undefined" pass-through operand of the
// shuffles); the warning is spurious.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nabla {
namespace {

// One COLS × 16·V tile per (channel block, output row, column block), stored channel-last.
template <int COLS, int V, int SW>
void tiles(const DirectConvJob& j, int64_t oh0, int64_t oh1) {
  constexpr int OB = 16 * V;
  const int64_t taps = j.C * j.KH * j.KW;
  // ReLU here only when nothing is added after the transpose.
  const bool relu_now = j.relu && j.residual == nullptr;
  for (int64_t ob = 0; ob < j.O_pad; ob += OB) {
    const float* wb = j.wpk + ob * taps;
    __m512 sc[V], sh[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) {
      sc[v] = j.scale ? _mm512_loadu_ps(j.scale + ob + 16 * v) : _mm512_set1_ps(1.f);
      sh[v] = j.shift ? _mm512_loadu_ps(j.shift + ob + 16 * v) : _mm512_setzero_ps();
    }
    for (int64_t oh = oh0; oh < oh1; oh++) {
      for (int64_t ow0 = 0; ow0 < j.OW; ow0 += COLS) {
        __m512 acc[COLS][V];
#pragma GCC unroll 16
        for (int r = 0; r < COLS; r++)
#pragma GCC unroll 4
          for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
        // One tap per iteration (an offset table instead of c/ki/kj loops): the loop body holds
        // only the V weight vectors besides the accumulators, so 28 accumulators stay in registers.
        const float* xrow = j.xpad + oh * j.SH * j.Wp + ow0 * SW;
        const float* wk = wb;
#pragma GCC unroll 1
        for (int64_t k = 0; k < taps; k++, wk += OB) {
          const float* xr = xrow + j.tap_off[k];
          __m512 w[V];
#pragma GCC unroll 4
          for (int v = 0; v < V; v++) w[v] = _mm512_load_ps(wk + 16 * v);
#pragma GCC unroll 16
          for (int r = 0; r < COLS; r++) {
            const __m512 b = _mm512_set1_ps(xr[r * SW]);
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(b, w[v], acc[r][v]);
          }
        }
        const int64_t valid = j.OW - ow0 < COLS ? j.OW - ow0 : COLS;
        float* dst = j.yb + (oh * j.OW + ow0) * j.O_pad + ob;
#pragma GCC unroll 16
        for (int r = 0; r < COLS; r++) {
          if (r >= valid) break;
#pragma GCC unroll 4
          for (int v = 0; v < V; v++) {
            __m512 t = _mm512_fmadd_ps(acc[r][v], sc[v], sh[v]);
            if (relu_now) t = activate(t, j.relu6);
            _mm512_store_ps(dst + r * j.O_pad + 16 * v, t);
          }
        }
      }
    }
  }
}

// max(a, b) that returns NaN when either is NaN (like PyTorch's max-pool).
inline __m512 max_nan(__m512 a, __m512 b) {
  const __m512 m = _mm512_max_ps(a, b);  // b when unordered
  return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

// Pooled rows [ph0, ph1) of the channel-last conv output yb into pooled (same layout): the max
// of each 2×2 window, 16 channels per vector.
void pool_rows(const DirectConvJob& j, int64_t ph0, int64_t ph1, float* pooled) {
  const int64_t PW = j.OW / 2;
  for (int64_t ph = ph0; ph < ph1; ph++) {
    const float* r0 = j.yb + 2 * ph * j.OW * j.O_pad;
    const float* r1 = r0 + j.OW * j.O_pad;
    for (int64_t pw = 0; pw < PW; pw++) {
      float* d = pooled + (ph * PW + pw) * j.O_pad;
      const int64_t a = 2 * pw * j.O_pad, b = a + j.O_pad;
      for (int64_t o = 0; o < j.O_pad; o += 16) {
        const __m512 top = max_nan(_mm512_load_ps(r0 + a + o), _mm512_load_ps(r0 + b + o));
        const __m512 bottom = max_nan(_mm512_load_ps(r1 + a + o), _mm512_load_ps(r1 + b + o));
        _mm512_store_ps(d + o, max_nan(top, bottom));
      }
    }
  }
}

// y[o][p] = src[p][o] (+ residual, ReLU) for pixels [p0, p1) of P: 16×16 blocks transposed in
// registers, the ragged edges element by element.
void to_planes(const DirectConvJob& j, const float* src, int64_t P, int64_t p0, int64_t p1) {
  const bool relu_late = j.relu && j.residual != nullptr;
  auto finish = [&](float v, int64_t at) {
    if (j.residual) v += j.residual[at];
    if (relu_late) {
      v = v > 0.f || v != v ? v : 0.f;
      if (j.relu6 && v > 6.f) v = 6.f;
    }
    j.y[at] = v;
  };
  int64_t p = p0;
  for (; p + 16 <= p1; p += 16) {
    int64_t o = 0;
    for (; o + 16 <= j.O; o += 16) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(src + (p + i) * j.O_pad + o);
      transpose16_regs(r);
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) {
        const int64_t at = (o + i) * P + p;
        __m512 v = r[i];
        if (j.residual) v = _mm512_add_ps(v, _mm512_loadu_ps(j.residual + at));
        if (relu_late) v = activate(v, j.relu6);
        _mm512_storeu_ps(j.y + at, v);
      }
    }
    for (; o < j.O; o++)
      for (int64_t q = p; q < p + 16; q++) finish(src[q * j.O_pad + o], o * P + q);
  }
  for (; p < p1; p++)
    for (int64_t o = 0; o < j.O; o++) finish(src[p * j.O_pad + o], o * P + p);
}

// ---- weight gradient ---------------------------------------------------------------------------

// dst[p][o] = src[o][p] for o < O (lanes O..O_pad zero), p < P: the output gradient of one image
// made channel-last, so the weight-gradient tiles load 16 channels of a pixel as one vector.
void channels_last(const float* src, int64_t O, int64_t P, float* dst, int64_t O_pad) {
  int64_t p = 0;
  for (; p + 16 <= P; p += 16) {
    int64_t o = 0;
    for (; o + 16 <= O; o += 16) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (o + i) * P + p);
      transpose16_regs(r);
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) _mm512_store_ps(dst + (p + i) * O_pad + o, r[i]);
    }
    for (int64_t q = p; q < p + 16; q++)
      for (int64_t oo = o; oo < O_pad; oo++) dst[q * O_pad + oo] = oo < O ? src[oo * P + q] : 0.f;
  }
  for (; p < P; p++)
    for (int64_t o = 0; o < O_pad; o++) dst[p * O_pad + o] = o < O ? src[o * P + p] : 0.f;
}

// gwT[(c, ki, kj)][o] += Σ_pixels gyT[pixel][o] · x[c][pixel's row·SH + ki][pixel's col·SW + kj]
// for input channels [c0, c1): one tile is one input channel's KH·KW taps × 16·V channels, so
// per pixel V vector loads and KH·KW broadcasts feed KH·KW·V FMAs.
template <int KH, int KW, int V>
void grad_tiles(const DirectGradJob& j, int64_t c0, int64_t c1) {
  constexpr int OB = 16 * V, T = KH * KW;
  for (int64_t c = c0; c < c1; c++) {
    for (int64_t ob = 0; ob < j.O_pad; ob += OB) {
      float* dst = j.gwT + c * T * j.O_pad + ob;
      __m512 acc[T][V];
#pragma GCC unroll 9
      for (int t = 0; t < T; t++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) acc[t][v] = _mm512_load_ps(dst + t * j.O_pad + 16 * v);
      const float* xc = j.xpad + c * j.plane;
      const float* g = j.gyT + ob;
      for (int64_t oh = 0; oh < j.OH; oh++) {
        const float* row = xc + oh * j.SH * j.Wp;
        for (int64_t ow = 0; ow < j.OW; ow++, g += j.O_pad) {
          const float* px = row + ow * j.SW;
          __m512 gv[V];
#pragma GCC unroll 2
          for (int v = 0; v < V; v++) gv[v] = _mm512_load_ps(g + 16 * v);
#pragma GCC unroll 3
          for (int ki = 0; ki < KH; ki++) {
#pragma GCC unroll 3
            for (int kj = 0; kj < KW; kj++) {
              const __m512 b = _mm512_set1_ps(px[ki * j.Wp + kj]);
#pragma GCC unroll 2
              for (int v = 0; v < V; v++) acc[ki * KW + kj][v] = _mm512_fmadd_ps(b, gv[v], acc[ki * KW + kj][v]);
            }
          }
        }
      }
#pragma GCC unroll 9
      for (int t = 0; t < T; t++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) _mm512_store_ps(dst + t * j.O_pad + 16 * v, acc[t][v]);
    }
  }
}

void direct_grad(const DirectGradJob& j, int64_t c0, int64_t c1) {
  if (j.KH == 3 && j.KW == 3) {
    if (j.vecs == 2) return grad_tiles<3, 3, 2>(j, c0, c1);
    return grad_tiles<3, 3, 1>(j, c0, c1);
  }
  if (j.vecs == 2) return grad_tiles<1, 1, 2>(j, c0, c1);
  return grad_tiles<1, 1, 1>(j, c0, c1);
}

template <int COLS, int V>
void rows_for_tile(const DirectConvJob& j, int64_t oh0, int64_t oh1) {
  if (j.SW == 1) return tiles<COLS, V, 1>(j, oh0, oh1);
  return tiles<COLS, V, 2>(j, oh0, oh1);
}

// The rows' tail once yb holds conv rows [oh0, oh1): the pool, if any, and the NCHW output.
void finish_rows(const DirectConvJob& j, int64_t oh0, int64_t oh1) {
  if (!j.pool) return to_planes(j, j.yb, j.OH * j.OW, oh0 * j.OW, oh1 * j.OW);
  const int64_t PW = j.OW / 2;
  float* pooled = j.yb + j.OH * j.OW * j.O_pad;
  pool_rows(j, oh0 / 2, oh1 / 2, pooled);
  to_planes(j, pooled, (j.OH / 2) * PW, (oh0 / 2) * PW, (oh1 / 2) * PW);
}

void direct_rows(const DirectConvJob& j, int64_t oh0, int64_t oh1) {
  if (j.cols == 14 && j.vecs == 2) rows_for_tile<14, 2>(j, oh0, oh1);
  else rows_for_tile<8, 2>(j, oh0, oh1);
  finish_rows(j, oh0, oh1);
}

}  // namespace

extern const DirectConvRowsFn kDirectConvRowsAvx512 = direct_rows;
extern const DirectConvRowsFn kDirectFinishAvx512 = finish_rows;
extern const ChannelsLastFn kChannelsLastAvx512 = channels_last;
extern const DirectGradFn kDirectGradAvx512 = direct_grad;

}  // namespace nabla

#else  // not x86: never selected
#include "conv_direct.h"
namespace nabla {
extern const DirectConvRowsFn kDirectConvRowsAvx512 = nullptr;
extern const DirectConvRowsFn kDirectFinishAvx512 = nullptr;
extern const ChannelsLastFn kChannelsLastAvx512 = nullptr;
extern const DirectGradFn kDirectGradAvx512 = nullptr;
}  // namespace nabla
#endif
