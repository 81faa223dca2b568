// Portable SGEMM micro-kernel (baseline ISA; the compiler vectorises the j loop with SSE2).
// Used only on CPUs without AVX2+FMA. Note: without FMA each step rounds twice, so results can
// differ in the last bit from the AVX kernels; determinism holds per machine.
#include "gemm.h"

namespace nabla {
namespace {

constexpr int MR = 4;
constexpr int NR = 16;

void ukernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t rs_c,
             int64_t cs_c, int m, int n, int accumulate) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float ar = a[r];
      for (int j = 0; j < NR; j++) acc[r][j] += ar * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int r = 0; r < m; r++) {
    for (int j = 0; j < n; j++) {
      float* p = c + r * rs_c + j * cs_c;
      *p = accumulate ? *p + acc[r][j] : acc[r][j];
    }
  }
}

}  // namespace

extern const GemmKernel kGemmGeneric = {"generic", MR, NR, 4 * 32, 256, 2048, ukernel};

}  // namespace nabla
