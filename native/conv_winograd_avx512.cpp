// AVX-512 kernels of the Winograd F(2×2, 3×3) convolution (see conv_winograd.h). Like
// gemm_avx512.cpp this file is compiled for AVX-512 via the pragma below and must not include the
// C++ standard library.
//
// The transforms (Lavin & Gray), applied to rows and then to columns:
//   input   Bᵀ d:  (d0 − d2,  d1 + d2,  d2 − d1,  d1 − d3)
//   weights G g:   (g0,  ½(g0 + g1 + g2),  ½(g0 − g1 + g2),  g2)
//   output  Aᵀ m:  (m0 + m1 + m2,  m1 − m2 − m3)
// Every transform works on 16 channels at once (channels in the vector lanes).
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#include <immintrin.h>

#include "avx512_epilogue.h"
#include "avx512_transpose.h"
#include "conv_winograd.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nabla {
namespace {

// (Local helpers rather than common.h's: an inline function instantiated in this AVX-512 file
// could be the copy the linker keeps for the baseline code.)
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t round_up_rows(int64_t n, int64_t r) { return (n + r - 1) / r * r; }

// G applied along one direction to three vectors.
inline void g3(__m512 a, __m512 b, __m512 d, __m512 u[4]) {
  const __m512 half = _mm512_set1_ps(0.5f);
  u[0] = a;
  u[1] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(a, b), d));
  u[2] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(a, b), d));
  u[3] = d;
}

// 16 channels of the 3×3 filters g[tap] → u[ξ] (ξ = 4·row + column).
void weights(const float* wT, int64_t C, int64_t O_pad, float* U, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; c++) {
    for (int64_t o = 0; o < O_pad; o += 16) {
      __m512 g[9];
#pragma GCC unroll 9
      for (int t = 0; t < 9; t++) g[t] = _mm512_load_ps(wT + (c * 9 + t) * O_pad + o);
      // Columns first: t[j][i] = (G g)[i][j], then u = t Gᵀ row by row.
      __m512 t[3][4];
#pragma GCC unroll 3
      for (int j = 0; j < 3; j++) g3(g[j], g[3 + j], g[6 + j], t[j]);
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        __m512 u[4];
        g3(t[0][i], t[1][i], t[2][i], u);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) _mm512_store_ps(U + ((4 * i + j) * C + c) * O_pad + o, u[j]);
      }
    }
  }
}

// Rows [r0, r1) of the zero-padded channel-last input: 16 channels × 16 pixels of a row at a
// time, transposed in registers.
void pad(const WinogradImage& im, int64_t r0, int64_t r1) {
  const int64_t rowlen = im.Wp * im.Cp;
  for (int64_t r = r0; r < r1; r++) {
    float* dst = im.xT + r * rowlen;
    const int64_t h = r - im.ph;
    if (h < 0 || h >= im.H) {
      for (int64_t i = 0; i < rowlen; i += 16) _mm512_store_ps(dst + i, _mm512_setzero_ps());
      continue;
    }
    for (int64_t i = 0; i < im.pw * im.Cp; i += 16) _mm512_store_ps(dst + i, _mm512_setzero_ps());
    for (int64_t i = (im.pw + im.W) * im.Cp; i < rowlen; i += 16) _mm512_store_ps(dst + i, _mm512_setzero_ps());
    for (int64_t w0 = 0; w0 < im.W; w0 += 16) {
      const int64_t n = min64(16, im.W - w0);
      const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1u);
      for (int64_t cb = 0; cb < im.Cp; cb += 16) {
        __m512 v[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          v[i] = cb + i < im.C ? _mm512_maskz_loadu_ps(cols, im.x + ((cb + i) * im.H + h) * im.W + w0)
                               : _mm512_setzero_ps();
        transpose16_regs(v);
        float* d = dst + (im.pw + w0) * im.Cp + cb;
        for (int64_t j = 0; j < n; j++) _mm512_store_ps(d + j * im.Cp, v[j]);
      }
    }
  }
}

