// A 16×16 float transpose in AVX-512 registers, shared by the AVX-512 translation units
// (gemm_avx512.cpp, conv_direct_avx512.cpp). Include it only from files compiled for AVX-512
// (after their target pragma); `static` keeps each file's copy private, so no AVX-512 code can be
// linked into code running elsewhere.
#pragma once
#include <immintrin.h>

namespace nabla {

// r[i] := column i of the 16×16 block whose rows are r[0..15]: pairs interleaved (unpack), then
// 4×4 blocks (shuffle_ps), then the 128-bit lanes gathered across registers (shuffle_f32x4).
static inline void transpose16_regs(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[g*4 + s], lane L: column 4L + s of rows 4g .. 4g+3.
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++) {
    const int b = 4 * g;
    r[b + 0] = _mm512_shuffle_ps(t[b + 0], t[b + 2], 0x44);
    r[b + 1] = _mm512_shuffle_ps(t[b + 0], t[b + 2], 0xEE);
    r[b + 2] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0x44);
    r[b + 3] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    const __m512 v = _mm512_shuffle_f32x4(r[s], r[4 + s], 0x88);
    const __m512 w = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0x88);
    const __m512 v2 = _mm512_shuffle_f32x4(r[s], r[4 + s], 0xDD);
    const __m512 w2 = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0xDD);
    t[s + 0] = _mm512_shuffle_f32x4(v, w, 0x88);
    t[s + 8] = _mm512_shuffle_f32x4(v, w, 0xDD);
    t[s + 4] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    t[s + 12] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

}  // namespace nabla
