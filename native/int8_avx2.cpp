// Int8 GEMM with AVX2: vpmaddubsw multiplies unsigned bytes of A by signed bytes of W and adds
// adjacent pairs into int16 (exact here: activations are 7-bit, see int8.h), vpmaddwd with ones
// adds the pairs into int32 — the two-instruction stand-in for VNNI's vpdpbusd.
// Block: 4 rows of A × 32 output channels (16 accumulators).
//
// Compiled for AVX2 via the pragma below; no C++ standard library here (see gemm_avx512.cpp).
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2")
#include <immintrin.h>

#include "int8.h"

namespace nabla {
namespace {

template <int R, int NV>
inline void block(const uint8_t* a, int64_t k4, const int8_t* b, int64_t op, int32_t* c, int64_t ldc) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[R][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256();
  const int64_t lda = 4 * k4;
  for (int64_t k = 0; k < k4; k++) {
    __m256i w[NV];
    for (int v = 0; v < NV; v++)
      w[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + (k * op + 8 * v) * 4));
    for (int r = 0; r < R; r++) {
      int32_t a4;
      __builtin_memcpy(&a4, a + r * lda + 4 * k, 4);
      const __m256i x = _mm256_set1_epi32(a4);
      for (int v = 0; v < NV; v++) {
        const __m256i pairs = _mm256_maddubs_epi16(x, w[v]);
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8 * v), acc[r][v]);
}

template <int R>
inline void rows_block(const uint8_t* a, int64_t k4, const int8_t* b, int64_t op, int32_t* c, int64_t ldc) {
  int64_t o = 0;
  for (; o + 32 <= op; o += 32) block<R, 4>(a, k4, b + 4 * o, op, c + o, ldc);
  if (o < op) block<R, 2>(a, k4, b + 4 * o, op, c + o, ldc);  // op is a multiple of 16
}

}  // namespace

void int8_gemm_avx2(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                    int64_t ldc) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) rows_block<4>(a + r * 4 * k4, k4, b, op, c + r * ldc, ldc);
  for (; r < rows; r++) rows_block<1>(a + r * 4 * k4, k4, b, op, c + r * ldc, ldc);
}

}  // namespace nabla
#endif