// Bᵀ applied along one direction to four vectors.
inline void bt4(const __m512 d[4], __m512 s[4]) {
  s[0] = _mm512_sub_ps(d[0], d[2]);
  s[1] = _mm512_add_ps(d[1], d[2]);
  s[2] = _mm512_sub_ps(d[2], d[1]);
  s[3] = _mm512_sub_ps(d[1], d[3]);
}

template <int CP>
void input_tiles(const WinogradImage& im, int64_t t0, int64_t t1) {
  const int64_t Cp = CP ? CP : im.Cp, row = im.Wp * Cp;
  for (int64_t t = t0; t < t1; t++) {
    float* v = im.V + (t - t0) * 16 * Cp;  // this tile's 16 positions, Cp channels each
    if (t >= im.T) {
      for (int64_t i = 0; i < 16 * Cp; i += 16) _mm512_store_ps(v + i, _mm512_setzero_ps());
      continue;
    }
    const int64_t ty = t / im.TW, tx = t % im.TW;
    const float* patch = im.xT + (2 * ty) * row + 2 * tx * Cp;
    for (int64_t cb = 0; cb < Cp; cb += 16) {
      const float* src = patch + cb;
      // Rows first: s[i][j] = Bᵀ applied down column j of the patch.
      __m512 s[4][4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        __m512 d[4], r[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) d[i] = _mm512_load_ps(src + i * row + j * Cp);
        bt4(d, r);
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) s[i][j] = r[i];
      }
      float* dst = v + cb;
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        __m512 r[4];
        bt4(s[i], r);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) _mm512_store_ps(dst + (4 * i + j) * Cp, r[j]);
      }
    }
  }
}

// The input transform of tiles [t0, t1) into V (zeros for tiles from T on).
void input(const WinogradImage& im, int64_t t0, int64_t t1) {
  if (im.Cp == 16) return input_tiles<16>(im, t0, t1);
  if (im.Cp == 32) return input_tiles<32>(im, t0, t1);
  if (im.Cp == 64) return input_tiles<64>(im, t0, t1);
  input_tiles<0>(im, t0, t1);
}

// M[ξ][t][ob..ob+16·NV] = Σ_c V[ξ][t][c] · U[ξ][c][ob..ob+16·NV] for R tiles at a time: per
// channel, NV vector loads of U and R broadcasts of V feed R·NV FMAs.
// CP: the channel stride Cp when it is one of the common 16, 32, 64 (0: read at run time). A
// compile-time stride puts the R tiles' broadcasts at constant offsets from one pointer; with a
// run-time one GCC kept R row pointers and spilled them to the stack inside the loop.
template <int R, int NV, int CP>
void gemm_unit(const WinogradImage& im, int64_t xi, int64_t ob, int64_t tiles) {
  const int64_t O_pad = im.out.O_pad, vstride = 16 * (CP ? CP : im.Cp), mstride = 16 * O_pad;
  const float* U = im.U + xi * im.C * O_pad + ob;
  const float* V = im.V + xi * im.Cp;
  float* M = im.M + xi * O_pad + ob;
  for (int64_t t0 = 0; t0 < tiles; t0 += R) {
    __m512 acc[R][NV];
#pragma GCC unroll 28
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    const float* vrow = V + t0 * vstride;
    const float* u = U;
#pragma GCC unroll 1
    for (int64_t c = 0; c < im.C; c++, u += O_pad) {
      __m512 w[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) w[v] = _mm512_load_ps(u + 16 * v);
#pragma GCC unroll 28
      for (int r = 0; r < R; r++) {
        const __m512 b = _mm512_set1_ps(vrow[r * vstride + c]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(b, w[v], acc[r][v]);
      }
    }
#pragma GCC unroll 28
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) _mm512_store_ps(M + (t0 + r) * mstride + 16 * v, acc[r][v]);
  }
}

