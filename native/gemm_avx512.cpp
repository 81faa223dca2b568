// AVX-512 SGEMM micro-kernel, 14×32: 28 zmm accumulators, 2 zmm for the B row, broadcasts of A
// folded into the FMAs ({1to16} memory operands). Per k: 2 vector loads + 14 broadcasts for 28
// FMAs, enough independent chains to keep both FMA ports busy (latency 4 × 2 ports = 8 needed).
//
// This file is compiled for AVX-512 via the pragma below while the rest of the addon targets the
// baseline ISA. It must not include the C++ standard library: inline functions instantiated here
// would be compiled with AVX-512 and the linker could pick this copy for code running elsewhere.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#include <immintrin.h>

#include "avx512_transpose.h"
#include "gemm.h"

namespace nabla {
namespace {

constexpr int MR = 14;
constexpr int NR = 32;

void ukernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rs_c,
             int64_t cs_c, int m, int n, int accumulate) {
  __m512 acc0[MR], acc1[MR];
  if (accumulate && cs_c == 1) {
    // C is read back at the end: start fetching its 28 cache lines now, off the critical path.
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      _mm_prefetch(reinterpret_cast<const char*>(c + r * rs_c), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * rs_c + 16), _MM_HINT_T0);
    }
  }
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * MR), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR && cs_c == 1) {
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      float* cr = c + r * rs_c;
      __m512 v0 = acc0[r], v1 = acc1[r];
      if (accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(cr));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(cr + 16));
      }
      _mm512_storeu_ps(cr, v0);
      _mm512_storeu_ps(cr + 16, v1);
    }
    return;
  }
  // Edge tile or transposed C: spill the tile and copy the valid part.
  alignas(64) float tile[MR * NR];
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) {
    _mm512_store_ps(tile + r * NR, acc0[r]);
    _mm512_store_ps(tile + r * NR + 16, acc1[r]);
  }
  for (int r = 0; r < m; r++) {
    for (int j = 0; j < n; j++) {
      float* p = c + r * rs_c + j * cs_c;
      *p = accumulate ? *p + tile[r * NR + j] : tile[r * NR + j];
    }
  }
}

// 8×48 variant for matrices with few rows (convolutions with 8, 16, 32 or 64 output channels,
// where 14-row panels would be up to 40% padding): 24 zmm accumulators, 3 for the B row; per k
// 3 vector loads + 8 broadcasts for 24 FMAs.
constexpr int MR8 = 8;
constexpr int NR48 = 48;

void ukernel_8x48(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rs_c,
                  int64_t cs_c, int m, int n, int accumulate) {
  __m512 acc0[MR8], acc1[MR8], acc2[MR8];
#pragma GCC unroll 8
  for (int r = 0; r < MR8; r++) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
    acc2[r] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    const __m512 b2 = _mm512_load_ps(b + 32);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR48), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int r = 0; r < MR8; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
      acc2[r] = _mm512_fmadd_ps(ar, b2, acc2[r]);
    }
    a += MR8;
    b += NR48;
  }
  if (m == MR8 && n == NR48 && cs_c == 1) {
#pragma GCC unroll 8
    for (int r = 0; r < MR8; r++) {
      float* cr = c + r * rs_c;
      __m512 v0 = acc0[r], v1 = acc1[r], v2 = acc2[r];
      if (accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(cr));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(cr + 16));
        v2 = _mm512_add_ps(v2, _mm512_loadu_ps(cr + 32));
      }
      _mm512_storeu_ps(cr, v0);
      _mm512_storeu_ps(cr + 16, v1);
      _mm512_storeu_ps(cr + 32, v2);
    }
    return;
  }
  alignas(64) float tile[MR8 * NR48];
#pragma GCC unroll 8
  for (int r = 0; r < MR8; r++) {
    _mm512_store_ps(tile + r * NR48, acc0[r]);
    _mm512_store_ps(tile + r * NR48 + 16, acc1[r]);
    _mm512_store_ps(tile + r * NR48 + 32, acc2[r]);
  }
  for (int r = 0; r < m; r++) {
    for (int j = 0; j < n; j++) {
      float* p = c + r * rs_c + j * cs_c;
      *p = accumulate ? *p + tile[r * NR48 + j] : tile[r * NR48 + j];
    }
  }
}

