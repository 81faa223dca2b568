// Eight float lanes as one value (a GCC vector extension; two SSE registers on the baseline ISA,
// one AVX register where the compiler targets AVX). Used by the memory-bound kernels compiled for
// the baseline ISA, where GCC's auto-vectoriser makes poor choices on 8-lane partial sums and
// selects: it vectorised such loops across iterations with shuffles, or turned selects into
// branches that mispredict on random data. Lane arithmetic is exactly the scalar arithmetic.
// (Lane shuffles are another matter: on SSE2 GCC lowers 32-byte shuffles to scalar code.)
#pragma once

#include <cstdint>
#include <cstring>

// The helpers pass 32-byte vectors by value between inline functions only; GCC's note that the
// ABI would differ under AVX never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nabla {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));

inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Σ of the lanes in double, lane 0 first.
inline double lane_sum(v8f v) {
  double t = 0;
  for (int j = 0; j < 8; j++) t += v[j];
  return t;
}

}  // namespace nabla