template <int R, int NV>
void gemm_block(const WinogradImage& im, int64_t xi, int64_t ob, int64_t tiles) {
  if (im.Cp == 16) return gemm_unit<R, NV, 16>(im, xi, ob, tiles);
  if (im.Cp == 32) return gemm_unit<R, NV, 32>(im, xi, ob, tiles);
  if (im.Cp == 64) return gemm_unit<R, NV, 64>(im, xi, ob, tiles);
  gemm_unit<R, NV, 0>(im, xi, ob, tiles);
}

// All 16 GEMMs for the chunk's `tiles` tiles (a multiple of im.rows).
void gemm(const WinogradImage& im, int64_t tiles) {
  const int64_t OB = 16 * im.vecs;
  for (int64_t xi = 0; xi < 16; xi++) {
    for (int64_t ob = 0; ob < im.out.O_pad; ob += OB) {
      if (im.vecs == 1) {
        if (im.rows == 28) gemm_block<28, 1>(im, xi, ob, tiles);
        else if (im.rows == 16) gemm_block<16, 1>(im, xi, ob, tiles);
        else gemm_block<14, 1>(im, xi, ob, tiles);
      } else {
        if (im.rows == 14) gemm_block<14, 2>(im, xi, ob, tiles);
        else if (im.rows == 8) gemm_block<8, 2>(im, xi, ob, tiles);
        else gemm_block<7, 2>(im, xi, ob, tiles);
      }
    }
  }
}

