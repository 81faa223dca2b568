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
#pragma GCC diagnostic pop

}  // namespace nabla
#endif
