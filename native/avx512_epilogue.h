// The activations of the AVX-512 convolution epilogues (conv_direct_avx512.cpp,
// conv_winograd_avx512.cpp), with the scalar reference's NaN rules. Include it only from files
// compiled for AVX-512, after their target pragma (see avx512_transpose.h).
#pragma once
#include <immintrin.h>

namespace nabla {

// `v > 0 || isnan(v) ? v : 0` per lane, as the scalar ReLU of channel_affine.
static inline __m512 relu_keep_nan(__m512 v) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
}

// ReLU, and for ReLU6 then min(·, 6) (min_ps returns its second operand, v, when either is NaN,
// so NaN stays NaN).
static inline __m512 activate(__m512 v, bool relu6) {
  v = relu_keep_nan(v);
  return relu6 ? _mm512_min_ps(_mm512_set1_ps(6.f), v) : v;
}

}  // namespace nabla