// Aᵀ applied along one direction to four vectors.
inline void at4(const __m512 m[4], __m512 r[2]) {
  r[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
  r[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

// The output transform and epilogue of tiles [t0, t1) (below T) into yb; OP: O_pad if 16, 32
// or 64 (0: at run time), for constant load offsets as in gemm_unit.
template <int OP>
void output_tiles(const WinogradImage& im, int64_t t0, int64_t t1) {
  const DirectConvJob& j = im.out;
  const int64_t O_pad = OP ? OP : j.O_pad;
  const bool relu_now = j.relu && j.residual == nullptr;  // else after the residual (finish)
  const int64_t px = j.yb_px ? j.yb_px : O_pad, row = j.yb_row ? j.yb_row : j.OW * O_pad;
  for (int64_t t = t0; t < t1; t++) {
    const int64_t ty = t / im.TW, tx = t % im.TW;
    const float* m = im.M + (t - t0) * 16 * O_pad;  // this tile's 16 positions
    const bool full_h = 2 * ty + 1 < j.OH, full_w = 2 * tx + 1 < j.OW;
    for (int64_t ob = 0; ob < O_pad; ob += 16) {
      __m512 s[2][4];
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) {
        __m512 d[4], r[2];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) d[i] = _mm512_load_ps(m + (4 * i + c) * O_pad + ob);
        at4(d, r);
        s[0][c] = r[0];
        s[1][c] = r[1];
      }
      const __m512 sc = j.scale ? _mm512_load_ps(j.scale + ob) : _mm512_set1_ps(1.f);
      const __m512 sh = j.shift ? _mm512_load_ps(j.shift + ob) : _mm512_setzero_ps();
#pragma GCC unroll 2
      for (int i = 0; i < 2; i++) {
        if (i == 1 && !full_h) break;
        __m512 y[2];
        at4(s[i], y);
#pragma GCC unroll 2
        for (int c = 0; c < 2; c++) {
          if (c == 1 && !full_w) break;
          __m512 v = _mm512_fmadd_ps(y[c], sc, sh);
          if (relu_now) v = activate(v, j.relu6);
          _mm512_store_ps(j.yb + (2 * ty + i) * row + (2 * tx + c) * px + ob, v);
        }
      }
    }
  }
}

void output(const WinogradImage& im, int64_t t0, int64_t t1) {
  if (im.out.O_pad == 16) return output_tiles<16>(im, t0, t1);
  if (im.out.O_pad == 32) return output_tiles<32>(im, t0, t1);
  if (im.out.O_pad == 64) return output_tiles<64>(im, t0, t1);
  output_tiles<0>(im, t0, t1);
}

// Tiles [t0, t1) (at most im.CH of them) from the padded input to yb.
void tiles(const WinogradImage& im, int64_t t0, int64_t t1) {
  const int64_t n = round_up_rows(t1 - t0, im.rows);
  input(im, t0, t0 + n);
  gemm(im, n);
  output(im, t0, t1 < im.T ? t1 : im.T);
}

// ---- weight gradient --------------------------------------------------------------------------

// M[t][ξ][o] = (A g Aᵀ)[ξ] for tiles [t0, t1) (below T) and their 2×2 output gradients g (zero
// past the output's edge),
// 16 channels at a time: A g is (g0, g0 + g1, g0 − g1, −g1) along each direction.
template <int OP>
void grad_output(const WinogradImage& im, int64_t t0, int64_t t1) {
  const DirectConvJob& j = im.out;
  const int64_t O_pad = OP ? OP : j.O_pad;
  for (int64_t t = t0; t < t1; t++) {
    float* m = im.M + (t - t0) * 16 * O_pad;
    const int64_t ty = t / im.TW, tx = t % im.TW;
    const bool full_h = 2 * ty + 1 < j.OH, full_w = 2 * tx + 1 < j.OW;
    const float* g = im.gyT + ((2 * ty) * j.OW + 2 * tx) * O_pad;
    for (int64_t ob = 0; ob < O_pad; ob += 16) {
      const __m512 z = _mm512_setzero_ps();
      const __m512 g00 = _mm512_load_ps(g + ob);
      const __m512 g01 = full_w ? _mm512_load_ps(g + O_pad + ob) : z;
      const __m512 g10 = full_h ? _mm512_load_ps(g + j.OW * O_pad + ob) : z;
      const __m512 g11 = full_h && full_w ? _mm512_load_ps(g + (j.OW + 1) * O_pad + ob) : z;
      // Rows: r[i][col] for the two columns.
      const __m512 r[4][2] = {{g00, g01},
                              {_mm512_add_ps(g00, g10), _mm512_add_ps(g01, g11)},
                              {_mm512_sub_ps(g00, g10), _mm512_sub_ps(g01, g11)},
                              {_mm512_sub_ps(z, g10), _mm512_sub_ps(z, g11)}};
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        const __m512 a = r[i][0], b = r[i][1];
        _mm512_store_ps(m + (4 * i + 0) * O_pad + ob, a);
        _mm512_store_ps(m + (4 * i + 1) * O_pad + ob, _mm512_add_ps(a, b));
        _mm512_store_ps(m + (4 * i + 2) * O_pad + ob, _mm512_sub_ps(a, b));
        _mm512_store_ps(m + (4 * i + 3) * O_pad + ob, _mm512_sub_ps(z, b));
      }
    }
  }
}

