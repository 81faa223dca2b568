// Single-precision GEMM: C (M×N) = A (M×K) · B (K×N), with A and B given as "sources" that can
// copy a segment of one of their rows. Plain strided matrices are one kind of source; the
// convolution code adds implicit im2col sources, so convolutions run through the same packed
// micro-kernels without materialising the column matrix.
//
// Layout of the packed operands (the micro-kernel contract, Goto/BLIS style):
//  - A is packed in panels of MR rows: panel[k*MR + r] = A[i0 + r][k0 + k] (zero-padded rows);
//  - B is packed in panels of NR columns: panel[k*NR + c] = B[k0 + k][j0 + c] (zero-padded).
#pragma once

#include <cstdint>

namespace nabla {

// A logical matrix that can copy src[r][q0 .. q0+len) into dst[0], dst[ds], dst[2*ds], ...
struct MatSource {
  virtual void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const = 0;
  // src[r][q0 .. q0+len) as a pointer when those elements are contiguous in memory, else nullptr
  // (lets packing read 16 rows at once and transpose them in registers).
  virtual const float* span(int64_t /*r*/, int64_t /*q0*/, int64_t /*len*/) const { return nullptr; }
  virtual ~MatSource() = default;
};

// Element (r, q) at p[r*rs + q*cs].
struct StridedSource final : MatSource {
  const float* p;
  int64_t rs, cs;
  StridedSource(const float* p_, int64_t rs_, int64_t cs_) : p(p_), rs(rs_), cs(cs_) {}
  void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const override;
  const float* span(int64_t r, int64_t q0, int64_t) const override { return cs == 1 ? p + r * rs + q0 : nullptr; }
};

// A GEMM operand: the logical matrix is `src` itself, or its transpose when `transposed`. Packing
// walks the source along its rows either way, so both layouts are read contiguously.
struct Operand {
  const MatSource* src;
  bool transposed;
};

// Micro-kernel: C[0..m)[0..n) (+)= Apanel · Bpanel over kc, where C element (i, j) is at
// c[i*rs_c + j*cs_c]. accumulate=0 overwrites C.
using MicroKernelFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t rs_c,
                               int64_t cs_c, int m, int n, int accumulate);

struct GemmKernel {
  const char* isa;
  int mr, nr;
  int mc, kc, nc;  // cache blocking: A block mc×kc (L2), B micro-panel kc×nr (L1), B panel kc×nc
  MicroKernelFn fn;
};

// Implemented in gemm_avx512.cpp / gemm_avx2.cpp / gemm_generic.cpp; only the one matching the
// CPU is ever called (chosen once in gemm.cpp with __builtin_cpu_supports).
extern const GemmKernel kGemmAvx512;
// 8×48 AVX-512 tile, chosen per product instead of the 14×32 one when it wastes less padding.
extern const GemmKernel kGemmAvx512Narrow;
extern const GemmKernel kGemmAvx2;
extern const GemmKernel kGemmGeneric;

// dst[j * dst_stride + i] = src[i][j] for i, j < 16 (AVX-512 register transpose; dst rows need
// not be aligned). Null where AVX-512 code is not compiled.
using Transpose16Fn = void (*)(const float* const* src, float* dst, int64_t dst_stride);
extern const Transpose16Fn kTranspose16Avx512;

// Packs m ≤ mr ≤ 16 contiguous rows of length kc into an A panel: dst[k * mr + r] = rows[r][k],
// rows m .. mr-1 zero. Null where AVX-512 code is not compiled.
using PackRowsFn = void (*)(const float* const* rows, int m, int64_t kc, float* dst, int mr);
extern const PackRowsFn kPackRowsAvx512;

// C (m ≤ 8 rows, n ≤ 48 columns, row stride rs_c) (+)= Apanel · B over kc, with A packed as for
// the 8×48 tile and B row k read in place at base + off[k] + j0. Null without AVX-512.
using RowsKernelFn = void (*)(int64_t kc, const float* a, const float* base, const int64_t* off, int64_t j0,
                              float* c, int64_t rs_c, int m, int n, int accumulate);
extern const RowsKernelFn kRowsKernel8x48;

const GemmKernel& gemm_kernel();
// For tests and benchmarks: "avx512", "avx2" or "generic"; returns false if unsupported here.
bool gemm_select(const char* isa);
// For benchmarks: override the cache blocking of the current kernel (0 keeps a value).
void gemm_set_blocking(int mc, int kc, int nc);

// C = A·B (or C += A·B when accumulate). `threads` is the number of pool threads to use (the
// caller decides from the problem size). When allow_swap, computes Cᵀ = Bᵀ·Aᵀ instead if that
// fits the MR×NR register tile better (e.g. M = 9, N = 784). The arithmetic order per element is
// the same for any `threads`, so results are bitwise independent of the thread count.
void gemm(int64_t M, int64_t N, int64_t K, Operand A, Operand B, float* C, int64_t rs_c, int64_t cs_c,
          bool accumulate, int threads, bool allow_swap = true);

// C (m×n) = op(A)·op(B) for a handful of rows (m ≤ 4, e.g. a batch-1 linear layer) without
// packing: with op(B) = Wᵀ stored n×k each output is a dot product of two contiguous rows, so the
// weight is read once instead of being repacked on every call. Fixed summation order per element
// (16 partial sums over k, combined pairwise), so results do not depend on `threads`.
constexpr int64_t kSmallM = 4;

// The one-row kernels behind gemm_small_m on AVX-512 (gemv_avx512.cpp; null members elsewhere):
// dot: c[j] = Σ_q x[q]·w[j][q] for j in [j0, j1), w rows of length k;
// axpy: c[j] = Σ_q x[q]·b[q][j] for j in [j0, j1), b of k rows with stride n.
struct GemvKernels {
  void (*dot)(const float* x, const float* w, int64_t k, int64_t j0, int64_t j1, float* c);
  void (*axpy)(const float* x, const float* b, int64_t k, int64_t n, int64_t j0, int64_t j1, float* c);
};
extern const GemvKernels kGemvAvx512;

void gemm_small_m(int64_t m, int64_t n, int64_t k, const float* a, bool trans_a, const float* b, bool trans_b,
                  float* c, int threads);

}  // namespace nabla