// The 8×48 tile with B read in place instead of packed: row k of B is base + off[k] + j0 (any
// alignment), and only the first n ≤ 48 columns are read (masked loads), so a convolution can
// stream the zero-padded input directly (see conv.cpp). Packed A as for ukernel_8x48.
void ukernel_8x48_rows(int64_t kc, const float* __restrict a, const float* base, const int64_t* off, int64_t j0,
                       float* c, int64_t rs_c, int m, int n, int accumulate) {
  const __mmask16 k0 = n >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 k1 = n >= 32 ? 0xFFFF : n > 16 ? static_cast<__mmask16>((1u << (n - 16)) - 1) : 0;
  const __mmask16 k2 = n >= 48 ? 0xFFFF : n > 32 ? static_cast<__mmask16>((1u << (n - 32)) - 1) : 0;
  __m512 acc0[MR8], acc1[MR8], acc2[MR8];
#pragma GCC unroll 8
  for (int r = 0; r < MR8; r++) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
    acc2[r] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++) {
    const float* bk = base + off[k] + j0;
    const __m512 b0 = _mm512_maskz_loadu_ps(k0, bk);
    const __m512 b1 = _mm512_maskz_loadu_ps(k1, bk + 16);
    const __m512 b2 = _mm512_maskz_loadu_ps(k2, bk + 32);
#pragma GCC unroll 8
    for (int r = 0; r < MR8; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
      acc2[r] = _mm512_fmadd_ps(ar, b2, acc2[r]);
    }
    a += MR8;
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR8; r++) {
    if (r >= m) break;
    float* cr = c + r * rs_c;
    __m512 v0 = acc0[r], v1 = acc1[r], v2 = acc2[r];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, cr + 16));
      v2 = _mm512_add_ps(v2, _mm512_maskz_loadu_ps(k2, cr + 32));
    }
    _mm512_mask_storeu_ps(cr, k0, v0);
    _mm512_mask_storeu_ps(cr + 16, k1, v1);
    _mm512_mask_storeu_ps(cr + 32, k2, v2);
  }
}

// GCC 12 warns inside its own intrinsics headers (the "undefined" pass-through operand of the
// shuffles); the warning is spurious.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// dst[j * dst_stride + i] = src[i][j] for i, j < 16.
void transpose16(const float* const* src, float* dst, int64_t dst_stride) {
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src[i]);
  transpose16_regs(r);
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * dst_stride, r[i]);
}

// dst[k * mr + r] = rows[r][k] for r < m, k < kc, and 0 for rows m .. mr-1 (mr ≤ 16): an A panel
// packed 16 k at a time with one register transpose instead of mr·kc strided scalar stores.
void pack_rows(const float* const* rows, int m, int64_t kc, float* dst, int mr) {
  const __mmask16 row_mask = static_cast<__mmask16>((1u << mr) - 1u);
  for (int64_t k = 0; k < kc; k += 16) {
    const int64_t len = kc - k < 16 ? kc - k : 16;
    const __mmask16 lm = static_cast<__mmask16>(len == 16 ? 0xFFFFu : (1u << len) - 1u);
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = i < m ? _mm512_maskz_loadu_ps(lm, rows[i] + k) : _mm512_setzero_ps();
    transpose16_regs(r);
    for (int j = 0; j < len; j++) _mm512_mask_storeu_ps(dst + (k + j) * mr, row_mask, r[j]);
  }
}

}  // namespace

extern const PackRowsFn kPackRowsAvx512 = pack_rows;
extern const Transpose16Fn kTranspose16Avx512 = transpose16;
extern const RowsKernelFn kRowsKernel8x48 = ukernel_8x48_rows;
extern const GemmKernel kGemmAvx512 = {"avx512", MR, NR, 14 * 24, 384, 3072, ukernel};
extern const GemmKernel kGemmAvx512Narrow = {"avx512", MR8, NR48, 8 * 40, 192, 3072, ukernel_8x48};

}  // namespace nabla

#else  // not x86: never selected, alias the portable kernel
#include "gemm.h"
namespace nabla {
extern const GemmKernel kGemmAvx512 = kGemmGeneric;
extern const GemmKernel kGemmAvx512Narrow = kGemmGeneric;
extern const Transpose16Fn kTranspose16Avx512 = nullptr;
extern const RowsKernelFn kRowsKernel8x48 = nullptr;
extern const PackRowsFn kPackRowsAvx512 = nullptr;
}  // namespace nabla
#endif