// GW[ξ][c0..c0+R][ob..ob+16·NV] += Σ_t V[t][ξ][c] · M[t][ξ][o] over the chunk's tiles, in tile
// order: per tile, NV vector loads of M and R broadcasts of V (contiguous channels) feed R·NV FMAs.
template <int R, int NV, int CP, int OP>
void grad_unit(const WinogradImage& im, int64_t xi, int64_t c0, int64_t ob, int64_t tiles, float* GW) {
  const int64_t Cp = CP ? CP : im.Cp, O_pad = OP ? OP : im.out.O_pad;
  float* dst = GW + (xi * Cp + c0) * O_pad + ob;
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_load_ps(dst + r * O_pad + 16 * v);
  const float* vp = im.V + xi * Cp + c0;
  const float* mp = im.M + xi * O_pad + ob;
#pragma GCC unroll 1
  for (int64_t t = 0; t < tiles; t++, vp += 16 * Cp, mp += 16 * O_pad) {
    __m512 q[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) q[v] = _mm512_load_ps(mp + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const __m512 b = _mm512_set1_ps(vp[r]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(b, q[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) _mm512_store_ps(dst + r * O_pad + 16 * v, acc[r][v]);
}

// The tiles need no padding to a block here: grad_unit runs over them one at a time.
template <int R, int NV, int CP, int OP>
void grad_chunk(const WinogradImage& im, int64_t t0, int64_t t1, float* GW) {
  const int64_t n = t1 - t0;
  input(im, t0, t1);
  grad_output<OP>(im, t0, t1);
  const int64_t Cp = CP ? CP : im.Cp, O_pad = OP ? OP : im.out.O_pad;
  for (int64_t xi = 0; xi < 16; xi++)
    for (int64_t c0 = 0; c0 < Cp; c0 += R)
      for (int64_t ob = 0; ob < O_pad; ob += 16 * NV) grad_unit<R, NV, CP, OP>(im, xi, c0, ob, n, GW);
}

// Register blocks: 16 channels × 16 outputs (vecs 1) or 8 channels × 32 outputs (vecs 2).
void grad_tiles(const WinogradImage& im, int64_t t0, int64_t t1, float* GW) {
  const int64_t Cp = im.Cp, O_pad = im.out.O_pad;
  if (im.vecs == 1) {
    if (Cp == 16 && O_pad == 16) return grad_chunk<16, 1, 16, 16>(im, t0, t1, GW);
    return grad_chunk<16, 1, 0, 0>(im, t0, t1, GW);
  }
  if (Cp == 32 && O_pad == 32) return grad_chunk<8, 2, 32, 32>(im, t0, t1, GW);
  if (Cp == 64 && O_pad == 64) return grad_chunk<8, 2, 64, 64>(im, t0, t1, GW);
  if (Cp == 16 && O_pad == 32) return grad_chunk<8, 2, 16, 32>(im, t0, t1, GW);
  if (Cp == 32 && O_pad == 64) return grad_chunk<8, 2, 32, 64>(im, t0, t1, GW);
  grad_chunk<8, 2, 0, 0>(im, t0, t1, GW);
}

// Gᵀ applied along one direction to four vectors: (z0 + ½(z1 + z2), ½(z1 − z2), ½(z1 + z2) + z3).
inline void gt4(__m512 a, __m512 b, __m512 d, __m512 e, __m512 w[3]) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 sum = _mm512_mul_ps(half, _mm512_add_ps(b, d));
  w[0] = _mm512_add_ps(a, sum);
  w[1] = _mm512_mul_ps(half, _mm512_sub_ps(b, d));
  w[2] = _mm512_add_ps(sum, e);
}

// gw = Gᵀ Z G per 16 output channels, Z = GW[·][c].
void grad_weights(const float* GW, int64_t Cp, int64_t O_pad, float* gwT, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; c++) {
    for (int64_t o = 0; o < O_pad; o += 16) {
      __m512 z[16];
#pragma GCC unroll 16
      for (int xi = 0; xi < 16; xi++) z[xi] = _mm512_load_ps(GW + (xi * Cp + c) * O_pad + o);
      // Columns first: r[jc][i] = (Gᵀ Z)[i][jc], then Gᵀ along each of the 3 rows.
      __m512 r[4][3];
#pragma GCC unroll 4
      for (int jc = 0; jc < 4; jc++) gt4(z[jc], z[4 + jc], z[8 + jc], z[12 + jc], r[jc]);
#pragma GCC unroll 3
      for (int i = 0; i < 3; i++) {
        __m512 w[3];
        gt4(r[0][i], r[1][i], r[2][i], r[3][i], w);
#pragma GCC unroll 3
        for (int b = 0; b < 3; b++) _mm512_store_ps(gwT + (c * 9 + 3 * i + b) * O_pad + o, w[b]);
      }
    }
  }
}

const WinogradKernels kKernels = {weights, pad, tiles, grad_tiles, grad_weights};

}  // namespace

extern const WinogradKernels* const kWinogradAvx512 = &kKernels;

}  // namespace nabla

#else  // not x86: never selected
#include "conv_winograd.h"
namespace nabla {
extern const WinogradKernels* const kWinogradAvx512 = nullptr;
}  // namespace nabla
#endif
