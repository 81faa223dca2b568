// AVX-512 kernels for products with one row (a batch-1 linear layer): the weight is streamed once
// from memory, so these are bandwidth-bound and must not waste loads. gemm_small_m picks them on
// AVX-512 CPUs; the portable loops in gemm.cpp are the fallback.
//
// Compiled for AVX-512 via the pragma below while the rest of the addon targets the baseline ISA;
// like gemm_avx512.cpp it must not include the C++ standard library.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#include <immintrin.h>

#include "gemm.h"

namespace nabla {
namespace {

// GCC 12 warns inside its own intrinsics headers (the "undefined" pass-through operand of the
// masked loads and set1); the warning is spurious.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Mask of the first `len` lanes (len < 16).
inline __mmask16 head_mask(int64_t len) { return static_cast<__mmask16>((1u << len) - 1u); }

// c[j] = Σ_k x[k]·w[j][k] for R consecutive rows j of w (row stride k). Every row is summed the
// same way whatever R is (two 16-lane partial sums over k in steps of 32, a masked tail, then
// a fixed reduction), so grouping rows never changes a result.
template <int R>
inline void dot_rows(const float* __restrict x, const float* __restrict w, int64_t k, float* c) {
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();
  int64_t q = 0;
  for (; q + 32 <= k; q += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + q), x1 = _mm512_loadu_ps(x + q + 16);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      acc0[r] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w + r * k + q), acc0[r]);
      acc1[r] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w + r * k + q + 16), acc1[r]);
    }
  }
  if (q + 16 <= k) {
    const __m512 x0 = _mm512_loadu_ps(x + q);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) acc0[r] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w + r * k + q), acc0[r]);
    q += 16;
  }
  if (q < k) {
    const __mmask16 m = head_mask(k - q);
    const __m512 x1 = _mm512_maskz_loadu_ps(m, x + q);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) acc1[r] = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m, w + r * k + q), acc1[r]);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) c[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r], acc1[r]));
}

void dot_rows_range(const float* x, const float* w, int64_t k, int64_t j0, int64_t j1, float* c) {
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) dot_rows<4>(x, w + j * k, k, c + j);
  for (; j < j1; j++) dot_rows<1>(x, w + j * k, k, c + j);
}

// c[j] = Σ_q x[q]·b[q][j] for j in [j0, j1) (b has row stride n): each column keeps one
// accumulator over q in order, 128 columns (8 independent FMA chains) at a time.
template <int V>
inline void axpy_cols(const float* __restrict x, const float* __restrict b, int64_t k, int64_t n, int64_t j,
                      __mmask16 last, float* c) {
  __m512 acc[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; v++) acc[v] = _mm512_setzero_ps();
  for (int64_t q = 0; q < k; q++) {
    const __m512 xv = _mm512_set1_ps(x[q]);
    const float* row = b + q * n + j;
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) {
      const __m512 bv = v == V - 1 ? _mm512_maskz_loadu_ps(last, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
      acc[v] = _mm512_fmadd_ps(xv, bv, acc[v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(c + j + 16 * v, v == V - 1 ? last : 0xFFFF, acc[v]);
}

void axpy_cols_range(const float* x, const float* b, int64_t k, int64_t n, int64_t j0, int64_t j1, float* c) {
  int64_t j = j0;
  for (; j + 128 <= j1; j += 128) axpy_cols<8>(x, b, k, n, j, 0xFFFF, c);
  for (; j + 16 <= j1; j += 16) axpy_cols<1>(x, b, k, n, j, 0xFFFF, c);
  if (j < j1) axpy_cols<1>(x, b, k, n, j, head_mask(j1 - j), c);
}

}  // namespace

extern const GemvKernels kGemvAvx512 = {dot_rows_range, axpy_cols_range};

}  // namespace nabla

#else  // not x86: no AVX-512 kernels
#include "gemm.h"
namespace nabla {
extern const GemvKernels kGemvAvx512 = {nullptr, nullptr};
}  // namespace nabla
#endif
