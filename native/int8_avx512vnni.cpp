// Int8 GEMM with AVX-512 VNNI: vpdpbusd multiplies 4 unsigned bytes of A by 4 signed bytes of W
// and adds the 4 products into each int32 lane, so one instruction does 64 multiply-adds.
// Block: 4 rows of A × 64 output channels (16 accumulators); per step of 4 k: 4 weight loads and
// 4 broadcasts feed 16 dpbusd.
//
// Compiled for AVX-512 VNNI via the pragma below; the rest of the addon targets the baseline ISA
// and calls this only when the CPU has it. No C++ standard library here (see gemm_avx512.cpp).
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")
#include <immintrin.h>

#include "int8.h"

namespace nabla {
namespace {

template <int R, int NV>
inline void block(const uint8_t* a, int64_t k4, const int8_t* b, int64_t op, int32_t* c, int64_t ldc) {
  __m512i acc[R][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_si512();
  const int64_t lda = 4 * k4;
  for (int64_t k = 0; k < k4; k++) {
    __m512i w[NV];
    for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_si512(b + (k * op + 16 * v) * 4);
    for (int r = 0; r < R; r++) {
      int32_t a4;
      __builtin_memcpy(&a4, a + r * lda + 4 * k, 4);
      const __m512i x = _mm512_set1_epi32(a4);
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, w[v]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) _mm512_storeu_si512(c + r * ldc + 16 * v, acc[r][v]);
}

template <int R>
inline void rows_block(const uint8_t* a, int64_t k4, const int8_t* b, int64_t op, int32_t* c, int64_t ldc) {
  int64_t o = 0;
  for (; o + 64 <= op; o += 64) block<R, 4>(a, k4, b + 4 * o, op, c + o, ldc);
  switch ((op - o) / 16) {
    case 3: block<R, 3>(a, k4, b + 4 * o, op, c + o, ldc); break;
    case 2: block<R, 2>(a, k4, b + 4 * o, op, c + o, ldc); break;
    case 1: block<R, 1>(a, k4, b + 4 * o, op, c + o, ldc); break;
    default: break;
  }
}

}  // namespace

void int8_gemm_avx512vnni(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                          int64_t ldc) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) rows_block<4>(a + r * 4 * k4, k4, b, op, c + r * ldc, ldc);
  for (; r < rows; r++) rows_block<1>(a + r * 4 * k4, k4, b, op, c + r * ldc, ldc);
}

// The output epilogue of one channel, 8 rows at a time: the same int32 subtraction, double
// multiply and add, clamp and float rounding as Epilogue::column in int8.cpp. The multiply and
// add use the explicit-rounding intrinsics so the compiler cannot fuse them into an FMA (which
// would round once instead of twice and break the bit-exact match with the reference).
// GCC 12's intrinsic headers start some conversions from an "undefined" register and then warn
// about it (a false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
void int8_epilogue_avx512(const int32_t* acc, int64_t acc_stride, int32_t corr, double m, double b, int act,
                          float* dst, int64_t rows) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m256i step = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(static_cast<int32_t>(acc_stride)));
  const __m256i vcorr = _mm256_set1_epi32(corr);
  const __m512d vm = _mm512_set1_pd(m), vb = _mm512_set1_pd(b), zero = _mm512_setzero_pd(), six = _mm512_set1_pd(6);
  auto eight = [&](__m256i a) {
    __m512d v = _mm512_cvtepi32_pd(_mm256_sub_epi32(a, vcorr));
    v = _mm512_add_round_pd(_mm512_mul_round_pd(v, vm, kRound), vb, kRound);
    if (act >= 1) v = _mm512_mask_mov_pd(v, _mm512_cmp_pd_mask(v, zero, _CMP_LT_OQ), zero);
    if (act == 2) v = _mm512_mask_mov_pd(v, _mm512_cmp_pd_mask(v, six, _CMP_GT_OQ), six);
    return _mm512_cvtpd_ps(v);
  };
  int64_t r = 0;
  for (; r + 8 <= rows; r += 8)
    _mm256_storeu_ps(dst + r, eight(_mm256_i32gather_epi32(reinterpret_cast<const int*>(acc + r * acc_stride), step, 4)));
  if (r < rows) {
    // The last 1–7 rows through the same vector code (the same rounding), via a padded copy.
    int32_t a[8];
    float y[8];
    for (int i = 0; i < 8; i++) a[i] = r + i < rows ? acc[(r + i) * acc_stride] : corr;
    _mm256_storeu_ps(y, eight(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))));
    for (int64_t i = 0; r + i < rows; i++) dst[r + i] = y[i];
  }
}

// dst[i·stride] = quantize(x[i]) for i < n, 8 at a time: the reference's floor(x / scale + 0.5)
// + zero clamped to [0, 127], with NaN and t ≤ −1024 giving 0 and t > 1024 giving 127. The
// division and the addition round separately, as in the scalar code (no fusing possible).
void int8_quantize_avx512(const float* x, int64_t n, double scale, int32_t zero, uint8_t* dst, int64_t stride) {
  const __m512d vs = _mm512_set1_pd(scale), half = _mm512_set1_pd(0.5);
  const __m512d lo = _mm512_set1_pd(-1024.0), hi = _mm512_set1_pd(1024.0);
  const __m256i vz = _mm256_set1_epi32(zero), q0 = _mm256_setzero_si256(), q127 = _mm256_set1_epi32(127);
  auto eight = [&](__m256 xf, int32_t* q) {
    const __m512d t = _mm512_add_pd(_mm512_div_pd(_mm512_cvtps_pd(xf), vs), half);
    const __mmask8 low = ~_mm512_cmp_pd_mask(t, lo, _CMP_GT_OQ);  // NaN or t ≤ −1024
    const __mmask8 high = _mm512_cmp_pd_mask(t, hi, _CMP_GT_OQ);
    // Within ±1024 the floor is exact; outside, the masks below decide.
    const __m512d f = _mm512_roundscale_pd(_mm512_min_pd(_mm512_max_pd(t, lo), hi), _MM_FROUND_TO_NEG_INF);
    __m256i v = _mm256_add_epi32(_mm512_cvtpd_epi32(f), vz);
    v = _mm256_min_epi32(_mm256_max_epi32(v, q0), q127);
    v = _mm256_mask_mov_epi32(v, low, q0);
    v = _mm256_mask_mov_epi32(v, high, q127);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), v);
  };
  int32_t q[8];
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    eight(_mm256_loadu_ps(x + i), q);
    for (int k = 0; k < 8; k++) dst[(i + k) * stride] = static_cast<uint8_t>(q[k]);
  }
  if (i < n) {
    float tail[8] = {};
    for (int64_t k = 0; i + k < n; k++) tail[k] = x[i + k];
    eight(_mm256_loadu_ps(tail), q);
    for (int64_t k = 0; i + k < n; k++) dst[(i + k) * stride] = static_cast<uint8_t>(q[k]);
  }
}
#pragma GCC diagnostic pop

}  // namespace nabla
#endif
