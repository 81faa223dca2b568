// Int8 inference kernels (quantized convolution / linear with int32 accumulation).
//
// Numerics, shared bit for bit with the TypeScript reference (src/compress/int8-ref.ts):
//   activations  q = clamp(floor(x / xs + 0.5) + xz, 0, 127)   (unsigned, 7-bit "reduced range")
//   weights      int8 in [-127, 127], one scale per output channel (symmetric)
//   accumulate   acc = Σ q·w in int32 (exact), then in double:
//   output       y = float(act((acc − xz·Σw) · (xs·ws[o]) + bias[o]))
// Activations use 7 bits so the AVX2 path (vpmaddubsw: u8·s8 pairs summed in int16) cannot
// saturate: 127·128·2 < 32767. VNNI (vpdpbusd) sums four products straight into int32.
#pragma once

#include <cstdint>

namespace nabla {

// C[r][o] = Σ_k A[r][k]·W[o][k] for r < rows, o < op (a multiple of 16).
//   A: rows of 4·k4 unsigned bytes (row stride 4·k4)
//   B: W packed as [k4][op][4] signed bytes (4 consecutive k of one output channel together)
//   C: int32, row stride ldc
using Int8GemmFn = void (*)(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                            int64_t ldc);

void int8_gemm_avx512vnni(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                          int64_t ldc);
// dst[r] = float(act((acc[r·acc_stride] − corr)·m + b)) for r < rows (act 0 none, 1 relu, 2 relu6).
void int8_epilogue_avx512(const int32_t* acc, int64_t acc_stride, int32_t corr, double m, double b, int act,
                          float* dst, int64_t rows);
// dst[i·stride] = clamp(floor(x[i] / scale + 0.5) + zero, 0, 127) for i < n (NaN → 0).
void int8_quantize_avx512(const float* x, int64_t n, double scale, int32_t zero, uint8_t* dst, int64_t stride);
void int8_gemm_avx2(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                    int64_t ldc);

}  // namespace nabla

namespace Napi {
class Env;
class Object;
}  // namespace Napi

namespace nabla {
// Adds int8Conv2d, int8Isa and int8SelectIsa to the addon's exports (called from addon.cpp).
void register_int8(Napi::Env env, Napi::Object exports);
}  // namespace nabla
