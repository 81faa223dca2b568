// AVX2+FMA SGEMM micro-kernel, 6×16: 12 ymm accumulators + 2 for the B row + 1 broadcast, the
// classic Haswell shape (16 ymm registers). Same no-standard-library rule as gemm_avx512.cpp.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#include <immintrin.h>

#include "gemm.h"

namespace nabla {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

void ukernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rs_c,
             int64_t cs_c, int m, int n, int accumulate) {
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    acc0[r] = _mm256_setzero_ps();
    acc1[r] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * MR), _MM_HINT_T0);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR && cs_c == 1) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      float* cr = c + r * rs_c;
      __m256 v0 = acc0[r], v1 = acc1[r];
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    }
    return;
  }
  alignas(32) float tile[MR * NR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    _mm256_store_ps(tile + r * NR, acc0[r]);
    _mm256_store_ps(tile + r * NR + 8, acc1[r]);
  }
  for (int r = 0; r < m; r++) {
    for (int j = 0; j < n; j++) {
      float* p = c + r * rs_c + j * cs_c;
      *p = accumulate ? *p + tile[r * NR + j] : tile[r * NR + j];
    }
  }
}

}  // namespace

extern const GemmKernel kGemmAvx2 = {"avx2", MR, NR, 6 * 24, 256, 3072, ukernel};

}  // namespace nabla

#else  // not x86: never selected, alias the portable kernel
#include "gemm.h"
namespace nabla {
extern const GemmKernel kGemmAvx2 = kGemmGeneric;
}  // namespace nabla
#endif
